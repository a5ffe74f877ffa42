#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw probe dialogues that no daemon of the other tests speaks: FTP (AUTH TLS), NNTP,
# ManageSieve, XMPP and PostgreSQL (SSLRequest), against small scripted servers on their
# catalog ports. Each is compliant: the dialogue, the upgrade and the TLS checks all pass.
# Last, SNI: openssl s_server picks its certificate by the name the probe sends.
source "$(dirname "$0")/../probe/lib.sh"

probe_up
mkca
mkcert mail.test "DNS:mail.test,IP:$S4" 30
H="$ROOT/selftests/probe/hostile.py"
declare -A port=([ftp]=21 [nntp]=119 [sieve]=4190 [xmpp]=5222 [postgres]=5432)
for m in "${!port[@]}"; do
	bg "$TMP/$m.log" srv $PY "$H" "$m" $S4 "${port[$m]}" "$TMP/ca/mail.test.pem" "$TMP/ca/mail.test.key"
done
for m in "${!port[@]}"; do
	wait_port "${port[$m]}"
done
for m in "${!port[@]}"; do
	probe "$S4:${port[$m]}"
	expect_compliant "$m on ${port[$m]}"
	[ "$(field protocol)" = "$m" ] || fail "$m: protocol $(field protocol) from the catalog"
	[ "$(field starttls)" = ok ] || fail "$m: outcome $(field starttls)"
done
probe "$S4:5222"
[ "$(check_status tls-required)" = pass ] || fail "xmpp: <required/> not seen"
probe "$S4:21"
[ "$(check_status starttls-injection)" = pass ] || fail "ftp: injection check did not run"
ok "protocol specifics"

# SNI: a server that picks its certificate by the name the client sends
mkcert other "DNS:other.test" 30
bg "$TMP/sni.log" srv openssl s_server -quiet -accept $S4:8443 -cert "$TMP/ca/other.pem" \
	-key "$TMP/ca/other.key" -servername mail.test -cert2 "$TMP/ca/mail.test.pem" \
	-key2 "$TMP/ca/mail.test.key" -alpn http/1.1 -www
wait_port 8443
probe "$S4:8443"
expect_compliant "--name sent as SNI"
OUT=$(cli "$TLSFW" probe --json --ca "$TMP/ca/ca.pem" --name other.test "$S4:8443")
RC=$?
expect_compliant "another SNI, another certificate"
[ "$(field tls | grep -o '"alpn": "[^"]*"')" = '"alpn": "http/1.1"' ] || fail "ALPN on 8443: $(field tls)"
ok "ALPN http/1.1 negotiated on 8443"

# a name with two addresses, the first refusing: the probe moves on to the second
srv ip addr add 10.203.0.3/32 dev ps
probe multi.test:8443
expect_compliant "second address of multi.test"
[ "$(field address)" = "$S4:8443" ] || fail "multi.test: address $(field address)"
exit 0
