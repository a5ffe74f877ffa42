/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one packet parser of every hook (XDP, tc ingress, tc egress): Ethernet, up to
 * TLSFW_MAX_VLAN_DEPTH 802.1Q/802.1ad tags, IPv4 (options) or IPv6 (up to TLSFW_MAX_EXTHDRS
 * extension headers), then the TCP/UDP ports. It reads, never writes, and says plainly why it
 * stopped: not IP (the frame is left alone), or malformed with the counter to move.
 *
 * Addresses are kept as 16 bytes (IPv4 v4-mapped) so that one key type and one trie serve both
 * families. Offsets are kept rather than pointers so that the reply builder (reject.h) can find
 * the headers again after the frame was resized.
 */
#ifndef TLSFW_PARSE_H
#define TLSFW_PARSE_H

#include "tlsfw_abi.h"

#define TLSFW_ETH_P_IP 0x0800
#define TLSFW_ETH_P_IPV6 0x86DD
#define TLSFW_ETH_P_8021Q 0x8100
#define TLSFW_ETH_P_8021AD 0x88A8

#define TLSFW_IPPROTO_HOPOPTS 0
#define TLSFW_IPPROTO_ICMP 1
#define TLSFW_IPPROTO_TCP 6
#define TLSFW_IPPROTO_UDP 17
#define TLSFW_IPPROTO_ROUTING 43
#define TLSFW_IPPROTO_FRAGMENT 44
#define TLSFW_IPPROTO_AH 51
#define TLSFW_IPPROTO_ICMPV6 58
#define TLSFW_IPPROTO_DSTOPTS 60

#define TLSFW_ETH_HLEN 14
#define TLSFW_TCP_HLEN 20 /* a first fragment must hold this much TCP header (RFC 1858) */
/* TCP flags (parsed.tcp_flags) */
#define TLSFW_TCP_FIN 0x01
#define TLSFW_TCP_SYN 0x02
#define TLSFW_TCP_RST 0x04
#define TLSFW_TCP_ACK 0x10
#define TLSFW_UDP_HLEN 8
/*
 * Offsets beyond this are malformed for us: it bounds every offset the verifier has to
 * track (8 extension headers of 2 KiB each fit) and lets states at the extension-header loop
 * head be pruned.
 */
#define TLSFW_MAX_OFF 0x7fff

enum parse_rc {
	PARSE_NOT_IP = 0, /* leave the frame alone, do not count */
	PARSE_OK,
	PARSE_MALFORMED, /* parsed.reason says which counter */
};

enum parse_frag {
	FRAG_NONE = 0,
	FRAG_FIRST, /* offset 0, more fragments follow */
	FRAG_LATER, /* offset > 0: no transport header here */
};

#define QUIC_FORM 0xc0 /* a UDP payload's first byte: the form and fixed bits of a long header */

struct parsed {
	__u8 src[16];
	__u8 dst[16];
	__u32 frag_id;
	__u16 sport, dport; /* host order, valid when has_ports */
	__u16 l3_off;	    /* IP header (= length of the L2 header with its tags) */
	__u16 l3_hlen;	    /* IPv4 header with options; 40 for IPv6 */
	__u16 l4_off;	    /* transport header (after options / extension headers) */
	__u16 payload_off;  /* transport payload: room for a future phase-0 payload class */
	__u16 ip_end;	    /* end of the IP packet per its length field (frame may be padded) */
	__u8 family;	    /* 0 IPv4, 1 IPv6 (the tlsfw_proto index) */
	__u8 proto;	    /* upper-layer protocol */
	__u8 frag;	    /* enum parse_frag */
	__u8 frag_proto;    /* protocol in the fragment key: the same in every fragment */
	__u8 has_ports;
	__u8 l4_short; /* first fragment too short for the transport header */
	__u8 reason;   /* enum tlsfw_stat, with PARSE_MALFORMED */
	__u8 vlans;
	__u8 exthdrs; /* IPv6 extension headers were walked */
	__u8 tcp_flags;
	__u8 tcp_doff;	/* TCP header length in bytes */
	__u8 has_dkey;	/* dport holds a value to classify: a port, or the ICMP type key */
	__u8 hop_limit; /* IPv6 */
	/* UDP: the payload's first byte is in the linear part and lacks a long header's form or
	 * fixed bit, so the datagram is not QUIC (quic.h); 0 when unknown */
	__u8 not_quic;
	__be32 tcp_seq; /* as on the wire, for the reset (reject.h) */
	__be32 tcp_ack;
};

