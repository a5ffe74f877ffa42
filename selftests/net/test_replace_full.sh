#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A policy of the largest size replaced by another of that size whose every rule has a new
# name (backend bpf): the new rules take counter slots the enforced ones do not use, so the
# slots must hold two full generations plus the rules the lowering adds (the essentials rule,
# failing probes' drops: TLSFW_IMPLICIT_RULES). Found by bench_apply.sh: with 8,192 slots,
# the 4,096th renamed rule had none. Checks that each apply succeeds and that the new policy
# is the one enforced: a datagram to a port of the new policy's last rule is dropped and
# counted there, exactly. Likewise 16 interfaces with both hooks (every counter block of a
# generation) replaced by 16 of which two are new: their blocks cannot sit next to the ones
# in use, so apply loads new maps (counters restart) instead of refusing a valid policy.
. "$(dirname "$0")/lib.sh"

N=4096

# gen NAME PREFIX BASE: N rules PREFIX0..PREFIX(N-1) dropping UDP BASE+i on lan0.
gen() {
	awk -v n=$N -v pfx="$2" -v base="$3" 'BEGIN {
		print "version: 1\ninterfaces:\n  - name: lan0\ndefault: allow\nrules:"
		for (i = 0; i < n; i++)
			printf "  - name: %s%d\n    proto: udp\n    dport: %d\n    action: drop\n", pfx, i, base + i
	}' >"$TMP/$1.conf"
}

count() { # RULE: packets on lan0 ingress
	stats_json "$TMP/c.json"
	jget "$TMP/c.json" "''.join(str(r['packets']) for r in d['rules'] if r['name']=='$1' and r['interface']=='lan0' and r['direction']=='ingress')"
}

gen a a 20000
gen b b 30000
topo_up
tlsfw apply "$TMP/a.conf" >/dev/null || fail "apply of $N rules"
tlsfw apply "$TMP/b.conf" >"$TMP/out" 2>&1 || fail "replacement by $N renamed rules: $(cat "$TMP/out")"
last=$((30000 + N - 1))
send_udp "$CLI" "$S4" $last 5
sleep 0.2
[ "$(count b$((N - 1)))" = 5 ] || fail "rule b$((N - 1)) counted $(count b$((N - 1))), want 5"
r=$(ip netns exec "$CLI" $PY "$NETTOOL" udp-probe --to "$S4" --port $last --timeout 0.3)
case $r in *timeout*) ;; *) fail "UDP $last crossed the gateway under policy b: $r" ;; esac
ok "$N rules replaced by $N renamed rules; the last one drops and counts"
tlsfw apply "$TMP/a.conf" >"$TMP/out" 2>&1 || fail "back to policy a: $(cat "$TMP/out")"
ok "and back"
tlsfw detach >/dev/null || fail "detach"

# ifaces FILE FIRST...: a policy of the listed interfaces and x1..x14, both hooks, dropping
# UDP 5009 (rule blk).
ifaces() {
	local f=$1 i
	shift
	{
		printf 'version: 1\ninterfaces:\n'
		for i in "$@" $(seq -f 'x%g' 1 14); do
			printf '  - name: %s\n    hooks: [ingress, egress]\n' "$i"
		done
		printf 'default: allow\nrules:\n  - name: blk\n    proto: udp\n    dport: 5009\n    action: drop\n'
	} >"$TMP/$f.conf"
}
for i in $(seq 0 14); do
	gw ip link add "x$i" type veth peer name "y$i" && gw ip link set "x$i" up && gw ip link set "y$i" up ||
		fail "veth x$i"
done
ifaces p1 lan0 x0
ifaces p2 lan0 wan0
tlsfw apply "$TMP/p1.conf" >/dev/null || fail "apply of 16 interfaces"
tlsfw apply "$TMP/p2.conf" >"$TMP/out" 2>&1 || fail "16 interfaces, 2 of them new: $(cat "$TMP/out")"
grep -q '^counters: restarted: the new interfaces need more counter blocks' "$TMP/out" ||
	fail "no word that the counters restarted: $(cat "$TMP/out")"
grep -q '^x0: detached' "$TMP/out" || fail "x0 not detached: $(cat "$TMP/out")"
send_udp "$CLI" "$S4" 5009 5
sleep 0.2
[ "$(count blk)" = 5 ] || fail "rule blk counted $(count blk) on lan0, want 5"
r=$(ip netns exec "$CLI" $PY "$NETTOOL" udp-probe --to "$S4" --port 5009 --timeout 0.3)
case $r in *timeout*) ;; *) fail "UDP 5009 crossed the gateway: $r" ;; esac
gw ip -d link show x0 | grep -q prog/xdp && fail "XDP left on x0"
ok "16 interfaces replaced by 16 with 2 new ones: new maps, the rule drops and counts exactly"
tlsfw detach >/dev/null || fail "detach"
