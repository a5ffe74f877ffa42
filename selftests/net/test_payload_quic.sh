#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# payload: quic on a real gateway (issue 12): Caddy serves HTTP/3 on UDP 443 and 8443; with a
# rule that rejects QUIC on any port, Debian's ngtcp2 client (gtlsclient) fails its handshake
# on both ports, and the rule counted exactly the datagrams the client sent (an nftables
# counter in the client's namespace is the witness). Look-alikes pass and count on the
# default only: DNS queries with IDs such as 0xc3c3, STUN, WireGuard- and RTP-shaped
# datagrams, and a DTLS handshake (openssl s_server/s_client -dtls).
. "$(dirname "$0")/lib.sh"
command -v caddy >/dev/null || fail "caddy (Debian package caddy) is not installed"
command -v gtlsclient >/dev/null || fail "gtlsclient (Debian package ngtcp2-client) is not installed"

topo_up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=server.test -addext subjectAltName=DNS:server.test \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || fail "openssl req"
mkdir -p "$TMP/www" "$TMP/caddy"
echo ok >"$TMP/www/index.html"
cat >"$TMP/Caddyfile" <<CADDY
{
	admin off
	auto_https disable_redirects
	storage file_system $TMP/caddy
	servers {
		protocols h1 h2 h3
	}
}
https://server.test:443, https://server.test:8443 {
	bind $S4 $S6
	tls $TMP/cert.pem $TMP/key.pem
	root * $TMP/www
	file_server
}
CADDY
XDG_DATA_HOME=$TMP/caddy XDG_CONFIG_HOME=$TMP/caddy HOME=$TMP/caddy \
	bg srv caddy run --config "$TMP/Caddyfile" --adapter caddyfile >"$TMP/caddy.log" 2>&1
for p in 443 8443; do
	for i in $(seq 100); do
		srv ss -Hlun "sport = :$p" | grep -q . && break
		sleep 0.1
	done
	srv ss -Hlun "sport = :$p" | grep -q . || {
		cat "$TMP/caddy.log"
		fail "caddy: no UDP $p"
	}
done

# h3 ADDR PORT: 0 when the server answered the client's QUIC Initial (gtlsclient logs the
# packets it receives). Debian's gtlsclient (GnuTLS) and Caddy's quic-go do not agree on
# the TLS handshake itself (quic-go closes with CRYPTO_ERROR 0x150): that the server's QUIC
# answer arrives is what shows the Initial crossed the gateway.
h3() {
	timeout 10 ip netns exec "$CLI" gtlsclient --exit-on-all-streams-close \
		--handshake-timeout=2s --timeout=2s --sni=server.test "$1" "$2" \
		"https://server.test:$2/" >"$TMP/h3.out" 2>&1
	grep -aq ' pkt rx .*type=Initial' "$TMP/h3.out"
}

for p in 443 8443; do
	h3 "$S4" $p || {
		tail -5 "$TMP/h3.out"
		fail "QUIC to $S4 $p before the policy: no answer from the server"
	}
done
ok "QUIC (gtlsclient -> Caddy): the server answers on 443 and 8443 before the policy"

# the witness: datagrams the client sends to the server's UDP 443 and 8443
cli nft -f - <<'NFT' || fail "nft witness"
table inet witness {
	counter quic { }
	chain out {
		type filter hook output priority 0;
		udp dport { 443, 8443 } counter name quic
	}
}
NFT

pol=$(
	policy quic <<'POL'
version: 1
interfaces:
  - name: lan0
rules:
  - name: quic-anywhere
    proto: udp
    payload: quic
    action: reject
POL
)
tlsfw apply "$pol" >"$TMP/apply.out" 2>&1 || {
	cat "$TMP/apply.out"
	fail "apply"
}

for a in "$S4" "$S6"; do
	for p in 443 8443; do
		h3 "$a" $p && fail "QUIC to $a $p: the server answered under payload: quic + reject"
	done
done
ok "QUIC never reaches the server on 443 and 8443 (IPv4, IPv6)"

cli nft -j list counter inet witness quic >"$TMP/witness.json" || fail "nft list counter"
sent=$(jget "$TMP/witness.json" "[x['counter']['packets'] for x in d['nftables'] if 'counter' in x][0]")
stats_json "$TMP/s.json"
got=$(stat_rule "$TMP/s.json" quic-anywhere lan0 ingress packets)
[ "$sent" -gt 0 ] || fail "the client sent no QUIC datagram"
[ "$got" = "$sent" ] || fail "quic-anywhere counted $got packets, the client sent $sent"
tlsfw stats >"$TMP/s.txt" || fail "tlsfw stats"
grep -q '^flow table: ' "$TMP/s.txt" && ! grep -q 'require: tls' "$TMP/s.txt" || {
	cat "$TMP/s.txt"
	fail "tlsfw stats: a flow table line and no require: tls heading without such a rule"
}
ok "quic-anywhere counted exactly the $sent datagrams the client sent"

# look-alikes: counted on the default, never on the rule
sink_start look 53,3478,51820,5004
for a in "$S4" "$S6"; do
	for p in 53 3478 51820 5004; do
		cli $PY "$ROOT/selftests/net/lookalike.py" --to "$a" --port $p --count 5 >/dev/null ||
			fail "lookalike.py"
	done
done
sleep 0.5
sink_stop look
for fam in 4 6; do
	for p in 53 3478 51820 5004; do
		n=$(sink_count look $fam $p)
		[ "$n" = 30 ] || fail "look-alikes to IPv$fam UDP $p: $n of 30 arrived"
	done
done
ok "DNS (IDs 0xc3c3, 0xc0ff, 0xcaff), STUN, WireGuard and RTP look-alikes all arrive"

bg srv openssl s_server -dtls -quiet -accept 4433 -cert "$TMP/cert.pem" -key "$TMP/key.pem" \
	</dev/null >/dev/null 2>&1
for i in $(seq 50); do
	srv ss -Hlun "sport = :4433" | grep -q . && break
	sleep 0.1
done
echo Q | timeout 5 ip netns exec "$CLI" openssl s_client -dtls -connect "$S4:4433" \
	>"$TMP/dtls.out" 2>&1
grep -q '^-----BEGIN CERTIFICATE' "$TMP/dtls.out" || {
	cat "$TMP/dtls.out"
	fail "DTLS handshake failed"
}
ok "a DTLS handshake completes"

stats_json "$TMP/s2.json"
got2=$(stat_rule "$TMP/s2.json" quic-anywhere lan0 ingress packets)
[ "$got2" = "$got" ] || fail "quic-anywhere moved by $((got2 - got)) packets on look-alikes"
def=$(jget "$TMP/s2.json" "sum(i['default']['packets'] for i in d['interfaces'] if i['interface']=='lan0' and i['direction']=='ingress')")
[ "$def" -ge 240 ] || fail "the default counted $def packets, expected at least the 240 look-alikes"
ok "look-alikes and DTLS counted on the default only ($def packets)"
