#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw stats counts exactly: N datagrams of known sizes through the gateway show up as N
# packets and the exact frame bytes on the matching rule and direction, zero elsewhere; the
# table agrees with the JSON; --reset zeroes every counter and counting resumes from zero;
# "nothing enforced" and usage errors give the documented exit codes.
. "$(dirname "$0")/lib.sh"

# send_sized NS ADDR PORT SIZES...: one datagram per size (payload bytes), paced at 1000/s.
send_sized() {
	local ns=$1 to=$2 port=$3
	shift 3
	ip netns exec "$ns" $PY - "$to" "$port" "$@" <<'EOF' || fail "send_sized $to $port"
import socket, sys, time
to, port, sizes = sys.argv[1], int(sys.argv[2]), [int(x) for x in sys.argv[3:]]
s = socket.socket(socket.AF_INET6 if ":" in to else socket.AF_INET, socket.SOCK_DGRAM)
for n in sizes:
    s.sendto(b"x" * n, (to, port))
    time.sleep(0.001)
EOF
}

# Frame bytes the hooks count: Ethernet 14 + IPv4 20 / IPv6 40 + UDP 8 + payload.
frame_sum() { # 4|6 SIZES...
	local fam=$1 sum=0 s hdr=42
	shift
	[ "$fam" = 6 ] && hdr=62
	for s in "$@"; do
		sum=$((sum + hdr + s))
	done
	echo $sum
}

topo_up
sink_start k 5001,5002

pol=$(policy counts <<'EOF'
version: 1
interfaces:
  - name: lan0
    hooks: [ingress, egress]
  - name: wan0
default: allow
rules:
  - name: count-5001
    proto: udp
    dport: 5001
    action: allow
  - name: drop-5002
    proto: udp
    dport: 5002
    action: drop
  - name: never-5003
    proto: tcp
    dport: 5003
    action: drop
EOF
)
tlsfw apply "$pol" || fail "apply"
stats_json "$TMP/zero.json"
for r in count-5001 drop-5002 never-5003; do
	for f in packets bytes; do
		[ "$(stat_rule "$TMP/zero.json" $r lan0 ingress $f)" = 0 ] ||
			fail "$r $f not zero right after the first apply"
	done
done

