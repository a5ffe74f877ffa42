#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared by the browser tests, sourced after lib.sh (and topo_up): a web server with HTTP/3 in
# the server namespace and a headless Chromium in the client namespace, both the Debian
# packages, talking through the gateway. Everything ends with the test (lib.sh's EXIT trap
# ends the PIDs started here; topology.sh down reaps what is left in the namespaces).
#
#   caddy_start [HOSTS] [PORT] [H3PORT]
#                               Caddy on SRV's addresses, HTTPS on TCP PORT (default 443) and
#                               HTTP/3 on UDP H3PORT (default PORT) for HOSTS (comma-separated,
#                               default server.test; WEB_HOST is the first), each with a
#                               certificate of its own made here (never ACME; one certificate
#                               for all would let Chromium send every name over one HTTP/2
#                               connection), admin endpoint off, one JSON line per request in
#                               $TMP/caddy.access. Serves $WWW (index.html and /probe); answers
#                               carry Alt-Svc for h3 (h3=":H3PORT"). With H3PORT other than
#                               PORT, PORT serves h1 and h2 only and H3PORT h3 only (Caddy
#                               still listens on TCP H3PORT: it opens TCP for every server).
#   browser_start [FLAG...]     Chromium in CLI (selftests/net/browser.py over the DevTools
#                               pipe), each of HOSTS resolving to $S4, the test CA in its NSS
#                               database (a certificate error would make it ignore Alt-Svc),
#                               QUIC on
#   browser_goto URL            navigate, wait for the load event
#   browser_try_goto URL        the same, but a failed navigation sets NAV_ERROR (the net
#                               error, e.g. net::ERR_CONNECTION_RESET) instead of failing the
#                               test; NAV_ERROR is empty when the page loaded
#   browser_js JS               evaluate JS in the page (promises awaited): its value as JSON
#                               in JS_VALUE; an exception fails the test
#   browser_fetch PATH          fetch PATH from the page's origin, no cache: FETCH_PROTO (the
#                               request's nextHopProtocol: h2, h3, ...) and FETCH_MS (its
#                               duration in the page's clock)
#   browser_until_h3 PATH       fetch until a request goes over HTTP/3 (a live QUIC session)
#   apply_reject NAME MATCH     tlsfw apply of one reject rule NAME for UDP matching MATCH on
#                               lan0, xdp_mode auto (must give native XDP); output in
#                               $TMP/apply.out
#   browser_close_connections   close every connection of the browser (TCP, HTTP/2 and QUIC
#                               sessions) with chrome://net-internals "Flush socket pools",
#                               and wait until no UDP socket of the client is connected to
#                               the server (each QUIC session has one); the page is left on
#                               net-internals (browser_goto next)
command -v caddy >/dev/null || fail "caddy (Debian package caddy) is not installed"
command -v chromium >/dev/null || fail "chromium (Debian package chromium) is not installed"

BROWSER_PY=$ROOT/selftests/net/browser.py
WWW=$TMP/www
WEB_HOST=server.test
WEB_HOSTS=server.test
WEB_PORT=443

# _web_cert HOST: a key and a certificate for HOST, signed by the test CA.
_web_cert() {
	# the name is in subjectAltName only: a common name has at most 64 characters
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=tlsfw test server" \
		-keyout "$TMP/web-$1.key" -out "$TMP/web-$1.csr" 2>/dev/null || fail "openssl req (key of $1)"
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$1" >"$TMP/web-$1.ext"
	openssl x509 -req -in "$TMP/web-$1.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" \
		-CAcreateserial -days 2 -extfile "$TMP/web-$1.ext" -out "$TMP/web-$1.crt" 2>/dev/null ||
		fail "openssl x509 (certificate of $1)"
}

