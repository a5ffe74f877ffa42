#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# sni: and ech: against a real browser (issue 13). Headless Chromium in the client namespace
# loads pages from Caddy in the server namespace through the gateway (XDP on lan0, backend
# bpf); each host name has a certificate of its own, so every name opens connections of its
# own. QUIC is off in the browser and rejected by the policy: the names are seen on TCP only.
#
# What Chromium 156 sends, measured here on every flow from a capture in the client namespace
# (tcpdump, dissected by tshark: selftests/net/hello_witness.py): a ClientHello of about
# 2,000 bytes, an X25519MLKEM768 key share (group 4588) and a GREASE encrypted_client_hello
# extension (0xfe0d) although it has no ECH configuration, in two TCP segments at MTU 1500
# (1,448 + the rest). It permutes its extensions per connection, so the server_name lies in
# the first segment on some flows and in the second on others; a long name cannot move it.
# The test loads the listed names until both cases were seen. Chromium opens a second
# (preconnect) connection for most navigations, retries a refused one (4 to 13 flows a load,
# measured), and reloads an error page by itself later: each load ends on about:blank and
# is captured whole, and every count is checked against the flows captured.
#
# 1. sni: [...] with reject: a listed name does not load (the navigation fails), its
#    ClientHello does not cross the gateway whole and the server never answers (no server
#    payload in a capture on the gateway's wan0, no request in Caddy's log), wherever the name
#    lies; an unlisted name loads. flows_matched moves by the flows captured with listed names.
# 2. ech: present with reject: Chromium (GREASE ECH) is refused, curl (OpenSSL 3.0, no ECH) to
#    the same name loads; ech: absent: the reverse. flows_matched: exactly the flows captured
#    with (or without) the extension.
# 3. mode: monitor on a name rule: Chromium loads the listed name, and the rule counts its
#    flows (how to learn which clients use a name before enforcing).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/browser_lib.sh"
command -v tshark >/dev/null || fail "tshark (Debian package tshark) is not installed"

WITNESS=$ROOT/selftests/net/hello_witness.py
# a name of 197 characters: the ClientHello grows, the name may straddle the segments
LONG=$(printf 'a%.0s' $(seq 63)).$(printf 'b%.0s' $(seq 63)).$(printf 'c%.0s' $(seq 63)).test
MLKEM=4588 # X25519MLKEM768

topo_up
caddy_start "allowed.test,blocked.test,$LONG,ech.test" 443

# cap_start TAG: tcpdump on the client's veth0 (what Chromium sent, whole: the gateway's XDP
# drops before a capture on lan0 would see it) and on the gateway's wan0 (what crossed).
cap_start() {
	CAP=$TMP/$1
	CAP_PIDS=()
	local w tag ns dev i
	for w in "cli $CLI veth0" "gw $GW wan0"; do
		read -r tag ns dev <<<"$w"
		ip netns exec "$ns" tcpdump -U -n -s 0 -i "$dev" -w "$CAP.$tag.pcap" tcp port 443 \
			2>"$CAP.$tag.err" &
		CAP_PIDS+=($!)
		_pids+=($!)
	done
	for i in $(seq 200); do
		grep -q 'listening on' "$CAP.cli.err" && grep -q 'listening on' "$CAP.gw.err" && return 0
		sleep 0.1
	done
	fail "tcpdump did not start: $(cat "$CAP".*.err)"
}

# cap_stop: once both captures stopped growing (nothing more in flight), end them and write
# what they show to $CAP.cli.json and $CAP.gw.json.
cap_stop() {
	local i same=0 last="" now p keep=()
	for i in $(seq 100); do
		now=$(stat -c %s "$CAP.cli.pcap" "$CAP.gw.pcap" | tr '\n' ' ')
		if [ "$now" = "$last" ]; then
			same=$((same + 1))
			[ $same -ge 4 ] && break
		else
			same=0
		fi
		last=$now
		sleep 0.25
	done
	kill -INT "${CAP_PIDS[@]}"
	wait "${CAP_PIDS[@]}"
	for p in "${_pids[@]}"; do
		[[ " ${CAP_PIDS[*]} " == *" $p "* ]] || keep+=("$p")
	done
	_pids=("${keep[@]}")
	$PY "$WITNESS" --port 443 "$CAP.cli.pcap" >"$CAP.cli.json" || fail "hello_witness $CAP.cli.pcap"
	$PY "$WITNESS" --port 443 "$CAP.gw.pcap" >"$CAP.gw.json" || fail "hello_witness $CAP.gw.pcap"
}

