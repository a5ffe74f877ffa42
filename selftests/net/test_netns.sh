#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two gateway namespaces, each with its own policy, everything run through `ip netns exec`
# (a fresh /sys per command, no BPF file system): apply, status, stats and detach in one never
# see or touch the other's policy.
. "$(dirname "$0")/lib.sh"

topo_up one
C1=$CLI G1=$GW S1=$SRV
topo_up two
C2=$CLI G2=$GW S2=$SRV
t1() { ip netns exec "$G1" "$TLSFW" "$@"; }
t2() { ip netns exec "$G2" "$TLSFW" "$@"; }

for s in 1 2; do
	eval "SRV=\$S$s"
	sink_start "k$s" 443,853
done

t1 apply "$ROOT/policies/block-quic-port.conf" >/dev/null || fail "apply in gateway one"
t2 apply "$ROOT/policies/block-dot.conf" >/dev/null || fail "apply in gateway two"

t1 status --json >"$TMP/st1" && t2 status --json >"$TMP/st2" || fail "status"
[ "$(jget "$TMP/st1" "d['policy']['file'].split('/')[-1]")" = block-quic-port.conf ] || fail "gateway one's status: $(cat "$TMP/st1")"
[ "$(jget "$TMP/st2" "d['policy']['file'].split('/')[-1]")" = block-dot.conf ] || fail "gateway two's status: $(cat "$TMP/st2")"
ok "each gateway's status shows its own policy"

N=5
send_udp "$C1" "$S4" 443,853 $N
send_udp "$C2" "$S4" 443,853 $N
sleep 0.3
t1 stats --json --exact >"$TMP/s1" && t2 stats --json --exact >"$TMP/s2" || fail "stats"
[ "$(jget "$TMP/s1" "sorted(r['name'] for r in d['rules'])")" = "['(essentials)', 'allow-https', 'block-quic']" ] || fail "gateway one's stats: $(cat "$TMP/s1")"
[ "$(jget "$TMP/s2" "sorted(r['name'] for r in d['rules'])")" = "['(essentials)', 'allow-dns', 'block-dot']" ] || fail "gateway two's stats"
[ "$(stat_rule "$TMP/s1" block-quic lan0 ingress packets)" = $N ] || fail "gateway one counted $(stat_rule "$TMP/s1" block-quic lan0 ingress packets)"
[ "$(stat_rule "$TMP/s2" block-dot lan0 ingress packets)" = $N ] || fail "gateway two counted $(stat_rule "$TMP/s2" block-dot lan0 ingress packets)"
ok "each gateway's stats count only its own traffic"

t1 detach >/dev/null || fail "detach in gateway one"
t1 status | grep -q "nothing enforced" || fail "gateway one still enforces"
t2 status --json >"$TMP/st2" || fail "status two"
[ "$(jget "$TMP/st2" "d['enforced']")" = True ] || fail "detach in gateway one removed gateway two's policy"
send_udp "$C1" "$S4" 443,853 $N
send_udp "$C2" "$S4" 443,853 $N
sleep 0.3
sink_stop k1
sink_stop k2
[ "$(sink_count k1 4 443)" = $N ] || fail "gateway one: UDP 443 after detach: $(sink_count k1 4 443) of $N (before: 0)"
[ "$(sink_count k1 4 853)" = $((2 * N)) ] || fail "gateway one: UDP 853 was blocked"
[ "$(sink_count k2 4 443)" = $((2 * N)) ] || fail "gateway two: UDP 443 was blocked"
[ "$(sink_count k2 4 853)" = 0 ] || fail "gateway two: UDP 853 passed after gateway one's detach"
ok "traffic: each gateway enforced only its own policy, detach in one left the other"
t2 detach >/dev/null || fail "detach two"
