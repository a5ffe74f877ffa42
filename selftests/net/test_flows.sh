#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# flows: N is applied (issue 12): the flow table behind lan0's programs has the policy's size,
# read with bpftool as a witness. Changing the size is a cold apply: new maps (another map
# id) and new programs; the same size again reuses both. tlsfw status shows the size in text
# and JSON, and a TCP handshake crosses the gateway after each apply (the require: tls rule
# lets a TLS client through; a plain one is cut). A UDP stream to a port every policy drops
# runs through the applies: not one datagram may cross while new maps replace the old ones.
# Then sized by need: a policy whose rules keep no flow makes a flow table of 64 entries and a
# name table of 64; an sni: policy after it loads new maps (65,536 flows, the whole name table
# of 2 x 131,072); the first policy again keeps them (programs reused), and so does a
# require: tls policy after that. After a detach: the small tables again, and a require: tls
# policy after them loads new maps. Each time a TLS client passes and a plain one is cut.
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

# ---- sized by need ---------------------------------------------------------------------
{
	printf 'version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress]\nrules:\n'
	printf '  - name: block-6001\n    proto: udp\n    dport: 6001\n    action: drop\n'
} >"$TMP/ports.conf"
policy "$TMP/req.conf" ""
{
	printf 'version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress]\nrules:\n'
	printf '  - name: no-blocked\n    proto: tcp\n    dport: 443\n    sni: [blocked.test]\n'
	printf '    action: reject\n'
} >"$TMP/sni.conf"
# apply_sized FILE LOADED FLOWS NAMES: apply FILE; LOADED: yes (new programs, and so new
# maps) or no (the programs in use reused, a role new to the policy aside); the tables behind
# lan0 then have these sizes (bpftool; status too)
apply_sized() {
	local names size
	tlsfw apply "$1" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply $1"; }
	if [ "$2" = yes ]; then
		grep '^programs: ' "$TMP/apply.out" | grep -q -v reused
	else
		grep -Eq '^programs: (reused, none loaded|.* loaded, the others reused)$' "$TMP/apply.out"
	fi || { cat "$TMP/apply.out"; fail "apply $(basename "$1"): programs loaded is not '$2'"; }
	read -r FLOW_MAP size < <(map_of tlsfw_flows)
	read -r _ names < <(map_of tlsfw_names)
	[ "$size $names" = "$3 $4" ] ||
		fail "$(basename "$1"): flow and name tables of $size and $names entries, want $3 and $4"
	tlsfw status >"$TMP/status.out" || fail "status"
	grep -q "^flows    $3 entries" "$TMP/status.out" ||
		{ cat "$TMP/status.out"; fail "$1: status does not show $3 flows"; }
	cli curl -sk --max-time 5 -o /dev/null "https://$S4/" ||
		fail "$(basename "$1"): a TLS client did not pass"
}
plain_cut() {
	cli curl -s --max-time 5 -o /dev/null "http://$S4:443/" && fail "$1: a plain HTTP client passed"
	return 0
}
apply_sized "$TMP/ports.conf" yes 64 64
ok "a policy whose rules keep no flow: flow and name tables of 64 entries (status: 64)"
small=$FLOW_MAP
apply_sized "$TMP/sni.conf" yes 65536 262144
[ "$FLOW_MAP" != "$small" ] || fail "sni: the flow table (id $FLOW_MAP) was not replaced"
big=$FLOW_MAP
ok "sni: after it: new maps, 65,536 flows (id $big) and 262,144 names; TLS passes"
apply_sized "$TMP/ports.conf" no 65536 262144
apply_sized "$TMP/req.conf" no 65536 262144
plain_cut "require: tls on the kept tables"
[ "$FLOW_MAP" = "$big" ] || fail "the flow table was replaced (id $FLOW_MAP, was $big)"
ok "the first policy, then require: tls, keep the tables in force (id $big) and the programs"
tlsfw detach >/dev/null || fail "detach"
apply_sized "$TMP/ports.conf" yes 64 64
apply_sized "$TMP/req.conf" yes 65536 262144
plain_cut "require: tls after the small tables"
ok "after a detach: the small tables again; require: tls after them loads new maps," \
	"TLS passes, plain HTTP is cut"
tlsfw detach >/dev/null || fail "detach"
