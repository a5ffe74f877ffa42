#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A server whose intermediate CA expired 30 days ago while its own certificate has 299 days
# left (issue 16, item 7): openssl s_client, the witness, says "certificate has expired" at
# depth 1; tlsfw probe must fail the expiry check naming that certificate (it used to look at
# the leaf only and call the server compliant), and on_fail: block on a gateway then drops
# the client's connections to it. A chain whose certificates are all valid still passes.
source "$(dirname "$0")/../probe/lib.sh"

gateway_up
mkca
mkint int-expired "-400 days" "-30 days"
mkint int-valid "-1 days" "+25 days"
ISSUER=int-expired mkcert expint "DNS:mail.test,IP:$S4" 299
ISSUER=int-valid mkcert goodint "DNS:mail.test,IP:$S4" 299

# the witness: a client that checks time refuses the chain at depth 1
PF_CERT=expint postfix_start "smtpd_peername_lookup = no"
W=$(echo QUIT | gw timeout 10 openssl s_client -starttls smtp -connect "$S4:25" \
	-CAfile "$TMP/ca/ca.pem" -verify_hostname mail.test 2>&1)
grep -q 'depth=1 CN = int-expired' <<<"$W" && grep -q 'certificate has expired' <<<"$W" ||
	fail "witness: s_client does not report the expired intermediate: $W"
ok "witness: openssl s_client reports 'certificate has expired' at depth 1"

OUT=$(gw "$TLSFW" probe --json --ca "$TMP/ca/ca.pem" --name mail.test "$S4:25" 2>"$TMP/probe.err")
RC=$?
expect_fail_only "expired intermediate" expiry
printf '%s' "$OUT" | $PY -c '
import json, sys
t = json.load(sys.stdin)["targets"][0]
c = {x["name"]: x for x in t["checks"]}
ev = c["expiry"]["evidence"]
assert ev.startswith("certificate at depth 1 (/CN=int-expired) expired 30 days ago"), ev
assert c["chain"]["status"] == "pass", c["chain"]
assert t["certificate"]["days_left"] in (298, 299), t["certificate"]
assert t["certificate"]["chain_days_left"] == -30, t["certificate"]
' || fail "expiry evidence: $OUT"
ok "the probe names the expired intermediate; the leaf's 299 days are not the verdict"

# on_fail: block drops the client's connections to that server
cat >"$TMP/block.conf" <<EOC
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: allow-smtp
    proto: tcp
    dport: 25
    action: allow
probes:
  - name: mx
    target: $S4:smtp
    verify: false
    on_fail: block
EOC
gw "$TLSFW" apply "$TMP/block.conf" >"$TMP/apply.out" 2>"$TMP/apply.err" ||
	fail "apply: $(cat "$TMP/apply.out" "$TMP/apply.err")"
grep -q "probe 'mx' failed: $S4:smtp is not compliant (failed: expiry); on_fail: block drops tcp/25 to $S4" \
	"$TMP/apply.err" || fail "apply did not block the server: $(cat "$TMP/apply.err")"
grep -q "note: expiry: certificate at depth 1 (/CN=int-expired) expired 30 days ago" \
	"$TMP/apply.err" || fail "apply: no evidence note: $(cat "$TMP/apply.err")"
r=$(tcp "$CNS" $S4 25)
[ "$r" = timeout ] || fail "client to the blocked server: $r, expected timeout (dropped)"
ok "on_fail: block drops tcp/25 to the server with the expired intermediate"
gw "$TLSFW" detach >/dev/null 2>&1
postfix_stop

# the same chain shape with a valid intermediate passes, and says which expires first
PF_CERT=goodint postfix_start "smtpd_peername_lookup = no"
OUT=$(gw "$TLSFW" probe --json --ca "$TMP/ca/ca.pem" --name mail.test "$S4:25" 2>"$TMP/probe.err")
RC=$?
expect_compliant "valid intermediate"
printf '%s' "$OUT" | $PY -c '
import json, re, sys
t = json.load(sys.stdin)["targets"][0]
ev = [c for c in t["checks"] if c["name"] == "expiry"][0]["evidence"]
assert re.search(r"the chain expires first: certificate at depth 1 \(/CN=int-valid\) in 2[45] days", ev), ev
' || fail "valid chain evidence: $OUT"
ok "a valid chain passes; the evidence names the certificate that expires first"
exit 0
