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

enum quic_layout {
	QUIC_LAYOUT_NONE = 0,  /* not a version we recognise */
	QUIC_LAYOUT_INVARIANT, /* greasing, early drafts: only RFC 8999 holds */
	QUIC_LAYOUT_V1,	       /* RFC 9000 (and drafts 22 to 34) */
	QUIC_LAYOUT_V2,	       /* RFC 9369: the same fields, other type numbers */
};

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

static __always_inline int quic_layout(__u32 v)
{
	if (v == TLSFW_QUIC_V1)
		return QUIC_LAYOUT_V1;
	if (v == TLSFW_QUIC_V2)
		return QUIC_LAYOUT_V2;
	/* Not 0xff000000: an iterative DNS query (flags 0) whose ID ends in 0xff reads so */
	if ((v & 0xffffff00u) == TLSFW_QUIC_DRAFT && (v & 0xff) >= 1 &&
	    (v & 0xff) <= TLSFW_QUIC_DRAFT_MAX)
		return (v & 0xff) >= TLSFW_QUIC_DRAFT_V1_LAYOUT ? QUIC_LAYOUT_V1 :
								  QUIC_LAYOUT_INVARIANT;
	if ((v & 0x0f0f0f0fu) == 0x0a0a0a0au)
		return QUIC_LAYOUT_INVARIANT;
	return QUIC_LAYOUT_NONE;
}

/* RFC 9000 16: the variable-length integer at b (8 readable bytes); its length in *len. One
 * branch per length, so that the usual one- and two-byte fields read one or two bytes. */
static __always_inline __u64 quic_varint(const __u8 *b, __u32 *len)
{
	__u32 t;
	__u64 v;

	/* hides that a stack buffer is aligned: clang then computed its byte addresses with
	 * a bitwise or, which the verifier refuses on a pointer */
	asm volatile("" : "+r"(b));
	t = b[0] >> 6;
	v = b[0] & 0x3f;

	*len = 1u << t;
	if (t == 0)
		return v;
	if (t == 1)
		return v << 8 | b[1];
	if (t == 2)
		return v << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
	return v << 56 | (__u64)b[1] << 48 | (__u64)b[2] << 40 | (__u64)b[3] << 32 |
	       (__u64)b[4] << 24 | (__u64)b[5] << 16 | (__u64)b[6] << 8 | b[7];
}

/* Reads the varint at datagram offset `at` (from the buffer when it holds 8 bytes from there,
 * else from the packet) and checks that it fits the datagram: ~0 when it does not. */
static __always_inline __u64 quic_field(void *ctx, int xdp, const __u8 *buf, __u32 got, __u32 base,
					__u32 at, __u32 dlen, __u32 *len)
{
	__u8 tmp[8] = {};
	__u32 n = 8;
	__u64 v;

	if (at >= dlen)
		return ~0ull;
	/* one call of quic_varint(), on the stack: with two, clang merged the copy's and the
	 * stack's pointers into one register, which the verifier refuses */
	if (at + 8 <= got) {
		__builtin_memcpy(tmp, buf + (at & (TLSFW_QUIC_READ - 1)), 8);
	} else {
		n = dlen - at;
		if (n >= 8) {
			if (load_bytes(ctx, xdp, base + at, tmp, 8))
				return ~0ull;
			n = 8;
		} else if (payload_read(ctx, xdp, base + at, tmp, n)) {
			return ~0ull;
		}
	}
	v = quic_varint(tmp, len);
	if (*len > n || at + *len > dlen)
		return ~0ull;
	return v;
}

/* Long packet type in v1 numbering, from the first byte. */
static __always_inline int quic_type(__u8 first, int layout)
{
	int type = (first >> 4) & 3;

	return layout == QUIC_LAYOUT_V2 ? (type + 3) & 3 : type;
}

/* What every reading of the header checks first, from its first UDP_HLEN + 5 bytes at h: the
 * form bits, the UDP length (into *dlen, the datagram's payload) and the version. Returns
 * the layout, QUIC_LAYOUT_NONE when the datagram is not QUIC. */
static __always_inline int quic_start(const struct parsed *p, const __u8 *h, __u32 avail,
				      __u32 *dlen)
{
	const __u8 *q = h + TLSFW_UDP_HLEN;
	__u32 n;

	if ((q[0] & 0xc0) != 0xc0)
		return QUIC_LAYOUT_NONE;
	n = (__u32)h[4] << 8 | h[5];
	if (n < TLSFW_UDP_HLEN || (p->frag == FRAG_NONE && n > avail))
		return QUIC_LAYOUT_NONE;
	*dlen = n - TLSFW_UDP_HLEN;
	return quic_layout((__u32)q[1] << 24 | (__u32)q[2] << 16 | (__u32)q[3] << 8 | q[4]);
}

/* What the source connection ID's length (scil) and end (pos) decide: TLSFW_QUIC_NONE or
 * _LONG, or QUIC_FIELDS when the fields of the packet's type (*type) must be read. */
#define QUIC_FIELDS (-2)

static __always_inline int quic_cids(int layout, __u8 first, __u32 scil, __u32 pos, __u32 dlen,
				     int *type)
{
	if (scil > TLSFW_QUIC_MAX_CID || pos > dlen)
		return TLSFW_QUIC_NONE;
	if (layout == QUIC_LAYOUT_INVARIANT)
		return TLSFW_QUIC_LONG;
	*type = quic_type(first, layout);
	if (*type == QUIC_T_RETRY) /* a token of at least one byte */
		return dlen >= pos + TLSFW_QUIC_RETRY_TAG + 1 ? TLSFW_QUIC_LONG : TLSFW_QUIC_NONE;
	return QUIC_FIELDS;
}