struct tlsfw_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* ctx is the hook's context; xdp is a constant, so each program keeps one branch. */
static __always_inline int load_bytes(void *ctx, int xdp, __u32 off, void *buf, __u32 len)
{
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, buf, len);
	return bpf_skb_load_bytes(ctx, off, buf, len);
}

static __always_inline int parse_malformed(struct parsed *p, __u8 reason)
{
	p->reason = reason;
	return PARSE_MALFORMED;
}

/* Walks the tags to the EtherType (*ethertype) and sets p->l3_off. Priority tags (VLAN id 0)
 * are walked like any other tag. */
static __always_inline int parse_l2(void *data, void *end, struct parsed *p, __u16 *ethertype)
{
	struct ethhdr *eth = data;
	__u32 off = TLSFW_ETH_HLEN;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > end)
		return PARSE_NOT_IP;
	proto = bpf_ntohs(eth->h_proto);
#pragma unroll
	for (i = 0; i < TLSFW_MAX_VLAN_DEPTH; i++) {
		struct tlsfw_vlan_hdr *vh = data + off;

		if (proto != TLSFW_ETH_P_8021Q && proto != TLSFW_ETH_P_8021AD)
			break;
		/* A cut tag carries no IP header: nothing to decide, like any non-IP frame. */
		if ((void *)(vh + 1) > end)
			return PARSE_NOT_IP;
		proto = bpf_ntohs(vh->proto);
		off += sizeof(*vh);
		p->vlans++;
	}
	if (proto == TLSFW_ETH_P_8021Q || proto == TLSFW_ETH_P_8021AD)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_VLAN);
	if (proto != TLSFW_ETH_P_IP && proto != TLSFW_ETH_P_IPV6)
		return PARSE_NOT_IP;
	p->l3_off = off;
	*ethertype = proto;
	return PARSE_OK;
}

static __always_inline void addr_v4mapped(__u8 *dst, const void *v4)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, v4, 4);
}

static __always_inline int parse_ipv4(void *data, void *end, __u32 frame_len, struct parsed *p,
				      __u32 *l4)
{
	__u32 off = p->l3_off, hlen, tot;
	struct iphdr *iph = data + off;
	__u16 frag_off;
	__u8 vihl;

	if ((void *)(iph + 1) > end)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_TRUNCATED);
	vihl = *(__u8 *)iph;
	if ((vihl >> 4) != 4)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_VERSION);
	hlen = (vihl & 0xf) * 4;
	if (hlen < 20)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_IHL);
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hlen || off + tot > frame_len)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_LENGTH);
	/* Options must be readable too: a cut option can hide nothing, but is not an IP packet. */
	if (data + off + hlen > end)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_TRUNCATED);

	p->family = 0;
	p->l3_hlen = hlen;
	p->ip_end = off + tot;
	p->proto = iph->protocol;
	p->frag_proto = iph->protocol;
	addr_v4mapped(p->src, &iph->saddr);
	addr_v4mapped(p->dst, &iph->daddr);
	frag_off = bpf_ntohs(iph->frag_off);
	if (frag_off & 0x1fff)
		p->frag = FRAG_LATER;
	else if (frag_off & 0x2000)
		p->frag = FRAG_FIRST;
	p->frag_id = bpf_ntohs(iph->id);
	*l4 = off + hlen;
	return PARSE_OK;
}

static __always_inline bool is_exthdr(__u8 nexthdr)
{
	return nexthdr == TLSFW_IPPROTO_HOPOPTS || nexthdr == TLSFW_IPPROTO_ROUTING ||
	       nexthdr == TLSFW_IPPROTO_DSTOPTS || nexthdr == TLSFW_IPPROTO_AH ||
	       nexthdr == TLSFW_IPPROTO_FRAGMENT;
}

/* The walk of an IPv6 extension-header chain, one header per bpf_loop step. */
struct exthdr_walk {
	void *ctx; /* the hook's context, for the load helper */
	struct parsed *p;
	__u32 cur;    /* offset of the header nexthdr names */
	__u8 nexthdr; /* the header at cur */
	int rc;	      /* PARSE_OK, or PARSE_MALFORMED (p->reason says why) */
};

/*
 * One extension header: returns 1 to stop (not an extension header, a malformed one, or the
 * middle of a datagram behind a fragment header), 0 to go on. The headers are read with the
 * load helper into the stack, not through packet pointers, so the cursor never needs precise
 * bounds; and bpf_loop has the verifier check this step once, not once per header and per
 * combination of header lengths (a loop of TLSFW_MAX_EXTHDRS plain iterations cost it about
 * 57,000 of the parser's 65,000 processed instructions).
 */
