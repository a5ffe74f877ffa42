#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Counters honest across applies (issue 17 item 5), backend bpf: after traffic under a
# default-allow policy whose rule 'blocky' rejects, a default-drop policy whose 'blocky' drops
# replaces it. apply says which totals it reset; `stats` then shows (default) 0 and reject 0,
# while the pass total and the rules' own lines (kept by name) carry on.
. "$(dirname "$0")/lib.sh"

N=4
topo_up
a=$(policy allow <<EOF
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: blocky
    proto: udp
    dport: 9999
    action: reject
  - name: kept
    proto: udp
    dport: 5301
    action: allow
EOF
)
b=$(policy drop <<EOF
version: 1
interfaces:
  - name: lan0
default: drop
rules:
  - name: blocky
    proto: udp
    dport: 9999
    action: drop
  - name: kept
    proto: udp
    dport: 5301
    action: allow
EOF
)
iface() { jget "$1" "[i for i in d['interfaces'] if i['interface']=='lan0' and i['direction']=='ingress'][0]['$2']['packets']"; }

tlsfw apply "$a" >/dev/null || fail "apply the default-allow policy"
send_udp "$CLI" "$S4" 9999,5300,5301 $N
stats_json "$TMP/a.json"
[ "$(iface "$TMP/a.json" default)" = $N ] || fail "the default counted $(iface "$TMP/a.json" default), not $N"
[ "$(iface "$TMP/a.json" reject)" = $N ] || fail "the reject total is $(iface "$TMP/a.json" reject), not $N"
pass=$(iface "$TMP/a.json" pass)

tlsfw apply "$b" >"$TMP/apply.out" || fail "apply the default-drop policy"
grep -q "counters: (default) reset: the default changed from allow to drop" "$TMP/apply.out" ||
	{ cat "$TMP/apply.out"; fail "apply did not say that the (default) line was reset"; }
grep -q "counters: reject totals reset" "$TMP/apply.out" ||
	{ cat "$TMP/apply.out"; fail "apply did not say that the reject totals were reset"; }
stats_json "$TMP/b.json"
[ "$(iface "$TMP/b.json" default)" = 0 ] || fail "(default) drop shows $(iface "$TMP/b.json" default) packets the old default passed"
[ "$(iface "$TMP/b.json" reject)" = 0 ] || fail "a reject total of $(iface "$TMP/b.json" reject) under a policy that cannot reject"
[ "$(stat_rule "$TMP/b.json" blocky lan0 ingress packets)" = $N ] ||
	fail "'blocky' (kept by name) lost its count"
[ "$(stat_rule "$TMP/b.json" kept lan0 ingress packets)" = $N ] ||
	fail "'kept' (unchanged) lost its count: $(stat_rule "$TMP/b.json" kept lan0 ingress packets)"
[ "$(iface "$TMP/b.json" pass)" -ge "$pass" ] || fail "the pass total did not carry on (it may only grow: neighbour discovery passes)"
tlsfw stats >"$TMP/b.txt" || fail "stats"
grep -q "reject [1-9]" "$TMP/b.txt" && { cat "$TMP/b.txt"; fail "stats shows a reject count"; }
ok "after allow -> drop: (default) and reject start at 0 (said by apply); rule lines and pass carry on"