SIZES4=(1 100 555 1000 1400 64 64 64 200 300 1200)
SIZES6=(7 77 777 1337 1200)
DROP4=(10 20 30 40 50 60 70)
send_sized "$CLI" "$S4" 5001 "${SIZES4[@]}"
send_sized "$CLI" "$S6" 5001 "${SIZES6[@]}"
send_sized "$CLI" "$S4" 5002 "${DROP4[@]}"
sleep 0.3
sink_stop k
[ "$(sink_count k 4 5001)" = ${#SIZES4[@]} ] || fail "IPv4 5001: $(sink_count k 4 5001) delivered"
[ "$(sink_count k 6 5001)" = ${#SIZES6[@]} ] || fail "IPv6 5001: $(sink_count k 6 5001) delivered"
[ "$(sink_count k 4 5002)" = 0 ] || fail "drop-5002 let $(sink_count k 4 5002) through"

want_p=$((${#SIZES4[@]} + ${#SIZES6[@]}))
want_b=$(($(frame_sum 4 "${SIZES4[@]}") + $(frame_sum 6 "${SIZES6[@]}")))
drop_p=${#DROP4[@]}
drop_b=$(frame_sum 4 "${DROP4[@]}")

stats_json "$TMP/s1.json"
check() { # JSON RULE IFACE DIR FIELD WANT
	local got
	got=$(stat_rule "$1" "$2" "$3" "$4" "$5")
	[ "$got" = "$6" ] || { tlsfw stats --exact; fail "$2 on $3 $4: $5 = $got, want $6"; }
}
check "$TMP/s1.json" count-5001 lan0 ingress packets $want_p
check "$TMP/s1.json" count-5001 lan0 ingress bytes $want_b
check "$TMP/s1.json" drop-5002 lan0 ingress packets $drop_p
check "$TMP/s1.json" drop-5002 lan0 ingress bytes $drop_b
for r in count-5001 drop-5002 never-5003; do
	for d in "lan0 egress" "wan0 ingress"; do
		check "$TMP/s1.json" $r $d packets 0
		check "$TMP/s1.json" $r $d bytes 0
	done
done
check "$TMP/s1.json" never-5003 lan0 ingress packets 0
ok "exact counts: $want_p packets / $want_b bytes allowed, $drop_p / $drop_b dropped, zero elsewhere"

# The JSON document's other parts.
[ "$(jget "$TMP/s1.json" "d['policy']['file']")" = "$pol" ] || fail "policy file in JSON"
jget "$TMP/s1.json" "d['policy']['hash']" | grep -Eq '^sha256:[0-9a-f]{64}$' || fail "policy hash"
jget "$TMP/s1.json" "d['policy']['applied_at']" | grep -Eq '^20[0-9-]{8}T[0-9:]{8}Z$' ||
	fail "applied_at"
n=$(jget "$TMP/s1.json" "len(d['interfaces'])")
[ "$n" = 3 ] || fail "interfaces: $n blocks (want lan0 ingress, lan0 egress, wan0 ingress)"
drops=$(jget "$TMP/s1.json" "[i['drop']['packets'] for i in d['interfaces'] if i['interface']=='lan0' and i['direction']=='ingress'][0]")
[ "$drops" = $drop_p ] || fail "lan0 ingress drop verdict total $drops, want $drop_p"
ok "JSON policy, interfaces and verdict totals"

# The table: exact numbers agree with the JSON; human units by default.
tlsfw stats --exact >"$TMP/t.txt" || fail "stats --exact"
awk '/^lan0 ingress/{f=1} /^lan0 egress/{f=0} f && $1=="count-5001"{print $4, $5}' "$TMP/t.txt" |
	grep -qx "$want_p $want_b" || { cat "$TMP/t.txt"; fail "table --exact disagrees with JSON"; }
grep -q '^  (default) ' "$TMP/t.txt" || fail "no (default) row"
grep -q 'verdicts: pass' "$TMP/t.txt" || fail "no verdict totals"
tlsfw stats >"$TMP/h.txt" || fail "stats"
awk '/^lan0 ingress/{f=1} /^lan0 egress/{f=0} f && $1=="count-5001"' "$TMP/h.txt" |
	grep -q 'KiB' || { cat "$TMP/h.txt"; fail "bytes not in human units"; }
ok "table agrees; human units by default"

# --reset: every counter zero, then counting starts again from zero.
out=$(tlsfw stats --reset) || fail "stats --reset"
echo "$out" | grep -q 'counters reset' || fail "--reset said: $out"
stats_json "$TMP/r.json"
# (essentials) counts the links' own IPv6 neighbour discovery and MLD, which the kernel sends
# when it likes (seen in CI: a neighbour probe between the reset and this read): not ours.
nz=$(jget "$TMP/r.json" "[(r['name'],r['interface'],r['direction']) for r in d['rules'] if (r['packets'] or r['bytes']) and r['name'] != '(essentials)']")
[ "$nz" = "[]" ] || fail "after --reset, non-zero rule counters: $nz"
send_sized "$CLI" "$S4" 5002 100 200 300
sleep 0.2
stats_json "$TMP/r2.json"
check "$TMP/r2.json" drop-5002 lan0 ingress packets 3
check "$TMP/r2.json" drop-5002 lan0 ingress bytes $(frame_sum 4 100 200 300)
check "$TMP/r2.json" count-5001 lan0 ingress packets 0
ok "--reset zeroed every rule counter; counting resumed from zero"

# --reset with --json prints the counters it zeroes (read and clear).
tlsfw stats --json --reset >"$TMP/rc.json" 2>"$TMP/rc.err" || fail "--json --reset"
check "$TMP/rc.json" drop-5002 lan0 ingress packets 3
stats_json "$TMP/r3.json"
check "$TMP/r3.json" drop-5002 lan0 ingress packets 0
ok "--json --reset printed then zeroed"

# Without privilege: exit 2 naming what is missing, and --reset zeroes nothing.
send_sized "$CLI" "$S4" 5002 1 2
sleep 0.2
for args in "" "--json" "--prometheus" "--reset" "--watch 1" "--listen :9599"; do
	# shellcheck disable=SC2086
	gw setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all \
		"$TLSFW" stats $args >/dev/null 2>"$TMP/p.err"
	rc=$?
	[ $rc = 2 ] || fail "stats $args as nobody: exit $rc, want 2"
	grep -q 'CAP_NET_ADMIN' "$TMP/p.err" || fail "stats $args as nobody said: $(cat "$TMP/p.err")"
done
stats_json "$TMP/p.json"
check "$TMP/p.json" drop-5002 lan0 ingress packets 2
ok "without privilege: exit 2 in every mode, nothing reset"

# Usage errors: exit 1, nothing read.
for args in "--bogus" "--json --prometheus" "--watch" "--watch 0" "--watch abc" \
	"--watch 1 --prometheus" "--watch 1 --reset" "--listen" "--listen 9567" \
	"--listen :9567 --json" "--listen :0"; do
	# shellcheck disable=SC2086
	tlsfw stats $args >/dev/null 2>"$TMP/u.err"
	rc=$?
	[ $rc = 1 ] || fail "stats $args: exit $rc, want 1"
	grep -q 'usage: tlsfw stats' "$TMP/u.err" || fail "stats $args: no usage line"
done
ok "usage errors exit 1"

# Nothing enforced: exit 0 with a message, in every format.
tlsfw detach || fail "detach"
out=$(tlsfw stats) || fail "stats with nothing enforced: exit $?"
echo "$out" | grep -q 'nothing enforced' || fail "stats said: $out"
tlsfw stats --json >"$TMP/n.json" || fail "stats --json with nothing enforced"
[ "$(jget "$TMP/n.json" "(d['policy'], d['rules'])")" = "(None, [])" ] || fail "empty JSON"
tlsfw stats --prometheus >"$TMP/n.prom" || fail "--prometheus with nothing enforced"
grep -qx 'tlsfw_enforced 0' "$TMP/n.prom" || fail "tlsfw_enforced 0 missing"
out=$(tlsfw stats --reset) || fail "--reset with nothing enforced"
echo "$out" | grep -q 'nothing enforced' || fail "--reset said: $out"
ok "nothing enforced: exit 0 in every format"
