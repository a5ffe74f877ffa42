/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is this UDP datagram a QUIC long-header packet? A fact computed from the datagram alone, no
 * state: the first byte has the form and fixed bits set (RFC 8999 5.1, RFC 9000 17.2), the
 * version is v1, v2 (RFC 9369), an IETF draft (0xff000001..0xff000022) or a reserved greasing version
 * (0x?a?a?a?a, RFC 9000 15), both connection ID lengths are at most 20 and the header fits
 * the datagram. For the versions whose layout is known (v1, v2, drafts from 22 on) the type
 * specific fields must fit too: an Initial's token, the Length field of Initial, 0-RTT and
 * Handshake packets (at least 20: packet number and header protection sample, RFC 9001
 * 5.4.2), a Retry's integrity tag.
 *
 * Every such packet is TLSFW_QUIC_LONG; an Initial of a known layout in a datagram of at least
 * 1,200 bytes (what RFC 9000 14.1 makes clients send) is TLSFW_QUIC_INITIAL. Version
 * negotiation packets (version 0) are not QUIC here: a server sends them in answer to an
 * Initial, which a rule has already seen. Short-header packets cannot be told from noise.
 * Documentation/architecture.md, "Content inspection", says why and what this rejects.
 */
#ifndef TLSFW_QUIC_H
#define TLSFW_QUIC_H

#include "tlsfw_content_abi.h"
#include "parse.h"
#include "content_util.h"

/* Long packet types in v1 numbering. */
enum quic_type {
	QUIC_T_INITIAL = 0,
	QUIC_T_0RTT = 1,
	QUIC_T_HANDSHAKE = 2,
	QUIC_T_RETRY = 3,
};

/* The copy of the header (struct content_work.quic): UDP header, TLSFW_QUIC_READ bytes, and
 * room after them so that a varint at any offset below TLSFW_QUIC_READ is read from the
 * copy without a bound the verifier cannot see. */
#define QUIC_BUF sizeof(((struct content_work *)0)->quic)

/* The version v as the amount added to the first byte's type bits for v1 numbering (v1 and
 * drafts from 22 on 0, v2 3), QUIC_ADJ_INVARIANT for greasing and early drafts, or
 * QUIC_ADJ_NONE. */
#define QUIC_ADJ_INVARIANT 4
#define QUIC_ADJ_NONE 8

static __always_inline __u32 quic_adj(__u32 v)
{
	if (v == TLSFW_QUIC_V1)
		return 0;
	if (v == TLSFW_QUIC_V2)
		return 3;
	/* Not 0xff000000: an iterative DNS query (flags 0) whose ID ends in 0xff reads so */
	if ((v & 0xffffff00u) == TLSFW_QUIC_DRAFT && (v & 0xff) - 1 < TLSFW_QUIC_DRAFT_MAX)
		return (v & 0xff) >= TLSFW_QUIC_DRAFT_V1_LAYOUT ? 0 : QUIC_ADJ_INVARIANT;
	if ((v & 0x0f0f0f0fu) == 0x0a0a0a0au)
		return QUIC_ADJ_INVARIANT;
	return QUIC_ADJ_NONE;
}

/* The 8 bytes at b in one load, first byte in the low bits (packet order in memory). An asm
 * load: a dereference would tell clang that b is 8-byte aligned, and it would then compute
 * nearby addresses with a bitwise or, which the verifier refuses on a pointer. */
static __always_inline __u64 quic_load8(const void *b)
{
	__u64 v;

	asm volatile("%0 = *(u64 *)(%1 + 0)" : "=r"(v) : "r"(b));
	return v;
}

/* RFC 9000 16: the variable-length integer whose 8 bytes (as quic_load8() reads them) are
 * raw; its length in *len. The two sizes a header's token length and Length field mostly
 * have (below 64 and below 16,384) take a mask, or a mask and a byte; the others the general
 * form: the prefix gives the length, the value is the top 8 x len bits less the prefix. */