static __always_inline long exthdr_step(struct exthdr_walk *w, int xdp)
{
	struct parsed *p = w->p;
	__u8 h[8], nexthdr = w->nexthdr;
	__u32 len;

	if (!is_exthdr(nexthdr))
		return 1;
	if (w->cur + 8 > p->ip_end || load_bytes(w->ctx, xdp, w->cur, h, 8)) {
		w->rc = parse_malformed(p, TLSFW_STAT_MALFORMED_TRUNCATED);
		return 1;
	}
	p->exthdrs = 1;
	if (nexthdr == TLSFW_IPPROTO_FRAGMENT) {
		__u16 fo = ((__u16)h[2] << 8) | h[3];

		p->frag_proto = h[0];
		p->frag_id = ((__u32)h[4] << 24) | ((__u32)h[5] << 16) | ((__u32)h[6] << 8) | h[7];
		/* Offset 0 without M is an atomic fragment (RFC 6946): a whole packet. */
		if (fo & 0xfff8)
			p->frag = FRAG_LATER;
		else if (fo & 1)
			p->frag = FRAG_FIRST;
		len = 8;
	} else if (nexthdr == TLSFW_IPPROTO_AH) {
		len = ((__u32)h[1] + 2) * 4; /* AH counts 4-octet units */
	} else {
		len = ((__u32)h[1] + 1) * 8;
	}
	w->nexthdr = h[0];
	w->cur += len;
	if (w->cur > TLSFW_MAX_OFF) {
		w->rc = parse_malformed(p, TLSFW_STAT_MALFORMED_LENGTH);
		return 1;
	}
	/* what follows a later fragment's header is the middle of a datagram */
	return p->frag == FRAG_LATER;
}

static long exthdr_step_xdp(__u32 i, void *w)
{
	return exthdr_step(w, 1);
}

static long exthdr_step_tc(__u32 i, void *w)
{
	return exthdr_step(w, 0);
}

static __always_inline int parse_ipv6(void *ctx, int xdp, void *data, void *end, __u32 frame_len,
				      struct parsed *p, __u32 *l4)
{
	__u32 off = p->l3_off, cur, plen;
	struct ipv6hdr *ip6 = data + off;
	struct exthdr_walk w;
	__u8 nexthdr;

	if ((void *)(ip6 + 1) > end)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_TRUNCATED);
	if ((*(__u8 *)ip6 >> 4) != 6)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_VERSION);
	plen = bpf_ntohs(ip6->payload_len);
	/* Payload length 0 is a jumbogram or a BIG TCP packet on egress: the frame is the limit. */
	if (plen == 0)
		plen = frame_len - off - sizeof(*ip6);
	if (off + sizeof(*ip6) + plen > frame_len)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_LENGTH);

	p->family = 1;
	p->l3_hlen = sizeof(*ip6);
	p->ip_end = off + sizeof(*ip6) + plen;
	p->hop_limit = ip6->hop_limit;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);

	w.ctx = ctx;
	w.p = p;
	w.cur = off + sizeof(*ip6);
	w.nexthdr = ip6->nexthdr;
	w.rc = PARSE_OK;
	bpf_loop(TLSFW_MAX_EXTHDRS, xdp ? exthdr_step_xdp : exthdr_step_tc, &w, 0);
	if (w.rc != PARSE_OK)
		return w.rc;
	nexthdr = w.nexthdr;
	cur = w.cur;
	if (p->frag != FRAG_LATER && is_exthdr(nexthdr))
		return parse_malformed(p, TLSFW_STAT_MALFORMED_EXTHDR);
	if (cur > p->ip_end)
		return parse_malformed(p, TLSFW_STAT_MALFORMED_LENGTH);
	p->proto = nexthdr;
	if (p->frag == FRAG_NONE)
		p->frag_proto = nexthdr;
	*l4 = cur;
	return PARSE_OK;
}

/*
 * The ICMP or ICMPv6 type goes where a destination port would, so that the dport table
 * classifies `icmp_type:` (tlsfw_abi.h, TLSFW_ICMP6_*). A message too short to hold its type
 * has none: it matches no rule that names types. Read with the helper: ICMP is rare enough
 * that a copy costs nothing, and the byte may lie beyond the linear part in tc.
 */
static __always_inline int parse_icmp(void *ctx, int xdp, struct parsed *p, __u32 l4)
{
	__u8 type;

	if (l4 + 1 > p->ip_end || load_bytes(ctx, xdp, l4 & TLSFW_MAX_OFF, &type, 1))
		return PARSE_OK;
	p->dport = type;
	if (p->proto == TLSFW_IPPROTO_ICMPV6)
		p->dport |= p->hop_limit == 255 ? TLSFW_ICMP6_HL255 :
			    p->hop_limit == 1	? TLSFW_ICMP6_HL1 :
						  TLSFW_ICMP6_HLOTHER;
	p->has_dkey = 1;
	return PARSE_OK;
}

