#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Wrong passwords cannot slow a scraper down (bcrypt off the serving thread). In the gateway's
# namespace, over TLS on loopback, with one user of bcrypt cost 12: authflood.py holds 8
# kept-alive connections from 127.0.0.2 and 127.0.0.3 sending a new wrong password with every
# request (nothing to remember), while curl scrapes from 127.0.0.1 with the right one. The
# first scrape runs bcrypt itself; the worker takes the address served least recently first,
# so it waits only for the check in progress: 2 runs of cost 12 (about 0.3 s each here, more
# on a loaded machine), bound 3 s; the next nine are remembered and need no bcrypt, and the
# serving thread never runs it: each within 1 s. Every one must
# be 200 with the whole body (promtool checks it). Before the worker, each wrong password
# blocked the only serving thread for a whole bcrypt run.
. "$(dirname "$0")/lib.sh"

for t in promtool curl openssl htpasswd; do
	command -v $t >/dev/null || fail "$t not found (scripts/install-deps.sh)"
done

topo_up
printf 'version: 1\ninterfaces: [{name: lan0}]\nrules: [{name: dns, dport: 53, action: allow}]\n' \
	>"$TMP/p.conf"
tlsfw apply "$TMP/p.conf" >/dev/null || fail "apply"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=tlsfw -days 2 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/tls.key" -out "$TMP/tls.pem" \
	2>/dev/null || fail "openssl req"
hash=$(htpasswd -nbBC 12 prom s3cret-scrape | cut -d: -f2) || fail "htpasswd"
printf 'tls_server_config:\n  cert_file: tls.pem\n  key_file: tls.key\nbasic_auth_users:\n  prom: %s\n' \
	"$hash" >"$TMP/web.yml"
bg ip netns exec "$GW" "$TLSFW" stats --listen 127.0.0.1:9443 --web-config "$TMP/web.yml" \
	2>"$TMP/listen.err"
LPID=$BG_PID
URL=https://127.0.0.1:9443/metrics
for i in $(seq 50); do
	grep -q "serving metrics" "$TMP/listen.err" && break
	kill -0 $LPID 2>/dev/null || fail "--listen exited: $(cat "$TMP/listen.err")"
	sleep 0.1
done

bg ip netns exec "$GW" $PY "$ROOT/selftests/net/authflood.py" 127.0.0.1 9443 \
	--cafile "$TMP/tls.pem" --conns 8 --from 127.0.0.2,127.0.0.3 --stop "$TMP/stop" \
	>"$TMP/flood.json"
FPID=$BG_PID
sleep 1.5
times=""
for i in $(seq 10); do
	bound=1
	[ $i = 1 ] && bound=3
	t=$(gw curl -s -m 8 --cacert "$TMP/tls.pem" -u prom:s3cret-scrape -o "$TMP/s.prom" \
		-w '%{http_code} %{time_total}' "$URL")
	rc=$?
	[ $rc = 0 ] && [ "${t%% *}" = 200 ] ||
		fail "scrape $i during the flood: curl exit $rc, status and time '$t'"
	promtool check metrics <"$TMP/s.prom" >"$TMP/lint" 2>&1 ||
		fail "scrape $i is cut or not the metrics: $(cat "$TMP/lint")"
	grep -q '^tlsfw_enforced 1$' "$TMP/s.prom" || fail "scrape $i is not the metrics"
	awk -v t="${t#* }" -v b=$bound 'BEGIN { exit !(t < b) }' ||
		fail "scrape $i took ${t#* } s during the flood (bound $bound s)"
	times="$times ${t#* }"
	sleep 0.2
done
bg_stop "$TMP/stop" $FPID authflood.py
n401=$(jget "$TMP/flood.json" "d['401']")
[ "$n401" -ge 8 ] || fail "only $n401 wrong passwords were answered: the flood proves nothing"
kill -TERM $LPID
wait $LPID || fail "--listen after SIGTERM: exit $?"
ok "10 scrapes with the right password took$times s while 8 connections sent wrong ones: $(cat "$TMP/flood.json")"
