#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw log: N connection attempts by curl to a port whose drop rule has `log: true` give
# exactly N events naming that rule, lan0, ingress and the 5-tuple; a drop rule without log:
# gives none; a passing rule logs its datagrams with verdict allow; a flood of a 5/s rule
# gives at most rate * seconds + burst events and the rest are counted as suppressed in
# `tlsfw stats` (events + suppressed + ring-full = the rule's packets, exactly); --json lines
# parse; --follow prints events as they come and SIGINT ends it with exit 0.
. "$(dirname "$0")/lib.sh"

topo_up
sink_start k 5001,5003

pol=$(policy log <<'EOF2'
version: 1
interfaces:
  - name: lan0
  - name: wan0
    hooks: [egress]
default: allow
rules:
  - name: web-8080
    proto: tcp
    dport: 8080
    action: drop
    log: true
  - name: quiet-8081
    proto: tcp
    dport: 8081
    action: drop
  - name: udp-5001
    proto: udp
    dport: 5001
    action: allow
    log: 1000/s
  - name: flood-5003
    proto: udp
    dport: 5003
    action: drop
    log: 5/s
  - name: ping
    proto: icmp
    icmp_type: echo-request
    action: allow
    log: true
EOF2
)
tlsfw apply "$pol" >/dev/null || fail "apply"
tlsfw log >"$TMP/empty" || fail "log on an empty ring"
[ ! -s "$TMP/empty" ] || fail "events before any traffic: $(cat "$TMP/empty")"

# N curl attempts (one SYN each: the connect timeout is below the first retransmission).
N=4
for ((i = 0; i < N; i++)); do
	cli curl -s --connect-timeout 0.4 --local-port $((40100 + i)) "http://$S4:8080/" && fail "curl to 8080 connected"
	cli curl -s --connect-timeout 0.4 "http://$S4:8081/" && fail "curl to 8081 connected"
done
cli curl -s --connect-timeout 0.4 --local-port 40200 "http://[$S6]:8080/" && fail "curl to [$S6]:8080 connected"
tlsfw log >"$TMP/web" || fail "tlsfw log"
cat "$TMP/web"
[ "$(grep -c . "$TMP/web")" = $((N + 1)) ] || fail "$((N + 1)) attempts gave $(grep -c . "$TMP/web") events"
for ((i = 0; i < N; i++)); do
	grep -Eq "^[0-9-]{10}T[0-9:.]{15}Z lan0 ingress tcp $C4:$((40100 + i)) -> $S4:8080 rule web-8080 drop\$" "$TMP/web" ||
		fail "no event for attempt $i"
done
grep -q "lan0 ingress tcp \[$C6\]:40200 -> \[$S6\]:8080 rule web-8080 drop\$" "$TMP/web" || fail "no IPv6 event"
# the port and the rule, not "8081" anywhere: a timestamp's microseconds may hold it
grep -Eq ':8081 rule |rule quiet-8081' "$TMP/web" && fail "quiet-8081 (no log:) produced events"
tlsfw log >"$TMP/again" || fail "tlsfw log (drained)"
[ ! -s "$TMP/again" ] || fail "a second read printed the events again"
ok "$((N + 1)) attempts, $((N + 1)) events, none for the rule without log:"

# A passing rule, --json.
send_udp_n() { # PORT COUNT RATE_SLEEP
	cli $PY - "$S4" "$1" "$2" "$3" <<'EOF2' || fail "send to $1"
import socket, sys, time
to, port, n, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
for i in range(n):
    s.sendto(b"x", (to, port))
    if pause:
        time.sleep(pause)
print(time.monotonic() - t0)
EOF2
}
send_udp_n 5001 20 0.001 >/dev/null
sleep 0.2
tlsfw log --json >"$TMP/udp.json" || fail "tlsfw log --json"
# lan0's ingress is XDP, or tc when the test runs with XDP refused (test_tc_ingress.sh)
lan_hook=xdp
[ "$AUTO_INGRESS" = tc ] && lan_hook=tc
$PY - "$TMP/udp.json" "$C4" "$S4" "$lan_hook" <<'EOF2' || fail "--json events"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
ev = [json.loads(l) for l in lines]
assert len(ev) == 40, len(ev)
seen = {}
for e in ev:
    assert e["rule"] == "udp-5001" and e["verdict"] == "allow", e
    where = (e["interface"], e["direction"], e["hook"])
    seen[where] = seen.get(where, 0) + 1
    assert e["proto"] == "udp" and e["src"] == sys.argv[2] and e["dst"] == sys.argv[3], e
    assert e["dport"] == 5001 and e["sport"] == ev[0]["sport"] and e["family"] == "ipv4", e
assert seen == {("lan0", "ingress", sys.argv[4]): 20, ("wan0", "egress", "tc"): 20}, seen
EOF2
ok "20 allowed datagrams: 20 JSON events from $lan_hook on lan0, 20 from tc on wan0 egress"
send_udp_n 5001 5 0.001 >/dev/null
sleep 0.2
tlsfw log --iface wan0 >"$TMP/wan0" || fail "tlsfw log --iface wan0"
[ "$(grep -c ' wan0 egress udp .* rule udp-5001 allow$' "$TMP/wan0")" = 5 ] && [ "$(wc -l <"$TMP/wan0")" = 5 ] ||
	fail "--iface wan0 printed: $(cat "$TMP/wan0")"
