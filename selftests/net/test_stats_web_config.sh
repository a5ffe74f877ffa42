#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw stats --listen ... --web-config FILE (issue 17, item 3), against Prometheus's own
# checker and real clients. The files are selftests/webcfg/*.yml, next to certificates made
# here (a CA, the server's for 10.10.1.1, a client's, a stranger's):
#   good-*     promtool check web-config accepts them, and so does tlsfw (it serves);
#   bad-*      promtool rejects them, and tlsfw too: exit 1, stderr as in NAME.expected
#              (file:line:column, the line, a caret);
#   refused-*  promtool accepts them, tlsfw rejects them as in NAME.expected: what the server
#              cannot do exactly (HTTP/2, unverified client certificates, a suite list GnuTLS
#              cannot express).
# Then curl from the client: TLS with --cacert, basic auth (-u) 200, a wrong password, an
# unknown user and no credentials 401 with WWW-Authenticate: Basic; client certificates
# verified (none or a stranger's: 403); TLS versions and suites as configured; configured
# headers sent; and the warning on stderr when a non-loopback address lacks TLS or
# authentication. REGEN=1 rewrites the .expected files (review them).
. "$(dirname "$0")/lib.sh"

for t in promtool curl openssl; do
	command -v $t >/dev/null || fail "$t not found (scripts/install-deps.sh)"
done

