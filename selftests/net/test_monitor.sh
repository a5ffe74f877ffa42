#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A monitor-mode rule counts what it would drop and lets it pass; then the same rule name in
# enforce mode drops, and its counter continues from where monitor left it (counters are kept
# per rule name across apply). A renamed rule starts at zero, also when it gets a slot an
# earlier rule counted in.
. "$(dirname "$0")/lib.sh"

topo_up
sink_start m 5004

mk() { # mode [rule name]
	policy "mon-$1-${2:-x}" <<EOF2
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: ${2:-would-drop-5004}
    proto: udp
    dport: 5004
    action: drop
    mode: $1
EOF2
}

tlsfw apply "$(mk monitor)" || fail "apply monitor"
N=9
send_udp "$CLI" "$S4" 5004 $N
send_udp "$CLI" "$S6" 5004 $N
sleep 0.3
stats_json "$TMP/s1.json"
got=$(stat_rule "$TMP/s1.json" would-drop-5004 lan0 ingress packets)
[ "$got" = $((2 * N)) ] || { tlsfw stats --exact; fail "monitor rule counted $got, sent $((2 * N))"; }
mode=$(jget "$TMP/s1.json" "[r['mode'] for r in d['rules'] if r['name']=='would-drop-5004'][0]")
[ "$mode" = monitor ] || fail "stats shows mode '$mode'"
mon=$(jget "$TMP/s1.json" "[i['monitor']['packets'] for i in d['interfaces'] if i['interface']=='lan0'][0]")
[ "$mon" = $((2 * N)) ] || fail "monitor verdict total is $mon"
ok "monitor rule counted $((2 * N)) packets"

tlsfw apply "$(mk enforce)" || fail "apply enforce"
send_udp "$CLI" "$S4" 5004 $N
sleep 0.3
sink_stop m
[ "$(sink_count m 4 5004)" = $N ] || fail "IPv4: $(sink_count m 4 5004) of $N passed (monitor phase: all must pass, enforce: none)"
[ "$(sink_count m 6 5004)" = $N ] || fail "IPv6: monitor mode dropped packets"
ok "monitor passed every packet, enforce dropped every packet"
stats_json "$TMP/s2.json"
got=$(stat_rule "$TMP/s2.json" would-drop-5004 lan0 ingress packets)
[ "$got" = $((3 * N)) ] || fail "counter after enforce is $got, expected $((3 * N)) (kept across apply)"
ok "counter kept across apply: $got"

# Renamed: a fresh slot, zero. Renamed again: the first name's slot is free again and may be
# taken; whatever it gets, it starts at zero.
tlsfw apply "$(mk enforce renamed-5004)" || fail "apply renamed"
stats_json "$TMP/s3.json"
[ "$(stat_rule "$TMP/s3.json" renamed-5004 lan0 ingress packets)" = 0 ] || fail "a renamed rule did not start at zero"
send_udp "$CLI" "$S4" 5004 $N
sleep 0.3
tlsfw apply "$(mk enforce third-5004)" || fail "apply third"
stats_json "$TMP/s4.json"
[ "$(stat_rule "$TMP/s4.json" third-5004 lan0 ingress packets)" = 0 ] || fail "a new rule inherited counts from a released slot"
ok "renamed rules start at zero"
