// SPDX-License-Identifier: GPL-2.0
/*
 * Built for tests and the benchmark only: XDP and tc entry points that parse a packet with the
 * data plane's parser and compute its content facts (bpf/quic.h, flow.h), recording them in
 * `result` for BPF_PROG_TEST_RUN callers (selftests/bpf/test_content.c,
 * selftests/bench/bench_content.c). The maps are the ones the data plane will use.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tlsfw_abi.h"
#include "parse.h"
#include "content.h"
#include "content_prog.h"

/* Set by the caller before a run. */
__u32 gen;
__u32 want;
__u32 mode;
/* Written by every run. */
struct content_result result;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tlsfw_flow);
} tlsfw_snap SEC(".maps");

static __always_inline void restore(const struct parsed *p)
{
	struct tlsfw_flow_key k;
	struct tlsfw_flow *f, *s;
	__u32 zero = 0;

	flow_key(&k, p);
	f = bpf_map_lookup_elem(&tlsfw_flows, &k);
	s = bpf_map_lookup_elem(&tlsfw_snap, &zero);
	if (f && s)
		__builtin_memcpy(f, s, sizeof(*f));
}

static __always_inline void run(void *ctx, int xdp, void *data, void *end, __u32 len)
{
	struct tlsfw_flow_key k;
	struct tlsfw_flow *f;
	struct parsed p;

	result.parse_rc = tlsfw_parse(ctx, xdp, data, end, len, &p);
	if (result.parse_rc != PARSE_OK || mode == CONTENT_PARSE)
		return;
	if (mode == CONTENT_RESTORE || mode == CONTENT_RESTORE_FACTS)
		restore(&p);
	if (mode == CONTENT_RESTORE)
		return;
	if (mode == CONTENT_NAME) {
		flow_key(&k, &p);
		f = bpf_map_lookup_elem(&tlsfw_flows, &k);
		result.name_rc = f ? names_classify(f, gen) : -2;
		return;
	}
	if (p.proto == TLSFW_IPPROTO_UDP) { /* the decision's own route (decide.h, inspect) */
		__builtin_memset(&result.facts, 0, sizeof(result.facts));
		result.facts.quic = quic_fact(ctx, xdp, &p);
	} else if (xdp) {
		tlsfw_content_xdp(ctx, &p, gen, want, &result.facts);
	} else {
		tlsfw_content_tc(ctx, &p, gen, want, &result.facts);
	}
}

SEC("xdp")
int content_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	run(ctx, 1, data, end, end - data);
	return XDP_PASS;
}

SEC("tc")
int content_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	run(skb, 0, data, end, skb->len);
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "GPL";
