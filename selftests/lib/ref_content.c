// SPDX-License-Identifier: GPL-2.0
/* Reference for content inspection (see ref_content.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ref_content.h"

/* ---- QUIC (RFC 8999, RFC 9000 17.2, RFC 9001 5.4.2 / 5.8, RFC 9369 3.2) ---------------------- */

static uint32_t be(const uint8_t *b, int n)
{
	uint32_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

/* A varint at d[*at] within len: its value, *at moved past it; -1 when cut. */
static int64_t varint(const uint8_t *d, size_t len, size_t *at)
{
	size_t n;
	uint64_t v;

	if (*at >= len)
		return -1;
	n = (size_t)1 << (d[*at] >> 6);
	if (*at + n > len)
		return -1;
	v = d[*at] & 0x3f;
	for (size_t i = 1; i < n; i++)
		v = v << 8 | d[*at + i];
	*at += n;
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

int ref_quic(const uint8_t *d, size_t len)
{
	uint32_t v;
	size_t dcil, scil, pos;
	int known, type;
	int64_t tok, plen;

	if (len < 7 || (d[0] & 0xc0) != 0xc0)
		return TLSFW_QUIC_NONE;
	v = be(d + 1, 4);
	if (v == 1 || (v >= 0xff000016 && v <= 0xff000022)) /* drafts 22 to 34: RFC 9000's */
		known = 1;
	else if (v == 0x6b3343cf)
		known = 2;
	else if ((v >= 0xff000001 && v <= 0xff000015) || (v & 0x0f0f0f0f) == 0x0a0a0a0a)
		known = 0;
	else
		return TLSFW_QUIC_NONE; /* includes version negotiation (0) */
	dcil = d[5];
	if (dcil > 20 || 7 + dcil > len)
		return TLSFW_QUIC_NONE;
	scil = d[6 + dcil];
	pos = 7 + dcil + scil;
	if (scil > 20 || pos > len)
		return TLSFW_QUIC_NONE;
	if (!known)
		return TLSFW_QUIC_LONG;
	type = (d[0] >> 4) & 3;
	if (known == 2) /* v2: Retry 0, Initial 1, 0-RTT 2, Handshake 3 */
		type = type == 0 ? 3 : type - 1;
	if (type == 3)
		return len >= pos + 17 ? TLSFW_QUIC_LONG : TLSFW_QUIC_NONE;
	if (type == 0) {
		tok = varint(d, len, &pos);
		if (tok < 0 || (uint64_t)tok > len)
			return TLSFW_QUIC_NONE;
		pos += tok;
	}
	plen = varint(d, len, &pos);
	if (plen < 20 || (uint64_t)plen > len - pos)
		return TLSFW_QUIC_NONE;
	return type == 0 && len >= 1200 ? TLSFW_QUIC_INITIAL : TLSFW_QUIC_LONG;
}

/* ---- the client's stream: records, then the ClientHello (RFC 8446 4.1.2, 5.1; RFC 6066 3) -- */

/* Reads handshake bytes out of the records of a stream prefix, opening records lazily. */
struct rd {
	const uint8_t *s;
	size_t len, off; /* stream: bytes present, the next record header or payload byte */
	size_t rec_left, pos;
	unsigned int n_rec;
	int out, why; /* set when reading stops: UNDECIDED, or MALFORMED with why */
};

static int stop(struct rd *r, int out, int why)
{
	r->out = out;
	r->why = why;
	return -1;
}

/* The handshake byte at r->pos is there (reading record headers on the way). */
static int avail(struct rd *r)
{
	while (!r->rec_left) {
		const uint8_t *h = r->s + r->off;
		size_t len;

		if (r->off + 5 > r->len)
			return stop(r, TLSFW_HELLO_UNDECIDED, 0);
		len = be(h + 3, 2);
		if (h[0] != 22 || h[1] != 3 || h[2] < 1 || h[2] > 4 || len < 1 || len > 16384)
			return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_RECORD);
		if (++r->n_rec > 32)
			return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_LIMIT);
		r->rec_left = len;
		r->off += 5;
	}
	if (r->off >= r->len)
		return stop(r, TLSFW_HELLO_UNDECIDED, 0);
	return 0;
}

static int skip(struct rd *r, size_t n, uint8_t *keep)
{
	for (size_t i = 0; i < n; i++) {
		if (avail(r))
			return -1;
		if (keep)
			keep[i] = r->s[r->off];
		r->off++;
		r->rec_left--;
		r->pos++;
	}
	return 0;
}

