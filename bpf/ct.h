/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection state (`state:`) from the kernel's own conntrack, through its lookup kfuncs: no
 * connection table of tlsfw's. A packet is given the state netfilter's ctinfo would give it
 * (nf_conntrack_core.c, resolve_normal_ct), as far as a lookup can tell:
 *
 *   entry found, reply direction, or a reply seen (IPS_SEEN_REPLY)   established
 *   entry found, expected (IPS_EXPECTED: it has a master)            related
 *   entry found otherwise                                            new
 *   ICMP / ICMPv6 error whose embedded TCP or UDP flow has an entry  related
 *   ICMP / ICMPv6 error otherwise                                    invalid
 *   no entry, TCP: SYN alone, or ACK alone (nf_conntrack_tcp_loose,
 *     on by default, picks such a flow up mid-stream)                new
 *   no entry, TCP: any other flags (RST, FIN, SYN+ACK, none)         invalid
 *   no entry, UDP; ICMP that is not an error; other protocols        new
 *
 * The lookup kfuncs know TCP and UDP only, so a lookup never finds ICMP echo and other
 * protocols established (nftables says established for an echo reply): write a rule for them
 * on XDP. (On tc, the packet's own entry below knows them.)
 * Window tracking (an out-of-window segment that conntrack calls invalid) is not seen either.
 * XDP runs before netfilter: a flow's first packet has no entry yet (new); every later one,
 * and the first reply, meets the entry that packet created.
 *
 * tc egress runs after netfilter, which has already attached the packet's entry and ctinfo
 * to the skb (skb->_nfct). There the state is that ctinfo, exactly as nftables' ct state
 * reads it: a lookup by the packet's addresses would miss every entry once source NAT
 * (masquerade) has rewritten them, or on a reply destination NAT has restored. ICMP echo is
 * then established too. A packet that carries no entry (conntrack found it invalid, or it
 * has not met netfilter: tc ingress of a received packet, a bridged frame,
 * BPF_PROG_TEST_RUN) is looked up as at XDP.
 * The kfunc that reaches the skb (bpf_cast_to_kern_ctx, Linux 6.3) is weak: without it the
 * lookup is all there is.
 *
 * The content code asks one more thing, once per flow: where the server's stream begins
 * (tlsfw_ct_acked_*, at the end; flow.h, flow_at_server).
 */
#ifndef TLSFW_CT_H
#define TLSFW_CT_H

#include <bpf/bpf_core_read.h>

#include "tlsfw_abi.h"
#include "parse.h"

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple,
					 __u32 tuple__sz, struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym;
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb_ctx,
					 struct bpf_sock_tuple *bpf_tuple, __u32 tuple__sz,
					 struct bpf_ct_opts *opts, __u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

/* The opts the kfuncs have taken since 6.0 (netns_id, error, l4proto, dir, reserved) */
#define TLSFW_CT_OPTS_SZ 12
#define TLSFW_CT_NETNS_CURRENT (-1) /* BPF_F_CURRENT_NETNS */
#define TLSFW_IPS_EXPECTED (1u << 0)
#define TLSFW_IPS_SEEN_REPLY (1u << 1)
#define TLSFW_CT_DIR_REPLY 1

/* The fields read, relocated against the running kernel's struct nf_conn (CO-RE: the
 * kfuncs make libbpf read the kernel's BTF anyway): its status, and for TCP what one
 * direction has acknowledged of the other (nf_conntrack_proto_tcp.c, tcp_in_window). */
struct ip_ct_tcp_state___tlsfw {
	__u32 td_maxack;
	__u8 flags;
} __attribute__((preserve_access_index));

struct ip_ct_tcp___tlsfw {
	struct ip_ct_tcp_state___tlsfw seen[2];
	__u8 state;
} __attribute__((preserve_access_index));

union nf_conntrack_proto___tlsfw {
	struct ip_ct_tcp___tlsfw tcp;
} __attribute__((preserve_access_index));

struct nf_conn___tlsfw {
	unsigned long status;
	union nf_conntrack_proto___tlsfw proto;
} __attribute__((preserve_access_index));

#define TLSFW_CT_TCP_FLAG_MAXACK_SET 0x20 /* IP_CT_TCP_FLAG_MAXACK_SET: td_maxack is valid */
#define TLSFW_CT_TCP_SYN_RECV 2		  /* enum tcp_conntrack, SYN_RECV .. LAST_ACK: a */
#define TLSFW_CT_TCP_LAST_ACK 6		  /* connection that ignores another SYN */
#define TLSFW_CT_ACKED (1ull << 32)	  /* tlsfw_ct_acked_*: the low half is known */

/* skb->_nfct: the entry's address, ctinfo in the low bits (nf_conntrack_common.h) */
struct sk_buff___tlsfw {
	unsigned long _nfct;
} __attribute__((preserve_access_index));

#define TLSFW_NFCT_INFOMASK 7ul
#define TLSFW_IP_CT_IS_REPLY 3 /* ctinfo % 3: 0 established, 1 related, 2 new */

/* A flow's addresses and ports as conntrack keys them (network order). */
struct ct_key {
	struct bpf_sock_tuple t;
	__u32 len; /* of t: 12 (IPv4) or 36 (IPv6) */
	__u8 proto;
};

static __always_inline void ct_key_of(struct ct_key *k, const __u8 *src, const __u8 *dst,
				      __be16 sport, __be16 dport, __u8 family, __u8 proto)
{
	k->proto = proto;
	if (!family) {
		__builtin_memcpy(&k->t.ipv4.saddr, src + 12, 4);
		__builtin_memcpy(&k->t.ipv4.daddr, dst + 12, 4);
		k->t.ipv4.sport = sport;
		k->t.ipv4.dport = dport;
		k->len = sizeof(k->t.ipv4);
		return;
	}
	__builtin_memcpy(k->t.ipv6.saddr, src, 16);
	__builtin_memcpy(k->t.ipv6.daddr, dst, 16);
	k->t.ipv6.sport = sport;
	k->t.ipv6.dport = dport;
	k->len = sizeof(k->t.ipv6);
}

/* The entry of k (release it), NULL when conntrack has none; opts->dir: k's direction in it. */
static __always_inline struct nf_conn *ct_find(void *ctx, int xdp, struct ct_key *k,
					       struct bpf_ct_opts *opts)
{
	__u32 len = k->len == sizeof(k->t.ipv4) ? sizeof(k->t.ipv4) : sizeof(k->t.ipv6);

	if (xdp)
		return bpf_xdp_ct_lookup(ctx, &k->t, len, opts, TLSFW_CT_OPTS_SZ);
	return bpf_skb_ct_lookup(ctx, &k->t, len, opts, TLSFW_CT_OPTS_SZ);
}

/* The key of packet p's own flow (it has ports). */
static __always_inline void ct_key_of_packet(struct ct_key *k, const struct parsed *p)
{
	ct_key_of(k, p->src, p->dst, bpf_htons(p->sport), bpf_htons(p->dport), p->family, p->proto);
}

/* TLSFW_CT_* of the entry of k, TLSFW_CT_UNKNOWN when conntrack has none. */
static __always_inline __u32 ct_lookup(void *ctx, int xdp, struct ct_key *k)
{
	struct bpf_ct_opts opts = { .netns_id = TLSFW_CT_NETNS_CURRENT, .l4proto = k->proto };
	struct nf_conn *ct = ct_find(ctx, xdp, k, &opts);
	__u32 status;

	if (!ct)
		return TLSFW_CT_UNKNOWN;
	status = ((struct nf_conn___tlsfw *)ct)->status;
	bpf_ct_release(ct);
	if (opts.dir == TLSFW_CT_DIR_REPLY || (status & TLSFW_IPS_SEEN_REPLY))
		return TLSFW_CT_ESTABLISHED;
	if (status & TLSFW_IPS_EXPECTED)
		return TLSFW_CT_RELATED;
	return TLSFW_CT_NEW;
}

static __always_inline int icmp_is_error(const struct parsed *p)
{
	__u8 type = p->dport & 0xff;

	if (!p->has_dkey)
		return 0;
	if (p->proto == TLSFW_IPPROTO_ICMP)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	/* RFC 4443 2.1: every type below 128 is an error, as netfilter reads it */
	return p->proto == TLSFW_IPPROTO_ICMPV6 && type < 128;
}

/*
 * An ICMP error carries the start of the packet it answers after its 8-byte header: that
 * packet's flow, as conntrack keys it. IPv4 with options is read; an IPv6 extension header
 * chain inside the error is not walked (the error is then invalid).
 */
static __always_inline __u32 ct_icmp_error(void *ctx, int xdp, const struct parsed *p)
{
	__u32 at = p->l4_off + 8, ports;
	struct ct_key k = {};
	__u8 ip[40], src[16], dst[16];

	if (!p->family) {
		if (load_bytes(ctx, xdp, at & TLSFW_MAX_OFF, ip, 20) || (ip[0] >> 4) != 4)
			return TLSFW_CT_INVALID;
		k.proto = ip[9];
		__builtin_memcpy(src + 12, ip + 12, 4);
		__builtin_memcpy(dst + 12, ip + 16, 4);
		at += (ip[0] & 0xf) * 4;
	} else {
		if (load_bytes(ctx, xdp, at & TLSFW_MAX_OFF, ip, 40) || (ip[0] >> 4) != 6)
			return TLSFW_CT_INVALID;
		k.proto = ip[6];
		__builtin_memcpy(src, ip + 8, 16);
		__builtin_memcpy(dst, ip + 24, 16);
		at += 40;
	}
	if (k.proto != TLSFW_IPPROTO_TCP && k.proto != TLSFW_IPPROTO_UDP)
		return TLSFW_CT_INVALID;
	if (load_bytes(ctx, xdp, at & TLSFW_MAX_OFF, &ports, 4))
		return TLSFW_CT_INVALID;
	ct_key_of(&k, src, dst, ports & 0xffff, ports >> 16, p->family, k.proto);
	return ct_lookup(ctx, xdp, &k) != TLSFW_CT_UNKNOWN ? TLSFW_CT_RELATED : TLSFW_CT_INVALID;
}

/* What a TCP segment without an entry is to netfilter (nf_conntrack_proto_tcp.c, sNO). */
static __always_inline __u32 ct_tcp_no_entry(const struct parsed *p)
{
	__u8 f = p->tcp_flags & (TLSFW_TCP_SYN | TLSFW_TCP_ACK | TLSFW_TCP_RST | TLSFW_TCP_FIN);

	return f == TLSFW_TCP_SYN || f == TLSFW_TCP_ACK ? TLSFW_CT_NEW : TLSFW_CT_INVALID;
}

static __always_inline __u32 ct_state(void *ctx, int xdp, const struct parsed *p)
{
	struct ct_key k = {};
	__u32 st;

	if (icmp_is_error(p))
		return ct_icmp_error(ctx, xdp, p);
	if ((p->proto != TLSFW_IPPROTO_TCP && p->proto != TLSFW_IPPROTO_UDP) || !p->has_ports)
		return TLSFW_CT_NEW;
	ct_key_of_packet(&k, p);
	st = ct_lookup(ctx, xdp, &k);
	if (st != TLSFW_CT_UNKNOWN)
		return st;
	return p->proto == TLSFW_IPPROTO_TCP ? ct_tcp_no_entry(p) : TLSFW_CT_NEW;
}

/* Global functions: each verified once, whatever the number of call sites (decide.h). */
__noinline __u32 tlsfw_ct_xdp(struct xdp_md *ctx, const struct parsed *p)
{
	if (!p)
		return TLSFW_CT_INVALID;
	return ct_state(ctx, 1, p);
}

/* The entry netfilter attached to the skb and its ctinfo (skb->_nfct), 0 when it carries
 * none (IP_CT_UNTRACKED, 7, has none either) or the kernel cannot tell. */
static __always_inline unsigned long ct_nfct(struct __sk_buff *skb)
{
	unsigned long nfct;

	if (!bpf_cast_to_kern_ctx || !bpf_core_field_exists(struct sk_buff___tlsfw, _nfct))
		return 0;
	nfct = ((struct sk_buff___tlsfw *)bpf_cast_to_kern_ctx(skb))->_nfct;
	return nfct & ~TLSFW_NFCT_INFOMASK ? nfct : 0;
}

/* The state netfilter gave the skb (see the top), TLSFW_CT_UNKNOWN when it carries no entry. */
static __always_inline __u32 ct_attached(struct __sk_buff *skb)
{
	unsigned long nfct = ct_nfct(skb);

	if (!nfct)
		return TLSFW_CT_UNKNOWN;
	switch ((nfct & TLSFW_NFCT_INFOMASK) % TLSFW_IP_CT_IS_REPLY) {
	case 0:
		return TLSFW_CT_ESTABLISHED;
	case 1:
		return TLSFW_CT_RELATED;
	default:
		return TLSFW_CT_NEW;
	}
}

__noinline __u32 tlsfw_ct_tc(struct __sk_buff *skb, const struct parsed *p)
{
	__u32 st;

	if (!p)
		return TLSFW_CT_INVALID;
	st = ct_attached(skb);
	if (st != TLSFW_CT_UNKNOWN)
		return st;
	return ct_state(skb, 0, p);
}

/*
 * What conntrack's entry says the server has acknowledged of the client's stream, for TCP
 * packet p sent by the client: TLSFW_CT_ACKED | seq, or 0 when it cannot tell (no entry, or
 * one in a state where a SYN opens a new connection or none was answered yet: SYN_SENT,
 * TIME_WAIT, CLOSE). seq is the highest acknowledgment the server sent (td_maxack of the
 * server's direction): on a connection conntrack follows, the client's stream begins there
 * until a payload byte passes. A SYN with another ISN on such a connection is ignored by
 * conntrack unless the server's SYN-ACK acknowledges it (nf_conntrack_proto_tcp.c,
 * TCP_CONNTRACK_IGNORE), exactly as the server ignores it (RFC 5961 challenge ACK).
 */
static __always_inline __u64 ct_acked_val(__u8 state, __u8 srv_flags, __u32 srv_maxack)
{
	if (state < TLSFW_CT_TCP_SYN_RECV || state > TLSFW_CT_TCP_LAST_ACK ||
	    !(srv_flags & TLSFW_CT_TCP_FLAG_MAXACK_SET))
		return 0;
	return TLSFW_CT_ACKED | srv_maxack;
}

/* dir: the client's direction in the entry (0 original, 1 reply). The server's side is chosen
 * by constant indexes: the local struct is smaller than the kernel's, so a variable index
 * would use the wrong stride. */
static __always_inline __u64 ct_acked_of(struct nf_conn___tlsfw *ct, int dir)
{
	struct ip_ct_tcp_state___tlsfw *srv = dir ? &ct->proto.tcp.seen[0] : &ct->proto.tcp.seen[1];

	return ct_acked_val(ct->proto.tcp.state, srv->flags, srv->td_maxack);
}

static __always_inline __u64 ct_acked_lookup(void *ctx, int xdp, const struct parsed *p)
{
	struct bpf_ct_opts opts = { .netns_id = TLSFW_CT_NETNS_CURRENT, .l4proto = p->proto };
	struct ct_key k = {};
	struct nf_conn *ct;
	__u64 r;

	ct_key_of_packet(&k, p);
	ct = ct_find(ctx, xdp, &k, &opts);
	if (!ct)
		return 0;
	r = ct_acked_of((struct nf_conn___tlsfw *)ct, opts.dir == TLSFW_CT_DIR_REPLY);
	bpf_ct_release(ct);
	return r;
}

__noinline __u64 tlsfw_ct_acked_xdp(struct xdp_md *ctx, const struct parsed *p)
{
	if (!p || p->proto != TLSFW_IPPROTO_TCP)
		return 0;
	return ct_acked_lookup(ctx, 1, p);
}

/* On tc, the entry netfilter attached (after NAT a lookup finds none), read by address: the
 * skb holds a reference to it. Otherwise a lookup, as at XDP. */
__noinline __u64 tlsfw_ct_acked_tc(struct __sk_buff *skb, const struct parsed *p)
{
	struct ip_ct_tcp_state___tlsfw *srv;
	struct nf_conn___tlsfw *ct;
	unsigned long nfct;
	__u32 ack = 0;
	__u8 state = 0, flags = 0;
	int dir;

	if (!p || p->proto != TLSFW_IPPROTO_TCP)
		return 0;
	nfct = ct_nfct(skb);
	if (!nfct)
		return ct_acked_lookup(skb, 0, p);
	ct = (struct nf_conn___tlsfw *)(nfct & ~TLSFW_NFCT_INFOMASK);
	dir = (nfct & TLSFW_NFCT_INFOMASK) >= TLSFW_IP_CT_IS_REPLY;
	srv = dir ? &ct->proto.tcp.seen[0] : &ct->proto.tcp.seen[1];
	if (bpf_core_read(&state, sizeof(state), &ct->proto.tcp.state) ||
	    bpf_core_read(&flags, sizeof(flags), &srv->flags) ||
	    bpf_core_read(&ack, sizeof(ack), &srv->td_maxack))
		return 0;
	return ct_acked_val(state, flags, ack);
}

#endif /* TLSFW_CT_H */