ok "--iface wan0: its 5 events only"

# Flood: 5/s, burst 5.
secs=$(send_udp_n 5003 3000 0.0003)
tlsfw log --json >"$TMP/flood.json" || fail "tlsfw log after the flood"
ev=$(grep -c flood-5003 "$TMP/flood.json")
# GCRA admits at most burst + rate * T events in T seconds (tlsfw_abi.h); the packets reach the
# gateway over the span they were sent in, give or take 50 ms of scheduling.
max=$($PY -c "import math,sys; print(math.floor(5 * (float(sys.argv[1]) + 0.05)) + 5)" "$secs")
min=$($PY -c "import math,sys; print(math.floor(5 * float(sys.argv[1])) + 5 - 1)" "$secs")
[ "$ev" -ge "$min" ] && [ "$ev" -le "$max" ] || fail "flood of ${secs}s: $ev events (expected $min..$max)"
stats_json "$TMP/stats.json"
pk=$(stat_rule "$TMP/stats.json" flood-5003 lan0 ingress packets)
logj() { jget "$TMP/stats.json" "[r for r in d['log']['rules'] if r['name']=='flood-5003'][0]['$1']"; }
sup=$(logj suppressed)
lev=$(logj events)
full=$(logj ring_full)
[ "$(logj rate)" = 5 ] || fail "stats: flood-5003 rate $(logj rate), expected 5"
[ "$(jget "$TMP/stats.json" "sorted(r['name'] for r in d['log']['rules'])")" = "['flood-5003', 'ping', 'udp-5001', 'web-8080']" ] ||
	fail "stats: log rules $(jget "$TMP/stats.json" "[r['name'] for r in d['log']['rules']]")"

[ "$pk" = 3000 ] || fail "flood-5003 counted $pk packets, 3000 sent"
[ "$lev" = "$ev" ] || fail "stats says $lev events, tlsfw log printed $ev"
[ $((lev + sup + full)) = "$pk" ] || fail "events $lev + suppressed $sup + ring full $full != packets $pk"
[ "$sup" -gt 0 ] || fail "nothing suppressed"
tlsfw stats --prometheus | grep -q '^tlsfw_rule_log_suppressed_total{rule="flood-5003"} '"$sup"'$' ||
	fail "prometheus: no tlsfw_rule_log_suppressed_total of $sup"
ok "flood of ${secs}s: $ev events, $sup suppressed"

# ICMP: the type instead of ports, on both hooks.
cli ping -c 2 -i 0.2 -W 1 "$S4" >/dev/null || fail "ping through the gateway"
tlsfw log >"$TMP/ping" || fail "tlsfw log after ping"
[ "$(grep -c "^.* lan0 ingress icmp $C4 -> $S4 type 8 rule ping allow\$" "$TMP/ping")" = 2 ] &&
	[ "$(grep -c "^.* wan0 egress icmp $C4 -> $S4 type 8 rule ping allow\$" "$TMP/ping")" = 2 ] &&
	[ "$(wc -l <"$TMP/ping")" = 4 ] || fail "ping -c 2 gave: $(cat "$TMP/ping")"
ok "ping -c 2: 2 echo requests logged on lan0 ingress and on wan0 egress"

# --follow until SIGINT.
ip netns exec "$GW" "$TLSFW" log --follow >"$TMP/follow" 2>"$TMP/follow.err" &
fpid=$!
_pids+=("$fpid")
sleep 0.5
for ((i = 0; i < 3; i++)); do
	cli curl -s --connect-timeout 0.3 --local-port $((40300 + i)) "http://$S4:8080/"
done
sleep 0.3
kill -INT "$fpid"
wait "$fpid"
rc=$?
[ $rc = 0 ] || fail "log --follow: exit $rc after SIGINT ($(cat "$TMP/follow.err"))"
[ "$(grep -c 'rule web-8080 drop$' "$TMP/follow")" = 3 ] || fail "--follow printed: $(cat "$TMP/follow")"
ok "--follow: 3 events, SIGINT exits 0"

# The same policy without web-8080's log: its packets make no event, stats list it no more.
sed '/name: web-8080/,/log: true/{/log: true/d}' "$pol" >"$TMP/nolog.conf"
tlsfw apply "$TMP/nolog.conf" >/dev/null || fail "apply without web-8080's log:"
cli curl -s --connect-timeout 0.3 "http://$S4:8080/" && fail "curl to 8080 connected"
tlsfw log >"$TMP/nolog" || fail "tlsfw log after the re-apply"
[ ! -s "$TMP/nolog" ] || fail "web-8080 without log: still logs: $(cat "$TMP/nolog")"
stats_json "$TMP/stats2.json"
[ "$(jget "$TMP/stats2.json" "sorted(r['name'] for r in d['log']['rules'])")" = "['flood-5003', 'ping', 'udp-5001']" ] ||
	fail "stats after the re-apply: $(jget "$TMP/stats2.json" "d['log']")"
ok "log: removed by a re-apply: no events, not in stats"
sink_stop k