/* The class once the fields are known: type, pos (after the source CID), the Length field
 * (its value and size) and dlen. */
static __always_inline int quic_class(int type, __u32 pos, __u64 len, __u32 n, __u32 dlen)
{
	if (len < TLSFW_QUIC_MIN_PAYLOAD || len > dlen - pos - n)
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
	__u32 dlen = 0, dcil, scil, pos, n, base = p->l4_off + TLSFW_UDP_HLEN;
	int layout, type = 0, r;
	__u64 v;

	layout = quic_start(p, h, avail, &dlen);
	if (layout == QUIC_LAYOUT_NONE)
		return TLSFW_QUIC_NONE;
	got -= TLSFW_UDP_HLEN;
	dcil = q[5];
	if (dcil > TLSFW_QUIC_MAX_CID || 7 + dcil > got)
		return TLSFW_QUIC_NONE;
	scil = q[(6 + dcil) & (TLSFW_QUIC_READ - 1)];
	pos = 7 + dcil + scil;
	r = quic_cids(layout, q[0], scil, pos, dlen, &type);
	if (r != QUIC_FIELDS)
		return r;
	if (type == QUIC_T_INITIAL) {
		v = quic_field(ctx, xdp, q, got, base, pos, dlen, &n); /* token length */
		if (v == ~0ull || v > dlen)
			return TLSFW_QUIC_NONE;
		pos += n + (__u32)v;
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
 */
#define QUIC_SLOW (-1)
#define QUIC_INPLACE_MAX 2047 /* a mask: the highest offset of a field read in place */

/* The varint at datagram offset at: 0 with *v and *len, 1 when it does not fit the datagram,
 * QUIC_SLOW when its 8 bytes are not in the linear part. */
static __always_inline int quic_field_inplace(const __u8 *q, const void *end, __u32 at, __u32 dlen,
					      __u64 *v, __u32 *len)
{
	__u64 off = at;
	const __u8 *b;

	if (at >= dlen)
		return 1;
	if (at > QUIC_INPLACE_MAX)
		return QUIC_SLOW;
	asm volatile("%0 &= %1" : "+r"(off) : "i"(QUIC_INPLACE_MAX));
	b = q + off;
	if ((const void *)(b + 8) > end)
		return QUIC_SLOW;
	*v = quic_varint(b, len);
	return at + *len > dlen;
}

/* h: the UDP header in the linear part, TLSFW_UDP_HLEN + 7 bytes checked; end: the linear
 * part's end. got as for quic_header(). */
static __always_inline int quic_inplace(const struct parsed *p, const __u8 *h, const void *end,
					__u32 got, __u32 avail)
{
	const __u8 *q = h + TLSFW_UDP_HLEN, *b;
	__u32 dlen = 0, dcil, scil, pos, n;
	int layout, type = 0, r;
	__u64 v;

	layout = quic_start(p, h, avail, &dlen);
	if (layout == QUIC_LAYOUT_NONE)
		return TLSFW_QUIC_NONE;
	dcil = q[5];
	if (dcil > TLSFW_QUIC_MAX_CID || 7 + dcil > got - TLSFW_UDP_HLEN)
		return TLSFW_QUIC_NONE;
	b = q + 6 + dcil;
	if ((const void *)(b + 1) > end)
		return QUIC_SLOW;
	scil = *b;
	pos = 7 + dcil + scil;
	r = quic_cids(layout, q[0], scil, pos, dlen, &type);
	if (r != QUIC_FIELDS)
		return r;
	if (type == QUIC_T_INITIAL) {
		r = quic_field_inplace(q, end, pos, dlen, &v, &n); /* token length */
		if (r)
			return r == QUIC_SLOW ? QUIC_SLOW : TLSFW_QUIC_NONE;
		if (v > dlen)
			return TLSFW_QUIC_NONE;
		pos += n + (__u32)v;
	}
	r = quic_field_inplace(q, end, pos, dlen, &v, &n); /* Length */
	if (r)
		return r == QUIC_SLOW ? QUIC_SLOW : TLSFW_QUIC_NONE;
	return quic_class(type, pos, v, n, dlen);
}

/* enum tlsfw_quic of the UDP datagram of p (any port). A first fragment is judged by its UDP
 * length; later fragments are not (the decision gives them their first fragment's verdict).
 * The header is read from the frame's linear part when it is there, else with the helper. */
static __always_inline int content_quic(void *ctx, int xdp, const struct parsed *p)
{
	struct content_work *w;
	const __u8 *h;
	__u8 *buf;
	__u32 avail, got;
	__u64 len;
	int r;

	if (p->proto != TLSFW_IPPROTO_UDP || !p->has_ports || p->frag == FRAG_LATER)
		return TLSFW_QUIC_NONE;
	avail = p->ip_end - p->l4_off;
	if (avail < TLSFW_UDP_HLEN + 7 || p->ip_end < p->l4_off)
		return TLSFW_QUIC_NONE;
	got = avail < TLSFW_QUIC_READ ? avail : TLSFW_QUIC_READ;
	/* in place when the frame's linear part has the fields (XDP: always): most UDP is
	 * not a long header of a version we know, which its first bytes say */
	h = payload_peek(ctx, xdp, p->l4_off, TLSFW_UDP_HLEN + 7);
	if (h) {
		r = quic_inplace(p, h, payload_end(ctx, xdp), got, avail);
		if (r != QUIC_SLOW)
			return r;
	}
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