/* A field of n bytes that must end within limit (else MALFORMED with why). */
static int field(struct rd *r, uint8_t *b, size_t n, size_t limit, int why)
{
	if (avail(r))
		return -1;
	if (r->pos + n > limit)
		return stop(r, TLSFW_HELLO_MALFORMED, why);
	return skip(r, n, b);
}

/* A skip declared by a length field, which must end within limit. */
static int opaque(struct rd *r, size_t n, size_t limit)
{
	if (r->pos + n > limit)
		return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_LENGTH);
	return skip(r, n, NULL);
}

static int bad_name(const char *s, size_t n)
{
	size_t lab = 0;

	for (size_t i = 0; i < n; i++) {
		if (!s[i])
			return 1;
		if (s[i] == '.') {
			if (!lab)
				return 1;
			lab = 0;
		} else {
			lab++;
		}
	}
	return !lab;
}

/* The server_name extension's body (blk: its end). */
static int sni(struct rd *r, size_t blk, struct ref_hello *o)
{
	uint8_t b[4];
	size_t n;

	if (field(r, b, 2, blk, TLSFW_WHY_SNI))
		return -1;
	if (r->pos + be(b, 2) != blk)
		return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_SNI);
	if (field(r, b, 3, blk, TLSFW_WHY_SNI))
		return -1;
	n = be(b + 1, 2);
	if (b[0] != 0 || n < 1 || n > TLSFW_SNI_MAX || r->pos + n != blk)
		return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_SNI);
	if (field(r, (uint8_t *)o->name, n, blk, TLSFW_WHY_SNI))
		return -1;
	o->name[n] = 0;
	o->name_len = n;
	return 0;
}

static int extensions(struct rd *r, size_t end, struct ref_hello *o)
{
	unsigned int n_ext = 0;
	int seen = 0;
	uint8_t b[4];

	while (r->pos != end) {
		size_t type, len;

		if (field(r, b, 4, end, TLSFW_WHY_LENGTH))
			return -1;
		type = be(b, 2);
		len = be(b + 2, 2);
		if (r->pos + len > end)
			return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_LENGTH);
		if (++n_ext > 128)
			return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_LIMIT);
		if (type == 0) {
			if (seen++)
				return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_SNI);
			if (sni(r, r->pos + len, o))
				return -1;
			continue;
		}
		if (type == 0xfe0d)
			o->ech = 1;
		if (opaque(r, len, end))
			return -1;
	}
	return seen;
}

/* The ClientHello from the first record on: 0 complete (o->hello set), -1 stopped (r->out). */
static int client_hello(struct rd *r, struct ref_hello *o)
{
	uint8_t b[4];
	size_t end;
	int named;

	if (field(r, b, 4, 4, TLSFW_WHY_LENGTH))
		return -1;
	if (b[0] != 1)
		return stop(r, TLSFW_HELLO_NOT_TLS, 0);
	end = 4 + be(b + 1, 3);
	if (end < 4 + 41 || end > 4 + 65536)
		return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_HANDSHAKE);
	if (opaque(r, 34, end) || field(r, b, 1, end, TLSFW_WHY_LENGTH))
		return -1;
	if (b[0] > 32)
		return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_LENGTH);
	if (opaque(r, b[0], end) || field(r, b, 2, end, TLSFW_WHY_LENGTH))
		return -1;
	if (be(b, 2) < 2 || (b[1] & 1))
		return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_LENGTH);
	if (opaque(r, be(b, 2), end) || field(r, b, 1, end, TLSFW_WHY_LENGTH))
		return -1;
	if (b[0] < 1)
		return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_LENGTH);
	if (opaque(r, b[0], end))
		return -1;
	named = 0;
	if (r->pos != end) {
		if (field(r, b, 2, end, TLSFW_WHY_LENGTH))
			return -1;
		if (r->pos + be(b, 2) != end)
			return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_LENGTH);
		named = extensions(r, end, o);
		if (named < 0)
			return -1;
	}
	if (named && bad_name(o->name, o->name_len))
		return stop(r, TLSFW_HELLO_MALFORMED, TLSFW_WHY_NAME);
	for (size_t i = 0; named && i < o->name_len; i++)
		o->name[i] = tolower((unsigned char)o->name[i]);
	o->hello = named ? TLSFW_HELLO_NAME : TLSFW_HELLO_NO_NAME;
	return 0;
}