static __always_inline __u64 quic_varint(__u64 raw, __u32 *len)
{
	__u32 t = raw & 0xc0;
	__u64 be;

	if (t == 0) {
		*len = 1;
		return raw & 0x3f;
	}
	if (t == 0x40) {
		*len = 2;
		return (raw & 0x3f) << 8 | ((raw >> 8) & 0xff);
	}
	be = __builtin_bswap64(raw);
	t = be >> 62;
	*len = 1u << t;
	return (be << 2 >> 2) >> (64 - (8u << t));
}

/* Reads the varint at datagram offset `at` (from the buffer when it holds 8 bytes from there,
 * else from the packet) and checks that it fits the datagram: ~0 when it does not. */
static __always_inline __u64 quic_field(void *ctx, int xdp, const __u8 *buf, __u32 got, __u32 base,
					__u32 at, __u32 dlen, __u32 *len)
{
	__u64 tmp = 0, v;
	__u32 n = 8;

	if (at >= dlen)
		return ~0ull;
	if (at + 8 <= got) {
		__builtin_memcpy(&tmp, buf + (at & (TLSFW_QUIC_READ - 1)), 8);
	} else {
		n = dlen - at;
		if (n >= 8) {
			if (load_bytes(ctx, xdp, base + at, &tmp, 8))
				return ~0ull;
			n = 8;
		} else if (payload_read(ctx, xdp, base + at, (__u8 *)&tmp, n)) {
			return ~0ull;
		}
	}
	v = quic_varint(tmp, len); /* bytes past n are zero: *len > n says so */
	if (*len > n || at + *len > dlen)
		return ~0ull;
	return v;
}

/*
 * What every reading of the header checks first: the form bits, the UDP length (into *dlen,
 * the datagram's payload), the version and the destination connection ID's length (at most
 * 20, and the IP packet, avail bytes from the UDP header on, holds the byte after it: the
 * source connection ID's length). udp and w: the UDP header and the datagram's first 8
 * bytes, as quic_load8() reads them. Returns quic_adj() of the version, QUIC_ADJ_NONE when
 * the datagram is not QUIC.
 */
static __always_inline __u32 quic_start(const struct parsed *p, __u64 udp, __u64 w, int avail,
					__u64 *dlen)
{
	__u64 n = __builtin_bswap16(udp >> 32);
	__u32 dcil = (w >> 40) & 0xff;

	if ((w & QUIC_FORM) != QUIC_FORM || n < TLSFW_UDP_HLEN ||
	    (p->frag == FRAG_NONE && n > (__u64)avail))
		return QUIC_ADJ_NONE;
	if (dcil > TLSFW_QUIC_MAX_CID || TLSFW_UDP_HLEN + 7 + dcil > (__u32)avail)
		return QUIC_ADJ_NONE;
	*dlen = n - TLSFW_UDP_HLEN;
	return quic_adj(__builtin_bswap32(w >> 8));
}

/* What the source connection ID's length (scil) and end (pos) decide: TLSFW_QUIC_NONE or
 * _LONG, or QUIC_FIELDS when the fields of the packet's type (*type, in v1 numbering from
 * w's first byte) must be read. */
#define QUIC_FIELDS (-2)

static __always_inline int quic_cids(__u32 adj, __u64 w, __u32 scil, __u64 pos, __u64 dlen,
				     __u32 *type)
{
	if (scil > TLSFW_QUIC_MAX_CID || pos > dlen)
		return TLSFW_QUIC_NONE;
	if (adj == QUIC_ADJ_INVARIANT)
		return TLSFW_QUIC_LONG;
	*type = ((w >> 4) + adj) & 3;
	if (*type == QUIC_T_RETRY) /* a token of at least one byte */
		return dlen >= pos + TLSFW_QUIC_RETRY_TAG + 1 ? TLSFW_QUIC_LONG : TLSFW_QUIC_NONE;
	return QUIC_FIELDS;
}

/* The class once the fields are known: type, the Length field's offset (at), value (len, below
 * 2^62) and size (n), and dlen. One signed compare says both that the field fits the
 * datagram and that the packet it announces does. */
