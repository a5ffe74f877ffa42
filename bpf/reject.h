/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Crafted replies for `action: reject`, built in place from the rejected frame:
 *   TCP      -> RST as RFC 793 answers that segment (seq = its ACK, or ACK = its SEQ + LEN)
 *   anything else -> ICMP destination unreachable, administratively prohibited (type 3 code 13)
 *               quoting the IP header and 8 bytes; ICMPv6 type 1 code 1 quoting as much as
 *               fits in the 1280-byte minimum MTU (RFC 4443 2.4 c)
 * The Ethernet header is turned around (MACs swapped, VLAN tags kept), addresses come from the
 * packet. The frame is resized with the hook's helpers, then every hook writes the same bytes.
 * No reply is made for fragments (the transport header or length is not all there) or for a
 * RST (RFC 793: never answer a reset): the caller drops and counts STAT_REJECT_FAILED.
 */
#ifndef TLSFW_REJECT_H
#define TLSFW_REJECT_H

#include "parse.h"

#define TLSFW_REPLY_TTL 64
#define TLSFW_ICMP6_QUOTE_MAX (1280 - 40 - 8)
#define TLSFW_ICMP4_QUOTE_MAX (60 + 8)
#define TLSFW_CSUM_CHUNK 64 /* bytes per bpf_csum_diff call over the quote (63 below) */

/*
 * Context fields are loaded with inline assembly at constant offsets: clang otherwise merges
 * the loads of several paths into one through a moved context pointer, which the verifier
 * rejects.
 */
#define CTX_LOAD32(ctx, type, field)                                            \
	({                                                                      \
		__u64 __v;                                                      \
		asm volatile("%0 = *(u32 *)(%1 + %2)"                           \
			     : "=r"(__v)                                        \
			     : "r"(ctx), "i"(__builtin_offsetof(type, field))); \
		__v;                                                            \
	})

static __always_inline void frame_ptrs(void *ctx, int xdp, void **data, void **end)
{
	if (xdp) {
		*data = (void *)(long)CTX_LOAD32(ctx, struct xdp_md, data);
		*end = (void *)(long)CTX_LOAD32(ctx, struct xdp_md, data_end);
	} else {
		*data = (void *)(long)CTX_LOAD32(ctx, struct __sk_buff, data);
		*end = (void *)(long)CTX_LOAD32(ctx, struct __sk_buff, data_end);
	}
}

static __always_inline __u32 frame_len(void *ctx, int xdp)
{
	void *data, *end;

	if (!xdp)
		return CTX_LOAD32(ctx, struct __sk_buff, len);
	frame_ptrs(ctx, xdp, &data, &end);
	return end - data;
}

/* Cut the frame to want bytes (never grows here); in tc also make all of it linear. */
static __always_inline int frame_cut(void *ctx, int xdp, __u32 want)
{
	__u32 cur = frame_len(ctx, xdp);

	if (want > cur)
		return -1;
	if (xdp)
		return want == cur ? 0 : bpf_xdp_adjust_tail(ctx, (int)want - (int)cur);
	if (want != cur && bpf_skb_change_tail(ctx, want, 0))
		return -1;
	return bpf_skb_pull_data(ctx, want);
}

