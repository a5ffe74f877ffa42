#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw stats --prometheus passes `promtool check metrics`; --listen serves the same text over
# HTTP at /metrics (curl as the client), collects fresh counters per scrape, binds the loopback
# address when ADDR is omitted, serves remote scrapers when bound to an address, and ends with
# exit 0 on SIGTERM and SIGINT.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null ||
	fail "promtool not found: install the Debian package prometheus (scripts/install-deps.sh)"
command -v curl >/dev/null || fail "curl not found (scripts/install-deps.sh)"

topo_up
pol=$(policy prom <<'EOF'
version: 1
interfaces:
  - name: lan0
    hooks: [ingress, egress]
default: allow
rules:
  - name: count-5001
    proto: udp
    dport: 5001
    action: allow
  - name: watch-dns
    dport: 53
    action: drop
    mode: monitor
EOF
)
tlsfw apply "$pol" || fail "apply"
send_udp "$CLI" "$S4" 5001 12
sleep 0.2

tlsfw stats --prometheus >"$TMP/m.prom" || fail "stats --prometheus"
promtool check metrics <"$TMP/m.prom" >"$TMP/lint" 2>&1 || {
	cat "$TMP/lint" "$TMP/m.prom"
	fail "promtool check metrics rejected the output"
}
ok "promtool check metrics: $(grep -vc '^#' "$TMP/m.prom") samples, no complaints"

metric() { # FILE SERIES: the value of one exact series
	awk -v s="$2" '$1 == s { print $2 }' "$1"
}
s='tlsfw_rule_packets_total{rule="count-5001",action="allow",interface="lan0",direction="ingress"}'
[ "$(metric "$TMP/m.prom" "$s")" = 12 ] || fail "$s is '$(metric "$TMP/m.prom" "$s")', want 12"
grep -q '^tlsfw_policy_info{file="'"$pol"'",hash="sha256:[0-9a-f]\{64\}",default="allow",backend="bpf"} 1$' \
	"$TMP/m.prom" || fail "tlsfw_policy_info"
ts=$(metric "$TMP/m.prom" tlsfw_policy_applied_timestamp_seconds)
now=$(date +%s)
[ -n "$ts" ] && [ $((now - ts)) -ge 0 ] && [ $((now - ts)) -lt 120 ] ||
	fail "tlsfw_policy_applied_timestamp_seconds $ts, now $now"
# order counts the (essentials) rule, which comes first
grep -q '^tlsfw_rule_info{rule="watch-dns",action="drop",mode="monitor",order="3"} 1$' \
	"$TMP/m.prom" || fail "tlsfw_rule_info for the monitor rule"
grep -q '^tlsfw_reason_packets_total{interface="lan0",direction="egress",reason="malformed-ihl"} 0$' \
	"$TMP/m.prom" || fail "zero reason counters are exported"
ok "series values: rule counter, policy info, applied timestamp, rule info"

# --listen :PORT: loopback only, same text as --prometheus.
PORT=9567
bg ip netns exec "$GW" "$TLSFW" stats --listen :$PORT 2>"$TMP/listen.err"
LPID=$BG_PID
for i in $(seq 50); do
	gw curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" && break
	kill -0 $LPID 2>/dev/null || { cat "$TMP/listen.err"; fail "--listen exited"; }
	sleep 0.1
done
grep -q "http://127.0.0.1:$PORT/metrics" "$TMP/listen.err" || fail "no 'serving' line: $(cat "$TMP/listen.err")"

# Background frames (IPv6 router solicitations) may move the default counters between two
# reads: compare only when two --prometheus reads around the scrape agree.
same=""
for i in $(seq 10); do
	tlsfw stats --prometheus >"$TMP/a.prom"
	gw curl -sf -D "$TMP/hdr" "http://127.0.0.1:$PORT/metrics" >"$TMP/http.prom" || fail "curl"
	tlsfw stats --prometheus >"$TMP/c.prom"
	if cmp -s "$TMP/a.prom" "$TMP/c.prom"; then
		cmp -s "$TMP/a.prom" "$TMP/http.prom" || {
			diff "$TMP/a.prom" "$TMP/http.prom"
			fail "/metrics differs from stats --prometheus"
		}
		same=1
		break
	fi
	sleep 0.3
