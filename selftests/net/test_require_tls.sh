#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# require: tls on a real gateway (issue 12). TLS clients (openssl s_client, curl, a handshake
# whose ClientHello is split after 1, 3 and 100 bytes) pass over IPv4 and IPv6; a plain HTTP
# request and an SSH client are cut: with reject the client sees a RST and the server never
# sees a payload byte. The rule counts flows passed and cut exactly. A flow established before
# the apply keeps working under midstream: allow and is cut under midstream: drop.
# A client that restarts its flow with a second SYN (raw segments, synrestart.py) and shows a
# ClientHello the server drops cannot pass plain HTTP after it, nor a ClientHello after 5
# bytes the server took; a SYN on a flow passed as TLS does not cut it; a new connection on
# the 5-tuple of one the server forgot, which conntrack resynchronises on, passes.
# Decided by XDP on lan0's ingress (the resets built by tlsfw_tc_reply); with REQ_EGRESS=1
# (test_require_tls_egress.sh) by tc on wan0's egress.
. "$(dirname "$0")/lib.sh"

IFACE="  - name: lan0"
[ "${REQ_EGRESS:-0}" = 1 ] && IFACE=$(printf '  - name: wan0\n    hooks: [egress]')

FB="$PY $ROOT/selftests/net/firstbytes.py"
fb() {
	local ns=$1
	shift
	ip netns exec "$ns" $FB "$@" | $PY -c 'import json,sys; print(json.load(sys.stdin)["result"])'
}

topo_up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=server.test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || fail "openssl req"
# 443: TLS (s_server -www answers curl); 8443: a recorder of first bytes; 2222: sshd
bg ip netns exec "$SRV" openssl s_server -quiet -www -accept 443 -naccept 1000 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem" </dev/null >/dev/null 2>&1
bg ip netns exec "$SRV" $FB server --port 8443 --out "$TMP/rec.json"
ssh-keygen -q -t ed25519 -N '' -f "$TMP/hostkey" || fail "ssh-keygen"
mkdir -p /run/sshd
bg ip netns exec "$SRV" /usr/sbin/sshd -D -e -p 2222 -h "$TMP/hostkey" -o PidFile=none \
	-o UsePAM=no >"$TMP/sshd.log" 2>&1
for p in 443 8443 2222; do
	for i in $(seq 50); do
		srv ss -Hltn "sport = :$p" | grep -q . && break
		sleep 0.1
	done
	srv ss -Hltn "sport = :$p" | grep -q . || { cat "$TMP/sshd.log"; fail "no listener on $p"; }
done

# midflow READY GO OUT: a plain flow to 8443 established now, which sends again once GO exists
midflow() {
	rm -f "$1" "$2"
	bg ip netns exec "$CLI" $FB send --to "$S4" --port 8443 --data 'before\n' --ready "$1" \
		--go "$2" --timeout 2 >"$3"
	MID=$BG_PID
	wait_file "$1"
}

pol() { # MIDSTREAM [RULE_NAME]
	policy "req-$1-${2:-tls-only}" <<EOF2
version: 1
interfaces:
$IFACE
midstream: $1
rules:
  - name: ${2:-tls-only}
    proto: tcp
    dport: [443, 8443, 2222]
    require: tls
    action: reject
EOF2
}

midflow "$TMP/ready" "$TMP/go" "$TMP/mid.out"
tlsfw apply "$(pol allow)" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply"; }
touch "$TMP/go"
wait $MID
r=$(jget "$TMP/mid.out" "d['result']")
[ "$r" = reply ] || fail "midstream: allow: a flow established before the apply got '$r'"
ok "midstream: allow: a plain flow established before the apply keeps working"

for a in "$S4" "$S6"; do
	tls_handshake "$a" 443 || fail "openssl s_client to $a 443 did not complete"
	h=$a
	[[ $a == *:* ]] && h="[$a]"
	cli curl -sk --max-time 5 -o /dev/null "https://$h/" || fail "curl https://$h/ failed"
	for n in 1 3 100; do
		r=$(fb "$CLI" tls --to "$a" --port 443 --split $n)
		[ "$r" = handshake ] || fail "ClientHello split after $n bytes to $a: $r"
	done
done
ok "openssl s_client, curl and ClientHellos split after 1, 3, 100 bytes pass (IPv4, IPv6)"

for a in "$S4" "$S6"; do
	r=$(fb "$CLI" send --to "$a" --port 8443 --data 'GET / HTTP/1.0\r\n\r\n')
	[ "$r" = reset ] || fail "plain HTTP to $a 8443: '$r', expected a reset"