/* Ports of TCP and UDP. A cut transport header is malformed, except in a first fragment,
 * where it is the tiny-fragment case (RFC 1858) that the fragment policy decides. */
static __always_inline int parse_l4(void *ctx, int xdp, void *data, void *end, struct parsed *p,
				    __u32 l4)
{
	__u8 buf[TLSFW_TCP_HLEN];
	__u8 *th;
	__u32 need;

	p->l4_off = l4;
	p->payload_off = l4;
	if (p->frag == FRAG_LATER)
		return PARSE_OK;
	if (p->proto == TLSFW_IPPROTO_TCP)
		need = TLSFW_TCP_HLEN;
	else if (p->proto == TLSFW_IPPROTO_UDP)
		need = TLSFW_UDP_HLEN;
	else if (p->proto == TLSFW_IPPROTO_ICMP || p->proto == TLSFW_IPPROTO_ICMPV6)
		return parse_icmp(ctx, xdp, p, l4);
	else
		return PARSE_OK;

	if (l4 + need > p->ip_end) {
		if (p->frag == FRAG_FIRST) {
			p->l4_short = 1;
			return PARSE_OK;
		}
		return parse_malformed(p, TLSFW_STAT_MALFORMED_TRUNCATED);
	}
	if (p->proto == TLSFW_IPPROTO_TCP) {
		if (p->exthdrs) {
			/* offset unknown to the verifier: copy (see parse_ipv6) */
			if (load_bytes(ctx, xdp, l4, buf, TLSFW_TCP_HLEN))
				return parse_malformed(p, TLSFW_STAT_MALFORMED_TRUNCATED);
			th = buf;
		} else {
			th = data + (l4 & 0xff); /* IPv4 with options or bare IPv6: <= 22 + 60 */
			if ((void *)(th + TLSFW_TCP_HLEN) > end)
				return parse_malformed(p, TLSFW_STAT_MALFORMED_TRUNCATED);
		}
		p->sport = ((__u16)th[0] << 8) | th[1];
		p->dport = ((__u16)th[2] << 8) | th[3];
		p->tcp_flags = th[13];
		p->tcp_doff = (th[12] >> 4) * 4;
		__builtin_memcpy(&p->tcp_seq, th + 4, 4);
		__builtin_memcpy(&p->tcp_ack, th + 8, 4);
		p->payload_off = l4 + p->tcp_doff;
	} else {
		if (p->exthdrs) {
			if (load_bytes(ctx, xdp, l4, buf, TLSFW_UDP_HLEN))
				return parse_malformed(p, TLSFW_STAT_MALFORMED_TRUNCATED);
			th = buf;
		} else {
			th = data + (l4 & 0xff);
			if ((void *)(th + TLSFW_UDP_HLEN) > end)
				return parse_malformed(p, TLSFW_STAT_MALFORMED_TRUNCATED);
			/* here the byte is a compare and a load; later, a peek of its own */
			if ((void *)(th + TLSFW_UDP_HLEN + 1) <= end)
				p->not_quic = (th[TLSFW_UDP_HLEN] & QUIC_FORM) != QUIC_FORM;
		}
		p->sport = ((__u16)th[0] << 8) | th[1];
		p->dport = ((__u16)th[2] << 8) | th[3];
		p->payload_off = l4 + TLSFW_UDP_HLEN;
	}
	p->has_ports = 1;
	p->has_dkey = 1;
	return PARSE_OK;
}

/*
 * frame_len is the length of the whole frame (skb->len in tc), end the end of what can be read
 * directly (the linear part in tc): a header beyond end but within frame_len is reported as
 * TLSFW_STAT_MALFORMED_TRUNCATED, and the tc hook pulls and parses again.
 */
static __always_inline int tlsfw_parse(void *ctx, int xdp, void *data, void *end, __u32 frame_len,
				       struct parsed *p)
{
	__u16 ethertype = 0;
	__u32 l4 = 0;
	int rc;

	__builtin_memset(p, 0, sizeof(*p));
	rc = parse_l2(data, end, p, &ethertype);
	if (rc != PARSE_OK)
		return rc;
	if (ethertype == TLSFW_ETH_P_IP)
		rc = parse_ipv4(data, end, frame_len, p, &l4);
	else
		rc = parse_ipv6(ctx, xdp, data, end, frame_len, p, &l4);
	if (rc != PARSE_OK)
		return rc;
	return parse_l4(ctx, xdp, data, end, p, l4);
}

#endif /* TLSFW_PARSE_H */