done
[ -n "$same" ] || fail "counters never stood still for a comparison"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$TMP/hdr" || fail "content type: $(cat "$TMP/hdr")"
promtool check metrics <"$TMP/http.prom" >/dev/null 2>&1 || fail "promtool rejects /metrics"
ok "/metrics serves the same text as --prometheus"

# Fresh counters per scrape.
send_udp "$CLI" "$S4" 5001 5
sleep 0.2
gw curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMP/http2.prom" || fail "curl 2"
[ "$(metric "$TMP/http2.prom" "$s")" = 17 ] || fail "second scrape: $(metric "$TMP/http2.prom" "$s"), want 17"
ok "each scrape reads the kernel again (12 -> 17)"

# Many scrapes leave no descriptor behind (each opens programs and maps and must close them).
sleep 0.3
fds0=$(ls /proc/$LPID/fd | wc -l)
for i in $(seq 40); do
	gw curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" || fail "scrape $i"
done
sleep 0.3 # the server closes the last connection after curl has its answer
fds1=$(ls /proc/$LPID/fd | wc -l)
[ "$fds1" -le "$fds0" ] || fail "descriptors grew from $fds0 to $fds1 over 40 scrapes"
ok "40 scrapes, open descriptors $fds0 -> $fds1"

code=$(gw curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nope")
[ "$code" = 404 ] || fail "unknown path: HTTP $code"
code=$(gw curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics")
[ "$code" = 405 ] || fail "POST: HTTP $code"
code=$(gw curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$PORT/metrics")
[ "$code" = 200 ] || fail "HEAD: HTTP $code"
ok "404 for other paths, 405 for POST, HEAD works"

# Loopback only: the client cannot reach it through the gateway's LAN address.
code=$(cli curl -s -o /dev/null -m 2 -w '%{http_code}' "http://10.10.1.1:$PORT/metrics")
[ "$code" = 000 ] || fail "':PORT' is reachable from the client (HTTP $code); must bind loopback"
# A second server on the same port fails with exit 2 and says why.
gw "$TLSFW" stats --listen 127.0.0.1:$PORT 2>"$TMP/dup.err"
rc=$?
[ $rc = 2 ] || fail "second --listen on a busy port: exit $rc, want 2"
grep -q 'Address already in use' "$TMP/dup.err" || fail "busy port message: $(cat "$TMP/dup.err")"
kill -TERM $LPID
wait $LPID
rc=$?
[ $rc = 0 ] || fail "--listen after SIGTERM: exit $rc, want 0"
ok "loopback by default; busy port exit 2; SIGTERM exit 0"

# Bound to the LAN address: a remote scraper (the client) gets the metrics. IPv6 too.
bg ip netns exec "$GW" "$TLSFW" stats --listen 10.10.1.1:9100 2>/dev/null
P4=$BG_PID
bg ip netns exec "$GW" "$TLSFW" stats --listen "[fd00:1::1]:9101" 2>/dev/null
P6=$BG_PID
for i in $(seq 50); do
	cli curl -sf -o /dev/null http://10.10.1.1:9100/metrics &&
		cli curl -sf -o /dev/null "http://[fd00:1::1]:9101/metrics" && break
	sleep 0.1
done
cli curl -sf http://10.10.1.1:9100/metrics >"$TMP/r4.prom" || fail "remote scrape over IPv4"
cli curl -sf "http://[fd00:1::1]:9101/metrics" >"$TMP/r6.prom" || fail "remote scrape over IPv6"
[ "$(metric "$TMP/r4.prom" "$s")" = 17 ] || fail "remote IPv4 scrape value"
[ "$(metric "$TMP/r6.prom" "$s")" = 17 ] || fail "remote IPv6 scrape value"
kill -INT $P4
wait $P4 || fail "--listen after SIGINT: exit $?"
kill -TERM $P6
wait $P6 || fail "--listen [v6] after SIGTERM: exit $?"
ok "remote scrapes over IPv4 and IPv6; SIGINT exit 0"

# node_exporter textfile collector: the file it reads passes promtool too.
tlsfw detach >/dev/null || fail "detach"
tlsfw stats --prometheus >"$TMP/none.prom" || fail "--prometheus with nothing enforced"
promtool check metrics <"$TMP/none.prom" >/dev/null 2>&1 || fail "promtool rejects the empty exposition"
grep -qx 'tlsfw_enforced 0' "$TMP/none.prom" || fail "tlsfw_enforced 0"
ok "nothing enforced: tlsfw_enforced 0, still valid"