topo_up
SRC=$ROOT/selftests/webcfg
WC=$TMP/webcfg
mkdir "$WC" && cp "$SRC"/*.yml "$WC"/ || fail "copy the web configurations"

# cert NAME SUBJECT EXT [CA]: an EC P-256 key and certificate, signed by CA (else self-signed).
cert() {
	local ext=$WC/$1.ext
	printf '%s\n' "$3" >"$ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$WC/$1.key" -out "$WC/$1.csr" 2>/dev/null || fail "openssl req $1"
	if [ -n "${4:-}" ]; then
		openssl x509 -req -in "$WC/$1.csr" -CA "$WC/$4.pem" -CAkey "$WC/$4.key" \
			-CAcreateserial -days 2 -extfile "$ext" -out "$WC/$1.pem" 2>/dev/null
	else
		openssl x509 -req -in "$WC/$1.csr" -signkey "$WC/$1.key" -days 2 -extfile "$ext" \
			-out "$WC/$1.pem" 2>/dev/null
	fi || fail "openssl x509 $1"
}
cert ca "tlsfw test CA" $'basicConstraints=critical,CA:true\nkeyUsage=keyCertSign'
cert server gw.test $'subjectAltName=IP:10.10.1.1,IP:127.0.0.1\nextendedKeyUsage=serverAuth' ca
cert client scraper $'extendedKeyUsage=clientAuth' ca
cert stranger stranger $'extendedKeyUsage=clientAuth'

# 1. Each file: promtool's verdict, and ours.
n=0
for f in "$WC"/*.yml; do
	name=$(basename "$f" .yml)
	promtool check web-config "$f" >"$TMP/promtool" 2>&1
	prc=$?
	case $name in
	good-*)
		[ $prc = 0 ] || fail "$name: promtool rejects it: $(cat "$TMP/promtool")"
		continue
		;;
	bad-*) [ $prc != 0 ] || fail "$name: promtool accepts it; the test expects a file it rejects" ;;
	refused-*) [ $prc = 0 ] || fail "$name: promtool rejects it: $(cat "$TMP/promtool")" ;;
	esac
	# relative names in messages: run where the files are
	(cd "$WC" && timeout 10 ip netns exec "$GW" "$TLSFW" stats --listen 127.0.0.1:9 \
		--web-config "$name.yml" >/dev/null 2>"$TMP/err")
	echo "exit: $?" >>"$TMP/err"
	if [ "${REGEN:-0}" = 1 ]; then
		cp "$TMP/err" "$SRC/$name.expected"
	else
		diff -u "$SRC/$name.expected" "$TMP/err" || fail "$name: diagnostics differ"
	fi
	n=$((n + 1))
done
[ $n -ge 15 ] || fail "only $n bad and refused files"
ok "$n bad or refused files: promtool agrees on the bad ones, tlsfw names file:line:col"

# serve NAME ADDR:PORT: tlsfw stats --listen ADDR:PORT --web-config NAME.yml (no file for
# NAME "none") in the gateway, until it says it serves; stderr in $TMP/NAME.err.
serve() {
	local i cfg=()
	[ "$1" = none ] || cfg=(--web-config "$WC/$1.yml")
	bg ip netns exec "$GW" "$TLSFW" stats --listen "$2" "${cfg[@]}" 2>"$TMP/$1.err"
	SPID=$BG_PID
	for i in $(seq 50); do
		grep -q "serving metrics" "$TMP/$1.err" && return 0
		kill -0 $SPID 2>/dev/null || fail "$1: tlsfw exited: $(cat "$TMP/$1.err")"
		sleep 0.1
	done
	fail "$1: tlsfw does not serve: $(cat "$TMP/$1.err")"
}

unserve() {
	kill -TERM $SPID
	wait $SPID || fail "stats --listen after SIGTERM: exit $?"
}

# code ARGS...: the HTTP status curl gets from the client (000 when TLS fails).
code() {
	cli curl -s -m 5 -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' "$@"
}

URL=https://10.10.1.1:9443/metrics
printf 'version: 1\ninterfaces: [{name: lan0}]\nrules: [{name: dns, dport: 53, action: allow}]\n' \
	>"$TMP/p.conf"
tlsfw apply "$TMP/p.conf" >/dev/null || fail "apply"

# 2. TLS and basic authentication.
serve good-tls-auth 10.10.1.1:9443
grep -q warning "$TMP/good-tls-auth.err" && fail "warning with TLS and authentication: $(cat "$TMP/good-tls-auth.err")"
[ "$(code --cacert "$WC/ca.pem" -u prom:s3cret-scrape $URL)" = 200 ] ||
	fail "TLS with the right password: $(cat "$TMP/head")"
promtool check metrics <"$TMP/body" >/dev/null 2>&1 || fail "promtool rejects the scrape over TLS"
grep -q '^tlsfw_enforced 1$' "$TMP/body" || fail "not the metrics"
grep -qi '^X-Frame-Options: deny' "$TMP/head" || fail "configured header missing: $(cat "$TMP/head")"
[ "$(code --cacert "$WC/ca.pem" -u other:another-pass $URL)" = 200 ] || fail "second user"
for cred in prom:wrong prom: nobody:s3cret-scrape; do
	[ "$(code --cacert "$WC/ca.pem" -u "$cred" $URL)" = 401 ] || fail "-u $cred: not 401"
	grep -qi '^WWW-Authenticate: Basic' "$TMP/head" || fail "-u $cred: no WWW-Authenticate: Basic"
done
[ "$(code --cacert "$WC/ca.pem" $URL)" = 401 ] || fail "no credentials: not 401"
grep -qi '^WWW-Authenticate: Basic' "$TMP/head" || fail "no credentials: no WWW-Authenticate"
[ "$(code -u prom:s3cret-scrape $URL)" = 000 ] || fail "the server's certificate verifies without the CA"
[ "$(code -u prom:s3cret-scrape http://10.10.1.1:9443/metrics)" = 200 ] && fail "plain HTTP served on the TLS port"
unserve
ok "TLS + basic auth: 200 with either user's password; 401 + WWW-Authenticate for wrong, unknown, none"

# 3. Client certificates.
serve good-mtls 10.10.1.1:9443
grep -q warning "$TMP/good-mtls.err" && fail "warning with verified client certificates"
c=(--cacert "$WC/ca.pem")
[ "$(code "${c[@]}" --cert "$WC/client.pem" --key "$WC/client.key" $URL)" = 200 ] ||
	fail "the CA's client certificate: $(cat "$TMP/head")"
[ "$(code "${c[@]}" $URL)" = 403 ] || fail "no client certificate: not 403"
[ "$(code "${c[@]}" --cert "$WC/stranger.pem" --key "$WC/stranger.key" $URL)" = 403 ] ||
	fail "a stranger's certificate: not 403"
unserve
serve good-mtls-if-given 10.10.1.1:9443
[ "$(code "${c[@]}" $URL)" = 200 ] || fail "if given: no certificate is not 200"
[ "$(code "${c[@]}" --cert "$WC/client.pem" --key "$WC/client.key" $URL)" = 200 ] ||
	fail "if given: the CA's certificate"
[ "$(code "${c[@]}" --cert "$WC/stranger.pem" --key "$WC/stranger.key" $URL)" = 403 ] ||
	fail "if given: a stranger's certificate is not 403"
unserve
ok "client certificates: verified against client_ca_file (403 without, or with a stranger's)"

# 4. Versions and suites.
serve good-tls12-suites 10.10.1.1:9443
[ "$(code "${c[@]}" --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 $URL)" = 200 ] ||
	fail "TLS 1.2 with a listed suite"
[ "$(code "${c[@]}" --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-SHA $URL)" = 000 ] ||
	fail "TLS 1.2 with a suite not listed"
[ "$(code "${c[@]}" --tlsv1.3 $URL)" = 000 ] || fail "TLS 1.3 above max_version TLS12"
unserve
serve good-tls13 10.10.1.1:9443
grep -q 'warning: .*no authentication' "$TMP/good-tls13.err" ||
	fail "no warning for TLS without authentication: $(cat "$TMP/good-tls13.err")"
[ "$(code "${c[@]}" --tls-max 1.2 $URL)" = 000 ] || fail "TLS 1.2 below min_version TLS13"
cli curl -sv -m 5 -o /dev/null "${c[@]}" $URL 2>&1 | grep -q 'SSL connection using TLSv1.3' ||
	fail "no TLS 1.3"
unserve
ok "min_version, max_version and cipher_suites are what the handshakes allow"

# 5. The warning: a non-loopback address without TLS or without authentication.
serve none 10.10.1.1:9100
grep -q 'warning: 10.10.1.1:9100 is not a loopback address and there is no TLS and no authentication' \
	"$TMP/none.err" || fail "no warning for plain HTTP on 10.10.1.1: $(cat "$TMP/none.err")"
unserve
serve good-users-only 10.10.1.1:9100
grep -q 'warning: .*there is no TLS: passwords' "$TMP/good-users-only.err" ||
	fail "no warning for basic auth without TLS: $(cat "$TMP/good-users-only.err")"
[ "$(code -u prom:s3cret-scrape http://10.10.1.1:9100/metrics)" = 200 ] || fail "users only: 200"
[ "$(code http://10.10.1.1:9100/metrics)" = 401 ] || fail "users only, no credentials: 401"
unserve
serve none 127.0.0.1:9100
grep -q warning "$TMP/none.err" && fail "a warning on loopback: $(cat "$TMP/none.err")"
unserve
ok "warnings for a non-loopback address without TLS or authentication; none on loopback"
