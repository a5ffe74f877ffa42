#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs (lower_nft_run.c): eight or more consecutive rules matching destination ports alone are
# one verdict map lookup per protocol in the nft backend, jumping to a chain per rule. The
# decision must stay first match: overlapping ports go to the earlier rule, monitor passes,
# reject answers, a rule after the run still decides. Checked with traffic under both backends,
# which must deliver the same datagrams and agree on every counter; then, nft only: the printed
# plan is what nft lists, stats lists the rules in policy order, a replacement keeps the
# counters and leaves one generation of maps and chains, a refused switch leaves none of the
# new one, and detaching one interface removes its maps and chains only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

rules() { # ACTION_OF_drop-low ACTION_OF_pass-5005
	cat <<EOF2
  - name: allow-dns
    proto: udp
    dport: 53
    action: allow
  - name: drop-low
    proto: udp
    dport: 5000-5009
    action: $1
  - name: pass-5005
    proto: udp
    dport: [5005, 5010]
    action: $2
  - name: mon-5011
    proto: udp
    dport: 5011
    action: drop
    mode: monitor
  - name: rej-5012
    proto: udp
    dport: [5012, 5013]
    action: reject
  - name: web
    proto: tcp
    dport: [80, 443]
    action: allow
  - name: r6001
    proto: udp
    dport: 6001
    action: drop
  - name: r6002
    proto: udp
    dport: [6002, 6100-6200]
    action: drop
  - name: after-run
    proto: udp
    dport: 8000
    src: 10.10.1.0/24
    action: drop
EOF2
}
pol=$( {
	printf 'version: 1\nfragments: allow\ninterfaces:\n  - name: lan0\ndefault: allow\nrules:\n'
	rules drop allow
} | policy runs)

N=5
PORTS=5000,5005,5010,5011,5012,6001,8000
for B in $BACKENDS; do
	topo_up "$B"
	sink_start "r$B" $PORTS
	tlsfw apply "$(backend_policy "$pol" "$B")" >"$TMP/apply.$B" 2>&1 ||
		{ cat "$TMP/apply.$B"; fail "apply ($B)"; }
	send_udp "$CLI" "$S4" $PORTS $N
	send_udp "$CLI" "$S6" 5010 $N
	[ "$(udp_icmp "$CLI" "$S4" 5013)" = "icmp 3 13" ] || fail "$B: UDP 5013 (rej-5012) drew no ICMP admin prohibited"
	sleep 0.3
	sink_stop "r$B"
	for p in 5000 5005 5012 6001 8000; do
		[ "$(sink_count "r$B" 4 $p)" = 0 ] || fail "$B: UDP $p was delivered"
	done
	for p in 5010 5011; do
		[ "$(sink_distinct "r$B" 4 $p)" = $N ] || fail "$B: UDP $p was not delivered"
	done
	[ "$(sink_distinct "r$B" 6 5010)" = $N ] || fail "$B: UDP 5010 over IPv6 was not delivered"
	ok "$B: first match in the run: 5005 dropped by drop-low, 5010 passed, monitor passed, reject answered, the rule after the run dropped"
	stats_json "$TMP/s.$B.json"
	for rc in drop-low:$((2 * N)) pass-5005:$((2 * N)) mon-5011:$N rej-5012:$((N + 1)) r6001:$N after-run:$N r6002:0; do
		got=$(stat_rule "$TMP/s.$B.json" "${rc%%:*}" lan0 ingress packets)
		[ "$got" = "${rc#*:}" ] || fail "$B: rule ${rc%%:*} counted $got packets, expected ${rc#*:}"
	done
	ok "$B: every rule of the run counted exactly what it decided"
	counters_save "$TMP/s.$B.json" "$TMP/c.$B" drop-low pass-5005 mon-5011 rej-5012 r6001 r6002 after-run
	[ "$B" = nft ] || tlsfw detach >/dev/null || fail "detach ($B)"
done
if [ "$BACKENDS" = "bpf nft" ]; then
	backends_agree "$TMP/c.bpf" "$TMP/c.nft" || fail "the backends' counters differ"
	ok "bpf and nft delivered the same datagrams and agree on every counter of the run"
fi
case " $BACKENDS " in *" nft "*) ;; *) exit 0 ;; esac

