// SPDX-License-Identifier: GPL-2.0
/* Test traffic for content inspection (see content_gen.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "content_gen.h"

uint64_t gen_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t gen_below(uint64_t *s, uint32_t n)
{
	return n ? gen_next(s) % n : 0;
}

static void fill(uint8_t *b, size_t n, uint64_t *rng)
{
	for (size_t i = 0; i < n; i++)
		b[i] = gen_next(rng);
}

static void be16(uint8_t *b, uint32_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static void be32(uint8_t *b, uint32_t v)
{
	be16(b, v >> 16);
	be16(b + 2, v);
}

/* ---- ClientHello --------------------------------------------------------------------------- */

/* The handshake message is written here, then cut into records. */
struct wbuf {
	uint8_t b[HELLO_MAX];
	size_t len;
	struct hello_field f[HELLO_FIELDS];
	int nf;
	size_t name_at;
	int n_ext;
	int err;
};

static void put(struct wbuf *w, const void *d, size_t n)
{
	if (w->len + n > sizeof(w->b)) {
		w->err = -E2BIG;
		return;
	}
	if (d)
		memcpy(w->b + w->len, d, n);
	else
		memset(w->b + w->len, 0, n);
	w->len += n;
}

static void put_n(struct wbuf *w, uint32_t v, int size)
{
	uint8_t b[3] = { v >> 16, v >> 8, v };

	put(w, b + 3 - size, size);
}

static void put_rand(struct wbuf *w, size_t n, uint64_t *rng)
{
	size_t at = w->len;

	put(w, NULL, n);
	if (!w->err)
		fill(w->b + at, n, rng);
}

/* A length field: its place, filled by close_len(). */
static size_t open_len(struct wbuf *w, int size)
{
	size_t at = w->len;

	if (w->nf < HELLO_FIELDS)
		w->f[w->nf++] = (struct hello_field){ .off = at, .size = size };
	put(w, NULL, size);
	return at;
}

static void close_len(struct wbuf *w, size_t at, int size)
{
	size_t v = w->len - at - size;

	if (w->err)
		return;
	for (int i = size - 1; i >= 0; i--, v >>= 8)
		w->b[at + i] = v;
}

enum ext_kind {
	X_SNI,
	X_GROUPS,
	X_SIGALGS,
	X_VERSIONS,
	X_KEYSHARE,
	X_PSKMODES,
	X_ALPN,
	X_ECPF,
	X_TICKET,
	X_EMS,
	X_RENEG,
	X_STATUS,
	X_SCT,
	X_COMPRESS,
	X_ALPS,
	X_ECH,
	X_PADDING,
	X_GREASE,
	X_GREASE2,
	X_EXTRA,
	X_PSK,
	X_MAX
};

static uint16_t grease(uint64_t *rng)
{
	uint16_t g = gen_below(rng, 16) << 4 | 0x0a;

	return g << 8 | g;
}

/* A vector: a length field of `size` bytes, then the bytes (random when d is NULL). */
static void put_vec(struct wbuf *w, int size, const void *d, size_t n, uint64_t *rng)
{
	size_t l = open_len(w, size);

	if (d)
		put(w, d, n);
	else
		put_rand(w, n, rng);
	close_len(w, l, size);
}

/* The body of one extension (inside its length): one short case per kind, a table to read
 * down rather than a function to split. */