# cflows EXPR: a Python expression over F, the flows of the client capture with a whole
# ClientHello (hello_witness.py's fields of the flow and of its hello in one dict), and
# gw(f), the same flow in the gateway's capture ({} when it is not there).
cflows() {
	$PY -c '
import json, sys
F = [dict(f, **f["hello"]) for f in json.load(open(sys.argv[1]))["flows"] if f["hello"]]
G = {f["port"]: f for f in json.load(open(sys.argv[2]))["flows"]}
gw = lambda f: G.get(f["port"], {})
print(eval(sys.argv[3]))' "$CAP.cli.json" "$CAP.gw.json" "$1"
}

# matched RULE: the rule's flows_matched now
matched() {
	stats_json "$TMP/m.json"
	jget "$TMP/m.json" "[r['flows_matched'] for r in d['flows']['rules'] if r['name']=='$1'][0]"
}

# requests HOST: requests Caddy logged for HOST so far
requests() {
	$PY -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    n += json.loads(line)["request"]["host"] == sys.argv[2]
print(n)' "$TMP/caddy.access" "$1"
}

# chromium_hellos: every ClientHello Chromium sent in this capture has two segments, the
# hybrid key share and GREASE ECH (fails naming the flow otherwise).
chromium_hellos() {
	local bad
	bad=$(cflows "[(f['port'], f['segments'], f['groups'], f['ech']) for f in F
		if len(f['segments']) != 2 or $MLKEM not in f['groups'] or not f['ech']]")
	[ "$bad" = "[]" ] || fail "Chromium ClientHellos not as measured (port, segments, groups, ech): $bad"
}

# load URL: navigate to URL (NAV_ERROR: the error, empty when it loaded), then to about:blank:
# Chromium reloads a page that failed on its own, with backoff ("auto-reload"), which would
# open flows to the name after the capture; leaving the error page ends that.
load() {
	local e
	browser_try_goto "$1"
	e=$NAV_ERROR
	browser_goto about:blank
	NAV_ERROR=$e
}

apply_policy() { # NAME (policy on stdin)
	local p
	p=$(policy "$1")
	tlsfw apply "$p" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply $1"; }
}

# the rules every policy here starts with: QUIC rejected (the documented pattern: browsers go to
# TCP, where names are seen), and the later allow for the segments before a decision
HEAD='version: 1
interfaces:
  - name: lan0
rules:
  - name: no-quic
    proto: udp
    dport: 443
    action: reject'
TAIL='  - name: web
    proto: tcp
    dport: 443
    action: allow'

apply_policy names <<EOF2
$HEAD
  - name: no-doh
    proto: tcp
    dport: 443
    sni: [blocked.test, "$LONG"]
    action: reject
$TAIL
EOF2
browser_start --disable-quic

# 1. a listed name is refused wherever its server_name lies; an unlisted one loads
cap_start allowed
load https://allowed.test/
cap_stop
[ -z "$NAV_ERROR" ] || fail "allowed.test did not load: $NAV_ERROR"
chromium_hellos
n=$(cflows "len([f for f in F if f['sni'] == 'allowed.test'])")
[ "$n" -ge 1 ] || fail "no ClientHello for allowed.test in the capture"
# the gateway's own witness: each ClientHello crossed in the same two segments, the server
# answered
[ "$(cflows "all((gw(f).get('hello') or {}).get('segments') == f['segments'] and gw(f).get('server_hello') for f in F)")" = True ] ||
	fail "allowed.test: on the gateway's wan0, a ClientHello not in the client's 2 segments or no ServerHello: $(cat "$CAP.gw.json")"
ok "allowed.test loads ($n flows, each ClientHello in 2 segments on both sides of the gateway, X25519MLKEM768, GREASE ECH)"

seen1=0 seen2=0 flows=0 straddle=0 before=$(matched no-doh) most=0
for i in $(seq 16); do
	name=blocked.test
	[ $((i % 2)) = 0 ] && name=$LONG
	cap_start "blocked$i"
	load "https://$name/"
	cap_stop
	[ -n "$NAV_ERROR" ] || fail "listed name $name loaded (load $i)"
	chromium_hellos
	n=$(cflows "len([f for f in F if f['sni'] == '$name'])")
	[ "$n" -ge 1 ] && [ "$(cflows "len(F)")" = "$n" ] ||
		fail "load $i of $name: $n flows with its name in $(cflows "[f['sni'] for f in F]")"
	# on the gateway's wan0: each flow's SYN and the first segment of its ClientHello crossed
	# (the rule decides on the segment that ends the ClientHello), the second did not, and
	# the server sent nothing
	[ "$(cflows "all(gw(f) and gw(f)['client_bytes'] == f['segments'][0] and gw(f)['server_bytes'] == 0 for f in F)")" = True ] ||
		fail "load $i of $name: more than the first segment crossed, or the server answered: $(cat "$CAP.gw.json")"
	flows=$((flows + n))
	[ "$n" -gt $most ] && most=$n
	seen1=$((seen1 + $(cflows "len([f for f in F if f['sni_segment'] == 1])")))
	seen2=$((seen2 + $(cflows "len([f for f in F if f['sni_segment'] == 2])")))
	straddle=$((straddle + $(cflows "len([f for f in F if f['sni_segment'] != f['sni_last_segment']])")))
	echo "load $i (${name:0:24}): $NAV_ERROR; server_name at (offset, segments):" \
		"$(cflows "[(f['sni_offset'], f['segments']) for f in F]")"
	[ $seen1 -ge 1 ] && [ $seen2 -ge 1 ] && [ $i -ge 2 ] && break