done
sleep 0.3
n=$(jget "$TMP/rec.json" "sum(c['bytes'] for c in d[1:])")
[ "$n" = 0 ] || fail "the server received $n bytes of plain HTTP"
ends=$(jget "$TMP/rec.json" "' '.join(c['end'] for c in d[1:])")
[ "$ends" = "reset reset" ] || fail "the server's ends of the plain HTTP flows: '$ends', expected two resets"
ok "plain HTTP is reset at both ends (IPv4, IPv6); the server received no byte of it"

timeout 10 ip netns exec "$CLI" ssh -p 2222 -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5 "nobody@$S4" true \
	>"$TMP/ssh.out" 2>&1
grep -q 'Permission denied' "$TMP/ssh.out" && fail "ssh reached authentication"
grep -qi 'reset\|closed\|timed out' "$TMP/ssh.out" || {
	cat "$TMP/ssh.out"
	fail "ssh through require: tls was not cut"
}
ok "ssh to sshd is cut: $(head -c 80 "$TMP/ssh.out" | tr '\n' ' ')"

stats_json "$TMP/s.json"
passed=$(jget "$TMP/s.json" "[r['flows_passed'] for r in d['flows']['rules'] if r['name']=='tls-only'][0]")
cut=$(jget "$TMP/s.json" "[r['flows_cut'] for r in d['flows']['rules'] if r['name']=='tls-only'][0]")
# 2 x (s_client, curl, 3 splits) passed; 2 plain HTTP and 1 ssh cut
[ "$passed" = 10 ] || fail "tls-only counted $passed flows passed, expected 10"
[ "$cut" = 3 ] || fail "tls-only counted $cut flows cut, expected 3"
tlsfw stats >"$TMP/s.txt" || fail "tlsfw stats"
grep -q '^flows (require: tls)$' "$TMP/s.txt" &&
	grep -Eq '^  tls-only +10 +3$' "$TMP/s.txt" &&
	grep -Eq '^flow table: [0-9]+ flows, 0 evicted; [0-9]+ mid-stream packets$' "$TMP/s.txt" || {
	cat "$TMP/s.txt"
	fail "tlsfw stats' text does not show tls-only's 10 passed and 3 cut under its heading"
}
ok "tls-only counted 10 flows passed and 3 cut (--json and the table)"

# A renamed rule counts its flows from zero. Renamed twice: the second new name takes the
# rule slot tls-only left (the first could not: the generation in force still used it), whose
# flows counters still say 10 and 3 unless the apply zeroed them.
rule_flows() { # RULE KEY...: the values of KEYs of RULE's flows in tlsfw stats --json
	local r=$1
	shift
	stats_json "$TMP/r.json"
	jget "$TMP/r.json" "' '.join(str(r[k]) for r in d['flows']['rules'] if r['name']=='$r' for k in '$*'.split())"
}
flows_of() { # RULE: "passed cut" of RULE in tlsfw stats
	rule_flows "$1" flows_passed flows_cut
}
for name in tls-renamed tls-renamed-again; do
	tlsfw apply "$(pol allow $name)" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply $name"; }
	[ "$(flows_of $name)" = "0 0" ] || fail "$name, a new rule, starts at flows '$(flows_of $name)', expected '0 0'"
done
tls_handshake "$S4" 443 || fail "openssl s_client through tls-renamed-again"
[ "$(flows_of tls-renamed-again)" = "1 0" ] || fail "tls-renamed-again counted '$(flows_of tls-renamed-again)' after one TLS flow, expected '1 0'"
ok "a renamed rule counts flows from zero, in a slot used before too"

# midstream: drop cuts a flow established before the apply
tlsfw detach >/dev/null || fail "detach"
midflow "$TMP/ready2" "$TMP/go2" "$TMP/mid2.out"
tlsfw apply "$(pol drop)" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply midstream: drop"; }
touch "$TMP/go2"
wait $MID
r=$(jget "$TMP/mid2.out" "d['result']")
[ "$r" = reset ] || fail "midstream: drop: a flow established before the apply got '$r', expected reset"
ok "midstream: drop: a plain flow established before the apply is cut"
tls_handshake "$S4" 443 || fail "midstream: drop: a new TLS flow did not pass"
ok "midstream: drop: new TLS flows still pass"

