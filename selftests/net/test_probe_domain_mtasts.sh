#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw probe --domain: MTA-STS and TLS-RPT (issue 16). Caddy serves the policies of several
# domains over HTTPS with certificates made here (automatic HTTPS off, admin off, storage
# in the test's directory: it never tries ACME); Postfix is the MX; the signed zone of
# dns.sh holds the MX, _mta-sts, mta-sts and _smtp._tls records. Enforce with matching
# (also wildcard) and non-matching mx patterns, testing mode, a policy behind a certificate
# for another name, a malformed policy, a missing one, a redirect, a bad TXT record, an MX
# whose certificate is not for its name, or names it only in its CN or by a partial wildcard
# (Postfix serves those by SNI); curl is the witness for the policy hosts.
source "$(dirname "$0")/../probe/lib.sh"
source "$ROOT/selftests/probe/dns.sh"
source "$ROOT/selftests/probe/mtasts.sh"

WEB4=10.203.0.8
DOMAINS="sts wild mismatch testing badcert malformed missing redirect certname badtxt none gone
	cnonly pwild"
probe_up
mkca
mkcert mx "DNS:mx1.sts.example,DNS:mx1.wild.example" 60
mkcert web "$(for d in $DOMAINS; do printf 'DNS:mta-sts.%s.example,' $d; done)DNS:x.example" 60
mkcert wrongname "DNS:wrong.example" 60
mkcert mx.cnonly.example - 60
mkcert pw "DNS:mx*.pwild.example" 60
sni_map mx.cnonly.example=mx.cnonly.example mx1.pwild.example=pw
srv ip addr add $WEB4/32 dev ps
PF_CERT=mx postfix_start "smtpd_peername_lookup = no" "$SNI_MAP"

for d in $DOMAINS; do
	case $d in
	badcert) sts_site $d wrongname ;;
	redirect) sts_site $d web https://mta-sts.sts.example/.well-known/mta-sts.txt ;;
	*) sts_site $d ;;
	esac
done
sts_policy sts 'version: STSv1\r\nmode: enforce\r\nmx: mx1.sts.example\r\nmax_age: 604800\r\n'
sts_policy wild 'version: STSv1\nmode: enforce\nmx: *.wild.example\nmax_age: 604800\n'
sts_policy mismatch 'version: STSv1\nmode: enforce\nmx: mail.mismatch.example\nmax_age: 604800\n'
sts_policy testing 'version: STSv1\nmode: testing\nmx: mx1.sts.example\nmax_age: 86400\n'
sts_policy badcert 'version: STSv1\nmode: enforce\nmx: mx1.sts.example\nmax_age: 604800\n'
sts_policy malformed 'version: STSv1\nmode: enforced\nmx: mx1.sts.example\nmax_age: 604800\n'
sts_policy certname 'version: STSv1\nmode: enforce\nmx: mx.certname.example\nmax_age: 604800\n'
sts_policy badtxt 'version: STSv1\nmode: enforce\nmx: mx1.sts.example\nmax_age: 604800\n'
sts_policy none 'version: STSv1\nmode: none\nmx: mx.certname.example\nmax_age: 86400\n'
sts_policy cnonly 'version: STSv1\nmode: enforce\nmx: mx.cnonly.example\nmax_age: 604800\n'
sts_policy pwild 'version: STSv1\nmode: enforce\nmx: mx1.pwild.example\nmax_age: 604800\n'
caddy_up $WEB4

{
	echo "mx1.sts A $S4"
	echo "mx1.wild A $S4"
	echo "mx.certname A $S4"
	echo "mx.cnonly A $S4"
	echo "mx1.pwild A $S4"
	for d in $DOMAINS; do
		case $d in
		wild) echo "$d MX 10 mx1.wild" ;;
		certname | none | gone) echo "$d MX 10 mx.certname" ;;
		cnonly) echo "$d MX 10 mx.cnonly" ;;
		pwild) echo "$d MX 10 mx1.pwild" ;;
		*) echo "$d MX 10 mx1.sts" ;;
		esac
		[ $d = badtxt ] && echo "_mta-sts.$d TXT \"v=STSv1; id=not-alnum\"" ||
			echo "_mta-sts.$d TXT \"v=STSv1; id=20240101\""
		echo "mta-sts.$d A $WEB4"
	done
	echo "_smtp._tls.sts TXT \"v=TLSRPTv1; rua=mailto:tls@sts.example,https://tlsrpt.sts.example/v1\""
	echo "_smtp._tls.sts TXT \"v=spf1 -all\""
	echo "_smtp._tls.wild TXT \"v=TLSRPTv1; rua=ftp://x.example\""
} | dns_zone
dns_up

dprobe() {
	local d=$1
	shift
	OUT=$(cli "$TLSFW" probe --json --domain "$d" --trust-anchor "$TA" "$@" 2>"$TMP/probe.err")
	RC=$?
	grep -q 'Sanitizer\|runtime error' "$TMP/probe.err" && { cat "$TMP/probe.err"; fail "sanitizer"; }
}

dget() {
	printf '%s' "$OUT" | $PY -c '
import json, sys
d = json.load(sys.stdin)["domains"][0]
fails = [(f["check"], f["subject"], f["evidence"]) for f in d["failures"]]
print(eval(sys.argv[1]))' "$1"
}

# expect DOMAIN RC PROTECTION [FAILED CHECK EVIDENCE]: exactly that failure, if any
expect() {
	dprobe "$1.example" --ca "$TMP/ca/ca.pem"
	[ "$RC" = "$2" ] || fail "$1: exit $RC, expected $2: $(dget 'fails')"
	[ "$(dget 'd["protection"]')" = "$3" ] || fail "$1: protection $(dget 'd["protection"]'), expected $3"
	if [ -n "${4:-}" ]; then
		[ "$(dget 'len(fails)')" = 1 ] && [ "$(dget 'fails[0][0]')" = "$4" ] &&
			dget 'fails[0][2]' | grep -q -- "$5" ||
			fail "$1: failures $(dget 'fails'), expected one $4 with '$5'"
	else
		[ "$(dget 'fails')" = "[]" ] || fail "$1: failures $(dget 'fails')"
	fi
}

