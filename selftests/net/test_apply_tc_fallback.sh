#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The tests of apply with lan0's ingress on the tc fallback (test_tc_ingress.sh says why
# TLSFW_XDP_FAULT=refuse stands in for a device where XDP cannot attach; it also checks that
# the knob does what it says). test_rollback injects a fault at every step of apply with tc as
# the witness of the hooks, and its second policy moves lan0 from tc ingress to generic XDP;
# test_hot_reload replaces the policy 50 times under traffic (tc filters swapped in place,
# nothing lost or leaked); test_state asks conntrack from tc ingress (the skb lookup, not
# XDP's); test_flows, test_apply_grace and test_apply_rule_end read the maps behind the tc
# program (the flow table's size and evictions, the grace period before a generation is
# cleared, the records). Named to start early in the suite: it is one of its longest tests.
. "$(dirname "$0")/lib.sh"
export TLSFW_XDP_FAULT=refuse
export BACKENDS=bpf # the knob is the BPF backend's; the nft runs of these tests run anyway

rerun "with lan0's ingress on tc" test_rollback test_hot_reload test_state test_flows \
	test_apply_grace test_apply_rule_end
