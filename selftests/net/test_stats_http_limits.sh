#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The metrics endpoint cannot be starved (issue 17, item 3). A slow-drip client (slowdrip.py)
# holds 40 connections that each send one header line every 2 s and never finish, first from
# one address, then spread over ten. While it runs, every scrape from another address (curl,
# its output checked by promtool) succeeds within 2 s. The server keeps at most 4 connections
# per address and 32 in all (a newcomer closes the connection nearest its deadline), and
# closes every dripping connection within 5 s of its start however often it sends. Then over
# TLS: 36 idle connections from nine loopback addresses, reopened as soon as closed, while
# ten scrapes from 127.0.0.1 must all succeed.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null ||
	fail "promtool not found: install the Debian package prometheus (scripts/install-deps.sh)"
command -v curl >/dev/null || fail "curl not found (scripts/install-deps.sh)"

topo_up
pol=$(policy limits <<'EOF2'
version: 1
interfaces:
  - name: lan0
rules:
  - name: web
    dport: 443
    action: allow
EOF2
)
tlsfw apply "$pol" >/dev/null || fail "apply"

PORT=9568
URL=http://10.10.1.1:$PORT/metrics
bg ip netns exec "$GW" "$TLSFW" stats --listen 0.0.0.0:$PORT 2>"$TMP/listen.err"
LPID=$BG_PID
for i in $(seq 50); do
	gw curl -sf -o /dev/null "$URL" && break
	kill -0 $LPID 2>/dev/null || fail "--listen exited: $(cat "$TMP/listen.err")"
	sleep 0.1
done

# scrapes LABEL: five scrapes from the gateway's own address, each complete within 2 s; their
# times in TIMES.
scrapes() {
	TIMES=""
	local i t
	for i in 1 2 3 4 5; do
		t=$(gw curl -sf -m 2 -o "$TMP/s.prom" -w '%{time_total}' "$URL") ||
			fail "$1: scrape $i failed while the slow drip runs"
		promtool check metrics <"$TMP/s.prom" >"$TMP/lint" 2>&1 ||
			fail "$1: promtool rejects scrape $i: $(cat "$TMP/lint")"
		grep -q '^tlsfw_enforced 1$' "$TMP/s.prom" || fail "$1: scrape $i is not the metrics"
		awk -v t="$t" 'BEGIN { exit !(t < 2) }' || fail "$1: scrape $i took $t s"
		TIMES="$TIMES $t"
		sleep 0.5
	done
}

# drip NAME SOURCES SECONDS: run slowdrip.py from the client for SECONDS with the scrapes in
# between; its summary lands in $TMP/NAME.json.
drip() {
	bg ip netns exec "$CLI" $PY "$ROOT/selftests/net/slowdrip.py" 10.10.1.1 $PORT \
		--conns 40 --interval 2 --from "$2" --stop "$TMP/$1.stop" --ready "$TMP/$1.ready" \
		>"$TMP/$1.json"
	local pid=$BG_PID
	wait_file "$TMP/$1.ready"
	sleep 1.5
	scrapes "$1"
	sleep "$3"
	touch "$TMP/$1.stop"
	wait $pid || fail "$1: slowdrip.py failed"
	ok "$1: 5 scrapes during the drip took$TIMES s; drip: $(cat "$TMP/$1.json")"
}

drip one-address "" 4
held=$(jget "$TMP/one-address.json" "d['max_held']")
life=$(jget "$TMP/one-address.json" "d['max_lifetime']")
closed=$(jget "$TMP/one-address.json" "d['closed']")
[ "$held" -le 4 ] || fail "one address held $held connections (limit 4 per address)"
[ "$held" -ge 1 ] || fail "no dripping connection was held at all: the test proves nothing"
awk -v t="$life" 'BEGIN { exit !(t <= 6.5) }' ||
	fail "a dripping connection lived $life s (deadline 5 s)"
[ "$closed" -ge 4 ] || fail "only $closed connections were closed by the server"
ok "one address: at most $held held, each closed within $life s"

# Ten addresses of 4 connections each pass the per-address limit: the global limit decides.
srcs=""
for i in $(seq 10 19); do
	cli ip addr add 10.10.1.$i/24 dev veth0 || fail "address 10.10.1.$i"
	srcs="$srcs${srcs:+,}10.10.1.$i"
done
drip ten-addresses "$srcs" 4
held=$(jget "$TMP/ten-addresses.json" "d['max_held']")
life=$(jget "$TMP/ten-addresses.json" "d['max_lifetime']")
[ "$held" -le 32 ] || fail "ten addresses held $held connections (limit 32)"
[ "$held" -ge 20 ] || fail "ten addresses held only $held: the global limit was not reached"
awk -v t="$life" 'BEGIN { exit !(t <= 6.5) }' ||
	fail "a dripping connection lived $life s (deadline 5 s)"
ok "ten addresses: at most $held held, each closed within $life s"

gw curl -sf -m 2 -o /dev/null "$URL" || fail "scrape after the drips"
kill -TERM $LPID
wait $LPID || fail "--listen after SIGTERM: exit $?"
ok "still serving after the drips; SIGTERM exit 0"

# Over TLS, with the server full of idle connections (no byte sent, not even a ClientHello)
# from nine loopback addresses, 4 each and 36 in all, opened again as soon as they are
# closed: every connection the churn closes must be an attacker's, never the scraper's in
# its handshake, and a refused fifth connection of an address closes nobody.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=tlsfw -days 2 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/tls.key" -out "$TMP/tls.pem" \
	2>/dev/null || fail "openssl req"
printf 'tls_server_config:\n  cert_file: tls.pem\n  key_file: tls.key\n' >"$TMP/web.yml"
bg ip netns exec "$GW" "$TLSFW" stats --listen 127.0.0.1:9443 --web-config "$TMP/web.yml" \
	2>"$TMP/tls.err"
LPID=$BG_PID
TURL=https://127.0.0.1:9443/metrics
for i in $(seq 50); do
	gw curl -sf --cacert "$TMP/tls.pem" -o /dev/null "$TURL" && break
	kill -0 $LPID 2>/dev/null || fail "--listen over TLS exited: $(cat "$TMP/tls.err")"
	sleep 0.1
done
bg ip netns exec "$GW" $PY "$ROOT/selftests/net/slowdrip.py" 127.0.0.1 9443 --conns 36 --idle \
	--reopen 0 --from "$(seq -s, -f '127.0.0.%g' 2 10)" --stop "$TMP/idle.stop" \
	--ready "$TMP/idle.ready" >"$TMP/idle.json"
DPID=$BG_PID
wait_file "$TMP/idle.ready"
sleep 1
for i in $(seq 10); do
	gw curl -sf -m 3 --cacert "$TMP/tls.pem" -o "$TMP/t.prom" "$TURL" ||
		fail "TLS scrape $i failed (curl exit $?) while 36 idle connections churn"
	grep -q '^tlsfw_enforced 1$' "$TMP/t.prom" || fail "TLS scrape $i is not the metrics"
	sleep 0.2
done
bg_stop "$TMP/idle.stop" $DPID "slowdrip.py --idle"
closed=$(jget "$TMP/idle.json" "d['closed']")
[ "$closed" -ge 8 ] || fail "only $closed idle connections were closed: the server was never full"
kill -TERM $LPID
wait $LPID || fail "--listen over TLS after SIGTERM: exit $?"
ok "10 TLS scrapes among 36 churning idle connections from 9 addresses: $(cat "$TMP/idle.json")"
