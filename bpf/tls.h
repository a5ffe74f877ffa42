/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client's stream of a TCP flow: does it start a TLS handshake (the six TLS-start bytes),
 * and what does its ClientHello say (server_name, encrypted_client_hello)? Both work on the
 * flow's state (struct tlsfw_flow), one in-order segment at a time, so a ClientHello may span
 * any number of segments and TLS records; flow.h decides which bytes of a segment are new.
 *
 * The parser is a loop of steps (bpf_loop, so the verifier checks one step, not every path
 * through a ClientHello): each step collects (part of) one field, skips (part of) an opaque
 * field, or reads (part of) a record header. Its cost follows the number of fields, not the
 * number of bytes: key shares, padding and cipher lists are skipped without being read. It
 * keeps in the flow state only positions, the field being collected (at most 8 bytes, so a
 * field may straddle segments and records) and the host_name.
 */
#ifndef TLSFW_TLS_H
#define TLSFW_TLS_H

#include "tlsfw_content_abi.h"
#include "parse.h"
#include "content_util.h"

#define TLS_CONTENT_HANDSHAKE 22
#define TLS_HANDSHAKE_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0x0000
#define TLS_EXT_ECH 0xfe0d
#define TLS_SNI_HOST_NAME 0
#define TLS_RECORD_HLEN 5
#define TLS_HELLO_MIN 41 /* version 2, random 32, session id 1, suites 2 + 2, methods 1 + 1 */
#define TLS_RANDOM_AT 4	 /* the handshake header; then version (2) and random (32) */
#define TLS_SID_MAX 32

/* tlsfw_hello_parse.step: the field expected next. */
enum hello_step {
	HS_HEADER = 0, /* handshake type (1), length (3) */
	HS_SID_LEN,    /* after version and random: legacy_session_id length (1) */
	HS_CS_LEN,     /* cipher_suites length (2) */
	HS_COMP_LEN,   /* legacy_compression_methods length (1) */
	HS_EXTS_LEN,   /* extensions length (2), or the end of the ClientHello */
	HS_EXT_HDR,    /* extension type (2), length (2), or the end of the extensions */
	HS_SNI_LIST,   /* server_name_list length (2) */
	HS_SNI_ENTRY,  /* name_type (1), host_name length (2) */
	HS_NAME,       /* host_name: hp.name_len bytes into tlsfw_flow.name */
};

/* The six TLS-start bytes (record header and handshake type) start a ClientHello. */
static __always_inline int tls_start_ok(const __u8 *b)
{
	__u32 len = (__u32)b[3] << 8 | b[4];

	return b[0] == TLS_CONTENT_HANDSHAKE && b[1] == 3 && b[2] >= 1 && b[2] <= 4 && len >= 1 &&
	       len <= TLSFW_RECORD_MAX && b[5] == TLS_HANDSHAKE_CLIENT_HELLO;
}

/*
 * The part of a segment within the first TLSFW_TLS_START stream bytes: bytes already seen
 * must be the same (else a conflict), new ones are kept. seg_off <= f->next (no gap) and
 * seg_off < TLSFW_TLS_START. Returns 0, or -1 on a conflict or a failed read.
 */
static __always_inline int tls_first_bytes(void *ctx, int xdp, struct tlsfw_flow *f, __u32 pkt_off,
					   __u32 seg_off, __u32 plen)
{
	__u8 tmp[8] = {};
	__u32 n = TLSFW_TLS_START - seg_off, a;
	__u64 t = 0;

	if (n > plen)
		n = plen;
	if (payload_read(ctx, xdp, pkt_off, tmp, n))
		return -1;
		/* by stream position, so that every index into first[] is a constant; the bytes read
	 * are taken from one word by shifting, not by a variable index into tmp */
#pragma unroll
	for (a = 0; a < 8; a++)
		t = t << 8 | tmp[a];
#pragma unroll
	for (a = 0; a < TLSFW_TLS_START; a++) {
		__u8 b = t >> (56 - 8 * ((a - seg_off) & 7));

		if (a < seg_off || a >= seg_off + n)
			continue;
		if (a < f->next) {
			if (f->first[a] != b)
				return -1;
		} else {
			f->first[a] = b;
		}
	}
	return 0;
}

/* The parse after the six TLS-start bytes, which tls_start_ok() has checked as the hello
 * parser would have: the first record is open, its first byte (the handshake type) read. */