# A name rule next to the require rule: the flows it matches (curl, and a ClientHello in two
# segments) are not passed by a require rule after it, and are passed by one before it. Cut
# flows are counted on the require rule that cuts them whatever came first. Each order once,
# with rule names of their own (counters from 0); on lan0 once more in generic XDP, where
# tlsfw's RST for the server is received anew and meets tlsfw_xdp again.
names_pol() { # FIRST SECOND: the two rules' names, in order (req-* is the require rule)
	local f iface=$IFACE
	[ "$1" = names-generic ] && iface=$(printf '%s\n    xdp_mode: generic' "$IFACE")
	f=$(policy "names-$1")
	{
		printf 'version: 1\ninterfaces:\n%s\nrules:\n' "$iface"
		for r in "$1" "$2"; do
			case $r in
			req-*) printf '  - name: %s\n    proto: tcp\n    dport: [443, 8443]\n    require: tls\n    action: reject\n' "$r" ;;
			*) printf '  - name: %s\n    proto: tcp\n    dport: 443\n    sni: [blocked.test]\n    action: reject\n' "$r" ;;
			esac
		done
	} >"$f"
	echo "$f"
}
orders=("names-first req-after" "req-first names-after")
[ "${REQ_EGRESS:-0}" = 1 ] || orders+=("names-generic req-generic")
for order in "${orders[@]}"; do
	set -- $order
	tlsfw apply "$(names_pol "$1" "$2")" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply $order"; }
	cli curl -sk --max-time 5 -o /dev/null --resolve "ok.test:443:$S4" https://ok.test/ ||
		fail "$order: curl https://ok.test/ failed"
	cli curl -sk --max-time 5 -o /dev/null --resolve "blocked.test:443:$S4" https://blocked.test/ &&
		fail "$order: curl https://blocked.test/ was not cut"
	# the TLS start decided by the first 100 bytes, the name only by the next segment: the
	# require rule counts the flow when the ClientHello ends, as a name rule matches it then
	r=$(fb "$CLI" tls --to "$S4" --port 443 --sni blocked.test --split 100)
	[ "$r" = ConnectionResetError ] || fail "$order: a ClientHello for blocked.test split after 100 bytes: '$r'"
	# the server's end was reset too (on wan0's egress and in generic XDP, tlsfw's RST for the
	# server meets the name rule again: it must pass)
	sleep 0.3
	est=$(srv ss -Htn state established "( sport = :443 )")
	[ -z "$est" ] || fail "$order: the server's end of the cut flow is still open: $est"
	r=$(fb "$CLI" send --to "$S4" --port 8443 --data 'GET / HTTP/1.0\r\n\r\n')
	[ "$r" = reset ] || fail "$order: plain HTTP to 8443: '$r', expected a reset"
	req=$2 want="1 1"
	[ "$1" = req-first ] && req=req-first want="3 1"
	name=${order/$req/}
	name=${name// /}
	got=$(rule_flows "$req" flows_passed flows_cut)
	[ "$got" = "$want" ] || fail "$order: $req counted '$got' flows passed and cut, expected '$want'"
	got=$(rule_flows "$name" flows_matched)
	[ "$got" = 2 ] || fail "$order: $name counted '$got' flows matched, expected 2"
	ok "$order: the require rule counted '$want' flows passed and cut, the name rule 2 matched"
done

# A SYN restart: a second SYN with another ISN on an open 5-tuple, while the server keeps its
# connection (a challenge ACK). A ClientHello at the new ISN (old data to the server, which
# drops it) must not decide the flow: the gateway asks conntrack which connection the server
# kept and follows its stream, so the plain HTTP that follows at the server's next byte is
# the flow's first bytes, and the flow is cut (both ends reset).
# synrestart.py sends raw segments; the client's kernel, which knows no such connection,
# would reset it: its RSTs are dropped.
SR="$PY $ROOT/selftests/net/synrestart.py"
synrestart() { # MODE: run synrestart.py MODE to 8443; sets SR_BYTES (the server's count)
	local n0 n
	n0=$(jget "$TMP/rec.json" "len(d)")
	cli $SR "$1" --to "$S4" --port 8443 >"$TMP/sr-$1.json" ||
		fail "synrestart.py $1: $(cat "$TMP/sr-$1.json")"
	n=$(jget "$TMP/rec.json" "len(d)")
	[ "$n" = $((n0 + 1)) ] || fail "synrestart.py $1: the server accepted $((n - n0)) connections, expected 1"
	SR_BYTES=$(jget "$TMP/rec.json" "d[-1]['bytes']")
}
tlsfw apply "$(pol allow req-restart)" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply req-restart"; }
cli nft -f - <<'EOF2' || fail "nft: the table dropping the client's RSTs"
table ip synrestart_rst {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp dport { 443, 8443 } tcp flags rst drop
	}
}
EOF2
# sr_expect MODE BYTES RESET COUNTS WHAT: after `synrestart MODE`, the server received BYTES,
# the client saw a reset (RESET: True) or either (-), and req-restart counts COUNTS flows
# passed and cut
sr_expect() {
	local out=$TMP/sr-$1.json got
	[ "$SR_BYTES" = "$2" ] ||
		fail "$5: the server received $SR_BYTES bytes, expected $2: $(cat "$out")"
	[ "$3" = - ] || [ "$(jget "$out" "d['rst']")" = "$3" ] ||
		fail "$5: the client's reset was not '$3': $(cat "$out")"
	got=$(rule_flows req-restart flows_passed flows_cut)
	[ "$got" = "$4" ] || fail "$5: req-restart counted '$got' flows passed and cut, expected '$4'"
	ok "$5: the server received $2 bytes, req-restart counted '$4'"
}
synrestart hello
sr_expect hello "$(jget "$TMP/sr-hello.json" "d['hello_bytes']")" - "1 0" \
	"a ClientHello of raw segments"
