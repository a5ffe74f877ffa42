#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw probe against Dovecot: IMAP 143 (STARTTLS) and 993, POP3 110 (STLS) and 995, over
# IPv4 and IPv6. Compliant passes everything; plaintext logins before TLS (IMAP, POP3, and
# SMTP AUTH through Dovecot's SASL) and TLS 1.0 fail exactly their checks; a stripping proxy
# in front of IMAP is caught.
source "$(dirname "$0")/../probe/lib.sh"

probe_up
mkca
mkcert mail.test "DNS:mail.test,IP:$S4,IP:$S6" 30

dovecot_start
for port in 143 993 110 995; do
	probe "$S4:$port"
	expect_compliant "dovecot compliant on $port"
done
probe "[$S6]:imap"
expect_compliant "IPv6 [addr]:service"
[ "$(field address)" = "[$S6]:143" ] || fail "address $(field address)"
# an address alone is checked against the certificate's IP SANs
OUT=$(cli "$TLSFW" probe --json --ca "$TMP/ca/ca.pem" "$S4:993")
RC=$?
expect_compliant "IP SAN without --name"
printf '%s' "$OUT" | grep -q 'IP SAN matches' || fail "IP SAN evidence"
# several targets at once, one JSON document
probe "$S4:143" "$S4:993" "$S4:110" "$S4:995"
[ "$RC" = 0 ] || fail "four targets: exit $RC"
printf '%s' "$OUT" | $PY -c 'import json,sys; d=json.load(sys.stdin); assert d["summary"]["compliant"] == 4, d["summary"]' ||
	fail "four targets: summary"
ok "four targets concurrently"

# SMTP AUTH through Dovecot's SASL: offered only after STARTTLS passes, before it fails
sasl=("smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = dovecot"
	"smtpd_sasl_path = $TMP/dc/run/auth-postfix")
postfix_start "${sasl[@]}" "smtpd_tls_auth_only = yes"
probe "$S4:587"
expect_compliant "SMTP AUTH only after STARTTLS"
postfix_stop
postfix_start "${sasl[@]}" "smtpd_tls_auth_only = no"
probe "$S4:25"
expect_fail_only "SMTP AUTH offered before STARTTLS" plaintext-auth
printf '%s' "$OUT" | grep -q "offers 'AUTH PLAIN" || fail "AUTH line not quoted"
postfix_stop
dovecot_stop

# plaintext logins before STARTTLS
dovecot_start "disable_plaintext_auth = no"
probe "$S4:143"
expect_fail_only "IMAP LOGIN without LOGINDISABLED" plaintext-auth
probe "$S4:110"
expect_fail_only "POP3 USER before STLS" plaintext-auth
dovecot_stop

# TLS 1.0 accepted
dovecot_start "ssl_min_protocol = TLSv1" "ssl_cipher_list = HIGH:!aNULL:!eNULL:!3DES:@SECLEVEL=0"
probe "$S4:993"
expect_fail_only "TLS 1.0 allowed" min-tls
printf '%s' "$OUT" | grep -q 'accepted TLSv1' || fail "min-tls evidence"
probe "$S4:993" --min-tls 1.0
expect_compliant "TLS 1.0 allowed with --min-tls 1.0"

# a proxy stripping STARTTLS from IMAP capabilities; it connects from an address of its own,
# or Dovecot would take the connection for a local, secured one
srv ip addr add 10.203.0.3/32 dev ps
bg "$TMP/strip.log" srv $PY "$ROOT/selftests/probe/hostile.py" strip $S4 1143 $S4 143 10.203.0.3
wait_port 1143
probe "$S4:1143" --starttls imap
[ "$(field starttls)" = stripped ] || fail "IMAP stripping: outcome $(field starttls)"
[ "$RC" = 3 ] || fail "IMAP stripping: exit $RC"
ok "IMAP stripping reported"
exit 0