static __always_inline void tls_hello_start(struct tlsfw_flow *f)
{
	struct tlsfw_hello_parse *hp = &f->hp;

	__builtin_memset(hp, 0, sizeof(*hp));
	hp->rec_left = ((__u32)f->first[3] << 8 | f->first[4]) - 1;
	hp->n_rec = 1;
	hp->buf[0] = f->first[5];
	hp->have = 1;
	hp->pos = 1;
	f->hello = TLSFW_FH_PARSING;
}

/* One parse of one segment: where the bytes are (w->cur, w->end) and whose state they move. */
struct hello_run {
	void *ctx;
	struct tlsfw_flow *f;
	struct content_work *w;
};

static __always_inline long hello_fail(struct tlsfw_flow *f, __u8 why)
{
	f->hello = TLSFW_FH_MALFORMED;
	f->why = why;
	return 1;
}

static __always_inline long hello_done(struct tlsfw_flow *f)
{
	struct tlsfw_hello_parse *hp = &f->hp;

	f->hello = hp->flags & TLSFW_HP_SNI ? TLSFW_FH_NAME : TLSFW_FH_NO_NAME;
	f->ech = !!(hp->flags & TLSFW_HP_ECH);
	return 1;
}

/* Skip `len` handshake bytes, which must end within `limit`. */
static __always_inline long hello_skip(struct tlsfw_flow *f, __u32 len, __u32 limit)
{
	struct tlsfw_hello_parse *hp = &f->hp;

	if (hp->pos + len > limit)
		return hello_fail(f, TLSFW_WHY_LENGTH);
	hp->target = hp->pos + len;
	return 0;
}

/* An extension header (type, length) has been read. */
static __always_inline long hello_ext(struct tlsfw_flow *f, __u32 type, __u32 len)
{
	struct tlsfw_hello_parse *hp = &f->hp;

	if (hp->pos + len > hp->ext_end)
		return hello_fail(f, TLSFW_WHY_LENGTH);
	if (++hp->n_ext > TLSFW_HELLO_MAX_EXTS)
		return hello_fail(f, TLSFW_WHY_LIMIT);
	if (type == TLS_EXT_SERVER_NAME) {
		if (hp->flags & TLSFW_HP_SNI)
			return hello_fail(f, TLSFW_WHY_SNI);
		hp->flags |= TLSFW_HP_SNI;
		hp->blk_end = hp->pos + len;
		hp->step = HS_SNI_LIST;
		return 0;
	}
	if (type == TLS_EXT_ECH)
		hp->flags |= TLSFW_HP_ECH;
	return hello_skip(f, len, hp->ext_end);
}

