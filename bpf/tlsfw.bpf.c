// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw data plane: thin entry points around the shared parser (parse.h), decision (decide.h)
 * and reply builder (reject.h). XDP decides ingress; tc decides egress, and ingress where XDP
 * cannot attach; tlsfw_tc_reply builds the answers XDP hands over where XDP_TX does not reach
 * the sender (tlsfw_xdp_meta). Maps and their layout: tlsfw_abi.h.
 */
/* Wire formats and hook contexts are fixed; without CO-RE relocations libbpf never reads the
 * kernel's BTF (5 MB, tens of ms of every cold apply). */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tlsfw_abi.h"
#include "parse.h"
#include "decide.h"
#include "reject.h"

/* Passing continues with the next filter on the hook (another tool's clsact filter at a
 * later priority still sees the packet), then lets it through: tlsfw only takes packets away. */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define BPF_F_INGRESS_FLAG 1	 /* BPF_F_INGRESS */
#define TLSFW_LOOPBACK_IFINDEX 1 /* lo is ifindex 1 in every network namespace */

/* How much of a frame tc makes linear when the headers were not in the linear part. */
#define TLSFW_PULL_LEN 512

/*
 * The reply builders are global functions: the verifier checks each once, on its own, rather
 * than once per path through the parser that reaches it.
 */
__noinline int tlsfw_reject_xdp(struct xdp_md *ctx, const struct parsed *p)
{
	if (!p)
		return -1;
	return tlsfw_reject(ctx, 1, p);
}

__noinline int tlsfw_reject_tc(struct __sk_buff *skb, const struct parsed *p)
{
	if (!p)
		return -1;
	return tlsfw_reject(skb, 0, p);
}

/*
 * require: tls with reject resets both ends (tlsfw_abi.h, TLSFW_REPLY_RESET_BOTH): the
 * segment becomes a RST for its destination, a clone of which goes on where the segment was
 * going (ingress: re-received on the device and routed; egress: out of the device), then the
 * caller builds the sender's RST from the same frame. A RST passes tlsfw's own rule (see
 * inspect()), so the clone is not taken for another segment to cut. Returns 0 or -1.
 */
__noinline int tlsfw_reset_dest_tc(struct __sk_buff *skb, const struct parsed *p, __u32 ifindex,
				   __u32 ingress)
{
	if (!p || tlsfw_reset_forward(skb, p))
		return -1;
	return bpf_clone_redirect(skb, ifindex, ingress ? BPF_F_INGRESS_FLAG : 0) ? -1 : 0;
}

/*
 * Whether this kernel's XDP may call bpf_xdp_adjust_meta (set by the loader, bpf_open, from a
 * probe; read-only data is frozen before the verifier runs). Some kernels refuse the helper to
 * XDP programs ("program of this type cannot use helper"); the verifier then never sees that
 * call, and the record travels in the frame instead (tlsfw_abi.h, tlsfw_xdp_shim).
 */
const volatile __u32 tlsfw_xdp_meta = 0;

static __always_inline __u8 reply_kind(const struct decision *d)
{
	return (d->rule & (TLSFW_DW_REQUIRE | TLSFW_DW_NAME)) ? TLSFW_REPLY_RESET_BOTH :
								TLSFW_REPLY_SENDER;
}

/* The record pushed in front of the frame, where XDP has no metadata. 0 or -1. */
static __always_inline int handoff_shim(struct xdp_md *ctx, const struct decision *d,
					const struct parsed *p)
{
	struct tlsfw_xdp_shim *s;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*s)))
		return -1;
	s = (void *)(long)ctx->data;
	if ((void *)(s + 1) > (void *)(long)ctx->data_end) {
		bpf_xdp_adjust_head(ctx, sizeof(*s));
		return -1;
	}
	s->dst[0] = TLSFW_SHIM_DST0;
	*(__u32 *)&s->dst[1] = bpf_htonl(TLSFW_SHIM_DST1);
	s->dst[5] = TLSFW_SHIM_DST5;
	s->reply = reply_kind(d);
	s->pad = 0;
	s->ctx_slot = d->slot;
	s->pad2 = 0;
	s->proto = bpf_htons(p->family ? TLSFW_ETH_P_IPV6 : TLSFW_ETH_P_IP);
	return 0;
}

