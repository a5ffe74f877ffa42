#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: tlsfw on a gateway between a client and a server, in network namespaces.
# Blocks QUIC with policies/block-quic.conf: on UDP 443 by port, and on UDP 8443, a port no
# rule names, by reading the datagram (a real QUIC client, ngtcp2's gtlsclient, is rejected
# there while a datagram that is not QUIC passes). Shows that browsers' fallback, a TLS
# handshake over TCP 443, still works. Leaves nothing behind (the namespaces are removed on
# exit, which also removes the programs).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
TLSFW=${TLSFW:-$ROOT/${BUILD:-build}/tlsfw}
NETTOOL=$ROOT/selftests/net/nettool.py
P="tlsfw-demo-$$-"
CLI=${P}c GW=${P}gw SRV=${P}s
TMP=$(mktemp -d /tmp/tlsfw-demo.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	"$ROOT/scripts/topology.sh" down "$P"
	rm -rf "$TMP"
}
trap cleanup EXIT

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { # show a command, then run it
	printf '$ %s\n' "$*"
	"$@"
}
udp_try() { # from the client: one UDP datagram to the server's port 443
	ip netns exec "$CLI" /usr/bin/python3 "$NETTOOL" udp-probe --to 10.10.2.2 --port 443 \
		--timeout 2 | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)["result"]
print({"reply": "  answered: UDP 443 (QUIC) reaches the server",
       "timeout": "  no answer within 2 s: UDP 443 was dropped"}.get(r,
      "  refused at once (%s): the gateway rejected UDP 443, a browser falls back to TCP now" % r))'
}

# quic_try: on UDP 8443, a port no rule of the policy names, a real QUIC client's connection
# attempt (ngtcp2's gtlsclient, one second), then one datagram that is not QUIC; what the
# server received of each is the witness.
quic_try() {
	local sent got
	rm -f "$TMP/q.ready" "$TMP/q.stop"
	ip netns exec "$SRV" /usr/bin/python3 "$NETTOOL" udp-sink --bind 0.0.0.0 --ports 8443 \
		--seconds 30 --ready "$TMP/q.ready" --stop "$TMP/q.stop" >"$TMP/q.json" &
	QSINK=$!
	PIDS+=($QSINK)
	for _ in $(seq 50); do [ -e "$TMP/q.ready" ] && break; sleep 0.1; done
	ip netns exec "$CLI" timeout 10 gtlsclient --handshake-timeout=1s --timeout=1s \
		10.10.2.2 8443 https://server.demo:8443/ >"$TMP/quic.log" 2>&1 || true
	sent=$(grep -c '^Sent packet' "$TMP/quic.log" || true)
	ip netns exec "$CLI" /usr/bin/python3 "$NETTOOL" udp-probe --to 10.10.2.2 --port 8443 \
		--timeout 2 >"$TMP/p.json"
	touch "$TMP/q.stop"
	wait "$QSINK" || true
	got=$(/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(d["received"]["8443"] - d["probes"]["8443"])' "$TMP/q.json")
	echo "  QUIC client to UDP 8443: it sent $sent datagrams (Initials), the server received $got"
	/usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["result"]
print("  a datagram that is not QUIC to UDP 8443: " +
      ("answered, it passes" if r == "reply" else "not answered (%s)" % r))' "$TMP/p.json"
}

[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces, BPF)" >&2; exit 1; }
[ -x "$TLSFW" ] || { echo "demo: $TLSFW missing: run make" >&2; exit 1; }
command -v gtlsclient >/dev/null || {
	echo "demo: gtlsclient (Debian package ngtcp2-client) missing: run scripts/install-deps.sh" >&2
	exit 1
}

say "A client, a gateway and a server, each in its own network namespace"
"$ROOT/scripts/topology.sh" up "$P"
echo "  $CLI (10.10.1.2) -- lan0 [$GW] wan0 -- $SRV (10.10.2.2)"

say "The server answers on UDP 443 (like QUIC) and on TCP 443 (TLS, throwaway certificate)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=server.demo -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
ip netns exec "$SRV" openssl s_server -quiet -accept 443 -naccept 100 -cert "$TMP/cert.pem" \
	-key "$TMP/key.pem" </dev/null >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec "$SRV" /usr/bin/python3 "$NETTOOL" udp-sink --bind 0.0.0.0 --ports 443 \
	--seconds 600 --ready "$TMP/ready" >/dev/null &
PIDS+=($!)
for _ in $(seq 50); do [ -e "$TMP/ready" ] && break; sleep 0.1; done
sleep 0.3

say "Without a policy, UDP 443 gets through, and so does QUIC on any other port"
udp_try
quic_try

say "The policy"
grep -v '^#' policies/block-quic.conf | sed '/^$/d; s/^/  /'

say "Check it, then apply it on the gateway"
run ip netns exec "$GW" "$TLSFW" check policies/block-quic.conf
run ip netns exec "$GW" "$TLSFW" apply policies/block-quic.conf

say "Now UDP 443 is rejected, and QUIC is recognised by its header on a port no rule names"
udp_try
quic_try

say "A TLS handshake over TCP 443 still completes"
echo Q | ip netns exec "$CLI" timeout 5 openssl s_client -connect 10.10.2.2:443 \
	-servername server.demo -brief 2>&1 | grep -E 'Protocol version|Ciphersuite|CONNECTION' |
	sed 's/^/  /' || echo "  the TLS handshake failed"

say "What is enforced (each command is a separate process; state lives in the kernel)"
run ip netns exec "$GW" "$TLSFW" status

say "Counters"
run ip netns exec "$GW" "$TLSFW" stats

say "Detach: the gateway forwards everything again"
run ip netns exec "$GW" "$TLSFW" detach
udp_try
echo
echo "Done. The namespaces are removed on exit."