static void ext_body(struct wbuf *w, int kind, const struct hello_opts *o, size_t pad,
		     uint64_t *rng)
{
	static const uint8_t sigalgs[] = { 4, 3, 8, 4, 4, 1, 5, 3, 8, 5, 5, 1, 8, 6, 6, 1 };
	size_t l, l2;

	switch (kind) {
	case X_SNI:
		l = open_len(w, 2);
		put_n(w, 0, 1);
		l2 = open_len(w, 2);
		w->name_at = w->len;
		put(w, o->sni, strlen(o->sni));
		close_len(w, l2, 2);
		close_len(w, l, 2);
		break;
	case X_GROUPS:
		l = open_len(w, 2);
		if (o->grease)
			put_n(w, grease(rng), 2);
		if (o->key_share)
			put_n(w, 0x11ec, 2); /* X25519MLKEM768 */
		put_n(w, 0x001d, 2);
		put_n(w, 0x0017, 2);
		put_n(w, 0x0018, 2);
		close_len(w, l, 2);
		break;
	case X_SIGALGS:
		put_vec(w, 2, sigalgs, sizeof(sigalgs), rng);
		break;
	case X_VERSIONS:
		l = open_len(w, 1);
		if (o->grease)
			put_n(w, grease(rng), 2);
		put_n(w, 0x0304, 2);
		put_n(w, 0x0303, 2);
		close_len(w, l, 1);
		break;
	case X_KEYSHARE: /* entries: group, key */
		l = open_len(w, 2);
		if (o->grease) {
			put_n(w, grease(rng), 2);
			put_vec(w, 2, "", 1, rng);
		}
		if (o->key_share) {
			put_n(w, 0x11ec, 2);
			put_vec(w, 2, NULL, o->key_share, rng);
		}
		put_n(w, 0x001d, 2);
		put_vec(w, 2, NULL, 32, rng);
		close_len(w, l, 2);
		break;
	case X_PSKMODES:
		put_vec(w, 1, "\x01", 1, rng);
		break;
	case X_ALPN:
	case X_ALPS:
		l = open_len(w, 2);
		put_vec(w, 1, "h2", 2, rng);
		if (kind == X_ALPN)
			put_vec(w, 1, "http/1.1", 8, rng);
		close_len(w, l, 2);
		break;
	case X_ECPF:
		put_vec(w, 1, "", 1, rng);
		break;
	case X_RENEG:
		put_n(w, 0, 1);
		break;
	case X_STATUS:
		put(w, "\x01\x00\x00\x00\x00", 5);
		break;
	case X_COMPRESS:
		put_vec(w, 1, "\x00\x02", 2, rng); /* brotli */
		break;
	case X_ECH: /* outer: type, KDF, AEAD, config id, enc, payload (RFC 9849 5) */
		put(w, "\x00\x00\x01\x00\x01", 5);
		put_rand(w, 1, rng);
		put_vec(w, 2, NULL, 32, rng);
		put_vec(w, 2, NULL, 144 + 32 * gen_below(rng, 4), rng);
		break;
	case X_PADDING:
		put(w, NULL, pad);
		break;
	case X_GREASE2:
		put_n(w, 0, 1);
		break;
	case X_PSK: /* identities (identity, age), binders */
		l = open_len(w, 2);
		put_vec(w, 2, NULL, 64, rng);
		put_rand(w, 4, rng);
		close_len(w, l, 2);
		l = open_len(w, 2);
		put_vec(w, 1, NULL, 32, rng);
		close_len(w, l, 2);
		break;
	default: /* empty: session_ticket, extended_master_secret, sct, GREASE, extras */
		break;
	}
}

static uint16_t ext_type(int kind, uint64_t *rng)
{
	static const uint16_t types[X_MAX] = {
		[X_SNI] = 0,	   [X_GROUPS] = 10,   [X_SIGALGS] = 13,	  [X_VERSIONS] = 43,
		[X_KEYSHARE] = 51, [X_PSKMODES] = 45, [X_ALPN] = 16,	  [X_ECPF] = 11,
		[X_TICKET] = 35,   [X_EMS] = 23,      [X_RENEG] = 0xff01, [X_STATUS] = 5,
		[X_SCT] = 18,	   [X_COMPRESS] = 27, [X_ALPS] = 17513,	  [X_ECH] = 0xfe0d,
		[X_PADDING] = 21,  [X_PSK] = 41,
	};

	if (kind == X_GREASE || kind == X_GREASE2)
		return grease(rng);
	if (kind == X_EXTRA) /* unassigned types (no SNI, ECH or PSK among them) */
		return 0x3000 + gen_below(rng, 0x1000);
	return types[kind];
}

/* The extensions to send, in order. */
static int ext_list(const struct hello_opts *o, int *k, uint64_t *rng)
{
	static const int tls13[] = { X_GROUPS, X_SIGALGS, X_VERSIONS, X_KEYSHARE, X_PSKMODES };
	static const int common[] = { X_ALPN, X_ECPF, X_TICKET, X_EMS, X_RENEG, X_STATUS, X_SCT };
	int n = 0, first = 0;

	if (o->padding && o->padding_first)
		k[n++] = X_PADDING, first = 1;
	if (o->sni && !o->sni_last)
		k[n++] = X_SNI;
	for (size_t i = 0; !o->tls12 && i < sizeof(tls13) / sizeof(tls13[0]); i++)
		k[n++] = tls13[i];
	if (o->tls12)
		k[n++] = X_GROUPS, k[n++] = X_SIGALGS;
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		k[n++] = common[i];
	if (o->grease)
		k[n++] = X_COMPRESS, k[n++] = X_ALPS, k[n++] = X_GREASE, k[n++] = X_GREASE2;
	if (o->ech)
		k[n++] = X_ECH;
	if (o->padding && !o->padding_first)
		k[n++] = X_PADDING;
	for (int i = 0; i < o->n_extra && n < 200; i++)
		k[n++] = X_EXTRA;
	for (int i = n - 1; o->shuffle && i > first; i--) {
		int j = first + gen_below(rng, i - first + 1), t = k[i];

		k[i] = k[j];
		k[j] = t;
	}
	if (o->sni && o->sni_last)
		k[n++] = X_SNI;
	if (o->psk && !o->tls12)
		k[n++] = X_PSK;
	return n;
}