/*
 * Hand a rejected frame to tlsfw_tc_reply (tlsfw_abi.h, tlsfw_xdp_meta): the record goes in
 * front of the frame as XDP metadata, or where XDP has none in a header pushed in front of
 * the frame (tlsfw_xdp_shim), and the frame is passed up. Returns 0, or -1 when the driver
 * keeps no metadata or has no headroom (the caller answers with XDP_TX then).
 */
static __always_inline int handoff(struct xdp_md *ctx, const struct decision *d,
				   const struct parsed *p)
{
	struct tlsfw_xdp_meta *m;
	void *data;

	if (!tlsfw_xdp_meta)
		return handoff_shim(ctx, d, p);
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return -1;
	m = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(m + 1) > data)
		return -1;
	m->magic = TLSFW_META_MAGIC;
	m->reply = reply_kind(d);
	m->pad = 0;
	m->ctx_slot = d->slot;
	m->rule_slot = d->rule ? (d->rule & TLSFW_DW_LOW) : ~0u;
	return 0;
}

/*
 * The parser is a global function too, one per kind of context: verified once, on its own,
 * so that the decision after it is verified once, instead of once for every state in which
 * the parser can return.
 */
__noinline int tlsfw_parse_xdp(struct xdp_md *ctx, struct parsed *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (!p)
		return PARSE_NOT_IP;
	return tlsfw_parse(ctx, 1, data, end, end - data, p);
}

__noinline int tlsfw_parse_tc(struct __sk_buff *skb, struct parsed *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (!p)
		return PARSE_NOT_IP;
	return tlsfw_parse(skb, 0, data, end, skb->len, p);
}

SEC("xdp")
int tlsfw_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct decision d = { .bytes = end - data };
	struct parsed p;
	int rc;

	rc = tlsfw_parse_xdp(ctx, &p);
	if (rc == PARSE_NOT_IP)
		return XDP_PASS;
	switch (tlsfw_decide(&d, &p, rc, ctx->ingress_ifindex, TLSFW_DIR_INGRESS, ctx, 1)) {
	case VERDICT_PASS:
		return XDP_PASS;
	case VERDICT_REJECT:
		/* tc builds and counts the reply (see handoff) */
		if ((d.ctx & TLSFW_DW_HANDOFF) && handoff(ctx, &d, &p) == 0)
			return XDP_PASS;
		if (tlsfw_reject_xdp(ctx, &p) == 0) {
			count_stat(&d, TLSFW_STAT_REJECT_SENT);
			return XDP_TX;
		}
		count_stat(&d, TLSFW_STAT_REJECT_FAILED);
		return XDP_DROP;
	default:
		return XDP_DROP;
	}
}

/* The parser in tc: headers beyond the linear part are pulled in and parsed again (rare:
 * pulling can copy, which is why it is not done up front). */
static __always_inline int tc_parse(struct __sk_buff *skb, struct parsed *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	int rc = tlsfw_parse_tc(skb, p);

	if (rc == PARSE_MALFORMED && p->reason == TLSFW_STAT_MALFORMED_TRUNCATED &&
	    skb->len > (__u32)(end - data)) {
		bpf_skb_pull_data(skb, skb->len < TLSFW_PULL_LEN ? skb->len : TLSFW_PULL_LEN);
		rc = tlsfw_parse_tc(skb, p);
	}
	return rc;
}

static __always_inline int tc_run(struct __sk_buff *skb, __u8 dir)
{
	struct decision d = { .bytes = skb->len };
	__u32 ifindex = skb->ifindex;
	struct parsed p;
	int rc;

	rc = tc_parse(skb, &p);
	if (rc == PARSE_NOT_IP)
		return TC_ACT_UNSPEC;
	switch (tlsfw_decide(&d, &p, rc, ifindex, dir, skb, 0)) {
	case VERDICT_PASS:
		return TC_ACT_UNSPEC;
	case VERDICT_REJECT:
		if ((d.rule & (TLSFW_DW_REQUIRE | TLSFW_DW_NAME)) &&
		    tlsfw_reset_dest_tc(skb, &p, ifindex, dir == TLSFW_DIR_INGRESS))
			count_stat(&d, TLSFW_STAT_REJECT_FAILED);
		if (tlsfw_reject_tc(skb, &p) == 0) {
			count_stat(&d, TLSFW_STAT_REJECT_SENT);
			/* Egress: the reply enters the stack as if received, and is routed to the
			 * sender. Ingress: it leaves through the device the packet came in by.
			 * Egress of lo: out of lo again, which hands it to the stack with the
			 * route the packet had (local delivery); received anew it would be
			 * routed and dropped as a martian, its IPv4 source being local. */
			return bpf_redirect(ifindex,
					    dir == TLSFW_DIR_EGRESS &&
							    ifindex != TLSFW_LOOPBACK_IFINDEX ?
						    BPF_F_INGRESS_FLAG :
						    0);
		}
		count_stat(&d, TLSFW_STAT_REJECT_FAILED);
		return TC_ACT_SHOT;
	default:
		return TC_ACT_SHOT;
	}
}