caddy_start() {
	WEB_HOSTS=${1:-server.test}
	WEB_HOST=${WEB_HOSTS%%,*}
	WEB_PORT=${2:-443}
	WEB_H3_PORT=${3:-$WEB_PORT}
	mkdir -p "$WWW" "$TMP/caddy"
	echo '<!doctype html><title>tlsfw</title><p>tlsfw test page' >"$WWW/index.html"
	echo ok >"$WWW/probe"
	# a test CA (the browser trusts it through its NSS database) and the server's certificates
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=tlsfw test CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$TMP/ca.key" -out "$TMP/ca.crt" 2>/dev/null || fail "openssl req (test CA)"
	# Caddy serves h3 on the port of the server that has it and announces that port; h3 on
	# another port is a server of its own (a listener there, protocols h3), and the header
	# is written on PORT's server (Caddy adds none to a server without h3).
	local servers="servers {
		protocols h1 h2 h3
	}" sites="" altsvc=""
	if [ "$WEB_H3_PORT" != "$WEB_PORT" ]; then
		servers="servers $S4:$WEB_PORT {
		protocols h1 h2
	}
	servers $S4:$WEB_H3_PORT {
		protocols h3
	}"
		altsvc="header Alt-Svc \`h3=\":$WEB_H3_PORT\"\`"
	fi
	cat >"$TMP/Caddyfile" <<EOF
{
	admin off
	auto_https disable_redirects
	storage file_system $TMP/caddy
	$servers
}
EOF
	local h
	for h in ${WEB_HOSTS//,/ }; do
		_web_cert "$h"
		sites="https://$h:$WEB_PORT"
		[ "$WEB_H3_PORT" = "$WEB_PORT" ] || sites="$sites, https://$h:$WEB_H3_PORT"
		cat >>"$TMP/Caddyfile" <<EOF
$sites {
	bind $S4 $S6
	tls $TMP/web-$h.crt $TMP/web-$h.key
	root * $WWW
	header Cache-Control no-store
	$altsvc
	file_server
	log {
		output file $TMP/caddy.access
		format json
	}
}
EOF
	done
	XDG_DATA_HOME=$TMP/caddy XDG_CONFIG_HOME=$TMP/caddy HOME=$TMP/caddy \
		bg srv caddy run --config "$TMP/Caddyfile" --adapter caddyfile >"$TMP/caddy.log" 2>&1
	local i
	for i in $(seq 100); do
		if srv ss -Hltn "sport = :$WEB_PORT" | grep -q . && srv ss -Hlun "sport = :$WEB_H3_PORT" | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	cat "$TMP/caddy.log" >&2
	fail "caddy does not listen on TCP $WEB_PORT and UDP $WEB_H3_PORT"
}

browser_start() {
	local dir=$TMP/chromium h rules=""
	for h in ${WEB_HOSTS//,/ }; do
		rules="${rules:+$rules, }MAP $h $S4"
	done
	mkdir -p "$dir/profile" "$dir/home/.pki/nssdb"
	rm -f "$dir/in" "$dir/out" "$dir/ready"
	mkfifo "$dir/in" "$dir/out"
	# Chromium on Linux trusts what $HOME/.pki/nssdb trusts, on top of the system's roots. Its
	# QUIC refuses certificates from such a local root ("certificate unknown") unless the host
	# is one QUIC is forced on: forcing it on another port (1, nothing there) exempts the
	# host, while WEB_PORT keeps the normal path (Alt-Svc, and TCP when QUIC fails).
	certutil -d "sql:$dir/home/.pki/nssdb" -N --empty-password || fail "certutil: NSS database"
	certutil -d "sql:$dir/home/.pki/nssdb" -A -t "C,," -n "tlsfw test CA" -i "$TMP/ca.crt" ||
		fail "certutil: cannot add the test CA"
	HOME=$dir/home bg cli $PY "$BROWSER_PY" --user-data-dir "$dir/profile" --commands "$dir/in" \
		--replies "$dir/out" --ready "$dir/ready" -- \
		--host-resolver-rules="$rules" --enable-quic \
		--origin-to-force-quic-on="$WEB_HOST:1" "$@"
	BROWSER_PID=$BG_PID
	exec {BROWSER_IN}>"$dir/in" {BROWSER_OUT}<"$dir/out"
	wait_file "$dir/ready"
}

# _browser_send JSON: one command; its reply (JSON) in BROWSER_REPLY. _browser JSON: the
# same, and a reply that is not ok fails the test. (These functions set variables instead of
# printing, so that a failure inside ends the test, not a subshell.)
_browser_send() {
	echo "$1" >&"$BROWSER_IN" || fail "the browser driver is gone"
	read -r -t 90 BROWSER_REPLY <&"$BROWSER_OUT" || fail "no reply from the browser driver"
}

_browser() {
	_browser_send "$1"
	case $BROWSER_REPLY in '{"ok": true'*) ;; *) fail "browser: $BROWSER_REPLY (command $1)" ;; esac
}

