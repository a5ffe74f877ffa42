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

/* RFC 9000 16: the variable-length integer at b (8 readable bytes); its length in *len. */
static __always_inline __u64 quic_varint(const __u8 *b, __u32 *len)
{
	__u32 n = 1u << (b[0] >> 6);
	__u64 v = b[0] & 0x3f;
	int i;

#pragma unroll
	for (i = 1; i < 8; i++)
		if (i < n)
			v = v << 8 | b[i];
	*len = n;
	return v;
}

/* Reads the varint at datagram offset `at` (from the buffer when it holds 8 bytes from there,
 * else from the packet) and checks that it fits the datagram: ~0 when it does not. */
static __always_inline __u64 quic_field(void *ctx, int xdp, const __u8 *buf, __u32 got, __u32 base,
					__u32 at, __u32 dlen, __u32 *len)
{
	__u8 tmp[8] = {};
	__u64 v;

	if (at >= dlen)
		return ~0ull;
	if (at + 8 <= got) {
		v = quic_varint(buf + (at & (TLSFW_QUIC_READ - 1)), len);
	} else {
		__u32 n = dlen - at;

		if (n >= 8) {
			if (load_bytes(ctx, xdp, base + at, tmp, 8))
				return ~0ull;
			n = 8;
		} else if (payload_read(ctx, xdp, base + at, tmp, n)) {
			return ~0ull;
		}
		v = quic_varint(tmp, len);
		if (*len > n)
			return ~0ull;
	}
	if (at + *len > dlen)
		return ~0ull;
	return v;
}

/* The type-specific fields of a known layout fit the datagram (pos: after the source CID). */
static __always_inline int quic_fits(void *ctx, int xdp, const __u8 *q, __u32 got, __u32 base,
				     __u32 pos, __u32 dlen, int type)
{
	__u32 n;
	__u64 v;

	if (type == QUIC_T_RETRY)
		return dlen >= pos + TLSFW_QUIC_RETRY_TAG + 1; /* a token of at least one byte */
	if (type == QUIC_T_INITIAL) {
		v = quic_field(ctx, xdp, q, got, base, pos, dlen, &n); /* token length */
		if (v == ~0ull || v > dlen)
			return 0;
		pos += n + (__u32)v;
	}
	v = quic_field(ctx, xdp, q, got, base, pos, dlen, &n); /* Length */
	if (v == ~0ull)
		return 0;
	return v >= TLSFW_QUIC_MIN_PAYLOAD && v <= dlen - pos - n;
}

/* The checks after reading: h (a copy) holds the UDP header and the first bytes of the
 * datagram, got of them usable (TLSFW_UDP_HLEN + 7 to TLSFW_QUIC_READ), QUIC_BUF readable. */
static __always_inline int quic_header(void *ctx, int xdp, const struct parsed *p, const __u8 *h,
				       __u32 got, __u32 avail)
{
	const __u8 *q = h + TLSFW_UDP_HLEN;
	__u32 dlen, dcil, scil, pos, v;
	int layout, type;

	if ((q[0] & 0xc0) != 0xc0)
		return TLSFW_QUIC_NONE;
	dlen = (__u32)h[4] << 8 | h[5];
	if (dlen < TLSFW_UDP_HLEN || (p->frag == FRAG_NONE && dlen > avail))
		return TLSFW_QUIC_NONE;
	dlen -= TLSFW_UDP_HLEN;
	got -= TLSFW_UDP_HLEN;
	v = (__u32)q[1] << 24 | (__u32)q[2] << 16 | (__u32)q[3] << 8 | q[4];
	layout = quic_layout(v);
	if (layout == QUIC_LAYOUT_NONE)
		return TLSFW_QUIC_NONE;
	dcil = q[5];
	if (dcil > TLSFW_QUIC_MAX_CID || 7 + dcil > got)
		return TLSFW_QUIC_NONE;
	scil = q[(6 + dcil) & (TLSFW_QUIC_READ - 1)];
	pos = 7 + dcil + scil;
	if (scil > TLSFW_QUIC_MAX_CID || pos > dlen)
		return TLSFW_QUIC_NONE;
	if (layout == QUIC_LAYOUT_INVARIANT)
		return TLSFW_QUIC_LONG;
	type = (q[0] >> 4) & 3;
	if (layout == QUIC_LAYOUT_V2)
		type = (type + 3) & 3;
	if (!quic_fits(ctx, xdp, q, got, p->l4_off + TLSFW_UDP_HLEN, pos, dlen, type))
		return TLSFW_QUIC_NONE;
	if (type == QUIC_T_INITIAL && dlen >= TLSFW_QUIC_MIN_INITIAL)
		return TLSFW_QUIC_INITIAL;
	return TLSFW_QUIC_LONG;
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

	if (p->proto != TLSFW_IPPROTO_UDP || !p->has_ports || p->frag == FRAG_LATER)
		return TLSFW_QUIC_NONE;
	avail = p->ip_end - p->l4_off;
	if (avail < TLSFW_UDP_HLEN + 7 || p->ip_end < p->l4_off)
		return TLSFW_QUIC_NONE;
	/* most UDP is not a long header of a version we know: its first five bytes say so,
	 * read in place (a DNS ID of 0xc3c3 passes the first byte, not the version) */
	h = payload_peek(ctx, xdp, p->l4_off, TLSFW_UDP_HLEN + 5);
	if (h &&
	    ((h[TLSFW_UDP_HLEN] & 0xc0) != 0xc0 ||
	     quic_layout((__u32)h[TLSFW_UDP_HLEN + 1] << 24 | (__u32)h[TLSFW_UDP_HLEN + 2] << 16 |
			 (__u32)h[TLSFW_UDP_HLEN + 3] << 8 | h[TLSFW_UDP_HLEN + 4]) ==
		     QUIC_LAYOUT_NONE))
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
