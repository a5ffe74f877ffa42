#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Domain probes in a policy (issue 16): probes: entries with domain: run from tlsfw probe
# --policy, and with on_fail: block from tlsfw apply on a gateway. The mail domain has two
# MX hosts, one whose TLSA record matches and one whose record does not (dns.sh: a signed
# zone, its key given as trust_anchor:). apply blocks tcp/25 to the failing MX host only;
# the client still reaches the other one. A passing domain probe adds nothing.
source "$(dirname "$0")/../probe/lib.sh"

gateway_up
DNS_NET=10.10.2 DNS_DEV=veth0 DNS_CLIENTS="$GW $CNS"
source "$ROOT/selftests/probe/dns.sh"
MX2=10.10.2.4
mkca
mkcert mx "DNS:mx1.dane.example,DNS:mx2.dane.example" 60
srv ip addr add $MX2/32 dev veth0
PF_CERT=mx postfix_start "inet_interfaces = $S4, $MX2" "smtpd_peername_lookup = no"
dns_zone <<EOZ
dane MX 10 mx1.dane
dane MX 20 mx2.dane
good MX 10 mx1.dane
mx1.dane A $S4
mx2.dane A $MX2
_25._tcp.mx1.dane TLSA 3 1 1 $(spki_hash "$TMP/ca/mx.pem" sha256)
_25._tcp.mx2.dane TLSA 3 1 1 $(printf '%064d' 0)
EOZ
dns_up

cat >"$TMP/mail.conf" <<EOC
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: smtp-out
    service: smtp
    action: allow
probes:
  - name: partner
    domain: dane.example
    trust_anchor: $TA
    on_fail: block
  - name: good
    domain: good.example
    trust_anchor: $TA
    on_fail: block
EOC

OUT=$(gw "$TLSFW" probe --json --policy "$TMP/mail.conf" 2>"$TMP/probe.err")
RC=$?
[ "$RC" = 3 ] || fail "probe --policy: exit $RC: $(cat "$TMP/probe.err")"
printf '%s' "$OUT" | $PY -c '
import json, sys
d = json.load(sys.stdin)
assert d["targets"] == [] and d["summary"]["targets"] == 0, d["summary"]
doms = {x["probe"]: x for x in d["domains"]}
assert doms["partner"]["domain"] == "dane.example" and not doms["partner"]["compliant"], doms
assert doms["good"]["protection"] == "dane" and doms["good"]["compliant"], doms["good"]
assert d["domain_summary"] == {"domains": 2, "protected": 1, "not_protected": 1, "unreachable": 0}, d
' || fail "probe --policy report: $OUT"
ok "probe --policy runs domain probes: partner not protected, good protected by DANE"

line=$(grep -n '  - name: partner' "$TMP/mail.conf" | cut -d: -f1)
gw "$TLSFW" check --probe --print-plan "$TMP/mail.conf" >"$TMP/plan" 2>"$TMP/check.err" ||
	fail "check --probe: $(cat "$TMP/check.err")"
grep -q "^  0 partner drop line $line\$" "$TMP/plan" && grep -q '^  1 (essentials) allow' "$TMP/plan" && grep -q '^  2 smtp-out allow' "$TMP/plan" ||
	fail "check --probe: the plan's rules: $(grep -A4 '^rules:' "$TMP/plan")"
grep -q "warning: probe 'partner' failed: mail domain dane.example is NOT PROTECTED AS CLAIMED (1 check failed); in force: opportunistic; on_fail: block drops tcp/25 to $MX2 (rule 'partner', first in order)" \
	"$TMP/check.err" || fail "check --probe: warning: $(cat "$TMP/check.err")"
grep -q "note: dane mx2.dane.example $MX2:25: no TLSA record authenticates the server" "$TMP/check.err" ||
	fail "check --probe: note: $(cat "$TMP/check.err")"
grep -q "probe 'good'" "$TMP/check.err" && fail "the passing domain probe was reported"
ok "check --probe: a drop rule for the failing MX host first, with the failing check as a note"

gw "$TLSFW" apply "$TMP/mail.conf" >"$TMP/apply.out" 2>"$TMP/apply.err" ||
	fail "apply: $(cat "$TMP/apply.out" "$TMP/apply.err")"
grep -q 'Sanitizer\|runtime error' "$TMP/apply.err" && fail "sanitizer: $(cat "$TMP/apply.err")"
[ "$(tcp "$CNS" $MX2 25)" = timeout ] || fail "client to the failing MX host $MX2:25 not dropped"
[ "$(tcp "$CNS" $S4 25)" = connected ] || fail "client to the DANE-valid MX host $S4:25 not connected"
ok "apply: tcp/25 to the failing MX host dropped, to the other passes"
exit 0