SEC("tc")
int tlsfw_tc_ingress(struct __sk_buff *skb)
{
	return tc_run(skb, TLSFW_DIR_INGRESS);
}

SEC("tc")
int tlsfw_tc_egress(struct __sk_buff *skb)
{
	return tc_run(skb, TLSFW_DIR_EGRESS);
}

/*
 * The record in the frame (tlsfw_abi.h, tlsfw_xdp_shim), where XDP has no metadata: 1 and
 * the frame as it arrived when there is one (its own Ethernet header written over the
 * record, the second copy removed), 0 when there is none, -1 when it cannot be removed.
 */
static __always_inline int shim_take(struct __sk_buff *skb, __u32 *slot, __u32 *reply)
{
	struct tlsfw_xdp_shim *s = (void *)(long)skb->data;
	__u8 eth[14];

	if ((void *)(s + 1) > (void *)(long)skb->data_end || s->dst[0] != TLSFW_SHIM_DST0 ||
	    *(__u32 *)&s->dst[1] != bpf_htonl(TLSFW_SHIM_DST1) || s->dst[5] != TLSFW_SHIM_DST5)
		return 0;
	*slot = s->ctx_slot;
	*reply = s->reply;
	/* The record's address made the skb PACKET_OTHERHOST, which stays with it where it is
	 * sent next unless that device resets it (a veth does, lo does not: the answer would
	 * be dropped by IP there), so PACKET_HOST again. */
	if (bpf_skb_load_bytes(skb, sizeof(*s), eth, sizeof(eth)) ||
	    bpf_skb_store_bytes(skb, 0, eth, sizeof(eth), 0) ||
	    bpf_skb_adjust_room(skb, -(int)sizeof(eth), BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_change_type(skb, 0 /* PACKET_HOST */))
		return -1;
	return 1;
}

/*
 * The reply half of the XDP -> tc handoff (tlsfw_abi.h, tlsfw_xdp_meta), on tc ingress of
 * devices whose XDP_TX does not reach the sender. XDP already decided and counted the
 * verdict; here the reply is built and counted.
 */
SEC("tc")
int tlsfw_tc_reply(struct __sk_buff *skb)
{
	struct tlsfw_xdp_meta *m = (void *)(long)skb->data_meta;
	void *data = (void *)(long)skb->data;
	struct decision d = {};
	struct parsed p;
	__u32 slot, reply;
	int shim = 0;

	touch_all_maps();
	/* Either form, whatever this program's tlsfw_xdp_meta says: the XDP program in use may
	 * come from another load than this one. */
	if ((void *)(m + 1) <= data && m->magic == TLSFW_META_MAGIC) {
		m->magic = 0;
		slot = m->ctx_slot;
		reply = m->reply;
	} else {
		shim = shim_take(skb, &slot, &reply);
		if (!shim)
			return TC_ACT_UNSPEC;
	}
	if (slot >= TLSFW_MAX_CTX)
		return TC_ACT_SHOT;
	d.base = bpf_get_smp_processor_id() * TLSFW_COUNTERS + slot * TLSFW_SLOTS_PER_CTX;
	d.bytes = skb->len; /* without the record */
	if (shim < 0 || tc_parse(skb, &p) != PARSE_OK)
		goto failed;
	if (reply == TLSFW_REPLY_RESET_BOTH && tlsfw_reset_dest_tc(skb, &p, skb->ifindex, 1))
		count_stat(&d, TLSFW_STAT_REJECT_FAILED);
	if (tlsfw_reject_tc(skb, &p) == 0) {
		count_stat(&d, TLSFW_STAT_REJECT_SENT);
		return bpf_redirect(skb->ifindex, 0);
	}
failed:
	count_stat(&d, TLSFW_STAT_REJECT_FAILED);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
