#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared by selftests/net/test_*.sh. Source it, then call topo_up. Everything a test creates
# (namespaces, background processes, temporary files) is removed by the EXIT trap, also when
# the test fails half-way.
#
#   $TLSFW          the binary under test (default build/asan/tlsfw)
#   topo_up [TAG]   a client -- gateway -- server topology (scripts/topology.sh); sets
#                   CLI, GW, SRV (namespace names), C4/C6 (client), S4/S6 (server addresses)
#   gw CMD...       run CMD in the gateway namespace (also: cli, srv)
#   tlsfw ARGS...   run $TLSFW in the gateway namespace
#   fail MSG        print "FAIL: MSG" and exit 1; ok MSG prints "ok: MSG"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

NETTOOL=$ROOT/selftests/net/nettool.py
_prefixes=()

# _kill_tree PID: PID and its descendants (a background shell function runs its command as a
# child, so killing the job's PID alone would leave the command running).
_kill_tree() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		_kill_tree "$c"
	done
	kill "$1" 2>/dev/null
}

_cleanup() {
	local rc=$? p
	for p in "${_pids[@]}"; do
		_kill_tree "$p"
		wait "$p" 2>/dev/null
	done
	for p in "${_prefixes[@]}"; do
		"$ROOT/scripts/topology.sh" down "$p"
	done
	rm -rf "$TMP"
	test_verdict $rc
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || fail "network tests need root"
[ -x "$TLSFW" ] || fail "no tlsfw binary at $TLSFW (make BUILD=... tests)"

# topo_up [TAG]: TAG distinguishes several topologies in one test.
topo_up() {
	local p="${NS_PREFIX}${1:-}"
	_prefixes+=("$p")
	"$ROOT/scripts/topology.sh" up "$p" || fail "topology $p"
	CLI=${p}c
	GW=${p}gw
	SRV=${p}s
	C4=10.10.1.2 C6=fd00:1::2 S4=10.10.2.2 S6=fd00:2::2
	# Resolve every neighbour now, so that no datagram a test counts waits in (or falls out
	# of) a neighbour queue, and wait until both families cross the gateway both ways: a
	# probe to port 9 (no listener) is answered by port unreachable once the path works.
	# Right after the links come up a probe can go unanswered (seen once in CI: a test that
	# applied its policy within 10 ms lost one family's datagrams), so each is retried.
	local a ns r i
	for a in "$CLI $S4" "$CLI $S6" "$SRV $C4" "$SRV $C6"; do
		read -r ns a <<<"$a"
		for ((i = 0; i < 30; i++)); do
			r=$(ip netns exec "$ns" $PY "$NETTOOL" udp-probe --to "$a" --port 9 --timeout 0.3)
			case $r in *timeout*) ;; *) break ;; esac
		done
		[ $i -lt 30 ] || fail "topology $p: no answer from $a after 30 probes ($r)"
	done
}

cli() { ip netns exec "$CLI" "$@"; }
gw() { ip netns exec "$GW" "$@"; }
srv() { ip netns exec "$SRV" "$@"; }
tlsfw() { ip netns exec "$GW" "$TLSFW" "$@"; }

# The ingress hook xdp_mode auto takes on the topology's veths: native XDP, or a tc ingress
# filter when the test runs with XDP refused (test_tc_ingress.sh).
AUTO_INGRESS="XDP native"
[ "${TLSFW_XDP_FAULT:-}" = refuse ] && AUTO_INGRESS=tc

# map_of NAME [IFACE]: "ID MAX_ENTRIES" of tlsfw's map NAME behind the ingress program of
# IFACE (default lan0: XDP, else tc ingress); nothing, and the reason on stderr, if none.
map_of() { gw $PY "$ROOT/selftests/net/metaedit.py" map "$1" "${2:-lan0}"; }
# map_id NAME [IFACE]: its id; fails the test if there is none
map_id() {
	local r
	r=$(map_of "$@") && [ -n "$r" ] || fail "no map $1 behind ${2:-lan0}'s ingress program"
	echo "${r%% *}"
}

# rerun WHERE TEST...: run other net tests unchanged in this test's environment (a topology
# variable, a fault knob); each must pass. WHERE finishes "passes ..." in the ok lines.
rerun() {
	local where=$1 t
	shift
	for t in "$@"; do
		"$ROOT/selftests/net/$t.sh" >"$TMP/$t.log" 2>&1 || {
			tail -20 "$TMP/$t.log"
			fail "$t $where"
		}
		ok "$t passes $where ($(grep -c '^ok:' "$TMP/$t.log") checks)"
	done
}

# bg CMD...: start CMD in the background, remembered for cleanup; its PID is in $BG_PID.
bg() {
	"$@" &
	BG_PID=$!
	_pids+=("$BG_PID")
}

# bg_stop FILE PID WHAT: stop a helper that ends when FILE exists, and wait for its success.
bg_stop() {
	touch "$1"
	wait "$2" || fail "$3 failed"
}

# wait_file FILE: wait up to 5 s for FILE to exist (a helper saying it is ready).
wait_file() {
	local i
	for i in $(seq 50); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "timed out waiting for $1"
}

