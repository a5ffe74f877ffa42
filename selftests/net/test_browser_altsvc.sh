#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Issue 12's browser case: a page on TCP 443 announces HTTP/3 on another port (Alt-Svc:
# h3=":8443"), which a rule on UDP 443 misses. Caddy serves h1 and h2 on TCP 443 and h3 on
# UDP 8443 only; headless Chromium in the client namespace; tlsfw on the gateway's lan0 in
# xdp_mode auto, nothing on the client's veth. The independent witness is an nftables counter
# in the server namespace of QUIC long-header datagrams (handshakes) arriving on UDP 8443.
#   1. No policy: the browser follows Alt-Svc, requests go over h3, handshakes reach 8443.
#   2. A port rule (proto udp, dport 443, reject): a new QUIC connection still reaches 8443
#      and carries h3; the rule counted nothing.
#   3. payload: quic with reject: the page loads over h2, no handshake reaches 8443, and the
#      rule counted N >= 1 packets and answered each (reject-sent).
# Chromium follows an Alt-Svc from an origin on a port below 1024 to a port above 1023 only
# with --enable-user-controlled-alternate-protocol-ports (net/http: "kUnrestrictedPort", so
# that a user of a shared host cannot announce a server of his own): without it, it ignores
# h3=":8443" from https://server.test/ and stays on h2. From an origin on a port above 1023,
# or to a port below 1024, it follows by default.
# Before steps 2 and 3 the browser's connections are closed (browser_close_connections), as
# an idle timeout would: a QUIC connection that began before a policy goes on with
# short-header packets, which no content rule can recognise (tlsfw.conf(5), payload), so only
# the next connection's handshake shows what a policy does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/browser_lib.sh"

topo_up
caddy_start server.test 443 8443
srv ss -Hlun "sport = :443" | grep -q . && fail "caddy listens on UDP 443: HTTP/3 must be on 8443 only"
cli curl -sSI --cacert "$TMP/ca.crt" --resolve "server.test:443:$S4" https://server.test/ \
	>"$TMP/head.txt" || fail "curl to TCP 443"
grep -qi '^alt-svc: h3=":8443"' "$TMP/head.txt" || { cat "$TMP/head.txt"; fail "no Alt-Svc h3=\":8443\" on TCP 443"; }
ok "TCP 443 answers with $(grep -i '^alt-svc' "$TMP/head.txt" | tr -d '\r'), no UDP 443"

srv nft -f - <<'EOF' || fail "nft: witness counters"
table inet witness {
	counter handshakes8443 {}
	counter udp443 {}
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 8443 @th,64,8 & 0x80 == 0x80 counter name handshakes8443
		udp dport 443 counter name udp443
	}
}
EOF
# witness NAME: the packets counted by the server's counter NAME
witness() {
	srv nft -j list counter inet witness "$1" |
		$PY -c 'import json,sys; print([o["counter"]["packets"] for o in json.load(sys.stdin)["nftables"] if "counter" in o][0])'
}

# nav_proto: "PROTO MS" of the page's own load (navigation timing)
nav_proto() {
	browser_js "(() => {
		const e = performance.getEntriesByType('navigation')[0];
		return e.nextHopProtocol + ' ' + e.duration.toFixed(1);
	})()"
	read -r NAV_PROTO NAV_MS <<<"$(echo "$JS_VALUE" | tr -d '"')"
}

browser_start --enable-user-controlled-alternate-protocol-ports
browser_goto "https://server.test/"
browser_until_h3 /probe
n=$(witness handshakes8443)
[ "$n" -ge 1 ] || fail "the browser used h3, but no QUIC handshake reached UDP 8443"
ok "no policy: Alt-Svc followed, $FETCH_PROTO in $FETCH_MS ms; $n handshake datagrams on UDP 8443"

apply_reject reject-udp-443 "dport: 443"
browser_close_connections
before=$(witness handshakes8443)
browser_goto "https://server.test/"
browser_until_h3 /probe
n=$(($(witness handshakes8443) - before))
[ "$n" -ge 1 ] || fail "h3 under the port rule, but no new QUIC handshake reached UDP 8443"
stats_json "$TMP/s1.json"
r=$(stat_rule "$TMP/s1.json" reject-udp-443 lan0 ingress packets)
[ "$r" = 0 ] || fail "reject-udp-443 counted $r packets, expected 0 (nothing goes to UDP 443)"
ok "dport 443 rule: a new QUIC connection ($n handshake datagrams to 8443) carries $FETCH_PROTO, the rule counted 0"

apply_reject quic-anywhere "payload: quic"
browser_close_connections
before=$(witness handshakes8443)
browser_goto "https://server.test/"
nav_proto
echo "first load after the apply: $NAV_PROTO in $NAV_MS ms"
[ "$NAV_PROTO" = h2 ] || fail "the page loaded over '$NAV_PROTO' under payload: quic, expected h2"
browser_fetch /probe
[ "$FETCH_PROTO" = h2 ] || fail "a later load used '$FETCH_PROTO', expected h2"
n=$(($(witness handshakes8443) - before))
[ "$n" = 0 ] || fail "$n QUIC handshake datagrams reached UDP 8443 under payload: quic"
stats_json "$TMP/s2.json"
n=$(stat_rule "$TMP/s2.json" quic-anywhere lan0 ingress packets)
sent=$(jget "$TMP/s2.json" "sum(r['packets'] for r in d['reasons'] if r['reason']=='reject-sent')")
[ "$n" -ge 1 ] && [ "$sent" = "$n" ] || fail "quic-anywhere counted $n packets, $sent answers sent"
[ "$(witness udp443)" = 0 ] || fail "datagrams to UDP 443 reached the server"
ok "payload: quic: the page loaded over h2 in $NAV_MS ms (then $FETCH_PROTO in $FETCH_MS ms), no handshake reached 8443, quic-anywhere rejected $n packets and answered each"