# the witness: curl fetches what a sender would, and refuses the certificate for another name
for d in sts badcert; do
	cli curl -sS --max-time 5 --cacert "$TMP/ca/ca.pem" -o "$TMP/curl.$d" \
		"https://mta-sts.$d.example/.well-known/mta-sts.txt" 2>"$TMP/curl.$d.err"
	echo "$d $?" >>"$TMP/curl.rc"
done
grep -qx 'sts 0' "$TMP/curl.rc" && cmp -s "$TMP/curl.sts" "$TMP/www/sts/.well-known/mta-sts.txt" ||
	fail "witness: curl cannot fetch the sts.example policy: $(cat "$TMP/curl.sts.err")"
grep -qx 'badcert 60' "$TMP/curl.rc" || fail "witness: curl accepted the wrong-name certificate"
ok "witness: curl fetches sts.example's policy, refuses badcert.example's certificate"

expect sts 0 mta-sts-enforce
[ "$(dget 'd["mta_sts"]["policy"]')" = "{'mode': 'enforce', 'max_age': 604800, 'mx': ['mx1.sts.example']}" ] ||
	fail "policy: $(dget 'd["mta_sts"]')"
[ "$(dget 'd["mta_sts"]["id"]')" = 20240101 ] && [ "$(dget 'd["mta_sts"]["http_status"]')" = 200 ] ||
	fail "mta_sts: $(dget 'd["mta_sts"]')"
[ "$(dget 'd["tls_rpt"]["rua"]')" = "['mailto:tls@sts.example', 'https://tlsrpt.sts.example/v1']" ] ||
	fail "TLS-RPT: $(dget 'd["tls_rpt"]')"
[ "$(dget 'd["mx"]["hosts"][0]["mta_sts_match"]')" = True ] || fail "no match recorded"
ok "enforce, the MX matches, its certificate is valid: mta-sts-enforce, exit 0; TLS-RPT read"
TXT=$(cli "$TLSFW" probe --domain sts.example --trust-anchor "$TA" --ca "$TMP/ca/ca.pem")
head -n1 <<<"$TXT" | grep -qx 'sts.example: PROTECTED: mta-sts-enforce' || fail "human: $TXT"
grep -q '^           mode enforce, max_age 604800, mx mx1.sts.example$' <<<"$TXT" || fail "human: $TXT"

expect wild 0 mta-sts-enforce
[ "$(dget '[w["check"] for w in d["warnings"]]')" = "['tls-rpt']" ] || fail "wild: $(dget 'd["warnings"]')"
ok "*.wild.example matches mx1.wild.example; a TLS-RPT record with an ftp: rua is a warning"
expect mismatch 3 opportunistic mta-sts "matches no mx pattern of the policy (mail.mismatch.example): enforce senders refuse to deliver to it"
expect testing 0 mta-sts-testing
expect badcert 3 opportunistic mta-sts "no alternative certificate subject name matches"
expect malformed 3 opportunistic mta-sts "line 2: mode 'enforced', expected enforce, testing or none"
expect missing 3 opportunistic mta-sts "HTTP 404, expected 200"
expect redirect 3 opportunistic mta-sts "HTTP 302 redirect to https://mta-sts.sts.example/.well-known/mta-sts.txt: RFC 8461 3.3 forbids"
expect certname 3 opportunistic smtp "name: certificate is for DNS:mx1.sts.example, DNS:mx1.wild.example, not mx.certname.example"
expect badtxt 3 opportunistic mta-sts "id 'not-alnum' holds a character other than a letter or digit"
ok "mismatch, testing, invalid certificate, malformed, missing, redirect, wrong MX name, bad TXT"

# RFC 8461 5: mode none, or no policy to be had, is as if there were no MTA-STS: an MX
# certificate for another name is no failing check
expect none 0 opportunistic
[ "$(dget 'd["mx"]["hosts"][0]["targets"][0]["checks"][9]')" = "{'name': 'name', 'status': 'n/a', 'evidence': 'certificate is for DNS:mx1.sts.example, DNS:mx1.wild.example, not mx.certname.example'}" ] ||
	fail "none: $(dget 'd["mx"]["hosts"][0]["targets"][0]["checks"]')"
expect gone 3 opportunistic mta-sts "HTTP 404, expected 200"
ok "mode none, a policy that cannot be fetched: the MX certificate's name does not count"

# RFC 8461 4.2: the MX name must be a dNSName SAN (RFC 9525 6.3: a wildcard only as the
# whole leftmost label); Postfix serves these certificates by SNI, the MX name
expect cnonly 3 opportunistic smtp "name: no SAN; CN=mx.cnonly.example: a subject CN does not name mx.cnonly.example (RFC 8461 4.2)"
expect pwild 3 opportunistic smtp "name: certificate is for DNS:mx\*.pwild.example, not mx1.pwild.example"
ok "enforce: an MX certificate naming the MX only in its CN, or by mx*.pwild.example, fails"

# --ca is the trust store of the policy fetch too: without it the test CA is unknown
dprobe sts.example
[ "$RC" = 3 ] && dget 'fails' | grep -q "('mta-sts', 'https://mta-sts.sts.example/.well-known/mta-sts.txt', 'SSL certificate problem" ||
	fail "without --ca: exit $RC, $(dget 'fails')"
ok "without --ca the policy host's certificate does not verify"
exit 0