static void hello_message(struct wbuf *w, const struct hello_opts *o, size_t pad, uint64_t *rng)
{
	static const uint16_t suites[] = { 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
					   0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
					   0xc014, 0x009c, 0x009d, 0x002f, 0x0035 };
	int k[256], n = ext_list(o, k, rng);
	size_t hs, l, e;

	size_t n_suites = o->suites ? (size_t)o->suites : sizeof(suites) / sizeof(suites[0]);

	put_n(w, 1, 1);
	hs = open_len(w, 3);
	put_n(w, 0x0303, 2);
	put_rand(w, 32, rng);
	l = open_len(w, 1);
	put_rand(w, o->sid_len < 0 ? 0 : o->sid_len ? o->sid_len : 32, rng);
	close_len(w, l, 1);
	l = open_len(w, 2);
	if (o->grease)
		put_n(w, grease(rng), 2);
	for (size_t i = 0; i < n_suites && i < sizeof(suites) / sizeof(suites[0]); i++)
		put_n(w, suites[i], 2);
	close_len(w, l, 2);
	l = open_len(w, 1);
	put_n(w, 0, 1);
	close_len(w, l, 1);
	w->n_ext = o->no_ext ? 0 : n;
	if (o->no_ext) {
		close_len(w, hs, 3);
		return;
	}
	l = open_len(w, 2);
	for (int i = 0; i < n; i++) {
		put_n(w, ext_type(k[i], rng), 2);
		e = open_len(w, 2);
		ext_body(w, k[i], o, pad, rng);
		close_len(w, e, 2);
	}
	close_len(w, l, 2);
	close_len(w, hs, 3);
}

/* The message cut into records; fields and the name moved to where they land. */
static int hello_records(struct hello_out *out, const struct wbuf *w, const struct hello_opts *o)
{
	size_t max = o->record_max ? o->record_max : 16384, at = 0, shift = 0;
	uint16_t ver = o->record_version ? o->record_version : 0x0301;
	int f = 0;

	out->len = 0;
	out->n_fields = 0;
	out->n_records = 0;
	while (at < w->len) {
		size_t n = w->len - at < max ? w->len - at : max;

		if (out->len + 5 + n > HELLO_MAX || out->n_fields >= HELLO_FIELDS)
			return -E2BIG;
		out->buf[out->len] = 22;
		be16(out->buf + out->len + 1, at ? 0x0303 : ver);
		be16(out->buf + out->len + 3, n);
		out->fields[out->n_fields++] =
			(struct hello_field){ .off = out->len + 3, .size = 2 };
		shift += 5;
		memcpy(out->buf + out->len + 5, w->b + at, n);
		/* a field cut by the record boundary is left out: breaking it means two edits */
		for (; f < w->nf && w->f[f].off < at + n; f++)
			if (w->f[f].off + w->f[f].size <= at + n && out->n_fields < HELLO_FIELDS)
				out->fields[out->n_fields++] =
					(struct hello_field){ .off = w->f[f].off + shift,
							      .size = w->f[f].size };
		if (w->name_at >= at && w->name_at < at + n)
			out->name_at = w->name_at + shift;
		out->len += 5 + n;
		out->n_records++;
		at += n;
	}
	out->n_ext = w->n_ext;
	return 0;
}

