#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An interface of the enforced policy deleted, created again or renamed after apply, and what
# `status` and `stats` say about it, checked against traffic. A second link t0 (gateway) --
# t1 (client), 10.30.0.0/24, next to lan0; the policy drops UDP 5004 on lan0 and t0; a sink
# on the gateway and on the server answers probes to 5004, so a probe times out exactly
# when tlsfw filters the link it crosses.
# - bpf: XDP and tc programs go with their device. Deleted: status shows t0 as deleted,
#   stats marks its block, detach t0 forgets it; created again: the probe is answered
#   (nothing filters the new t0)
#   and status says so; apply again filters it. Renamed (lan0 -> lan9): still filtered, and
#   status counts it as the policy's, with the name it was applied under. Its XDP program
#   removed by another tool (ip link set xdp off): unfiltered, and status, stats and the
#   metrics say so; apply restores it. The same with a reject rule, whose helper on tc
#   ingress ip leaves behind: apply attaches XDP again, not a tc ingress filter.
# - nft: the ingress chain is bound to the name: while no t0 exists status says so; the new
#   t0 is filtered again at once, and status shows it as enforced.
. "$(dirname "$0")/lib.sh"

topo_up
sink_start gws 5004 "$GW"
sink_start srvs 5004

# link_up: (re)create t0 -- t1 with their addresses
link_up() {
	gw ip link add t0 type veth peer name t1 netns "$CLI" &&
		gw ip addr add 10.30.0.1/24 dev t0 && gw ip link set t0 up &&
		cli ip addr add 10.30.0.2/24 dev t1 && cli ip link set t1 up || fail "link t0 -- t1"
	# the first probe may wait for the neighbour entry: until the link answers at all
	local i
	for ((i = 0; i < 30; i++)); do
		[ "$(udp_probe "$CLI" 10.30.0.1 9 0.3)" != timeout ] && return 0
	done
	fail "no answer over t0 -- t1"
}

# filtered ADDR | answered ADDR: a probe to ADDR port 5004 from the client times out / is answered
filtered() { [ "$(udp_probe "$CLI" "$1" 5004)" = timeout ] || fail "$B: $2: UDP 5004 to $1 was not dropped"; }
answered() { [ "$(udp_probe "$CLI" "$1" 5004)" = reply ] || fail "$B: $2: UDP 5004 to $1 was not answered"; }

# row NAME: the status text's row of interface NAME
row() { tlsfw status | awk -v n="$1" '$1 == n'; }
# ifield NAME KEY: a key of interface NAME in status --json
ifield() {
	tlsfw status --json >"$TMP/st.json" || fail "status --json"
	jget "$TMP/st.json" "[i['$2'] for i in d['interfaces'] if i['name'] == '$1']"
}

