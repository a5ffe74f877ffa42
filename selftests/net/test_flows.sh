#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# flows: N is applied (issue 12): the flow table behind lan0's programs has the policy's size,
# read with bpftool as a witness. Changing the size is a cold apply: new maps (another map
# id) and new programs; the same size again reuses both. tlsfw status shows the size in text
# and JSON, and a TCP handshake crosses the gateway after each apply (the require: tls rule
# lets a TLS client through; a plain one is cut). A UDP stream to a port every policy drops
# runs through the applies: not one datagram may cross while new maps replace the old ones.
. "$(dirname "$0")/lib.sh"

topo_up

policy() { # policy FILE [FLOWS]
	{
		printf 'version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress]\n'
		[ -n "$2" ] && printf 'flows: %s\n' "$2"
		printf 'rules:\n  - name: tls-only\n    proto: tcp\n    dport: 443\n'
		printf '    require: tls\n    action: reject\n'
		printf '  - name: block-6001\n    proto: udp\n    dport: 6001\n    action: drop\n'
	} >"$1"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=server.test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || fail "openssl req"
bg ip netns exec "$SRV" openssl s_server -quiet -www -accept 443 -naccept 1000 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem" </dev/null >/dev/null 2>&1
for i in $(seq 50); do
	srv ss -Hltn "sport = :443" | grep -q . && break
	sleep 0.1
done

sink_start f 6001
prev_map= last_size_map= STREAM=
for flows in 128 70000 70000 ""; do
	want=${flows:-65536}
	policy "$TMP/p.conf" "$flows"
	"$TLSFW" check "$TMP/p.conf" >"$TMP/check.out" 2>&1 || { cat "$TMP/check.out"; fail "check flows: $want"; }
	grep -q warning "$TMP/check.out" && { cat "$TMP/check.out"; fail "check warns about flows: $want"; }
	tlsfw apply "$TMP/p.conf" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply flows: $want"; }
	if [ -z "$STREAM" ]; then # from the first policy on, through the resizing applies
		bg cli $PY "$NETTOOL" udp-stream --to "$S4" --ports 6001 --count 1000000 --rate 2000 \
			--stop "$TMP/stop-stream" >"$TMP/stream"
		STREAM=$BG_PID
	fi
	read -r map size < <(map_of tlsfw_flows)
	[ -n "$map" ] || fail "no tlsfw_flows behind lan0's ingress program"
	[ "$size" = "$want" ] || fail "flows: $want: bpftool shows $size entries"
	if [ "$flows" = 70000 ] && [ "$map" = "$last_size_map" ]; then
		ok "flows: 70000 again: the same map (id $map) is kept"
	elif [ -n "$prev_map" ]; then
		[ "$map" != "$prev_map" ] || fail "flows: $want: the map (id $map) was not replaced"
		ok "flows: $want: a new map (id $map, was $prev_map) of $size entries"
	else
		ok "flows: $want: bpftool shows $size entries (map id $map)"
	fi
	[ "$flows" = 70000 ] && last_size_map=$map
	prev_map=$map
	tlsfw status >"$TMP/status.out" || fail "status"
	grep -q "^flows    $want entries" "$TMP/status.out" || { cat "$TMP/status.out"; fail "status does not show $want flows"; }
	got=$(tlsfw status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["policy"]["flow_table_entries"])')
	[ "$got" = "$want" ] || fail "status --json says $got flow table entries, want $want"
	cli curl -sk --max-time 5 -o /dev/null "https://$S4/" || fail "flows: $want: a TLS client did not pass"
	cli curl -s --max-time 5 -o /dev/null "http://$S4:443/" && fail "flows: $want: a plain HTTP client passed"
	ok "flows: $want: status shows the size; TLS passes, plain HTTP is cut"
done
touch "$TMP/stop-stream"
wait $STREAM || fail "UDP stream failed"
sink_stop f
[ "$(jget "$TMP/stream" "d['sent']")" -gt 500 ] || fail "the UDP stream sent too little: $(cat "$TMP/stream")"
leaked=$(sink_count f 4 6001)
[ "$leaked" = 0 ] || fail "$leaked datagrams to the blocked port crossed while the flow table was resized"
ok "no blocked datagram crossed during the applies that resized the flow table"
tlsfw detach >/dev/null || fail "detach"