int hello_build(struct hello_out *out, const struct hello_opts *o, uint64_t *rng)
{
	struct wbuf *w = calloc(1, sizeof(*w));
	uint64_t again = *rng;
	size_t pad = o->padding;
	struct hello_opts oo = *o;
	int err;

	if (!w)
		return -ENOMEM;
	hello_message(w, &oo, pad, rng);
	if (!w->err && o->target > w->len) { /* pad up to the target, same random choices */
		size_t more = o->target - w->len;

		if (!oo.padding) {
			oo.padding = 1;
			more = more > 4 ? more - 4 : 0;
		}
		pad += more;
		memset(w, 0, sizeof(*w));
		*rng = again;
		hello_message(w, &oo, pad, rng);
	}
	err = w->err ? w->err : hello_records(out, w, o);
	free(w);
	return err;
}

/* ---- QUIC ---------------------------------------------------------------------------------- */

static const uint8_t salt_v1[20] = { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
				     0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a };
static const uint8_t salt_v2[20] = { 0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
				     0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9 };
static const uint8_t salt_d29[20] = { 0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
				      0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99 };

/* RFC 8446 7.1 HKDF-Expand-Label with SHA-256, for outputs of at most 32 bytes. */
static int expand_label(const uint8_t *secret, const char *label, uint8_t *out, size_t len)
{
	uint8_t info[64], t[32];
	size_t n = 0, ll = strlen("tls13 ") + strlen(label);
	unsigned int tl = sizeof(t);

	info[n++] = len >> 8;
	info[n++] = len;
	info[n++] = ll;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, strlen(label));
	n += ll;
	info[n++] = 0; /* context */
	info[n++] = 1; /* T(1) */
	if (!HMAC(EVP_sha256(), secret, 32, info, n, t, &tl))
		return -1;
	memcpy(out, t, len);
	return 0;
}

int quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, uint8_t key[16],
		      uint8_t iv[12], uint8_t hp[16])
{
	const uint8_t *salt = salt_v1;
	uint8_t init[32], client[32];
	unsigned int n = sizeof(init);
	int v2 = version == 0x6b3343cf;

	if (v2)
		salt = salt_v2;
	else if (version >= 0xff00001d && version <= 0xff000020)
		salt = salt_d29;
	if (!HMAC(EVP_sha256(), salt, 20, dcid, dcid_len, init, &n)) /* HKDF-Extract */
		return -1;
	if (expand_label(init, "client in", client, 32) ||
	    expand_label(client, v2 ? "quicv2 key" : "quic key", key, 16) ||
	    expand_label(client, v2 ? "quicv2 iv" : "quic iv", iv, 12) ||
	    expand_label(client, v2 ? "quicv2 hp" : "quic hp", hp, 16))
		return -1;
	return 0;
}

/* RFC 9001 5.3, 5.4: AEAD over the payload, then header protection. */
static int protect(uint8_t *pkt, size_t pn_at, size_t len, const uint8_t key[16],
		   const uint8_t iv[12], const uint8_t hp[16], uint32_t pn)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t nonce[12], mask[32];
	int n = 0, ok;

	memcpy(nonce, iv, 12);
	for (int i = 0; i < 4; i++)
		nonce[8 + i] ^= pn >> (24 - 8 * i);
	ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, nonce) &&
	     EVP_EncryptUpdate(c, NULL, &n, pkt, pn_at + 4) &&
	     EVP_EncryptUpdate(c, pkt + pn_at + 4, &n, pkt + pn_at + 4, len - pn_at - 4 - 16) &&
	     EVP_EncryptFinal_ex(c, pkt + len - 16, &n) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, pkt + len - 16) &&
	     EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, hp, NULL) &&
	     EVP_CIPHER_CTX_set_padding(c, 0) &&
	     EVP_EncryptUpdate(c, mask, &n, pkt + pn_at + 4, 16);
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return -1;
	pkt[0] ^= mask[0] & 0x0f;
	for (int i = 0; i < 4; i++)
		pkt[pn_at + i] ^= mask[1 + i];
	return 0;
}

size_t quic_put_varint(uint8_t *b, uint64_t v, size_t n)
{
	for (size_t i = n; i--; v >>= 8)
		b[i] = v & 0xff;
	b[0] |= (uint8_t)((n == 8 ? 3 : n / 2) << 6);
	return n;
}

static size_t put_varint(uint8_t *b, uint64_t v)
{
	return quic_put_varint(b, v, v < 64 ? 1 : 2);
}