/* The field of hp->step is complete in hp->buf: check it and say what comes next. */
static __always_inline long hello_field(struct tlsfw_flow *f)
{
	struct tlsfw_hello_parse *hp = &f->hp;
	__u8 *b = hp->buf;
	__u32 v = (__u32)b[0] << 8 | b[1];

	switch (hp->step) {
	case HS_HEADER:
		if (b[0] != TLS_HANDSHAKE_CLIENT_HELLO) {
			f->hello = TLSFW_FH_NOT_TLS;
			return 1;
		}
		v = (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
		if (v < TLS_HELLO_MIN || v > TLSFW_HELLO_MAX_LEN)
			return hello_fail(f, TLSFW_WHY_HANDSHAKE);
		hp->hs_end = TLS_RANDOM_AT + v;
		hp->step = HS_SID_LEN;
		return hello_skip(f, 2 + 32, hp->hs_end);
	case HS_SID_LEN:
		if (b[0] > TLS_SID_MAX)
			return hello_fail(f, TLSFW_WHY_LENGTH);
		hp->step = HS_CS_LEN;
		return hello_skip(f, b[0], hp->hs_end);
	case HS_CS_LEN:
		if (v < 2 || (v & 1))
			return hello_fail(f, TLSFW_WHY_LENGTH);
		hp->step = HS_COMP_LEN;
		return hello_skip(f, v, hp->hs_end);
	case HS_COMP_LEN:
		if (b[0] < 1)
			return hello_fail(f, TLSFW_WHY_LENGTH);
		hp->step = HS_EXTS_LEN;
		return hello_skip(f, b[0], hp->hs_end);
	case HS_EXTS_LEN:
		if (hp->pos + v != hp->hs_end)
			return hello_fail(f, TLSFW_WHY_LENGTH);
		hp->ext_end = hp->hs_end;
		hp->step = HS_EXT_HDR;
		return 0;
	case HS_EXT_HDR:
		return hello_ext(f, v, (__u32)b[2] << 8 | b[3]);
	case HS_SNI_LIST:
		if (hp->pos + v != hp->blk_end)
			return hello_fail(f, TLSFW_WHY_SNI);
		hp->step = HS_SNI_ENTRY;
		return 0;
	case HS_SNI_ENTRY:
		v = (__u32)b[1] << 8 | b[2];
		/* exactly one host_name, filling the list (RFC 6066 3; what OpenSSL accepts) */
		if (b[0] != TLS_SNI_HOST_NAME || v < 1 || v > TLSFW_SNI_MAX ||
		    hp->pos + v != hp->blk_end)
			return hello_fail(f, TLSFW_WHY_SNI);
		hp->name_len = v;
		hp->step = HS_NAME;
		return 0;
	default: /* HS_NAME: keep the bytes after it zero, for 8-byte compares (names.h) */
		__builtin_memset(f->name + hp->name_len, 0, 8);
		hp->step = HS_EXT_HDR;
		return 0;
	}
}

/* Bytes of the field of hp->step. */
static __always_inline __u32 hello_need(const struct tlsfw_hello_parse *hp)
{
	switch (hp->step) {
	case HS_HEADER:
	case HS_EXT_HDR:
		return 4;
	case HS_SID_LEN:
	case HS_COMP_LEN:
		return 1;
	case HS_SNI_ENTRY:
		return 3;
	case HS_NAME:
		return hp->name_len;
	default:
		return 2;
	}
}

/* The limit a field starting now must end within. */
static __always_inline __u32 hello_limit(const struct tlsfw_hello_parse *hp)
{
	if (hp->step == HS_HEADER)
		return TLS_RANDOM_AT;
	if (hp->step <= HS_EXTS_LEN)
		return hp->hs_end;
	if (hp->step == HS_EXT_HDR)
		return hp->ext_end;
	return hp->blk_end;
}

/* Copy n (1..7) bytes at packet offset off into dst[(at + i) & mask]. */
static __always_inline int hello_take(void *ctx, int xdp, __u32 off, __u8 *dst, __u32 at, __u32 n,
				      __u32 mask)
{
	__u8 tmp[8] = {};
	__u32 i;

	if (payload_read(ctx, xdp, off, tmp, n))
		return -1;
	for (i = 0; i < 7; i++) {
		if (i >= n)
			break;
		dst[(at + i) & mask] = tmp[i];
	}
	return 0;
}

/* A field of n (1..7) bytes into buf (8 bytes), from the packet in place if it can. */
static __always_inline int hello_field_read(void *ctx, int xdp, __u32 off, __u8 *buf, __u32 n)
{
	const __u8 *p = payload_peek(ctx, xdp, off, 8);

	if (!p)
		return payload_read(ctx, xdp, off, buf, n);
	__builtin_memcpy(buf, p, 8); /* bytes after the field: never read */
	return 0;
}

/*
 * Collect host_name bytes: the part in this segment and record with one read when the name
 * starts here (the usual case), else at most 7 bytes per step. (A read at a variable offset
 * as well as of a variable length could end beyond the buffer for all the verifier knows.)
 */
static __always_inline int hello_take_name(void *ctx, int xdp, struct tlsfw_flow *f, __u32 off,
					   __u32 have, __u32 *n)
{
	__u64 len = *n;

	if (have)
		return hello_take(ctx, xdp, off, f->name, have, *n = len < 7 ? len : 7, 0xff);
	asm volatile("%0 &= 0xff" : "+r"(len));
	if (!len)
		return -1;
	return load_bytes(ctx, xdp, off, f->name, len);
}

/* A record header byte by byte; a complete one opens the next record. */
static __always_inline long hello_record(struct hello_run *r, int xdp, __u32 avail)
{
	struct tlsfw_hello_parse *hp = &r->f->hp;
	__u32 n = TLS_RECORD_HLEN - hp->rhave, len;
	__u8 *b = hp->rbuf;

	if (n > avail)
		n = avail;
	if (hp->rhave >= TLS_RECORD_HLEN || hello_take(r->ctx, xdp, r->w->cur, b, hp->rhave, n, 7))
		return hello_fail(r->f, TLSFW_WHY_RECORD);
	r->w->cur += n;
	hp->rhave += n;
	if (hp->rhave < TLS_RECORD_HLEN)
		return 0;
	hp->rhave = 0;
	len = (__u32)b[3] << 8 | b[4];
	if (b[0] != TLS_CONTENT_HANDSHAKE || b[1] != 3 || b[2] < 1 || b[2] > 4 || len < 1 ||
	    len > TLSFW_RECORD_MAX)
		return hello_fail(r->f, TLSFW_WHY_RECORD);
	if (++hp->n_rec > TLSFW_HELLO_MAX_RECORDS)
		return hello_fail(r->f, TLSFW_WHY_LIMIT);
	hp->rec_left = len;
	return 0;
}

/* One step: 0 to go on, 1 to stop (segment consumed, or the parse ended). */
static __always_inline long hello_step(struct hello_run *r, int xdp)
{
	struct tlsfw_flow *f = r->f;
	struct tlsfw_hello_parse *hp = &f->hp;
	__u32 avail, n, need, step = hp->step;
	int err;

	if (f->hello != TLSFW_FH_PARSING)
		return 1;
	if (hp->pos >= hp->target && hp->have == 0 &&
	    ((step == HS_EXTS_LEN && hp->pos == hp->hs_end) ||
	     (step == HS_EXT_HDR && hp->pos == hp->ext_end)))
		return hello_done(f);
	avail = r->w->end - r->w->cur;
	if (!avail || r->w->cur > r->w->end)
		return 1;
	if (!hp->rec_left)
		return hello_record(r, xdp, avail);
	n = avail < hp->rec_left ? avail : hp->rec_left;
	if (hp->pos < hp->target) {
		if (n > hp->target - hp->pos)
			n = hp->target - hp->pos;
		r->w->cur += n;
		hp->pos += n;
		hp->rec_left -= n;
		return 0;
	}
	need = hello_need(hp);
	if (hp->have == 0 && hp->pos + need > hello_limit(hp))
		return hello_fail(f, step >= HS_SNI_LIST ? TLSFW_WHY_SNI : TLSFW_WHY_LENGTH);
	if (n > need - hp->have)
		n = need - hp->have;
	if (step == HS_NAME)
		err = hello_take_name(r->ctx, xdp, f, r->w->cur, hp->have, &n);
	else if (!hp->have && n == need) /* the whole field here: one read */
		err = hello_field_read(r->ctx, xdp, r->w->cur, hp->buf, n);
	else
		err = hello_take(r->ctx, xdp, r->w->cur, hp->buf, hp->have, n, 7);
	if (err)
		return hello_fail(f, TLSFW_WHY_LENGTH);
	hp->have += n;
	r->w->cur += n;
	hp->pos += n;
	hp->rec_left -= n;
	if (hp->have < need)
		return 0;
	hp->have = 0;
	return hello_field(f);
}

static long hello_step_xdp(__u32 i, void *data)
{
	return hello_step(data, 1);
}

static long hello_step_tc(__u32 i, void *data)
{
	return hello_step(data, 0);
}

/*
 * Parse the segment bytes [cur, end) (packet offsets) into f's ClientHello state. At most
 * TLSFW_HELLO_STEPS steps per segment: a segment that needs more (a ClientHello of tiny
 * records or extensions) is malformed, TLSFW_WHY_LIMIT.
 */
static __always_inline void tls_hello_segment(void *ctx, int xdp, struct tlsfw_flow *f, __u32 cur,
					      __u32 end)
{
	struct hello_run r = { .ctx = ctx, .f = f, .w = content_work() };

	if (!r.w) {
		hello_fail(f, TLSFW_WHY_LIMIT);
		return;
	}
	r.w->cur = cur;
	r.w->end = end;
	bpf_loop(TLSFW_HELLO_STEPS, xdp ? hello_step_xdp : hello_step_tc, &r, 0);
	if (f->hello == TLSFW_FH_PARSING && r.w->cur < r.w->end)
		hello_fail(f, TLSFW_WHY_LIMIT);
}

#endif /* TLSFW_TLS_H */