_json_cmd() { # CMD KEY VALUE
	$PY -c 'import json,sys; print(json.dumps({"cmd": sys.argv[1], sys.argv[2]: sys.argv[3]}))' "$@"
}

browser_goto() {
	_browser "$(_json_cmd goto url "$1")"
}

browser_try_goto() {
	_browser_send "$(_json_cmd goto url "$1")"
	NAV_ERROR=$($PY -c 'import json,sys; r=json.loads(sys.argv[1]); print("" if r["ok"] else r["error"].rsplit(": ", 1)[-1])' "$BROWSER_REPLY")
}

browser_js() {
	_browser "$(_json_cmd eval js "$1")"
	JS_VALUE=$($PY -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1]).get("value")))' "$BROWSER_REPLY")
}

browser_fetch() {
	browser_js "(async () => {
		performance.clearResourceTimings();
		const t0 = performance.now();
		const r = await fetch('$1?' + Math.random(), { cache: 'no-store' });
		await r.text();
		const ms = performance.now() - t0;
		const e = performance.getEntriesByName(r.url).pop();
		return (e ? e.nextHopProtocol : 'none') + ' ' + ms.toFixed(1);
	})()"
	read -r FETCH_PROTO FETCH_MS <<<"$(echo "$JS_VALUE" | tr -d '"')"
}

browser_until_h3() {
	local i
	for i in $(seq 40); do
		browser_fetch "$1"
		[ "$FETCH_PROTO" = h3 ] && return 0
		sleep 0.1
	done
	fail "no request went over HTTP/3 in 40 fetches (last: $FETCH_PROTO); caddy: $(tail -2 "$TMP/caddy.log")"
}

browser_close_connections() {
	browser_goto "chrome://net-internals/#sockets"
	browser_js "(() => {
		const b = document.getElementById('sockets-view-flush-button');
		if (!b)
			throw new Error('chrome://net-internals has no flush button');
		b.click();
		return true;
	})()"
	local i
	for i in $(seq 100); do
		cli ss -Hun dst "$S4" or dst "[$S6]" | grep -q . || return 0
		sleep 0.1
	done
	fail "QUIC sockets still open after flushing the browser's socket pools: $(cli ss -Hun dst "$S4" or dst "[$S6]")"
}

# apply_reject NAME MATCH: a policy of one rule NAME on lan0 (xdp_mode auto, which must give
# native XDP): UDP datagrams that MATCH (one line of the policy language) are rejected.
apply_reject() {
	local pol
	pol=$(policy "$1" <<EOF
version: 1
interfaces:
  - name: lan0
    xdp_mode: auto
default: allow
rules:
  - name: $1
    proto: udp
    $2
    action: reject
EOF
)
	tlsfw apply "$pol" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply ($2)"; }
	grep -q "^lan0: ingress $AUTO_INGRESS" "$TMP/apply.out" || { cat "$TMP/apply.out"; fail "lan0 is not on $AUTO_INGRESS in auto mode"; }
}
