#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Ingress on a device where XDP cannot attach: with xdp_mode auto, apply falls back to a tc
# ingress filter (tlsfw(8)), which then decides and builds its rejects itself. Every device of
# the test machine takes generic XDP, so TLSFW_XDP_FAULT=refuse stands in for such a device:
# auto finds XDP refused in both modes. The real-traffic tests of require: tls, sni:/ech: and
# payload: quic run unchanged on it and must pass (test_reject.sh has the tc mode of reject).
# Their resets for the server are re-received on lan0's ingress and meet the tc program again.
# test_block_quic, test_browser_quic and test_browser_altsvc are the main scenario with
# Chromium and Caddy: tc ingress rejects QUIC and the browser falls back to h2 in time;
# test_log reads per-packet events that tc ingress wrote.
# test_apply_tc_fallback.sh runs the tests of apply the same way. (test_sni_browser is not
# among them: its witness expects Chromium's ClientHello in two segments, which it is only
# when an XDP program on lan0 makes the client's veth segment it.)
. "$(dirname "$0")/lib.sh"
export TLSFW_XDP_FAULT=refuse
export BACKENDS=bpf # the knob is the BPF backend's; the nft runs of these tests run anyway

topo_up
# any policy on lan0 in auto: the shipped one of the main scenario
tlsfw apply "$ROOT/policies/block-quic.conf" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply"; }
grep -qx "lan0: ingress tc" "$TMP/apply.out" || { cat "$TMP/apply.out"; fail "lan0 is not on tc ingress"; }
for m in native generic; do
	grep -qx "  $m XDP refused by the kernel: refused for the test (TLSFW_XDP_FAULT=refuse)" \
		"$TMP/apply.out" || { cat "$TMP/apply.out"; fail "apply does not say why $m XDP was not taken"; }
done
! gw ip link show lan0 | grep -q xdp || fail "an XDP program is attached to lan0"
tlsfw status --json >"$TMP/status.json" || fail "status"
[ "$(jget "$TMP/status.json" "d['interfaces'][0]['ingress']")" = tc ] ||
	fail "status does not show lan0's ingress on tc"
ok "auto with XDP refused: lan0's ingress is a tc filter, and apply says why for each mode"
tlsfw detach >/dev/null || fail "detach"

rerun "with lan0's ingress on tc" test_require_tls test_sni test_payload_quic test_block_quic \
	test_browser_quic test_browser_altsvc test_log