static __always_inline int quic_class(int type, __u64 at, __u64 len, __u32 n, __u64 dlen)
{
	if (len < TLSFW_QUIC_MIN_PAYLOAD || (__s64)len > (__s64)(dlen - at - n))
		return TLSFW_QUIC_NONE;
	if (type == QUIC_T_INITIAL && dlen >= TLSFW_QUIC_MIN_INITIAL)
		return TLSFW_QUIC_INITIAL;
	return TLSFW_QUIC_LONG;
}

/* The checks after reading: h (a copy) holds the UDP header and the first bytes of the
 * datagram, got of them usable (TLSFW_UDP_HLEN + 7 to TLSFW_QUIC_READ), QUIC_BUF readable. */
static __always_inline int quic_header(void *ctx, int xdp, const struct parsed *p, const __u8 *h,
				       __u32 got, __u32 avail)
{
	const __u8 *q = h + TLSFW_UDP_HLEN;
	__u32 dcil, scil, n, adj, type = 0, base = p->l4_off + TLSFW_UDP_HLEN;
	__u64 v, dlen = 0, pos, w = quic_load8(q);
	int r;

	adj = quic_start(p, quic_load8(h), w, avail, &dlen);
	if (adj == QUIC_ADJ_NONE)
		return TLSFW_QUIC_NONE;
	got -= TLSFW_UDP_HLEN;
	dcil = (w >> 40) & 0xff;
	scil = q[(6 + dcil) & (TLSFW_QUIC_READ - 1)];
	pos = 7 + dcil + scil;
	r = quic_cids(adj, w, scil, pos, dlen, &type);
	if (r != QUIC_FIELDS)
		return r;
	if (type == QUIC_T_INITIAL) {
		v = quic_field(ctx, xdp, q, got, base, pos, dlen, &n); /* token length */
		if (v == ~0ull || v > dlen)
			return TLSFW_QUIC_NONE;
		pos += n + v;
	}
	v = quic_field(ctx, xdp, q, got, base, pos, dlen, &n); /* Length */
	if (v == ~0ull)
		return TLSFW_QUIC_NONE;
	return quic_class(type, pos, v, n, dlen);
}

/*
 * The same checks on the frame in place, without the copy (which cost about 30 ns of a
 * checked Initial: clang copies a packet pointer's bytes one at a time). The verifier drops
 * a packet pointer's range when a variable is added to it, so each field at a variable
 * offset is checked against end on its own. QUIC_SLOW when a field is not all in the linear
 * part (tc, or a token reaching beyond QUIC_INPLACE_MAX): quic_header() decides then.
 * Written for few live values (performance.md, "The QUIC check with fewer live values"): the
 * version becomes quic_adj(), and no value is kept that a later step does not need.
 */
#define QUIC_SLOW (-1)
#define QUIC_INPLACE_MAX 2047 /* a mask: the highest offset of a field read in place */

/* Whether p is a UDP datagram to check: its bytes in the IP packet from the UDP header on,
 * or -1. A first fragment is judged by its UDP length; later fragments are not (the decision
 * gives them their first fragment's verdict). */
static __always_inline int quic_span(const struct parsed *p)
{
	int avail = (int)p->ip_end - (int)p->l4_off;

	if (p->proto != TLSFW_IPPROTO_UDP || !p->has_ports || p->frag == FRAG_LATER ||
	    avail < TLSFW_UDP_HLEN + 7)
		return -1;
	return avail;
}

/* enum tlsfw_quic of the UDP datagram of p (any port), from the frame's linear part;
 * QUIC_SLOW when the fields are not all there: content_quic_copy() decides
 * then. Most UDP is not a long header of a version we know, which its first bytes say. */
