#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# on_fail: block on a gateway. Postfix (compliant) and Dovecot (plaintext LOGIN before
# STARTTLS: not compliant) run on the server of a client -- gateway -- server topology; the
# policy probes SMTP and IMAP with on_fail: block and POP3 with on_fail: warn, and an allow
# rule lets all three ports through. `tlsfw apply` on the gateway probes first: only IMAP
# gets a drop rule, first in order, for exactly the probed address and port. Client traffic
# to it is dropped and counted under the probe's name; SMTP, POP3, IMAPS and IMAP over IPv6
# pass.
source "$(dirname "$0")/../probe/lib.sh"

gateway_up
mkca
mkcert mail.test "DNS:mail.test,IP:$S4,IP:$S6" 30
# no reverse look-up of the gateway: DNS queries from the server would wait on the
# gateway's rate-limited ICMP, and a 5 s banner delay fails the greeting check
postfix_start "smtpd_peername_lookup = no"
dovecot_start "disable_plaintext_auth = no"

# The policy cannot name the test CA: verify: false leaves chain and name out.
cat >"$TMP/block.conf" <<EOC
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: allow-mail
    proto: tcp
    dport: [25, 110, 143, 993]
    action: allow
probes:
  - name: mx
    target: $S4:smtp
    verify: false
    on_fail: block
  - name: imap
    target: $S4:imap
    verify: false
    on_fail: block
  - name: pop
    target: $S4:pop3
    verify: false
    on_fail: warn
EOC

# the premise, as tlsfw probe sees it from the gateway
OUT=$(gw "$TLSFW" probe --json --policy "$TMP/block.conf" 2>"$TMP/probe.err")
RC=$?
[ "$RC" = 3 ] || fail "probe --policy: exit $RC, expected 3 (some probe not compliant)"
printf '%s' "$OUT" | $PY -c '
import json, sys
t = {x["probe"]: x for x in json.load(sys.stdin)["targets"]}
assert t["mx"]["compliant"], t["mx"]
for n in ("imap", "pop"):
    assert not t[n]["compliant"], t[n]
    assert [c["name"] for c in t[n]["checks"] if c["status"] == "fail"] == ["plaintext-auth"], t[n]
' || fail "the servers are not what the test needs"
ok "premise: mx compliant, imap and pop fail plaintext-auth"

# check does not touch the network unless asked
gw "$TLSFW" check --print-plan "$TMP/block.conf" >"$TMP/plan0" 2>"$TMP/check0.err" ||
	fail "check --print-plan: $(cat "$TMP/check0.err")"
grep -q '^  0 (essentials) allow' "$TMP/plan0" && grep -q '^  1 allow-mail allow' "$TMP/plan0" || fail "check without --probe: $(grep -A4 '^rules:' "$TMP/plan0")"
grep -q 'probe' "$TMP/check0.err" && fail "check without --probe ran probes: $(cat "$TMP/check0.err")"
gw "$TLSFW" check --probe --print-plan "$TMP/block.conf" >"$TMP/plan1" 2>"$TMP/check1.err" ||
	fail "check --probe --print-plan: $(cat "$TMP/check1.err")"
line=$(grep -n '  - name: imap' "$TMP/block.conf" | cut -d: -f1)
grep -q "^  0 imap drop line $line\$" "$TMP/plan1" &&
	grep -q '^  1 (essentials) allow' "$TMP/plan1" &&
	grep -q '^  2 allow-mail allow' "$TMP/plan1" ||
	fail "check --probe: the plan's rules: $(grep -A4 '^rules:' "$TMP/plan1")"
grep -Eq '^  [0-9]+ (mx|pop) ' "$TMP/plan1" && fail "a passing or warn probe got a rule"
grep -q "warning: probe 'imap' failed: $S4:imap is not compliant (failed: plaintext-auth); on_fail: block drops tcp/143 to $S4" \
	"$TMP/check1.err" || fail "check --probe: the imap warning: $(cat "$TMP/check1.err")"
ok "check --probe --print-plan shows the drop rule first; plain check runs no probe"

# apply probes first
gw "$TLSFW" apply "$TMP/block.conf" >"$TMP/apply.out" 2>"$TMP/apply.err" ||
	fail "apply: $(cat "$TMP/apply.out" "$TMP/apply.err")"
# the probes ran first, so their warnings come first: before the hooks apply attached
gw "$TLSFW" apply "$TMP/block.conf" >"$TMP/both.out" 2>&1 || fail "apply again: $(cat "$TMP/both.out")"
first_warning=$(grep -n "warning: probe" "$TMP/both.out" | head -1 | cut -d: -f1)
first_hook=$(grep -n "^lan0: ingress" "$TMP/both.out" | head -1 | cut -d: -f1)
[ -n "$first_warning" ] && [ -n "$first_hook" ] && [ "$first_warning" -lt "$first_hook" ] ||
	fail "the probe warnings do not come before the attach lines: $(cat "$TMP/both.out")"
grep -q "probe 'imap' failed.*on_fail: block drops tcp/143 to $S4" "$TMP/apply.err" ||
	fail "apply did not report the imap block: $(cat "$TMP/apply.err")"
grep -q "note: plaintext-auth: " "$TMP/apply.err" || fail "apply: no evidence note"
grep -q "probe 'pop' failed.*on_fail: warn, so nothing is blocked" "$TMP/apply.err" ||
	fail "apply did not report the pop warning: $(cat "$TMP/apply.err")"
grep -q "probe 'mx'" "$TMP/apply.err" && fail "the compliant probe was reported: $(cat "$TMP/apply.err")"
grep -q 'Sanitizer\|runtime error' "$TMP/apply.err" && fail "sanitizer: $(cat "$TMP/apply.err")"
ok "apply reports the failing probes"

N=3
for i in $(seq $N); do
	r=$(tcp "$CNS" $S4 143)
	[ "$r" = timeout ] || fail "IMAP to the failing server: $r, expected timeout (dropped)"
done
ok "client to $S4:143 (failed, on_fail: block): dropped ($N SYNs)"
for port in 25 110 993; do
	r=$(tcp "$CNS" $S4 $port)
	[ "$r" = connected ] || fail "client to $S4:$port: $r, expected connected"
done
ok "client to $S4:25 (passed), :110 (on_fail: warn), :993 (not probed): connected"
r=$(tcp "$CNS" $S6 143)
[ "$r" = connected ] || fail "client to [$S6]:143: $r (only the probed address is blocked)"
ok "client to [$S6]:143 (an address the probe did not use): connected"

gw "$TLSFW" stats --json --exact >"$TMP/stats.json" || fail "stats --json"
got=$($PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = [x for x in d["rules"] if x["name"] == "imap" and x["interface"] == "lan0" and x["direction"] == "ingress"]
assert len(r) == 1 and r[0]["action"] == "drop", r
assert not [x for x in d["rules"] if x["name"] in ("mx", "pop")], "rules for mx or pop"
print(r[0]["packets"])' "$TMP/stats.json") || fail "stats: $(cat "$TMP/stats.json")"
[ "$got" = $N ] || fail "stats: rule imap counted $got packets, expected $N"
ok "tlsfw stats --json: rule 'imap' (drop) counted the $N dropped SYNs"
exit 0
