#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The main scenario with a real browser: headless Chromium in the client namespace has a live
# HTTP/3 session with Caddy in the server namespace, through the gateway. Then `tlsfw apply`
# of a policy that rejects QUIC (UDP 443) on lan0 in xdp_mode auto, nothing on the client's
# veth. The next load must go over TCP (h2) and take at most LIMIT_MS, measured by the page
# itself (fetch timing, performance nextHopProtocol): the reject's ICMP answer makes the
# browser give up QUIC at once, where a silent drop costs it seconds of timeouts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/browser_lib.sh"

LIMIT_MS=${LIMIT_MS:-150}

topo_up
caddy_start server.test 443
browser_start
browser_goto "https://server.test/"
browser_until_h3 /probe
ok "live HTTP/3 session before the policy: $FETCH_PROTO in $FETCH_MS ms"

apply_reject reject-quic "dport: 443"

browser_fetch /probe
proto=$FETCH_PROTO ms=$FETCH_MS
echo "first load after the apply: $proto in $ms ms"
[ "$proto" = h2 ] || fail "the first load after the apply used '$proto', expected h2"
awk -v m="$ms" -v l="$LIMIT_MS" 'BEGIN { exit !(m <= l) }' ||
	fail "the first load after the apply took $ms ms (limit $LIMIT_MS ms): the browser waited for QUIC"
ok "QUIC rejected: the next load went over h2 in $ms ms (limit $LIMIT_MS)"

stats_json "$TMP/s.json"
n=$(stat_rule "$TMP/s.json" reject-quic lan0 ingress packets)
sent=$(jget "$TMP/s.json" "sum(r['packets'] for r in d['reasons'] if r['reason']=='reject-sent')")
[ "$n" -ge 1 ] && [ "$sent" = "$n" ] || fail "reject-quic counted $n packets, $sent answers sent"
ok "reject-quic decided $n QUIC packets and answered each"

browser_fetch /probe
[ "$FETCH_PROTO" = h2 ] || fail "a later load used '$FETCH_PROTO', expected h2"
ok "later loads stay on h2 ($FETCH_MS ms)"