static __always_inline int quic_inplace(void *ctx, int xdp, const struct parsed *p)
{
	__u64 off, w, x, pos, dlen = 0, v;
	__u32 dcil, scil, adj, type = 0, n;
	int avail = quic_span(p), r;
	const __u8 *q, *b;
	const void *end;

	if (avail < 0)
		return TLSFW_QUIC_NONE;
	q = payload_peek(ctx, xdp, p->l4_off, TLSFW_UDP_HLEN + 8);
	if (!q)
		return QUIC_SLOW;
	q += TLSFW_UDP_HLEN;
	end = payload_end(ctx, xdp);
	w = quic_load8(q);
	adj = quic_start(p, quic_load8(q - TLSFW_UDP_HLEN), w, avail, &dlen);
	if (adj == QUIC_ADJ_NONE)
		return TLSFW_QUIC_NONE;
	dcil = (w >> 40) & 0xff; /* quic_start(): at most 20 */
	b = q + 6 + dcil;
	if ((const void *)(b + 1) > end)
		return QUIC_SLOW;
	scil = *b;
	pos = 7 + dcil + scil;
	r = quic_cids(adj, w, scil, pos, dlen, &type);
	if (r != QUIC_FIELDS)
		return r;
	if (type == QUIC_T_INITIAL) {
		/* the token's length: at most 47 (both IDs at most 20); a token or a field
		 * that does not fit the datagram puts the Length field past its end */
		off = pos;
		asm volatile("%0 &= 63" : "+r"(off));
		b = q + off;
		if ((const void *)(b + 8) > end)
			return QUIC_SLOW;
		x = quic_load8(b);
		/* No token (a client's first Initial): the Length field is in the same 8 bytes,
		 * unless it is an 8-byte varint; one load less on the path that waits for each.
		 * Bytes past the datagram cannot make it QUIC: quic_class() wants the field and
		 * the packet it announces inside. */
		if ((__u8)x == 0) {
			v = quic_varint(x >> 8, &n);
			if (n < 8)
				return quic_class(type, pos + 1, v, n, dlen);
		}
		v = quic_varint(x, &n);
		pos += n + v;
	}
	/* the Length field */
	if (pos >= dlen)
		return TLSFW_QUIC_NONE;
	if (pos > QUIC_INPLACE_MAX)
		return QUIC_SLOW;
	off = pos;
	asm volatile("%0 &= %1" : "+r"(off) : "i"(QUIC_INPLACE_MAX));
	b = q + off;
	if ((const void *)(b + 8) > end)
		return QUIC_SLOW;
	v = quic_varint(quic_load8(b), &n);
	return quic_class(type, pos, v, n, dlen);
}

/* The same answer from a copy of the header in the per-CPU scratch, read with the helper
 * when it is not in the linear part. A function of its own for the caller (content.h): no
 * value of the in-place path lives across its helper calls, so that path keeps its values
 * in registers. */
static __always_inline int content_quic_copy(void *ctx, int xdp, const struct parsed *p)
{
	struct content_work *w;
	int avail = quic_span(p);
	const __u8 *h;
	__u32 got;
	__u8 *buf;
	__u64 len;

	if (avail < 0)
		return TLSFW_QUIC_NONE;
	got = avail < TLSFW_QUIC_READ ? avail : TLSFW_QUIC_READ;
	w = content_work();
	if (!w)
		return TLSFW_QUIC_NONE;
	buf = w->quic;
	h = payload_peek(ctx, xdp, p->l4_off, QUIC_BUF);
	if (h) { /* the indexes into the header need a copy the verifier can bound */
		__builtin_memcpy(buf, h, QUIC_BUF);
		return quic_header(ctx, xdp, p, buf, got, avail);
	}
	len = got; /* the helper's length bounded on the register passed (see payload_read) */
	asm volatile("%0 &= %1" : "+r"(len) : "i"(TLSFW_QUIC_READ * 2 - 1));
	if (len < TLSFW_UDP_HLEN + 7 || len > TLSFW_QUIC_READ)
		return TLSFW_QUIC_NONE;
	if (load_bytes(ctx, xdp, p->l4_off, buf, len))
		return TLSFW_QUIC_NONE;
	return quic_header(ctx, xdp, p, buf, got, avail);
}

#endif /* TLSFW_QUIC_H */
