#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw probe --domain: MX, DNSSEC and DANE (issue 16). A zone "example." signed with
# ldns-signzone and served by unbound, the test's key given with --trust-anchor; Postfix as
# the MX on two addresses, its certificate (sent with the CA, the DANE-TA anchor) matching
# some TLSA records and not others. Witnesses: dig +dnssec through a validating unbound for
# secure / insecure / bogus, ldns-dane (chasing signatures to the same key) for each DANE
# verdict, on the chain Postfix presents to openssl s_client.
source "$(dirname "$0")/../probe/lib.sh"
source "$ROOT/selftests/probe/dns.sh"

probe_up
mkca
MX4=10.203.0.4
mkcert mx "DNS:mx1.dane.example,DNS:mx2.dane.example,DNS:mx3.dane.example,DNS:mx4.dane.example,DNS:mx5.dane.example,DNS:nomx.example,DNS:hop.example,DNS:mx*.wc.example" 60
cat "$TMP/ca/ca.pem" >>"$TMP/ca/mx.pem"
mkcert other "DNS:other.example" 60
# the certificate Postfix sends for the server name mx9.dane.example (SNI), where TLSA is
mkcert mx9 "DNS:mx9.dane.example" 60
sni_map mx9.dane.example=mx9
C=$TMP/ca/mx.pem
srv ip addr add $MX4/32 dev ps
PF_CERT=mx postfix_start "inet_interfaces = $S4, $MX4" "smtpd_peername_lookup = no" "$SNI_MAP"

dns_zone <<EOZ
dane MX 10 mx1.dane
dane MX 20 mx2.dane
_smtp._tls.dane TXT "v=TLSRPTv1; rua=mailto:tls@dane.example"
mx1.dane A $S4
mx2.dane A $MX4
_25._tcp.mx1.dane TLSA 3 1 1 $(spki_hash "$C" sha256)
_25._tcp.mx2.dane TLSA 3 1 1 $(spki_hash "$TMP/ca/other.pem" sha256)
good MX 10 mx1.dane
types MX 10 mx3.dane
types MX 20 mx4.dane
types MX 30 mx5.dane
mx3.dane A $S4
mx4.dane A $S4
mx5.dane A $S4
_25._tcp.mx3.dane TLSA 2 0 1 $(cert_hash "$TMP/ca/ca.pem" sha256)
_25._tcp.mx4.dane TLSA 3 0 2 $(cert_hash "$C" sha512)
_25._tcp.mx5.dane TLSA 3 1 0 $(spki_hash "$C" full)
pkix MX 10 mx6.dane
mx6.dane A $S4
_25._tcp.mx6.dane TLSA 1 1 1 $(spki_hash "$C" sha256)
bogus MX 10 mx1.dane
bogustlsa MX 10 mx7.dane
mx7.dane A $S4
_25._tcp.mx7.dane TLSA 3 1 1 $(spki_hash "$C" sha256)
nomx A $S4
_25._tcp.nomx TLSA 3 1 1 $(spki_hash "$C" sha256)
nullmx MX 0 .
hop MX 10 mx8.dane
mx8.dane A $S4
_25._tcp.mx8.dane TLSA 2 0 1 $(cert_hash "$TMP/ca/ca.pem" sha256)
wc MX 10 mx1.wc
provmx MX 10 mx.prov
cn MX 10 mxalias.dane
mxalias.dane CNAME mx9.dane
mx9.dane A $S4
_25._tcp.mx9.dane TLSA 3 1 1 $(spki_hash "$TMP/ca/mx9.pem" sha256)
_25._tcp.mxalias.dane TLSA 3 1 1 $(spki_hash "$TMP/ca/other.pem" sha256)
cnf MX 10 mxalias2.dane
mxalias2.dane CNAME mx10.dane
mx10.dane A $S4
_25._tcp.mxalias2.dane TLSA 3 1 1 $(spki_hash "$C" sha256)
cnu MX 10 mxu.dane
mxu.dane CNAME mx.plain.example.
_25._tcp.mxu.dane TLSA 3 1 1 $(spki_hash "$C" sha256)
mx1.wc A $S4
_25._tcp.mx1.wc TLSA 2 0 1 $(cert_hash "$TMP/ca/ca.pem" sha256)
EOZ
dns_child plain <<EOZ
@ MX 10 mx.plain.example.
mx A $S4
_25._tcp.mx TLSA 3 1 1 $(spki_hash "$TMP/ca/other.pem" sha256)
EOZ
dns_child prov <<EOZ
mx A $S4
EOZ
dns_refuse _tcp.mx.prov.example
dns_tamper bogus.example MX "10 mx2.dane.example."
dns_tamper _25._tcp.mx7.dane.example TLSA "3 1 1 $(spki_hash "$TMP/ca/other.pem" sha256)"
dns_up

