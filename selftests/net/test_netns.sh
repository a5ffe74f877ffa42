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

# A device moved to another namespace keeps its XDP program, and with it the maps of the policy
# it was applied under. t0 (a veth of gateway one, in gateway one's policy) moves into gateway
# two, which has a policy of its own: gateway two must neither take gateway one's policy for
# its own nor change it (apply, status, stats, detach), and says what t0 carries.
ip netns exec "$G1" ip link add t0 type veth peer name t9 && ip netns exec "$G1" ip link set t0 up ||
	fail "veth t0 in gateway one"
M1=$(policy m1 <<'EOF2'
version: 1
interfaces:
  - name: lan0
  - name: t0
rules:
  - name: drop-5004
    proto: udp
    dport: 5004
    action: drop
EOF2
)
sink_start k3 5004 "$S1"
t1 apply "$M1" >/dev/null || fail "apply m1 in gateway one"
t2 apply "$ROOT/policies/block-dot.conf" >/dev/null || fail "apply in gateway two again"
ip netns exec "$G1" ip link set t0 netns "$G2" || fail "move t0 into gateway two"
ip netns exec "$G2" ip -d link show t0 | grep -q 'prog/xdp .*name tlsfw_xdp' ||
	fail "the kernel did not keep XDP on the moved t0: this test needs another way to move a program"
# one_intact CONTEXT: gateway one still enforces m1 on lan0 (status and traffic)
one_intact() {
	t1 status --json >"$TMP/st1" || fail "$1: status one"
	[ "$(jget "$TMP/st1" "d['policy']['file']")" = "$M1" ] || fail "$1: gateway one's policy is now $(jget "$TMP/st1" "d['policy']['file']")"
	[ "$(udp_probe "$C1" "$S4" 5004)" = timeout ] || fail "$1: gateway one's lan0 no longer drops UDP 5004"
}
one_intact "t0 moved"
t2 status >"$TMP/st2.txt" && t2 status --json >"$TMP/st2" || fail "status two with t0"
grep -q "^t0  .*none here: the tlsfw programs of another network namespace's policy (moved here after that apply): run \`tlsfw detach t0\`$" "$TMP/st2.txt" &&
	[ "$(jget "$TMP/st2" "[(i['foreign'], i['in_policy']) for i in d['interfaces'] if i['name'] == 't0']")" = "[(True, False)]" ] &&
	[ "$(jget "$TMP/st2" "d['policy']['file'].split('/')[-1]")" = block-dot.conf ] || { cat "$TMP/st2.txt"; fail "gateway two's status with the moved t0"; }
t1 status | grep -q "^t0  .*none: deleted (or moved to another network namespace) since the policy was applied$" ||
	{ t1 status; fail "gateway one's status row of t0"; }
ok "a device moved from gateway one to two: two shows it as another namespace's, one as gone"

t2 apply "$ROOT/policies/block-dot.conf" >/dev/null || fail "apply in gateway two with the moved t0"
t2 stats --json >"$TMP/s2" || fail "stats two"
[ "$(jget "$TMP/s2" "sorted(set(r['name'] for r in d['rules']))")" = "['(essentials)', 'allow-dns', 'block-dot']" ] ||
	fail "gateway two's stats with the moved t0: $(cat "$TMP/s2")"
one_intact "gateway two applied its policy again"
sed 's/- name: lan0/- name: t0/' "$ROOT/policies/block-dot.conf" >"$TMP/t0.conf"
line=$(grep -n -- "- name: t0" "$TMP/t0.conf" | cut -d: -f1)
t2 apply "$TMP/t0.conf" >"$TMP/out" 2>&1
[ $? = 2 ] && grep -q "^$TMP/t0.conf:$line:[0-9]*: error: t0 carries the tlsfw programs of another network namespace's policy" "$TMP/out" ||
	{ cat "$TMP/out"; fail "gateway two: a policy naming the moved t0 was not refused at its line"; }
one_intact "gateway two refused a policy on the moved t0"
ok "gateway two applies its own policy beside the moved t0 and refuses one on it; gateway one's stays"

t2 detach t0 >"$TMP/out" || fail "detach t0 in gateway two"
grep -qx "t0: detached (ingress XDP native)" "$TMP/out" || { cat "$TMP/out"; fail "detach t0 in gateway two said"; }
ip netns exec "$G2" ip -d link show t0 | grep -q prog/xdp && fail "t0 keeps XDP after detach"
t2 status --json >"$TMP/st2" || fail "status two after detach t0"
[ "$(jget "$TMP/st2" "[i['name'] for i in d['interfaces']]")" = "['lan0']" ] || fail "gateway two after detach t0: $(cat "$TMP/st2")"
one_intact "gateway two detached t0"
ok "detach t0 in gateway two removes the moved program and nothing of either policy"
t1 detach >/dev/null && t2 detach >/dev/null || fail "detach both"