void ref_stream(const uint8_t *s, size_t len, struct ref_hello *o)
{
	struct rd r = { .s = s, .len = len };

	memset(o, 0, sizeof(*o));
	if (len < 6) {
		o->tls = TLSFW_TLS_UNDECIDED;
		o->hello = TLSFW_HELLO_UNDECIDED;
		return;
	}
	o->tls = s[0] == 22 && s[1] == 3 && s[2] >= 1 && s[2] <= 4 && be(s + 3, 2) >= 1 &&
				 be(s + 3, 2) <= 16384 && s[5] == 1 ?
			 TLSFW_TLS_YES :
			 TLSFW_TLS_NO;
	if (o->tls == TLSFW_TLS_NO) {
		o->hello = TLSFW_HELLO_NOT_TLS;
		return;
	}
	if (client_hello(&r, o)) {
		o->hello = r.out;
		o->why = r.why;
	}
	if (o->hello != TLSFW_HELLO_NAME && o->hello != TLSFW_HELLO_NO_NAME) {
		o->ech = 0;
		o->name_len = 0;
		o->name[0] = 0;
	}
}

/* ---- flows ---------------------------------------------------------------------------------- */

void ref_flow_init(struct ref_flow *f, int want)
{
	memset(f, 0, sizeof(*f));
	f->want = want;
}

void ref_flow_free(struct ref_flow *f)
{
	free(f->stream);
	memset(f, 0, sizeof(*f));
}

static void facts(const struct ref_flow *f, struct ref_facts *out)
{
	struct ref_hello h;

	ref_stream(f->stream, f->next, &h);
	memset(out, 0, sizeof(*out));
	if (f->conflict) {
		out->tls = TLSFW_TLS_NO;
		out->hello = TLSFW_HELLO_MALFORMED;
		out->why = TLSFW_WHY_CONFLICT;
		return;
	}
	out->tls = h.tls;
	if (h.tls == TLSFW_TLS_YES && !f->want) { /* ClientHello bytes went by unparsed */
		out->hello = TLSFW_HELLO_MIDSTREAM;
		return;
	}
	out->hello = h.hello;
	out->why = h.why;
	out->ech = h.ech;
	out->name_len = h.name_len;
	memcpy(out->name, h.name, sizeof(out->name));
}

/* Whether a fact is still open: the segment then matters. */
static int open_facts(const struct ref_facts *x)
{
	return x->tls == TLSFW_TLS_UNDECIDED || x->hello == TLSFW_HELLO_UNDECIDED;
}

int ref_flow_segment(struct ref_flow *f, uint64_t off, const uint8_t *data, size_t len, int placed,
		     struct ref_facts *out)
{
	struct ref_facts before;

	facts(f, &before);
	if (len && (!placed || off > f->next)) {
		*out = before;
		if (open_facts(&before)) {
			if (out->tls == TLSFW_TLS_UNDECIDED)
				out->tls = TLSFW_TLS_UNORDERED;
			if (out->hello == TLSFW_HELLO_UNDECIDED)
				out->hello = TLSFW_HELLO_UNORDERED;
		}
		return 0;
	}
	for (size_t i = 0; i < len && off + i < 6 && !f->conflict; i++)
		if (off + i < f->next && f->stream[off + i] != data[i])
			f->conflict = 1;
	if (len && off + len > f->next && !f->conflict && open_facts(&before)) {
		size_t end = off + len;

		if (end > f->cap) {
			uint8_t *s = realloc(f->stream, end * 2);

			if (!s)
				return -ENOMEM;
			f->stream = s;
			f->cap = end * 2;
		}
		memcpy(f->stream + f->next, data + (f->next - off), end - f->next);
		f->next = end;
	}
	facts(f, out);
	return 0;
}

/* ---- names ---------------------------------------------------------------------------------- */

static int match(const char *pattern, const char *name)
{
	size_t pl, nl = strlen(name);

	if (strncmp(pattern, "*.", 2)) /* exact */
		return !strcasecmp(pattern, name);
	pattern += 1; /* ".suffix": the name must have at least one label before it */
	pl = strlen(pattern);
	return nl > pl && !strcasecmp(name + nl - pl, pattern);
}

uint64_t ref_name_lists(const struct ref_pattern *p, size_t n, const char *name)
{
	uint64_t set = 0;

	for (size_t i = 0; i < n; i++)
		if (match(p[i].pattern, name))
			set |= 1ull << p[i].list;
	return set;
}