# the control passed; plain HTTP after a ClientHello at the second SYN's ISN, cut
synrestart restart
sr_expect restart 0 True "1 1" "SYN restart: plain HTTP at the server's next byte"

# A SYN with another ISN on a flow that passed as TLS (spoofed from the client's side, or the
# client's own) does not cut it: the server keeps its connection (a challenge ACK), and so
# does the gateway, asked at the next payload. When the flow restarted on the SYN, the TLS
# application data that followed (21 bytes) was judged as the flow's first bytes and cut.
synrestart keep
sr_expect keep $(($(jget "$TMP/sr-keep.json" "d['hello_bytes']") + 21)) - "2 1" \
	"a SYN on a flow passed as TLS, then application data"

# The first 5 bytes of a TLS record header pass (too few to decide) and the server takes
# them; then a restart. The flow goes on from those 5 bytes, as the server's stream does: a
# ClientHello record after them makes the stream 16 03 01 LL LL 16 ..., not a ClientHello.
# When the restarted flow was judged from the server's acknowledged point, that ClientHello
# passed as the flow's first bytes.
synrestart residual
sr_expect residual 5 True "2 2" "SYN restart after 5 bytes the server took, then a ClientHello"

# The other side of it: a server that forgot a connection (ss -K, its RST dropped, so
# conntrack still holds the connection) answers a new SYN on the same 5-tuple with a SYN-ACK
# of the new ISN; conntrack resynchronises on it, and a ClientHello at the new ISN passes.
srv nft -f - <<'EOF2' || fail "nft: the table dropping the server's RSTs"
table ip synrestart_rst {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp sport 443 tcp flags rst drop
	}
}
EOF2
rm -f "$TMP/rs-ready" "$TMP/rs-go"
bg ip netns exec "$CLI" $SR resync --to "$S4" --port 443 --ready "$TMP/rs-ready" \
	--go "$TMP/rs-go" >"$TMP/sr-resync.json"
RS=$BG_PID
wait_file "$TMP/rs-ready"
srv ss -K -tn state established "( sport = :443 )" >/dev/null || fail "ss -K: the server's end"
touch "$TMP/rs-go"
wait $RS || fail "synrestart.py resync: $(cat "$TMP/sr-resync.json")"
srv nft delete table ip synrestart_rst || fail "nft: delete the server's synrestart_rst"
n=$(jget "$TMP/sr-resync.json" "d['data']")
[ "$n" -gt 0 ] || fail "a new connection after the server forgot the old one: the ClientHello got no answer ($(cat "$TMP/sr-resync.json"))"
got=$(rule_flows req-restart flows_passed flows_cut)
[ "$got" = "3 2" ] ||
	fail "a new connection after the server forgot the old one: req-restart counted '$got', expected '3 2'"
ok "a new connection that the server and conntrack resynchronise on passes: the server answered the ClientHello with $n bytes"

# The same restart against a name rule: a ClientHello for an allowed name at the new ISN, then
# one for the blocked name at the server's next byte. Segments beyond a gap pass name rules by
# default (sni_unordered: allow), so the gateway must judge the server's stream, not skip it.
f=$(policy sni-restart <<EOF2
version: 1
interfaces:
$IFACE
rules:
  - name: sni-restart
    proto: tcp
    dport: 443
    sni: [blocked.test]
    action: reject
EOF2
)
# s_server serves one connection at a time: let the resync's half-done handshake go
srv ss -K -tn state established "( sport = :443 )" >/dev/null || fail "ss -K: the resync's connection"
tlsfw apply "$f" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply sni-restart"; }
cli $SR restart --to "$S4" --port 443 --then-sni blocked.test >"$TMP/sr-sni.json" ||
	fail "synrestart.py restart --then-sni: $(cat "$TMP/sr-sni.json")"
cli nft delete table ip synrestart_rst || fail "nft: delete the client's synrestart_rst"
[ "$(jget "$TMP/sr-sni.json" "d['data']") $(jget "$TMP/sr-sni.json" "d['rst']")" = "0 True" ] ||
	fail "SYN restart: a ClientHello for blocked.test was answered or not reset: $(cat "$TMP/sr-sni.json")"
got=$(rule_flows sni-restart flows_matched)
[ "$got" = 1 ] || fail "SYN restart: sni-restart counted '$got' flows matched, expected 1"
ok "SYN restart: a ClientHello for blocked.test after one for server.test at the second SYN's ISN is cut"
