#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw probe against OpenLDAP slapd (GnuTLS): the StartTLS extended operation on 389 and
# LDAPS on 636. Compliant passes; a self-signed certificate fails only the chain check.
source "$(dirname "$0")/../probe/lib.sh"

probe_up
mkca
mkcert mail.test "DNS:mail.test,IP:$S4" 30
mkcert self "DNS:mail.test,IP:$S4" 30 self

slapd_start
probe "$S4:389"
expect_compliant "slapd StartTLS on 389"
[ "$(field starttls)" = ok ] || fail "outcome $(field starttls)"
[ "$(check_status starttls-injection)" = pass ] || fail "injection check on LDAP"
probe "$S4:ldaps"
expect_compliant "slapd LDAPS on 636"
stop "$LDAP_PID"

LDAP_CERT=self slapd_start
probe "$S4:636"
expect_fail_only "self-signed certificate" chain
printf '%s' "$OUT" | grep -q 'self-signed' || fail "self-signed not named"
# --no-verify: chain and name are reported but do not count
probe "$S4:389" --no-verify
expect_compliant "self-signed with --no-verify"
stop "$LDAP_PID"
exit 0
