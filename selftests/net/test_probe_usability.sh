#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What a new user trying tlsfw probe ran into (issue 16, item 8): host:ftps connects to the
# control port 990, not the data port 989; a certificate about to expire is a warning (exit
# 0, status "warn") within --warn-days (default 21); a server that speaks only TLS 1.0 is
# reported as such, on an implicit-TLS port and after STARTTLS, instead of as a bare
# handshake error.
source "$(dirname "$0")/../probe/lib.sh"

probe_up
mkca
mkcert mail.test "DNS:mail.test,IP:$S4" 60
mkcert soon "DNS:mail.test,IP:$S4" 10

# s_server ADDR:PORT CERT [ARGS...]: an implicit-TLS server in the server namespace
s_server() {
	local at=$1 cert=$2
	shift 2
	bg "$TMP/s_server-${at##*:}.log" srv openssl s_server -quiet -accept "$at" \
		-cert "$TMP/ca/$cert.pem" -key "$TMP/ca/$cert.key" -www "$@"
	wait_port "${at##*:}"
}

# ftps: only the control port listens; 989 would be refused
s_server "$S4:990" mail.test
probe mail.test:ftps
expect_compliant "mail.test:ftps"
[ "$(field address)" = "$S4:990" ] && [ "$(field port)" = 990 ] ||
	fail "ftps probed $(field address), expected $S4:990"
[ "$(field mode)" = implicit ] || fail "ftps mode $(field mode)"
ok "host:ftps connects to 990 (control)"

# a certificate that expires in 10 days: a warning, not a failure
s_server "$S4:8443" soon
probe "$S4:8443"
expect_compliant "certificate expiring in 10 days"
[ "$(check_status expiry)" = warn ] || fail "expiry status $(check_status expiry), expected warn"
printf '%s' "$OUT" | grep -Eq '"evidence":"expires in (9|10) days \(warning from 21 days\)"' ||
	fail "warning evidence"
[ "$(field verdict)" = "COMPLIANT (1 warning)" ] || fail "verdict $(field verdict)"
TXT=$(cli "$TLSFW" probe --ca "$TMP/ca/ca.pem" --name mail.test "$S4:8443")
grep -q '^  warn expiry ' <<<"$TXT" || fail "human report: $TXT"
probe "$S4:8443" --warn-days 5
[ "$(check_status expiry)" = pass ] || fail "--warn-days 5: expiry $(check_status expiry)"
probe "$S4:990" --warn-days 90
[ "$(check_status expiry)" = warn ] || fail "--warn-days 90 on a 60-day chain: expiry $(check_status expiry)"
cli "$TLSFW" probe --warn-days x "$S4:990" >/dev/null 2>&1
[ $? = 1 ] || fail "--warn-days x must be bad usage"
ok "expiry within --warn-days (default 21) is a warning, exit 0"

# a server that speaks only TLS 1.0
s_server "$S4:993" mail.test -tls1 -cipher 'ALL:@SECLEVEL=0'
probe "$S4:993"
expect_fail_only "implicit TLS 1.0 only" handshake min-tls
printf '%s' "$OUT" | $PY -c '
import json, sys
t = json.load(sys.stdin)["targets"][0]
c = {x["name"]: x for x in t["checks"]}
assert c["handshake"]["evidence"].startswith("the server speaks only TLS 1.0 (TLSv1, "), c
assert c["min-tls"]["evidence"] == "only TLS 1.0: negotiated TLSv1; the minimum is TLSv1.2", c
assert c["chain"]["status"] == "pass" and c["name"]["status"] == "pass", c
assert t["tls"]["version"] == "TLSv1", t["tls"]
' || fail "TLS 1.0 evidence"
probe "$S4:993" --min-tls 1.0
expect_compliant "TLS 1.0 only, with --min-tls 1.0"
ok "implicit TLS: 'only TLS 1.0' instead of a handshake error"

postfix_start "smtpd_tls_protocols = <=TLSv1" "smtpd_tls_mandatory_protocols = <=TLSv1" \
	"tls_medium_cipherlist = ALL:@SECLEVEL=0"
probe "$S4:25"
expect_fail_only "STARTTLS with TLS 1.0 only" handshake min-tls
[ "$(field starttls)" = ok ] || fail "starttls outcome $(field starttls)"
printf '%s' "$OUT" | grep -q '"evidence":"the server speaks only TLS 1.0 (TLSv1, ' ||
	fail "STARTTLS TLS 1.0 evidence"
ok "STARTTLS: 'only TLS 1.0' instead of a handshake error"
exit 0