# dprobe DOMAIN [ARGS...]: the JSON report in $OUT, the exit status in $RC
dprobe() {
	local d=$1
	shift
	OUT=$(cli "$TLSFW" probe --json --domain "$d" --trust-anchor "$TA" --ca "$TMP/ca/ca.pem" \
		"$@" 2>"$TMP/probe.err")
	RC=$?
	grep -q 'Sanitizer\|runtime error' "$TMP/probe.err" && { cat "$TMP/probe.err"; fail "sanitizer"; }
}

# dget EXPR: a Python expression over the domain's report (d), printed
dget() {
	printf '%s' "$OUT" | $PY -c '
import json, sys
d = json.load(sys.stdin)["domains"][0]
hosts = {h["name"]: h for h in d["mx"]["hosts"]}
fails = sorted((f["check"], f["subject"]) for f in d["failures"])
print(eval(sys.argv[1]))' "$1"
}

# expect WHAT RC PROTECTION: exit status and protection of the last probe
expect() {
	[ "$RC" = "$2" ] || fail "$1: exit $RC, expected $2"
	[ "$(dget 'd["protection"]')" = "$3" ] || fail "$1: protection $(dget 'd["protection"]'), expected $3"
}

# the witnesses' view of the zone
[ "$(dig_status dane.example MX)" = secure ] || fail "witness: dane.example MX not secure"
[ "$(dig_status plain.example MX)" = insecure ] || fail "witness: plain.example MX not insecure"
[ "$(dig_status bogus.example MX)" = SERVFAIL ] || fail "witness: bogus.example MX not bogus"
[ "$(dig_status _25._tcp.mx7.dane.example TLSA)" = SERVFAIL ] || fail "witness: mx7 TLSA not bogus"
[ "$(dig_status mx.prov.example A)" = insecure ] || fail "witness: mx.prov.example A not insecure"
[ "$(dig_status _25._tcp.mx.prov.example TLSA)" = SERVFAIL ] || fail "witness: mx.prov TLSA answered"
ok "witness (dig +dnssec via a validating resolver): secure, insecure, bogus as built"
cli openssl s_client -starttls smtp -connect $S4:25 -showcerts </dev/null 2>/dev/null |
	sed -n '/BEGIN CERT/,/END CERT/p' >"$TMP/chain.pem"
# ldns_dane MX: 0 when the presented chain dane-validates against the TLSA records of MX
ldns_dane() {
	cli ldns-dane -c "$TMP/chain.pem" -S -k "$TA" -r $DNS4 verify "$1" 25 >"$TMP/ldns.out" 2>&1
}

# two MX hosts, one TLSA right and one wrong
dprobe dane.example
expect "dane.example" 3 opportunistic
[ "$(dget 'd["mx"]["status"]')" = secure ] || fail "MX status $(dget 'd["mx"]["status"]')"
[ "$(dget '[hosts[n]["dane"] for n in ("mx1.dane.example", "mx2.dane.example")]')" = "['dane-valid', 'dane-invalid']" ] ||
	fail "dane verdicts: $(dget '[(n, h["dane"], h["dane_evidence"]) for n, h in hosts.items()]')"
[ "$(dget 'fails')" = "[('dane', 'mx2.dane.example $MX4:25')]" ] || fail "failures: $(dget 'd["failures"]')"
[ "$(dget 'd["tls_rpt"]["rua"]')" = "['mailto:tls@dane.example']" ] || fail "TLS-RPT: $(dget 'd["tls_rpt"]')"
[ "$(dget 'hosts["mx1.dane.example"]["targets"][0]["dane"]')" = dane-valid ] || fail "target dane"
ldns_dane mx1.dane.example || fail "ldns-dane: mx1 does not validate: $(cat "$TMP/ldns.out")"
ldns_dane mx2.dane.example && fail "ldns-dane: mx2 validates: $(cat "$TMP/ldns.out")"
ok "dane.example: mx1 dane-valid, mx2 dane-invalid (ldns-dane agrees), exit 3"
TXT=$(cli "$TLSFW" probe --domain dane.example --trust-anchor "$TA" --ca "$TMP/ca/ca.pem")
head -n1 <<<"$TXT" | grep -qx 'dane.example: NOT PROTECTED AS CLAIMED (1 check failed); in force: opportunistic' ||
	fail "human verdict: $(head -n1 <<<"$TXT")"