int quic_build(uint8_t *out, size_t cap, const struct quic_opts *o, uint64_t *rng)
{
	static const uint8_t v2_bits[] = { 1, 2, 3, 0 }; /* Initial, 0-RTT, Handshake, Retry */
	int v2 = o->version == 0x6b3343cf,
	    known = o->version == 1 || v2 || (o->version >> 8) == 0xff0000;
	size_t n = 0, need, len_at = 0, pn_at, body;
	uint8_t key[16], iv[12], hp[16];

	if (cap < 64 + o->dcid_len + o->scid_len + o->token_len + o->payload_len)
		return -1;
	out[n++] = 0xc0 | (v2 ? v2_bits[o->kind] : o->kind) << 4 | 3;
	be32(out + n, o->version);
	n += 4;
	out[n++] = o->dcid_len;
	if (o->dcid)
		memcpy(out + n, o->dcid, o->dcid_len);
	else
		fill(out + n, o->dcid_len, rng);
	n += o->dcid_len;
	out[n++] = o->scid_len;
	fill(out + n, o->scid_len, rng);
	n += o->scid_len;
	if (o->kind == QK_RETRY) { /* token and integrity tag */
		fill(out + n, o->token_len + 16, rng);
		return n + o->token_len + 16;
	}
	if (o->kind == QK_INITIAL) {
		n += put_varint(out + n, o->token_len);
		fill(out + n, o->token_len, rng);
		n += o->token_len;
	}
	len_at = n;
	n += 2; /* Length, two-byte form */
	pn_at = n;
	body = 4 + o->payload_len + 16;
	need = pn_at + body;
	if (o->size > need)
		body += o->size - need;
	if (pn_at + body > cap || body >= 16384)
		return -1;
	quic_put_varint(out + len_at, body, 2);
	be32(out + pn_at, o->pn);
	memset(out + pn_at + 4, 0, body - 4); /* PADDING frames after the payload */
	if (o->payload)
		memcpy(out + pn_at + 4, o->payload, o->payload_len);
	if (o->kind != QK_INITIAL || !known) { /* no keys: ciphertext-like bytes */
		if (o->kind != QK_INITIAL)
			fill(out + pn_at + 4, body - 4, rng);
		return pn_at + body;
	}
	if (quic_initial_keys(o->version, out + 6, o->dcid_len, key, iv, hp) ||
	    protect(out, pn_at, pn_at + body, key, iv, hp, o->pn))
		return -1;
	return pn_at + body;
}

/* ---- look-alikes --------------------------------------------------------------------------- */

size_t dns_query(uint8_t *out, uint16_t id, const char *name, int edns)
{
	size_t n = 12;
	const char *p = name;

	be16(out, id);
	be16(out + 2, 0x0100); /* RD */
	be16(out + 4, 1);
	be16(out + 6, 0);
	be16(out + 8, 0);
	be16(out + 10, edns ? 1 : 0);
	while (*p) {
		const char *d = strchr(p, '.');
		size_t l = d ? (size_t)(d - p) : strlen(p);

		out[n++] = l;
		memcpy(out + n, p, l);
		n += l;
		p += l + (d ? 1 : 0);
	}
	out[n++] = 0;
	be16(out + n, 1); /* A */
	be16(out + n + 2, 1);
	n += 4;
	if (edns) { /* OPT: root, type 41, 1232 bytes, no options */
		out[n++] = 0;
		be16(out + n, 41);
		be16(out + n + 2, 1232);
		memset(out + n + 4, 0, 6);
		n += 10;
	}
	return n;
}

/* RFC 5389 15.5: FINGERPRINT, the CRC-32 of what precedes it XOR 0x5354554e. */
static size_t stun_finish(uint8_t *out, size_t n)
{
	be16(out + 2, n - 20 + 8);
	be16(out + n, 0x8028);
	be16(out + n + 2, 4);
	be32(out + n + 4, crc32(0, out, n) ^ 0x5354554e);
	return n + 8;
}

static size_t stun_header(uint8_t *out, uint16_t type, uint64_t *rng)
{
	be16(out, type);
	be32(out + 4, 0x2112a442);
	fill(out + 8, 12, rng);
	return 20;
}

size_t stun_binding(uint8_t *out, uint64_t *rng)
{
	size_t n = stun_header(out, 0x0001, rng);

	be16(out + n, 0x8022); /* SOFTWARE */
	be16(out + n + 2, 8);
	memcpy(out + n + 4, "tlsfw-ts", 8);
	return stun_finish(out, n + 12);
}