/* Room for n more bytes in front of the frame. */
static __always_inline int frame_push(void *ctx, int xdp, __u32 n)
{
	if (xdp)
		return bpf_xdp_adjust_head(ctx, -(int)n);
	return bpf_skb_change_head(ctx, n, 0);
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * One's-complement sum of len bytes of the frame from offset start. The bytes are copied to
 * the stack chunk by chunk: the offsets stay plain numbers for the verifier (no packet pointer
 * arithmetic over a variable length), at the price of a copy on the reject path only.
 */
static __always_inline int csum_frame(void *ctx, int xdp, __u32 start, __u32 len, __u32 *sum)
{
	__u8 chunk[TLSFW_CSUM_CHUNK + 4]; /* + rounding of the last piece */
	__u32 off = 0, s = *sum;
	__u64 rem;
	int i;

	/* unrolled: clang otherwise counts down a trip count that the verifier cannot bound */
#pragma unroll
	for (i = 0; i < (TLSFW_ICMP6_QUOTE_MAX + 8) / TLSFW_CSUM_CHUNK + 1; i++) {
		if (off + TLSFW_CSUM_CHUNK > len)
			break;
		if (load_bytes(ctx, xdp, start + off, chunk, TLSFW_CSUM_CHUNK))
			return -1;
		s = bpf_csum_diff(0, 0, (__be32 *)chunk, TLSFW_CSUM_CHUNK, s);
		off += TLSFW_CSUM_CHUNK;
	}
	rem = len - off;
	if (rem >= TLSFW_CSUM_CHUNK)
		return -1;
	/* already true; said in assembly so that clang keeps it for the verifier */
	asm volatile("%0 &= 63" : "+r"(rem));
	if (rem) {
		/* zero padding to a multiple of 4 is what the checksum definition asks for */
		__builtin_memset(chunk, 0, sizeof(chunk));
		if (load_bytes(ctx, xdp, start + off, chunk, rem))
			return -1;
		s = bpf_csum_diff(0, 0, (__be32 *)chunk, (rem + 3) & ~3u, s);
	}
	*sum = s;
	return 0;
}

/* The pseudo-header sum (RFC 768/793, RFC 8200 8.1) of a packet from `from` to `to` (parser
 * addresses: 16 bytes, IPv4 v4-mapped). */
static __always_inline __u32 pseudo_sum_of(const __u8 *from, const __u8 *to, int v6, __u8 proto,
					   __u32 len)
{
	struct {
		__u8 src[16];
		__u8 dst[16];
		__be32 len;
		__be32 proto;
	} ph;

	if (v6) {
		__builtin_memcpy(ph.src, from, 16);
		__builtin_memcpy(ph.dst, to, 16);
		ph.len = bpf_htonl(len);
		ph.proto = bpf_htonl(proto);
		return bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0);
	}
	/* IPv4: source, destination, zero, protocol, length in 12 bytes */
	__builtin_memcpy(ph.src, from + 12, 4);
	__builtin_memcpy(ph.src + 4, to + 12, 4);
	ph.src[8] = 0;
	ph.src[9] = proto;
	ph.src[10] = len >> 8;
	ph.src[11] = len & 0xff;
	return bpf_csum_diff(0, 0, (__be32 *)&ph, 12, 0);
}

/* ... of a reply, from p->dst to p->src. */
static __always_inline __u32 pseudo_sum(const struct parsed *p, int v6, __u8 proto, __u32 len)
{
	return pseudo_sum_of(p->dst, p->src, v6, proto, len);
}

/* An IP header at ip (bounds checked by the caller) from `from` to `to`, payload len bytes. */
static __always_inline void write_ip_of(void *ip, const __u8 *from, const __u8 *to, int v6,
					__u8 proto, __u32 len)
{
	if (v6) {
		struct ipv6hdr *h = ip;

		*(__be32 *)h = bpf_htonl(0x60000000);
		h->payload_len = bpf_htons(len);
		h->nexthdr = proto;
		h->hop_limit = TLSFW_REPLY_TTL;
		__builtin_memcpy(&h->saddr, from, 16);
		__builtin_memcpy(&h->daddr, to, 16);
	} else {
		struct iphdr *h = ip;

		*(__u8 *)h = 0x45;
		h->tos = 0;
		h->tot_len = bpf_htons(20 + len);
		h->id = 0;
		h->frag_off = bpf_htons(0x4000); /* DF */
		h->ttl = TLSFW_REPLY_TTL;
		h->protocol = proto;
		h->check = 0;
		__builtin_memcpy(&h->saddr, from + 12, 4);
		__builtin_memcpy(&h->daddr, to + 12, 4);
		h->check = csum_fold(bpf_csum_diff(0, 0, (__be32 *)h, 20, 0));
	}
}

/* The reply's IP header: from p->dst to p->src. */
static __always_inline void write_ip(void *ip, const struct parsed *p, int v6, __u8 proto,
				     __u32 len)
{
	write_ip_of(ip, p->dst, p->src, v6, proto, len);
}

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[6];

	__builtin_memcpy(tmp, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, tmp, 6);
}