grep -q "^  fail dane     mx2.dane.example $MX4:25: no TLSA record authenticates the server" <<<"$TXT" ||
	fail "human report: $TXT"
ok "human report: verdict line and the failing check"

dprobe good.example
expect "good.example (mx1 only)" 0 dane
[ "$(dget 'd["verdict"]')" = "PROTECTED: dane" ] || fail "verdict $(dget 'd["verdict"]')"
ok "good.example: PROTECTED: dane, exit 0"

# DANE-TA(2) 0 1 of the CA, DANE-EE(3) 0 2 of the certificate, 3 1 0 of the whole key
dprobe types.example
expect "types.example" 0 dane
for m in mx3 mx4 mx5; do
	ldns_dane $m.dane.example || fail "ldns-dane: $m does not validate: $(cat "$TMP/ldns.out")"
done
[ "$(dget 'hosts["mx3.dane.example"]["dane_evidence"]')" = "TLSA 2 0 1 matched the certificate at depth 1 (/CN=tlsfw-probe-test-ca)" ] ||
	fail "mx3 evidence: $(dget 'hosts["mx3.dane.example"]["dane_evidence"]')"
ok "usages 2 and 3, selectors 0 and 1, matching types 0, 1, 2: dane-valid (ldns-dane agrees)"

# DANE-TA: the certificate names the next-hop domain, not the MX host (RFC 7672 3.2.2)
dprobe hop.example
expect "hop.example (DANE-TA, the domain's name)" 0 dane
[ "$(dget 'hosts["mx8.dane.example"]["dane_evidence"]')" = "TLSA 2 0 1 matched the certificate at depth 1 (/CN=tlsfw-probe-test-ca)" ] ||
	fail "mx8 evidence: $(dget 'hosts["mx8.dane.example"]["dane_evidence"]')"
ok "DANE-TA: a certificate for the next-hop domain of a secure MX answer is dane-valid"

# DANE-TA: "mx*.wc.example" in the certificate does not name mx1.wc.example (RFC 7672 3.2.3)
dprobe wc.example
expect "wc.example (DANE-TA, a partial wildcard)" 3 opportunistic
[ "$(dget 'fails')" = "[('dane', 'mx1.wc.example $S4:25')]" ] || fail "failures: $(dget 'd["failures"]')"
[ "$(dget 'hosts["mx1.wc.example"]["dane_evidence"]')" = "no TLSA record authenticates the server: hostname mismatch" ] ||
	fail "mx1.wc evidence: $(dget 'hosts["mx1.wc.example"]["dane_evidence"]')"
ok "DANE-TA: a partial wildcard (mx*.wc.example) does not match: dane-invalid, exit 3"

dprobe pkix.example
expect "pkix.example (PKIX-EE only)" 0 opportunistic
[ "$(dget 'hosts["mx6.dane.example"]["dane"]')" = no-usable-tlsa ] || fail "mx6: $(dget 'hosts["mx6.dane.example"]')"
[ "$(dget '[w["check"] for w in d["warnings"]]')" = "['dane']" ] || fail "warnings: $(dget 'd["warnings"]')"
ok "a PKIX-EE(1) record alone is unusable for SMTP: a warning, exit 0"

dprobe bogus.example
expect "bogus.example" 3 none
[ "$(dget 'fails')" = "[('dnssec', 'MX bogus.example')]" ] || fail "failures: $(dget 'd["failures"]')"
[ "$(dget 'd["mx"]["hosts"]')" = "[]" ] || fail "a bogus MX answer was used"
ok "bogus MX answer: a dnssec failure, nothing probed, exit 3"
# behind a validating resolver (which answers SERVFAIL to others) tlsfw still sees bogus
printf 'nameserver %s\n' $WITNESS4 >"/etc/netns/$CNS/resolv.conf"
dprobe bogus.example
printf 'nameserver %s\n' $DNS4 >"/etc/netns/$CNS/resolv.conf"
expect "bogus.example via a validating resolver" 3 none
[ "$(dget 'fails')" = "[('dnssec', 'MX bogus.example')]" ] || fail "failures: $(dget 'd["failures"]')"
ok "through a validating resolver too: bogus, not a failing server"