link_up
for B in bpf nft; do
	P=$(policy "p-$B" <<EOF2
version: 1
backend: $B
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
	tlsfw apply "$P" >/dev/null 2>&1 || fail "$B: apply"
	filtered 10.30.0.1 "applied"
	filtered "$S4" "applied"
	gw ip link del t0 || fail "delete t0"
	if [ "$B" = nft ]; then
		row t0 | grep -q -- "-  *-  *none: no interface of that name now (nftables filters one again once it appears)$" ||
			{ tlsfw status; fail "nft: status row of the deleted t0"; }
		[ "$(ifield t0 lost)" = "['absent']" ] || { cat "$TMP/st.json"; fail "nft: status --json of the deleted t0"; }
		tlsfw stats | grep -qx "t0 ingress (nftables; nothing filters there now: see tlsfw status)" ||
			{ tlsfw stats; fail "nft: stats does not mark t0's block"; }
		ok "nft: t0 deleted: status and stats say so"
	fi
	link_up
	if [ "$B" = nft ]; then
		filtered 10.30.0.1 "t0 deleted and created again"
		[ "$(ifield t0 lost)" = "[None]" ] && [ "$(ifield t0 ingress)" = "['nft']" ] ||
			{ cat "$TMP/st.json"; fail "nft: status of the new t0"; }
		ok "nft: a deleted and recreated t0 is filtered again at once (the chain follows the name), status shows it enforced"
		tlsfw detach >/dev/null || fail "nft: detach"
		continue
	fi
	answered 10.30.0.1 "t0 deleted and created again"
	row t0 | grep -q -- "-  *-  *none: deleted and created again since the policy was applied (run \`tlsfw apply\` again)$" ||
		{ tlsfw status; fail "bpf: status row of the recreated t0"; }
	[ "$(ifield t0 lost)" = "['recreated']" ] && [ "$(ifield t0 ingress)" = "[None]" ] &&
		[ "$(jget "$TMP/st.json" "d['enforced']")" = True ] ||
		{ cat "$TMP/st.json"; fail "bpf: status --json of the recreated t0"; }
	filtered "$S4" "t0 created again (lan0)"
	ok "bpf: t0 deleted and created again: not filtered, and status says so"

	gw ip link del t0 || fail "delete t0"
	row t0 | grep -q -- "-  *-  *none: deleted (or moved to another network namespace) since the policy was applied$" ||
		{ tlsfw status; fail "bpf: status row of the deleted t0"; }
	[ "$(ifield t0 lost)" = "['deleted']" ] && [ "$(ifield t0 ifindex)" = "[None]" ] ||
		{ cat "$TMP/st.json"; fail "bpf: status --json of the deleted t0"; }
	tlsfw stats | grep -qx "t0 ingress (XDP native; nothing filters there now: see tlsfw status)" ||
		{ tlsfw stats; fail "bpf: stats does not mark t0's block"; }
	grep -qx "lan0 ingress (XDP native)" <(tlsfw stats) || fail "bpf: stats marks lan0"
	tlsfw stats --prometheus >"$TMP/prom" || fail "bpf: stats --prometheus"
	grep -qx 'tlsfw_interface_lost{interface="t0",direction="ingress"} 1' "$TMP/prom" &&
		grep -qx 'tlsfw_interface_lost{interface="lan0",direction="ingress"} 0' "$TMP/prom" ||
		{ grep interface_lost "$TMP/prom"; fail "bpf: tlsfw_interface_lost"; }
	ok "bpf: t0 deleted: status and stats say so"
	tlsfw detach t0 >"$TMP/detach.out" || { cat "$TMP/detach.out"; fail "bpf: detach of the deleted t0"; }
	grep -qx "t0: forgotten (nothing of tlsfw was attached any more)" "$TMP/detach.out" ||
		{ cat "$TMP/detach.out"; fail "bpf: detach does not say it forgot t0"; }
	[ -z "$(row t0)" ] && ! tlsfw stats | grep -q "^t0 " && [ -n "$(row lan0)" ] ||
		{ tlsfw status; tlsfw stats; fail "bpf: t0 still listed after detach t0"; }
	filtered "$S4" "t0 forgotten (lan0)"
	ok "bpf: detach t0 forgets the deleted t0; lan0 still filtered"

	link_up
	tlsfw apply "$P" >/dev/null 2>&1 || fail "bpf: apply again"
	filtered 10.30.0.1 "applied again"
	[ "$(ifield t0 lost)" = "[None]" ] && [ "$(ifield t0 ingress)" = "['xdp-native']" ] ||
		{ cat "$TMP/st.json"; fail "bpf: status after apply again"; }
	ok "bpf: apply again filters the new t0"

	gw ip link set lan0 down && gw ip link set lan0 name lan9 && gw ip link set lan9 up ||
		fail "rename lan0"
	filtered "$S4" "lan0 renamed lan9"
	row lan9 | grep -q "XDP native  *-  *2 (renamed: lan0 when the policy was applied)$" ||
		{ tlsfw status; fail "bpf: status row of the renamed lan0"; }
	[ "$(ifield lan9 in_policy)" = "[True]" ] && [ "$(ifield lan9 applied_name)" = "['lan0']" ] ||
		{ cat "$TMP/st.json"; fail "bpf: status --json of the renamed lan0"; }
	gw ip link set lan9 down && gw ip link set lan9 name lan0 && gw ip link set lan0 up ||
		fail "rename lan9 back"
	ok "bpf: lan0 renamed lan9: still filtered, status names it the policy's"

	gw ip link set dev lan0 xdp off || fail "xdp off on lan0"
	answered "$S4" "tlsfw's XDP program removed from lan0 by ip"
	row lan0 | grep -q -- "-  *-  *none: tlsfw's programs were removed by another tool since the policy was applied (run \`tlsfw apply\` again)$" ||
		{ tlsfw status; fail "bpf: status row of lan0 without its program"; }
	[ "$(ifield lan0 lost)" = "['removed']" ] || { cat "$TMP/st.json"; fail "bpf: status --json of lan0 without its program"; }
	tlsfw stats | grep -qx "lan0 ingress (XDP native; nothing filters there now: see tlsfw status)" ||
		{ tlsfw stats; fail "bpf: stats does not mark lan0's block"; }
	tlsfw stats --prometheus | grep -qx 'tlsfw_interface_lost{interface="lan0",direction="ingress"} 1' ||
		fail "bpf: tlsfw_interface_lost of lan0"
	tlsfw apply "$P" >/dev/null 2>&1 || fail "bpf: apply after xdp off"
	filtered "$S4" "applied after xdp off"
	[ "$(ifield lan0 lost)" = "[None]" ] || { cat "$TMP/st.json"; fail "bpf: lan0 still lost after apply"; }
	ok "bpf: lan0's program removed by another tool: unfiltered, status, stats and metrics say so; apply restores it"

	# A reject rule: XDP hands its rejects to the helper on tc ingress (lan0's peer has no
	# XDP program). ip removes XDP and leaves the helper, which decides nothing; apply
	# attaches XDP again, as auto mode chooses, and the helper stays XDP's helper.
	R=$(policy "r-$B" <<EOF2
version: 1
backend: $B
interfaces:
  - name: lan0
rules:
  - name: drop-5004
    proto: udp
    dport: 5004
    action: drop
  - name: reject-5005
    proto: udp
    dport: 5005
    action: reject
EOF2
)
	tlsfw apply "$R" >/dev/null 2>&1 || fail "bpf: apply of the reject policy"
	gw ip link set dev lan0 xdp off || fail "xdp off on lan0 (reject policy)"
	answered "$S4" "XDP removed, the reply helper left"
	row lan0 | grep -q -- "-  *-  *none: tlsfw's programs were removed by another tool since the policy was applied (run \`tlsfw apply\` again)$" ||
		{ tlsfw status; fail "bpf: status row of lan0 with the reply helper alone"; }
	# a fault at each step from the new XDP on rolls back to exactly this: no XDP, the helper
	helper=$(gw tc filter show dev lan0 ingress | grep -o 'id [0-9]* name tlsfw_tc_reply')
	[ -n "$helper" ] || fail "bpf: xdp off removed the reply helper too"
	for step in attach-new names flip post-flip-attach detach-old meta; do
		TLSFW_FAULT=$step tlsfw apply "$R" >"$TMP/apply.out" 2>&1
		[ $? = 2 ] && grep -q "error: $step: fault injected" "$TMP/apply.out" ||
			{ cat "$TMP/apply.out"; fail "bpf: fault at $step after xdp off"; }
		! gw ip -d link show lan0 | grep -q prog/xdp &&
			[ "$(gw tc filter show dev lan0 ingress | grep -o 'id [0-9]* name tlsfw_tc_reply')" = "$helper" ] ||
			{ gw ip -d link show lan0; gw tc filter show dev lan0 ingress; fail "bpf: fault at $step after xdp off: not rolled back"; }
	done
	answered "$S4" "XDP removed, the reply helper left, faults rolled back"
	tlsfw apply "$R" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "bpf: apply after xdp off (reject policy)"; }
	[ "$(ifield lan0 ingress)" = "['xdp-native']" ] && [ "$(ifield lan0 lost)" = "[None]" ] ||
		{ cat "$TMP/apply.out" "$TMP/st.json"; fail "bpf: apply after xdp off did not attach XDP again"; }
	filtered "$S4" "applied after xdp off (reject policy)"
	[ "$(udp_icmp "$CLI" "$S4" 5005)" = "icmp 3 13" ] || fail "bpf: UDP 5005 not rejected after the apply"
	tlsfw detach lan0 >"$TMP/detach.out" || fail "bpf: detach lan0"
	grep -qx "lan0: detached (ingress XDP native, reject answers tc)" "$TMP/detach.out" ||
		{ cat "$TMP/detach.out"; fail "bpf: lan0's hooks after the apply"; }
	ok "bpf: XDP removed by another tool, its reply helper left: apply attaches XDP again (a fault at any later step rolls back)"
	tlsfw detach >/dev/null || fail "bpf: detach"
done