done
[ $seen1 -ge 1 ] && [ $seen2 -ge 1 ] ||
	fail "in $i loads, server_name in segment 1 on $seen1 flows and in segment 2 on $seen2: expected both"
[ "$(requests blocked.test)" = 0 ] && [ "$(requests "$LONG")" = 0 ] ||
	fail "Caddy logged requests for listed names"
n=$(($(matched no-doh) - before))
[ "$n" = $flows ] || fail "no-doh matched $n flows, $flows were captured"
ok "listed names refused in $i loads, $flows flows (at most $most in one load: Chromium retries)," \
	"server_name in segment 1: $seen1, in 2: $seen2, across both: $straddle; the server never" \
	"answered; no-doh matched $n"

# 2. ech: GREASE ECH is an encrypted_client_hello extension like any other
curl_ech() { # 0 when curl loads https://ech.test/
	cli curl -s --max-time 10 -o /dev/null --cacert "$TMP/ca.crt" --resolve "ech.test:443:$S4" \
		https://ech.test/
}
apply_policy ech-present <<EOF2
$HEAD
  - name: ech-present
    proto: tcp
    dport: 443
    ech: present
    action: reject
$TAIL
EOF2
before=$(matched ech-present)
cap_start ech-present
load https://ech.test/
curl_ech || fail "ech: present refused curl (no ECH extension)"
cap_stop
[ -n "$NAV_ERROR" ] || fail "ech: present let Chromium (GREASE ECH) load ech.test"
with=$(cflows "len([f for f in F if f['ech']])")
without=$(cflows "len([f for f in F if not f['ech']])")
[ "$with" -ge 1 ] && [ "$without" = 1 ] || fail "captured $with flows with ECH, $without without: expected >= 1 and 1 (curl)"
[ "$(cflows "all(gw(f) and gw(f)['server_bytes'] == 0 for f in F if f['ech'])")" = True ] ||
	fail "ech: present: the server answered a flow with ECH"
n=$(($(matched ech-present) - before))
[ "$n" = "$with" ] || fail "ech-present matched $n flows, $with were captured with the extension"
ok "ech: present refuses Chromium ($with flows with GREASE ECH, all matched), curl loads the same name"

apply_policy ech-absent <<EOF2
$HEAD
  - name: ech-absent
    proto: tcp
    dport: 443
    ech: absent
    action: reject
$TAIL
EOF2
before=$(matched ech-absent) reqs=$(requests ech.test)
cap_start ech-absent
load https://ech.test/
curl_ech && fail "ech: absent let curl (no ECH extension) load"
cap_stop
[ -z "$NAV_ERROR" ] || fail "ech: absent refused Chromium: $NAV_ERROR"
with=$(cflows "len([f for f in F if f['ech']])")
without=$(cflows "len([f for f in F if not f['ech']])")
[ "$with" -ge 1 ] && [ "$without" = 1 ] || fail "captured $with flows with ECH, $without without: expected >= 1 and 1 (curl)"
n=$(($(matched ech-absent) - before))
[ "$n" = "$without" ] || fail "ech-absent matched $n flows, $without were captured without the extension"
[ "$(requests ech.test)" -gt "$reqs" ] || fail "Caddy logged no request of Chromium's"
ok "ech: absent refuses curl (1 flow matched), Chromium loads ($with flows)"

# 3. monitor: the listed name loads, and its flows are counted
apply_policy monitor <<EOF2
$HEAD
  - name: doh-watch
    proto: tcp
    dport: 443
    sni: [blocked.test]
    mode: monitor
    action: reject
$TAIL
EOF2
before=$(matched doh-watch)
cap_start monitor
load https://blocked.test/
cap_stop
[ -z "$NAV_ERROR" ] || fail "monitor mode: blocked.test did not load: $NAV_ERROR"
chromium_hellos
[ "$(requests blocked.test)" -ge 1 ] || fail "monitor mode: Caddy logged no request for blocked.test"
m=$(cflows "len([f for f in F if f['sni'] == 'blocked.test'])")
n=$(($(matched doh-watch) - before))
[ "$m" -ge 1 ] && [ "$n" = "$m" ] || fail "doh-watch (monitor) matched $n flows, $m were captured"
ok "monitor mode: blocked.test loads, doh-watch counted its $n flows"
