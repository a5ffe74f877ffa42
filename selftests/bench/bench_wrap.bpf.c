// SPDX-License-Identifier: GPL-2.0
/*
 * Built for the benchmark only (selftests/bench/bench_names.c): an XDP program that prepares
 * every BPF_PROG_TEST_RUN repeat as the first packet of its kind, then tail-calls the program
 * in `next` (the real tlsfw_xdp, or the bare xdp_pass for the baseline). Repeats of one
 * packet otherwise measure only its second sight: a SYN would find its flow, a ClientHello
 * segment a decided flow. The preparation costs the same before either program, so the
 * difference of the two is the real program's own cost.
 *
 * MODE_NEW_FLOW: a counter written into the TCP source port (at sport_off) and the low two
 * bytes of the IPv4 source address (at saddr_off) each repeat, so that each SYN starts a
 * flow not in the table (the table fills up, then the LRU evicts, as on a busy gateway). MODE_RESTORE: the flow `key` is given the state in tlsfw_snap (the state the
 * segment finds in the real sequence), so that each repeat parses the segment afresh.
 * MODE_LOOKUP: one lookup of `key` in the flow table and nothing else, so that the wrapper in
 * this mode minus the wrapper in MODE_NONE is the cost of one flow lookup, the unit of issue
 * 13's target for a decided flow's segment.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tlsfw_content_abi.h"

enum { MODE_NONE = 0, MODE_NEW_FLOW, MODE_RESTORE, MODE_LOOKUP };

/* Set by the caller before a run. */
__u32 mode;
__u32 sport_off, saddr_off;
__u32 n;
struct tlsfw_flow_key key;

/* The real program's flow table (bpf_map__reuse_fd before load). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, struct tlsfw_flow_key);
	__type(value, struct tlsfw_flow);
} tlsfw_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tlsfw_flow);
} tlsfw_snap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} next SEC(".maps");

SEC("xdp")
int bench_wrap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct tlsfw_flow *f, *s;
	__u8 *port = data + (sport_off & 0xff), *addr = data + (saddr_off & 0xff);
	__u32 zero = 0;

	if (mode == MODE_NEW_FLOW && (void *)(port + 2) <= end && (void *)(addr + 4) <= end) {
		n++;
		port[0] = n >> 8;
		port[1] = n;
		addr[2] = n >> 24;
		addr[3] = n >> 16;
	} else if (mode == MODE_RESTORE) {
		f = bpf_map_lookup_elem(&tlsfw_flows, &key);
		s = bpf_map_lookup_elem(&tlsfw_snap, &zero);
		if (f && s)
			__builtin_memcpy(f, s, sizeof(*f));
	} else if (mode == MODE_LOOKUP) {
		f = bpf_map_lookup_elem(&tlsfw_flows, &key);
		if (f) /* used, so that the lookup stays */
			n++;
	}
	bpf_tail_call(ctx, &next, 0);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
