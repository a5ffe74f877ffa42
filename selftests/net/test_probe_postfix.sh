#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw probe against Postfix: SMTP STARTTLS on 25 and 587, implicit TLS on 465. The
# compliant configuration passes every check on every port; each broken variant fails
# exactly the check that names its fault; a proxy that strips STARTTLS is caught.
source "$(dirname "$0")/../probe/lib.sh"

probe_up
mkca
mkcert mail.test "DNS:mail.test,IP:$S4" 30
mkcert expired "DNS:mail.test,IP:$S4" -1
mkcert other "DNS:other.test" 30

postfix_start
for port in 25 587 465; do
	probe "$S4:$port"
	expect_compliant "postfix compliant on $port"
done
[ "$(field starttls)" = n/a ] || fail "465 is implicit TLS"
# the check list of a STARTTLS port, as the JSON carries it
probe "$S4:submission"
expect_compliant "host:service form (submission = 587)"
[ "$(check_status tls-required)" = pass ] || fail "587 requires TLS: MAIL FROM must be refused"
[ "$(field starttls)" = ok ] || fail "starttls outcome: $(field starttls)"
printf '%s' "$OUT" | grep -q '"version":"TLSv1.3"' || fail "negotiated version missing from JSON"
# a host name: resolved, verified and sent as SNI without --name
OUT=$(cli "$TLSFW" probe --json --ca "$TMP/ca/ca.pem" mail.test:smtps)
RC=$?
expect_compliant "mail.test:smtps by name"
[ "$(field address)" = "$S4:465" ] || fail "resolved address $(field address)"
probe "$S4:25" --require-tls
expect_fail_only "port 25 with --require-tls" tls-required
# human report: one verdict line, then the checks
TXT=$(cli "$TLSFW" probe --ca "$TMP/ca/ca.pem" --name mail.test "$S4:25")
[ $? = 0 ] || fail "human report exit"
head -n1 <<<"$TXT" | grep -q 'COMPLIANT$' || fail "verdict line: $(head -n1 <<<"$TXT")"
[ "$(wc -l <<<"$TXT")" = 12 ] || fail "human report: expected 1 + 11 lines: $TXT"
ok "human report"

# tlsfw probe --policy: the probes a policy declares (verify: false, since the policy cannot
# name the test CA)
cat >"$TMP/probes.conf" <<EOC
version: 1
interfaces:
  - name: lan0
default: allow
probes:
  - name: mx
    target: $S4:25
    starttls: smtp
    verify: false
  - name: submission
    target: $S4:submission
    min_tls: "1.3"
    verify: false
  - name: old-floor
    target: $S4:465
    min_tls: "1.0"
    verify: false
EOC
OUT=$(cli "$TLSFW" probe --json --policy "$TMP/probes.conf")
RC=$?
# Postfix allows TLS 1.2, so the probe asking for 1.3 fails, and only that one
[ "$RC" = 3 ] || fail "--policy: exit $RC"
printf '%s' "$OUT" | $PY -c '
import json, sys
t = json.load(sys.stdin)["targets"]
assert [x["probe"] for x in t] == ["mx", "submission", "old-floor"], t
assert [x["compliant"] for x in t] == [True, False, True], t
mt = {x["probe"]: [c for c in x["checks"] if c["name"] == "min-tls"][0] for x in t}
assert mt["submission"]["status"] == "fail", mt
assert "accepted TLSv1.2" in mt["submission"]["evidence"], mt
assert mt["old-floor"]["status"] == "n/a", mt
chain = [c for c in t[0]["checks"] if c["name"] == "chain"][0]
assert chain["status"] == "n/a", chain
' || fail "--policy report"
ok "--policy runs the policy's probes"
printf 'version: 1\ninterfaces:\n  - name: lan0\nprobes:\n  - name: p\n    target: nohost\n' \
	>"$TMP/bad.conf"
cli "$TLSFW" probe --policy "$TMP/bad.conf" >/dev/null 2>"$TMP/bad.err"
[ $? = 1 ] || fail "--policy with a bad target must exit 1"
grep -q 'bad.conf:6:' "$TMP/bad.err" || fail "bad target not located: $(cat "$TMP/bad.err")"
ok "--policy: a bad target is an error at its line"
postfix_stop

# STARTTLS not offered
postfix_start "smtpd_tls_security_level = none"
probe "$S4:25"
expect_fail_only "STARTTLS not offered" starttls
[ "$(field starttls)" = not-advertised ] || fail "outcome $(field starttls)"
postfix_stop

# expired certificate: only expiry fails (the chain check ignores time)
PF_CERT=expired postfix_start
probe "$S4:587"
expect_fail_only "expired certificate" expiry
ev=$(printf '%s' "$OUT" | $PY -c '
import json, sys
print([c["evidence"] for c in json.load(sys.stdin)["targets"][0]["checks"] if c["name"] == "expiry"][0])')
[ "$ev" = "expired 1 day ago" ] || fail "expiry evidence of a certificate expired a day ago: '$ev'"
PF_CERT=mail.test
postfix_stop

# wrong host name
PF_CERT=other postfix_start
probe "$S4:465"
expect_fail_only "wrong host name" name
postfix_stop

# anonymous suites accepted (Postfix's defaults keep aNULL)
postfix_start "smtpd_tls_exclude_ciphers =" "smtpd_tls_mandatory_exclude_ciphers =" \
	"tls_medium_cipherlist = ALL:@SECLEVEL=0"
probe "$S4:25"
expect_fail_only "anonymous suites accepted" weak-ciphers

# a man in the middle strips STARTTLS; the probe says so and fails closed
srv ip addr add 10.203.0.3/32 dev ps
bg "$TMP/strip.log" srv $PY "$ROOT/selftests/probe/hostile.py" strip $S4 2525 $S4 25 10.203.0.3
wait_port 2525
probe "$S4:2525" --starttls smtp
expect_fail_only "STARTTLS stripped" starttls
[ "$(field starttls)" = stripped ] || fail "outcome $(field starttls), expected stripped"
[ "$(check_status tls-required)" = n/a ] || fail "after stripping nothing more may be sent"
printf '%s' "$OUT" | grep -q 'fail closed' || fail "stripped report must say it fails closed"
# fail closed: one connection through the proxy, and no transaction on it
sleep 0.5
n=$(grep -c ': connect from unknown\[10.203.0.3\]' "$TMP/pf/maillog")
[ "$n" = 1 ] || fail "after stripping the probe opened $n connections, expected 1"
grep 'disconnect from unknown\[10.203.0.3\]' "$TMP/pf/maillog" | grep -q 'mail=' &&
	fail "the probe began a transaction after stripping"
ok "stripping reported, probe failed closed"
exit 0
