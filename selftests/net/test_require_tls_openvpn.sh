#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# require: tls against a real VPN hiding on TCP 443 (issue 12): an OpenVPN server in TCP mode on
# the server's port 443 (a static key made here), and an OpenVPN client. Without a policy the
# tunnel comes up (a ping crosses it). With require: tls + reject on TCP 443 the client's first
# bytes (a 2-byte length and an OpenVPN packet) are not a ClientHello: both ends get a RST (the
# server logs the reset, the client never completes its initialisation), the rule counts the
# flows cut and none passed.
. "$(dirname "$0")/lib.sh"

topo_up
openvpn --genkey secret "$TMP/static.key" 2>/dev/null || fail "openvpn --genkey"
ovpn() { # ovpn NS LOG ARGS...: an OpenVPN peer with the static key
	local ns=$1 log=$2
	shift 2
	bg ip netns exec "$ns" openvpn --dev tun \
		--cipher AES-256-CBC --auth SHA256 --verb 4 --log "$log" "$@"
}
ovpn "$SRV" "$TMP/server.log" --proto tcp-server --port 443 --secret "$TMP/static.key" 0 \
	--ifconfig 10.99.0.1 10.99.0.2
for i in $(seq 50); do
	srv ss -Hltn "sport = :443" | grep -q . && break
	sleep 0.1
done
srv ss -Hltn "sport = :443" | grep -q . || { cat "$TMP/server.log"; fail "no OpenVPN server on 443"; }

# The server sends nothing of its own (no --ping): a reset it logs is one it was sent.
# Without a policy the tunnel comes up: the setup works, so a failure below is tlsfw's.
ovpn "$CLI" "$TMP/c0.log" --proto tcp-client --remote "$S4" 443 --secret "$TMP/static.key" 1 \
	--ifconfig 10.99.0.2 10.99.0.1 --ping 1
c0=$BG_PID
for i in $(seq 100); do
	grep -q "Initialization Sequence Completed" "$TMP/c0.log" 2>/dev/null && break
	sleep 0.1
done
cli ping -c1 -W2 10.99.0.1 >/dev/null || { cat "$TMP/c0.log"; fail "no tunnel without a policy"; }
ok "OpenVPN over TCP 443 works without a policy"
_kill_tree "$c0"
wait "$c0" 2>/dev/null
sleep 0.5

cat >"$TMP/p.conf" <<'POL'
version: 1
interfaces:
  - name: lan0
rules:
  - name: tls-only
    proto: tcp
    dport: 443
    require: tls
    action: reject
POL
tlsfw apply "$TMP/p.conf" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply"; }
resets0=$(grep -c "Connection reset" "$TMP/server.log")
peers0=$(grep -c "Peer Connection Initiated" "$TMP/server.log")
ovpn "$CLI" "$TMP/c1.log" --proto tcp-client --remote "$S4" 443 --secret "$TMP/static.key" 1 \
	--ifconfig 10.99.0.2 10.99.0.1 --ping 1 --connect-retry-max 1
c1=$BG_PID
for i in $(seq 100); do
	grep -q "Connection reset" "$TMP/c1.log" 2>/dev/null && break
	sleep 0.1
done
sleep 1
grep -q "Connection reset" "$TMP/c1.log" || { cat "$TMP/c1.log"; fail "the client saw no reset"; }
grep -q "Initialization Sequence Completed" "$TMP/c1.log" && fail "the client's tunnel came up"
cli ping -c1 -W1 10.99.0.1 >/dev/null 2>&1 && fail "a ping crossed the tunnel"
resets=$(grep -c "Connection reset" "$TMP/server.log")
[ "$resets" -gt "$resets0" ] || { tail -20 "$TMP/server.log"; fail "the server logged no reset"; }
[ "$(grep -c "Peer Connection Initiated" "$TMP/server.log")" = "$peers0" ] ||
	fail "the server got an OpenVPN packet through the policy"
ok "OpenVPN over TCP 443 is cut: the client saw a RST and no tunnel; the server logged $((resets - resets0)) reset(s)"
_kill_tree "$c1"
wait "$c1" 2>/dev/null

tlsfw stats --json --exact >"$TMP/stats.json" || fail "stats"
cut=$(jget "$TMP/stats.json" "[r['flows_cut'] for r in d['flows']['rules'] if r['name'] == 'tls-only'][0]")
passed=$(jget "$TMP/stats.json" "[r['flows_passed'] for r in d['flows']['rules'] if r['name'] == 'tls-only'][0]")
[ "$cut" -ge 1 ] || fail "tls-only counted $cut flows cut"
[ "$passed" = 0 ] || fail "tls-only counted $passed flows passed"
ok "tls-only counted $cut flow(s) cut, none passed"
tlsfw detach >/dev/null || fail "detach"