static __always_inline int reject_tcp(void *ctx, int xdp, const struct parsed *p, int v6)
{
	__u32 l3 = p->l3_off & 0x1f, nhl = v6 ? 40 : 20, seg_len, sum;
	__u8 flags, *th;
	void *data, *end;
	__be32 seq, ack;

	if (p->tcp_flags & TLSFW_TCP_RST)
		return -1;
	if (p->tcp_doff < TLSFW_TCP_HLEN || p->l4_off + p->tcp_doff > p->ip_end)
		return -1;
	seg_len = p->ip_end - p->l4_off - p->tcp_doff;
	if (p->tcp_flags & TLSFW_TCP_SYN)
		seg_len++;
	if (p->tcp_flags & TLSFW_TCP_FIN)
		seg_len++;
	if (p->tcp_flags & TLSFW_TCP_ACK) {
		seq = p->tcp_ack;
		ack = 0;
		flags = TLSFW_TCP_RST;
	} else {
		seq = 0;
		ack = bpf_htonl(bpf_ntohl(p->tcp_seq) + seg_len);
		flags = TLSFW_TCP_RST | TLSFW_TCP_ACK;
	}

	if (frame_cut(ctx, xdp, l3 + nhl + TLSFW_TCP_HLEN))
		return -1;
	frame_ptrs(ctx, xdp, &data, &end);
	if (data + l3 + nhl + TLSFW_TCP_HLEN > end || data + TLSFW_ETH_HLEN > end)
		return -1;
	swap_macs(data);
	write_ip(data + l3, p, v6, TLSFW_IPPROTO_TCP, TLSFW_TCP_HLEN);
	th = data + l3 + nhl;
	*(__be16 *)th = bpf_htons(p->dport);
	*(__be16 *)(th + 2) = bpf_htons(p->sport);
	*(__be32 *)(th + 4) = seq;
	*(__be32 *)(th + 8) = ack;
	th[12] = (TLSFW_TCP_HLEN / 4) << 4;
	th[13] = flags;
	*(__be16 *)(th + 14) = 0; /* window */
	*(__be16 *)(th + 16) = 0; /* checksum */
	*(__be16 *)(th + 18) = 0; /* urgent pointer */
	sum = pseudo_sum(p, v6, TLSFW_IPPROTO_TCP, TLSFW_TCP_HLEN);
	sum = bpf_csum_diff(0, 0, (__be32 *)th, TLSFW_TCP_HLEN, sum);
	*(__u16 *)(th + 16) = csum_fold(sum);
	return 0;
}

/*
 * The segment p turned into a RST in its own direction, for the destination (require: tls
 * with reject resets both ends): the segment's own sequence number, which the receiver
 * expects next (RFC 5961 accepts a RST only then), its ACK, and no payload. MACs are kept:
 * the frame goes where the segment was going.
 */
static __always_inline int reset_forward(void *ctx, int xdp, const struct parsed *p, int v6)
{
	__u32 l3 = p->l3_off & 0x1f, nhl = v6 ? 40 : 20, sum;
	void *data, *end;
	__u8 *th;

	if (p->tcp_flags & TLSFW_TCP_RST)
		return -1;
	if (p->tcp_doff < TLSFW_TCP_HLEN || p->l4_off + p->tcp_doff > p->ip_end)
		return -1;
	if (frame_cut(ctx, xdp, l3 + nhl + TLSFW_TCP_HLEN))
		return -1;
	frame_ptrs(ctx, xdp, &data, &end);
	if (data + l3 + nhl + TLSFW_TCP_HLEN > end)
		return -1;
	write_ip_of(data + l3, p->src, p->dst, v6, TLSFW_IPPROTO_TCP, TLSFW_TCP_HLEN);
	th = data + l3 + nhl;
	*(__be16 *)th = bpf_htons(p->sport);
	*(__be16 *)(th + 2) = bpf_htons(p->dport);
	*(__be32 *)(th + 4) = p->tcp_seq;
	*(__be32 *)(th + 8) = (p->tcp_flags & TLSFW_TCP_ACK) ? p->tcp_ack : 0;
	th[12] = (TLSFW_TCP_HLEN / 4) << 4;
	th[13] = TLSFW_TCP_RST | (p->tcp_flags & TLSFW_TCP_ACK);
	*(__be16 *)(th + 14) = 0;
	*(__be16 *)(th + 16) = 0;
	*(__be16 *)(th + 18) = 0;
	sum = pseudo_sum_of(p->src, p->dst, v6, TLSFW_IPPROTO_TCP, TLSFW_TCP_HLEN);
	sum = bpf_csum_diff(0, 0, (__be32 *)th, TLSFW_TCP_HLEN, sum);
	*(__u16 *)(th + 16) = csum_fold(sum);
	return 0;
}

