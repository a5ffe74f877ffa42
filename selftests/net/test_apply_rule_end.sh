#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Readers of the rule records (apply, status, stats) read slots [0, tlsfw_meta.rule_end)
# alone (bpf/tlsfw_abi.h). Witnessed with bpftool after every apply: each tlsfw_rules record
# from rule_end on is all zero, so nothing in use is left unread. rule_end grows with a
# larger policy (its last rule, in the highest slot, counts exactly), shrinks once the
# previous generation's slots are released, and a rolled-back apply leaves it as it was.
. "$(dirname "$0")/lib.sh"

# gen NAME PREFIX N BASE: N rules PREFIX0.. dropping UDP BASE+i on lan0.
gen() {
	awk -v n="$3" -v pfx="$2" -v base="$4" 'BEGIN {
		print "version: 1\ninterfaces:\n  - name: lan0\ndefault: allow\nrules:"
		for (i = 0; i < n; i++)
			printf "  - name: %s%d\n    proto: udp\n    dport: %d\n    action: drop\n", pfx, i, base + i
	}' >"$TMP/$1.conf"
}

# rule_end: tlsfw_meta.rule_end, after checking with bpftool that every record from there on
# is zero and that one is in use just below it
rule_end() {
	bpftool -j map dump id "$(map_id tlsfw_meta)" >"$TMP/meta.json" || fail "bpftool dump tlsfw_meta"
	bpftool -j map dump id "$(map_id tlsfw_rules)" >"$TMP/rules.json" || fail "bpftool dump tlsfw_rules"
	$PY - "$TMP/meta.json" "$TMP/rules.json" <<'PY' || fail "tlsfw_rules and tlsfw_meta.rule_end disagree"
import json, sys
meta = json.load(open(sys.argv[1]))[0]["formatted"]["value"]
end = meta["rule_end"]
last = -1
for e in json.load(open(sys.argv[2])):
    k = int.from_bytes(bytes(int(b, 16) for b in e["key"]), "little")
    v = e["value"]
    if any(int(b, 16) for b in v):
        if k >= end:
            sys.exit(f"slot {k} is not zero, rule_end is {end}")
        last = k
if last != end - 1:
    sys.exit(f"the last record in use is slot {last}, rule_end is {end}")
print(end)
PY
}

count() { # RULE: packets on lan0 ingress
	stats_json "$TMP/c.json"
	stat_rule "$TMP/c.json" "$1" lan0 ingress packets
}

gen big c 80 20000
gen one b 1 30000
gen other d 1 31000
topo_up

tlsfw apply "$TMP/one.conf" >/dev/null || fail "apply of 1 rule"
e1=$(rule_end) || exit 1
tlsfw apply "$TMP/big.conf" >/dev/null || fail "apply of 80 rules"
e2=$(rule_end) || exit 1
[ "$e2" -gt 80 ] || fail "80 rules on top of 1: rule_end $e2, want more than 80"
send_udp "$CLI" "$S4" 20079 3
sleep 0.2
[ "$(count c79)" = 3 ] || fail "rule c79 (highest slot) counted $(count c79), want 3"
ok "1 rule (rule_end $e1), then 80 renamed ones: rule_end $e2, the last rule counts exactly"

tlsfw apply "$TMP/one.conf" >/dev/null || fail "back to 1 rule"
e3=$(rule_end) || exit 1
tlsfw apply "$TMP/other.conf" >/dev/null || fail "another rule"
e4=$(rule_end) || exit 1
[ "$e4" -lt 10 ] || fail "1 rule after 1 rule after 80: rule_end $e4, want below 10"
send_udp "$CLI" "$S4" 31000 4
sleep 0.2
[ "$(count d0)" = 4 ] || fail "rule d0 counted $(count d0), want 4"
names=$(jget "$TMP/c.json" "' '.join(sorted({r['name'] for r in d['rules'] if not r['name'].startswith('(')}))")
[ "$names" = d0 ] || fail "stats shows the rules '$names', want 'd0'"
ok "back to 1 rule (rule_end $e3), then another: rule_end $e4, released slots are not read"

TLSFW_FAULT=meta tlsfw apply "$TMP/big.conf" >"$TMP/out" 2>&1 && fail "an apply failing at meta succeeded"
e5=$(rule_end) || exit 1
[ "$e5" = "$e4" ] || fail "after a rolled-back apply of 80 rules: rule_end $e5, was $e4"
send_udp "$CLI" "$S4" 31000 2
sleep 0.2
[ "$(count d0)" = 6 ] || fail "after the rollback rule d0 counted $(count d0), want 6"
ok "an apply of 80 rules rolled back at its meta step leaves rule_end $e5 and d0 counting"
tlsfw detach >/dev/null || fail "detach"
