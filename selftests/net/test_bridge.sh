#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A transparent gateway: the client -- gateway -- server topology with lan0 and wan0 as ports
# of a bridge, no address and no route on the gateway (scripts/topology.sh, TOPO_BRIDGE=1).
# Backend bpf: the real-traffic tests of require: tls, sni:/ech: and payload: quic run
# unchanged on it and must pass: XDP on a bridge port sees each frame before the bridge, and
# rejects leave by the port the packet came in by. Backend nft: a drop policy works (the
# netdev ingress hook sees bridged frames); reject and state: are refused at the interface's
# line (exit 2, as for a missing interface) and change nothing: inet `reject` routes its answer and the gateway has no route, and
# prerouting `ct state` did not see the bridged flows (measured with test_reject.sh and
# test_state.sh on this topology).
# A policy that names the bridge itself (br0), under both backends: apply warns at br0's line
# that the bridge's hooks see only what it passes up to this host; a datagram to the
# gateway's address on br0 is dropped, one crossing the bridge is not (the gap the warning
# names). With a port of br0 listed as well, no warning.
. "$(dirname "$0")/lib.sh"
export TOPO_BRIDGE=1

rerun "on a bridge-mode gateway (bpf)" test_require_tls test_sni test_payload_quic

topo_up
gw ip link show lan0 | grep -q 'master br0' || fail "lan0 is not a port of br0"
sink_start s 5004,5005
D=$(policy drop <<EOF2
version: 1
backend: nft
interfaces:
  - name: lan0
rules:
  - name: drop-5004
    proto: udp
    dport: 5004
    action: drop
EOF2
)
tlsfw apply "$D" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "nft: apply a drop policy on a bridge port"; }
for a in "$S4" "$S6"; do
	[ "$(udp_probe "$CLI" "$a" 5004)" = timeout ] || fail "nft: UDP 5004 to $a crossed the bridge"
	[ "$(udp_probe "$CLI" "$a" 5005)" = reply ] || fail "nft: UDP 5005 to $a did not cross the bridge"
done
stats_json "$TMP/s.json"
[ "$(stat_rule "$TMP/s.json" drop-5004 lan0 ingress packets)" = 2 ] ||
	fail "nft: drop-5004 counted $(stat_rule "$TMP/s.json" drop-5004 lan0 ingress packets) packets, expected 2"
ok "nft: a drop rule on a bridge port drops and counts (IPv4, IPv6)"

hash=$(tlsfw status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["policy"]["hash"])')
for what in "action: reject" "state:"; do
	R=$(policy refused <<EOF2
version: 1
backend: nft
interfaces:
  - name: lan0
rules:
  - name: refused
    proto: udp
    dport: 5005
$([ "$what" = "state:" ] && echo "    state: new" || true)
    action: $([ "$what" = "state:" ] && echo drop || echo reject)
EOF2
)
	tlsfw apply "$R" >"$TMP/refused.out" 2>&1
	rc=$?
	[ $rc = 2 ] || { cat "$TMP/refused.out"; fail "nft: $what on a bridge port: exit $rc, expected 2 (as for a missing interface)"; }
	grep -q "refused.conf:4:.*interface 'lan0' is a port of bridge 'br0': backend nft cannot apply $what" "$TMP/refused.out" ||
		{ cat "$TMP/refused.out"; fail "nft: the refusal of $what does not name the interface's line"; }
	now=$(tlsfw status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["policy"]["hash"])')
	[ "$now" = "$hash" ] || fail "nft: the refused apply of $what changed the policy in force"
	[ "$(udp_probe "$CLI" "$S4" 5004)" = timeout ] || fail "nft: after the refusal UDP 5004 crosses"
	[ "$(udp_probe "$CLI" "$S4" 5005)" = reply ] || fail "nft: after the refusal UDP 5005 is blocked"
done
ok "nft: reject and state: on a bridge port are refused at the interface's line; the drop policy stays"
tlsfw detach >/dev/null || fail "detach"

gw ip addr add 10.10.0.1/16 dev br0 || fail "address on br0"
sink_start gws 5004 "$GW"
for B in bpf nft; do
	P=$TMP/br0-$B.conf # the drop-5004 policy above, on br0
	sed "s/^backend: nft$/backend: $B/; s/^  - name: lan0$/  - name: br0/" "$D" >"$P"
	tlsfw apply "$P" >"$TMP/br0.$B" 2>&1 || { cat "$TMP/br0.$B"; fail "$B: apply on br0"; }
	grep -q "br0-$B.conf:4:11: warning: interface 'br0' is a bridge: .*not the frames it forwards between its ports; list the ports" "$TMP/br0.$B" ||
		{ cat "$TMP/br0.$B"; fail "$B: apply on the bridge br0 did not warn at its line"; }
	[ "$(udp_probe "$CLI" 10.10.0.1 5004)" = timeout ] ||
		fail "$B: UDP 5004 to the gateway's address on br0 was not dropped"
	[ "$(udp_probe "$CLI" "$S4" 5004)" = reply ] ||
		fail "$B: UDP 5004 across the bridge was dropped by br0's hooks: the warning is wrong"
	sed -i 's/^  - name: br0$/  - name: br0\n  - name: lan0/' "$P"
	tlsfw apply --dry-run "$P" >"$TMP/br0p.$B" 2>&1 || { cat "$TMP/br0p.$B"; fail "$B: dry run with a port"; }
	grep -q "is a bridge" "$TMP/br0p.$B" && { cat "$TMP/br0p.$B"; fail "$B: warned although a port of br0 is listed"; }
	tlsfw detach >/dev/null || fail "$B: detach"
done
ok "bpf, nft: a policy naming the bridge br0 warns at its line; it filters what reaches the host, not what crosses"