static __always_inline int reject_icmp(void *ctx, int xdp, const struct parsed *p, int v6)
{
	__u32 l3 = p->l3_off & 0x1f, nhl = v6 ? 40 : 20, room = nhl + 8, q, sum;
	struct ethhdr *eth, *old;
	void *data, *end;
	__u8 *icmp;

	q = p->ip_end - p->l3_off;
	if (v6) {
		if (q > TLSFW_ICMP6_QUOTE_MAX)
			q = TLSFW_ICMP6_QUOTE_MAX;
	} else {
		if (q > p->l3_hlen + 8)
			q = p->l3_hlen + 8;
		if (q > TLSFW_ICMP4_QUOTE_MAX)
			q = TLSFW_ICMP4_QUOTE_MAX;
	}
	/* Quote in place: cut after the quote, then open room for the new IP and ICMP headers
	 * between the L2 header and the old IP header. */
	if (frame_cut(ctx, xdp, l3 + q) || frame_push(ctx, xdp, room))
		return -1;
	frame_ptrs(ctx, xdp, &data, &end);
	if (data + room + 22 > end || data + l3 + room > end)
		return -1;
	eth = data;
	old = data + room;
	__builtin_memcpy(eth->h_dest, old->h_source, 6);
	__builtin_memcpy(eth->h_source, old->h_dest, 6);
	eth->h_proto = old->h_proto;
	if (p->vlans > 0)
		__builtin_memcpy((__u8 *)data + 14, (__u8 *)old + 14, 4);
	if (p->vlans > 1)
		__builtin_memcpy((__u8 *)data + 18, (__u8 *)old + 18, 4);

	if (data + l3 + room > end)
		return -1;
	write_ip(data + l3, p, v6, v6 ? TLSFW_IPPROTO_ICMPV6 : TLSFW_IPPROTO_ICMP, 8 + q);
	icmp = data + l3 + nhl;
	icmp[0] = v6 ? 1 : 3;  /* destination unreachable */
	icmp[1] = v6 ? 1 : 13; /* administratively prohibited */
	*(__u16 *)(icmp + 2) = 0;
	*(__u32 *)(icmp + 4) = 0;
	sum = v6 ? pseudo_sum(p, 1, TLSFW_IPPROTO_ICMPV6, 8 + q) : 0;
	/* the checksum covers the header written above and the quote after it */
	if (csum_frame(ctx, xdp, l3 + nhl, 8 + q, &sum))
		return -1;
	frame_ptrs(ctx, xdp, &data, &end);
	icmp = data + l3 + nhl;
	if ((void *)(icmp + 8) > end)
		return -1;
	*(__u16 *)(icmp + 2) = csum_fold(sum);
	return 0;
}

/*
 * Turn the frame into the reply for the rejected packet p. xdp is a constant (1 in XDP, 0 in
 * tc). Returns 0, or -1 when no reply can be built (the frame may be changed: drop it).
 */
static __always_inline int tlsfw_reject(void *ctx, int xdp, const struct parsed *p)
{
	if (p->frag != FRAG_NONE)
		return -1;
	if (p->proto == TLSFW_IPPROTO_TCP)
		return p->family ? reject_tcp(ctx, xdp, p, 1) : reject_tcp(ctx, xdp, p, 0);
	return p->family ? reject_icmp(ctx, xdp, p, 1) : reject_icmp(ctx, xdp, p, 0);
}

/* A RST for p's destination, in place (tc only: the caller sends a clone of it, then turns
 * the frame into the reply with tlsfw_reject). Returns 0 or -1 (nothing to send). */
static __always_inline int tlsfw_reset_forward(void *ctx, const struct parsed *p)
{
	if (p->frag != FRAG_NONE || p->proto != TLSFW_IPPROTO_TCP)
		return -1;
	return p->family ? reset_forward(ctx, 0, p, 1) : reset_forward(ctx, 0, p, 0);
}

#endif /* TLSFW_REJECT_H */
