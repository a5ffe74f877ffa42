// SPDX-License-Identifier: GPL-2.0
/*
 * The tests' own witness of whether this kernel lets XDP programs call bpf_xdp_adjust_meta
 * (selftests/net/lib.sh, xdp_meta): loaded with bpftool, never attached. Without it, tlsfw's
 * XDP cannot hand a reject's answer to tc, and xdp_mode auto takes tc ingress on veth
 * (architecture.md, "Reject everywhere").
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_meta_probe(struct xdp_md *ctx)
{
	return bpf_xdp_adjust_meta(ctx, 0) ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