# jget FILE EXPR: evaluate a Python expression on the JSON document in FILE (as "d").
jget() {
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# udp_probe NS ADDR PORT: prints reply | timeout | an errno name (EHOSTUNREACH, ...).
udp_probe() {
	ip netns exec "$1" $PY "$NETTOOL" udp-probe --to "$2" --port "$3" --timeout "${4:-1}" |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["result"])'
}

# udp_icmp NS ADDR PORT [TIMEOUT]: the ICMP error one datagram drew, as "icmp 3 13" or
# "icmp6 1 1" (origin, type, code), or the result when there was none (reply, timeout).
udp_icmp() {
	ip netns exec "$1" $PY "$NETTOOL" udp-probe --to "$2" --port "$3" --timeout "${4:-1}" |
		$PY -c 'import json,sys; d=json.load(sys.stdin); i=d["icmp"]; print(" ".join(map(str, i[:3])) if i else d["result"])'
}

# tcp_probe NS ADDR PORT: prints connected | timeout | ECONNREFUSED | ...
tcp_probe() {
	ip netns exec "$1" $PY "$NETTOOL" tcp-probe --to "$2" --port "$3" --timeout "${4:-1}" |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["result"])'
}

# sink_start NAME PORTS [NS]: UDP sinks for IPv4 and IPv6 on PORTS (comma-separated) in NS
# (default the server), answering "probe" datagrams and counting the rest. sink_stop NAME ends
# them; sink_count NAME 4|6 PORT and sink_distinct NAME 4|6 PORT then read the results.
declare -A _sink_pids
sink_start() {
	local name=$1 ports=$2 ns=${3:-$SRV} fam bind
	rm -f "$TMP/$name".*
	for fam in 4 6; do
		bind=0.0.0.0
		[ $fam = 6 ] && bind=::
		bg ip netns exec "$ns" $PY "$NETTOOL" udp-sink --bind $bind --ports "$ports" \
			--seconds 600 --ready "$TMP/$name.ready$fam" --stop "$TMP/$name.stop" \
			>"$TMP/$name.$fam"
		_sink_pids[$name]="${_sink_pids[$name]:-} $BG_PID"
	done
	wait_file "$TMP/$name.ready4"
	wait_file "$TMP/$name.ready6"
}

sink_stop() {
	local p
	touch "$TMP/$1.stop"
	for p in ${_sink_pids[$1]}; do
		wait "$p" || fail "sink $1 failed"
	done
}

sink_count() { jget "$TMP/$1.$2" "d['received']['$3']"; }
sink_distinct() { jget "$TMP/$1.$2" "d['distinct']['$3']"; }

# send_udp NS ADDR PORTS COUNT: COUNT sequence-numbered datagrams to each port.
send_udp() {
	local out
	out=$(ip netns exec "$1" $PY "$NETTOOL" udp-stream --to "$2" --ports "$3" --count "$4" \
		--rate 500) || fail "udp-stream to $2 $3"
	# a datagram the sender could not send would make every count that follows wrong
	case $out in *'"send_errors": 0'*) ;; *) fail "udp-stream to $2 $3: $out" ;; esac
}

# tls_server PORT: openssl s_server in the server namespace with a throwaway certificate.
tls_server() {
	if [ ! -f "$TMP/key.pem" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
			-subj /CN=server.test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
			2>/dev/null || fail "openssl req"
	fi
	bg ip netns exec "$SRV" openssl s_server -quiet -accept "$1" -naccept 1000 \
		-cert "$TMP/cert.pem" -key "$TMP/key.pem" </dev/null >/dev/null 2>&1
	local i
	for i in $(seq 50); do
		srv ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	fail "s_server did not listen on $1"
}

# tls_handshake ADDR PORT: 0 if a TLS handshake with the server completes (from the client).
tls_handshake() {
	local host=$1
	[[ $host == *:* ]] && host="[$host]"
	echo Q | timeout 5 ip netns exec "$CLI" openssl s_client -connect "$host:$2" \
		-servername server.test -verify_quiet 2>/dev/null | grep -q '^-----BEGIN CERTIFICATE'
}

# stat_rule JSON RULE IFACE DIR FIELD: a rule's counter from `tlsfw stats --json --exact`.
stat_rule() {
	jget "$1" "sum(r['$5'] for r in d['rules'] if r['name']=='$2' and r['interface']=='$3' and r['direction']=='$4')"
}

# apply_signalled POLICY OUT: `tlsfw apply POLICY` in the gateway, started with SIGTERM
# already pending (blocked, so it survives execve): a signal arriving during apply, made
# deterministic. The output goes to OUT; returns apply's exit status, which must be 2 with
# "interrupted by a signal" (checked here).
apply_signalled() {
	local rc
	ip netns exec "$GW" $PY -c '
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
os.kill(os.getpid(), signal.SIGTERM)
os.execv(sys.argv[1], sys.argv[1:])' "$TLSFW" apply "$1" >"$2" 2>&1
	rc=$?
	[ $rc = 2 ] || { cat "$2"; fail "apply with a pending signal: exit $rc, expected 2"; }
	grep -q "interrupted by a signal" "$2" || { cat "$2"; fail "apply with a pending signal: no 'interrupted by a signal'"; }
}

stats_json() { # OUT
	tlsfw stats --json --exact >"$1" || fail "tlsfw stats --json failed"
}

# policy NAME <<EOF: write a policy file into $TMP, path printed.
policy() {
	cat >"$TMP/$1.conf"
	echo "$TMP/$1.conf"
}