size_t turn_allocate(uint8_t *out, uint64_t *rng)
{
	size_t n = stun_header(out, 0x0003, rng);

	be16(out + n, 0x0019); /* REQUESTED-TRANSPORT: UDP */
	be16(out + n + 2, 4);
	be32(out + n + 4, 17u << 24);
	be16(out + n + 8, 0x000d); /* LIFETIME */
	be16(out + n + 10, 4);
	be32(out + n + 12, 600);
	return stun_finish(out, n + 16);
}

size_t wireguard_initiation(uint8_t *out, uint64_t *rng)
{
	out[0] = 1; /* handshake initiation, then 3 reserved zero bytes */
	out[1] = out[2] = out[3] = 0;
	fill(out + 4, 148 - 4 - 16, rng);
	memset(out + 148 - 16, 0, 16); /* mac2 zero without a cookie */
	return 148;
}

size_t rtp_packet(uint8_t *out, uint8_t pt, size_t payload, int srtp, uint64_t *rng)
{
	out[0] = 0x80 | (gen_below(rng, 2) ? 0x10 : 0); /* V=2, maybe an extension */
	out[1] = pt | (gen_below(rng, 2) ? 0x80 : 0);
	fill(out + 2, 10, rng);
	fill(out + 12, payload + (srtp ? 10 : 0), rng); /* SRTP: an 80-bit auth tag */
	return 12 + payload + (srtp ? 10 : 0);
}

size_t dtls13_ciphertext(uint8_t *out, size_t payload, uint64_t *rng)
{
	out[0] = 0x2c | gen_below(rng, 4); /* 001CSLEE: no CID, 16-bit seq, length, epoch */
	fill(out + 1, 2, rng);
	be16(out + 3, payload);
	fill(out + 5, payload, rng);
	return 5 + payload;
}

size_t openvpn_reset(uint8_t *out, uint64_t *rng)
{
	out[0] = 7 << 3; /* P_CONTROL_HARD_RESET_CLIENT_V2, key id 0 */
	fill(out + 1, 8, rng);
	out[9] = 0;	   /* no acks */
	be32(out + 10, 0); /* message packet id */
	return 14;
}

/* ---- frames -------------------------------------------------------------------------------- */

int frame_build(struct pkt *p, const struct frame_opts *o)
{
	static const uint16_t tpid[2] = { 0x88a8, 0x8100 };
	struct pkt_opts po = {
		.family = o->family,
		.proto = o->proto,
		.sport = o->sport,
		.dport = o->dport,
		.seq = o->seq,
		.tcp_flags = o->tcp_flags,
		.frag = o->frag,
		.frag_id = 7,
		.n_vlan = o->vlans,
		.payload = o->len + o->tcp_opts,
	};
	size_t hl = o->proto == 6 ? 20 : 8, l4len;
	uint8_t src[16], dst[16], *l4;
	uint16_t c;

	for (int i = 0; i < o->vlans; i++) {
		po.vlan_tpid[i] = tpid[i + (o->vlans == 1)];
		po.vlan_id[i] = 100 + i;
	}
	if (o->proto == 6 && !po.tcp_flags)
		po.tcp_flags = 0x18; /* PSH ACK */
	if (o->tcp_opts & 3 || o->tcp_opts > 40 || pkt_build(p, &po))
		return -EINVAL;
	l4 = p->buf + p->l4_off;
	if (o->proto == 6) {
		memset(l4 + hl, 1, o->tcp_opts);		  /* NOPs */
		if (o->tcp_opts >= 12 && (po.tcp_flags & 0x02)) { /* Fast Open cookie (RFC 7413) */
			l4[hl] = 34;
			l4[hl + 1] = 10;
		}
		l4[12] = (hl + o->tcp_opts) / 4 << 4;
		hl += o->tcp_opts;
	}
	if (o->len)
		memcpy(l4 + hl, o->data, o->len);
	if (o->frag == PKT_FRAG_FIRST) /* the builder's checksum is of no use: leave it */
		return 0;
	l4len = hl + o->len;
	pkt_addr(o->family == 6 ? "fd00::1" : "10.0.0.1", src);
	pkt_addr(o->family == 6 ? "fd00::2" : "10.0.0.2", dst);
	memset(l4 + (o->proto == 6 ? 16 : 6), 0, 2);
	c = pkt_csum(l4, l4len,
		     pkt_pseudo_sum(o->family == 6 ? 6 : 4, o->family == 6 ? src : src + 12,
				    o->family == 6 ? dst : dst + 12, o->proto, l4len));
	memcpy(l4 + (o->proto == 6 ? 16 : 6), &c, 2);
	return 0;
}