dprobe bogustlsa.example
expect "bogustlsa.example" 3 opportunistic
[ "$(dget 'fails')" = "[('dnssec', 'TLSA _25._tcp.mx7.dane.example')]" ] || fail "failures: $(dget 'd["failures"]')"
[ "$(dget 'hosts["mx7.dane.example"]["dane"]')" = dane-invalid ] || fail "mx7: $(dget 'hosts["mx7.dane.example"]')"
ok "bogus TLSA answer: dane-invalid, a dnssec failure, exit 3"

dprobe plain.example
expect "plain.example (unsigned)" 0 opportunistic
[ "$(dget 'd["mx"]["status"]')" = insecure ] || fail "MX status $(dget 'd["mx"]["status"]')"
[ "$(dget 'hosts["mx.plain.example"]["dane"]')" = no-dane ] || fail "an insecure TLSA was used"
ok "unsigned delegation: insecure, DANE does not apply, exit 0"

# a signed domain, its MX in an unsigned zone whose server fails _tcp queries: insecure
# addresses, so no TLSA look-up counts (RFC 7672 2.2.2)
dprobe provmx.example
expect "provmx.example (TLSA SERVFAIL, insecure A)" 0 opportunistic
[ "$(dget 'fails')" = "[]" ] || fail "failures: $(dget 'd["failures"]')"
[ "$(dget 'hosts["mx.prov.example"]["dane_evidence"]')" = "the address records are not signed: DANE does not apply" ] ||
	fail "mx.prov: $(dget 'hosts["mx.prov.example"]')"
ok "a failed TLSA look-up of an MX host with unsigned addresses: no-dane, exit 0"

# CNAME (RFC 7672 2.2.2): a secure chain has TLSA at its expansion first (mx9: right, the
# alias: wrong), else at the MX name; an insecure chain whose first CNAME is secure: TLSA at
# the MX name. The server name sent is the TLSA base domain (8.1): mx9's TLSA matches only the
# certificate Postfix sends for mx9.dane.example.
for d in cn cnf cnu; do
	dprobe $d.example
	expect "$d.example (CNAME)" 0 dane
done
[ "$(dig_status mxu.dane.example CNAME)" = secure ] && [ "$(dig_status mxu.dane.example A)" = insecure ] ||
	fail "witness: mxu.dane.example's CNAME not secure, or its A not insecure"
ok "CNAME: TLSA at the expanded name, the fall-back to the MX name, a secure first CNAME"

dprobe nomx.example
expect "nomx.example (no MX)" 0 dane
[ "$(dget 'd["mx"]["hosts"][0]["implicit"]')" = True ] || fail "no implicit MX"
ok "no MX: the domain itself is the MX (RFC 5321 5.1), with its TLSA"

dprobe nullmx.example
expect "nullmx.example" 0 no-mail
[ "$(dget 'd["mx"]["null"]')" = True ] || fail "null MX not seen"
dprobe nx.example
[ "$RC" = 2 ] || fail "nx.example: exit $RC, expected 2"
[ "$(dget 'fails')" = "[('dns', 'nx.example')]" ] || fail "nx.example: $(dget 'd["failures"]')"
ok "null MX: no-mail, exit 0; a domain that does not exist: exit 2"

# without --trust-anchor the system's root anchor applies, and "example." has no chain to it
OUT=$(cli "$TLSFW" probe --json --domain good.example --ca "$TMP/ca/ca.pem" 2>"$TMP/probe.err")
RC=$?
[ "$RC" = 3 ] && [ "$(dget "('dnssec', 'MX good.example') in fails")" = True ] ||
	fail "root anchor only: exit $RC, $(dget 'd["failures"]')"
cli "$TLSFW" probe --domain good.example --trust-anchor "$TMP/none" >/dev/null 2>"$TMP/ta.err"
[ $? = 2 ] && grep -q "cannot read trust anchor file $TMP/none" "$TMP/ta.err" ||
	fail "a missing --trust-anchor: $(cat "$TMP/ta.err")"
ok "the root anchor by default; an unreadable --trust-anchor is exit 2"
exit 0