# ---- nft only (the nft topology is still up, the policy applied) -----------------------------
conf=$(backend_policy "$pol" nft)
"$TLSFW" check --print-plan "$conf" >"$TMP/plan" 2>/dev/null || fail "check --print-plan"
grep -q 'udp dport vmap @lan0/in/udp0.a' "$TMP/plan" || fail "the run is not one map lookup"
grep -q 'tcp dport vmap @lan0/in/tcp0.a' "$TMP/plan" || fail "the run's TCP ports are not one map lookup"
listed() { gw nft list table inet tlsfw | sed 's/packets [0-9]* bytes [0-9]*/packets 0 bytes 0/'; }
gw nft delete table inet tlsfw || fail "cannot delete table inet tlsfw"
tlsfw apply "$conf" >/dev/null 2>&1 || fail "cold apply"
listed >"$TMP/listed"
diff -u "$TMP/listed" "$TMP/plan" || fail "the printed plan is not what nft lists after apply"
gw nft -c -f "$TMP/plan" || fail "nft cannot read the printed plan"
ok "the printed plan of a run reads with nft -f and is what nft lists after apply"

order=$(tlsfw stats --json --exact | $PY -c 'import json,sys; print(" ".join(r["name"] for r in json.load(sys.stdin)["rules"]))')
[ "$order" = "(essentials) allow-dns drop-low pass-5005 mon-5011 rej-5012 web r6001 r6002 after-run" ] ||
	fail "stats lists the rules as '$order', not in policy order"
ok "stats lists the rules of a run in policy order"

# replacement: drop-low now allows, pass-5005 now drops; counters go on by name
sink_start r2 5005,5010
send_udp "$CLI" "$S4" 5005 $N
pol2=$( {
	printf 'version: 1\nbackend: nft\nfragments: allow\ninterfaces:\n  - name: lan0\ndefault: allow\nrules:\n'
	rules allow drop
} | policy runs2)
tlsfw apply "$pol2" >/dev/null 2>&1 || fail "replacement"
send_udp "$CLI" "$S4" 5005,5010 $N
sleep 0.3
sink_stop r2
[ "$(sink_distinct r2 4 5005)" = $N ] || fail "after the replacement UDP 5005 is not delivered (drop-low allows)"
[ "$(sink_count r2 4 5010)" = 0 ] || fail "after the replacement UDP 5010 is delivered (pass-5005 drops)"
[ "$(nft_counter drop-low/lan0/in)" = $((2 * N)) ] || fail "drop-low's counter did not go on across the replacement"
[ "$(nft_counter pass-5005/lan0/in)" = $N ] || fail "pass-5005's counter did not go on across the replacement"
gw nft list table inet tlsfw >"$TMP/t2"
grep -q '\.a {' "$TMP/t2" && fail "objects of the previous generation survived the replacement"
[ "$(grep -c '^	chain .*/lan0/in\.b {' "$TMP/t2")" = 8 ] || fail "not one rule chain per member of the run"
ok "replacement: new verdicts at once, counters kept by name, one generation of maps and rule chains"

# a refused switch leaves the policy in force and nothing of the generation it staged
cp "$TMP/t2" "$TMP/t2.before"
TLSFW_NFT_FAULT=switch tlsfw apply "$conf" >"$TMP/fault" 2>&1 && fail "apply with a refused switch succeeded"
gw nft list table inet tlsfw >"$TMP/t3"
grep -q '\.a {' "$TMP/t3" && fail "a refused switch left maps or chains of its generation"
diff <(sed 's/packets [0-9]* bytes [0-9]*//' "$TMP/t2.before") <(sed 's/packets [0-9]* bytes [0-9]*//' "$TMP/t3") ||
	fail "a refused switch changed the table"
ok "a refused switch removes the maps and rule chains it staged"

# detach one interface: its runs go, the other's stay
pol3=$( {
	printf 'version: 1\nbackend: nft\nfragments: allow\ninterfaces:\n  - name: lan0\n  - name: wan0\ndefault: allow\nrules:\n'
	rules drop allow
} | policy runs3)
tlsfw apply "$pol3" >/dev/null 2>&1 || fail "apply on two interfaces"
tlsfw detach wan0 >"$TMP/detach" 2>&1 || { cat "$TMP/detach"; fail "detach wan0"; }
gw nft list table inet tlsfw >"$TMP/t4" || fail "detach wan0 removed the table"
grep -q 'wan0/' "$TMP/t4" && fail "detach wan0 left maps, chains or counters of wan0"
grep -q 'udp dport vmap @lan0/in/udp0' "$TMP/t4" || fail "detach wan0 removed lan0's run"
[ "$(udp_probe "$CLI" "$S4" 5000)" = timeout ] || fail "after detach wan0, lan0 no longer drops UDP 5000"
ok "detach wan0 removes wan0's maps, rule chains and counters; lan0's run still drops"
tlsfw detach >/dev/null || fail "detach"
