// SPDX-License-Identifier: GPL-2.0
/* Interval sets, protocol bitmaps, prefixes as intervals and a static interval index
 * (intervals.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "intervals.h"

/* ---- interval sets ---------------------------------------------------------------------- */

int ivls_add(struct ivls *s, ivl_key lo, ivl_key hi)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct ivl *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = lo <= hi ? (struct ivl){ lo, hi } : (struct ivl){ hi, lo };
	return 0;
}

static int ivl_cmp(const void *a, const void *b)
{
	const struct ivl *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

void ivls_normalize(struct ivls *s)
{
	size_t out = 0;

	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), ivl_cmp);
	for (size_t i = 1; i < s->n; i++) {
		struct ivl *cur = &s->v[out];

		/* overlapping or adjacent (lo - 1 does not wrap: lo > cur->hi >= 0 there) */
		if (s->v[i].lo <= cur->hi || s->v[i].lo - 1 == cur->hi) {
			if (s->v[i].hi > cur->hi)
				cur->hi = s->v[i].hi;
		} else {
			s->v[++out] = s->v[i];
		}
	}
	s->n = out + 1;
}

void ivls_free(struct ivls *s)
{
	if (!s)
		return;
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int ivls_copy(struct ivls *dst, const struct ivls *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->n)
		return 0;
	dst->v = malloc(src->n * sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = dst->cap = src->n;
	return 0;
}

const struct ivl *ivls_find(const struct ivls *s, ivl_key x)
{
	size_t lo = 0, hi = s->n;

	/* the last interval starting at or before x */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && s->v[lo - 1].hi >= x ? &s->v[lo - 1] : NULL;
}

bool ivls_contains(const struct ivls *s, ivl_key lo, ivl_key hi)
{
	const struct ivl *in = ivls_find(s, lo);

	return in && in->hi >= hi;
}

/* A walk of both lists at once when they are of similar length, binary searches when a is
 * much shorter (one port against a list of thousands). */
bool ivls_subset(const struct ivls *a, const struct ivls *b)
{
	size_t j = 0;

	if (!a->n)
		return true;
	if (!b->n || a->v[0].lo < b->v[0].lo || a->v[a->n - 1].hi > b->v[b->n - 1].hi)
		return false;
	if (a->n * 8 < b->n) {
		for (size_t i = 0; i < a->n; i++)
			if (!ivls_contains(b, a->v[i].lo, a->v[i].hi))
				return false;
		return true;
	}
	for (size_t i = 0; i < a->n; i++) {
		while (j < b->n && b->v[j].hi < a->v[i].lo)
			j++;
		if (j == b->n || b->v[j].lo > a->v[i].lo || b->v[j].hi < a->v[i].hi)
			return false;
	}
	return true;
}

bool ivls_meet(const struct ivls *a, const struct ivls *b)
{
	size_t i = 0, j = 0;

	while (i < a->n && j < b->n) {
		if (a->v[i].hi < b->v[j].lo)
			i++;
		else if (b->v[j].hi < a->v[i].lo)
			j++;
		else
			return true;
	}
	return false;
}

bool ivls_equal(const struct ivls *a, const struct ivls *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->v, b->v, a->n * sizeof(*a->v)));
}

/* ---- protocols ------------------------------------------------------------------------------ */

bool protoset_empty(const struct protoset *s)
{
	return !(s->w[0] | s->w[1] | s->w[2] | s->w[3]);
}

bool protoset_subset(const struct protoset *a, const struct protoset *b)
{
	for (int i = 0; i < 4; i++)
		if (a->w[i] & ~b->w[i])
			return false;
	return true;
}

bool protoset_meet(const struct protoset *a, const struct protoset *b)
{
	for (int i = 0; i < 4; i++)
		if (a->w[i] & b->w[i])
			return true;
	return false;
}

unsigned int protoset_count(const struct protoset *s)
{
	unsigned int n = 0;

	for (int i = 0; i < 4; i++)
		n += __builtin_popcountll(s->w[i]);
	return n;
}

void protoset_union(struct protoset *dst, const struct protoset *src)
{
	for (int i = 0; i < 4; i++)
		dst->w[i] |= src->w[i];
}

void protoset_all(struct protoset *s)
{
	memset(s, 0xff, sizeof(*s));
}

bool protoset_has_ported(const struct protoset *s)
{
	return proto_has(s, IPPROTO_TCP) || proto_has(s, IPPROTO_UDP);
}

bool protoset_only_ported(const struct protoset *s)
{
	struct protoset rest = *s;

	proto_del(&rest, IPPROTO_TCP);
	proto_del(&rest, IPPROTO_UDP);
	return protoset_empty(&rest);
}

/* ---- prefixes ---------------------------------------------------------------------------- */

const struct ivl ivl_v4_all = { (ivl_key)0xffff << 32, ((ivl_key)0xffff << 32) | 0xffffffffu };
const struct ivl ivl_v6_all = { 0, ~(ivl_key)0 };

ivl_key addr_key(const uint8_t addr[16])
{
	ivl_key k = 0;

	for (int i = 0; i < 16; i++)
		k = k << 8 | addr[i];
	return k;
}

void key_addr(ivl_key k, uint8_t addr[16])
{
	for (int i = 15; i >= 0; i--) {
		addr[i] = (uint8_t)k;
		k >>= 8;
	}
}

static ivl_key host_bits(unsigned int plen)
{
	return plen >= 128 ? 0 : plen == 0 ? ~(ivl_key)0 : ((ivl_key)1 << (128 - plen)) - 1;
}

struct ivl prefix_ivl(const uint8_t addr[16], unsigned int plen)
{
	ivl_key k = addr_key(addr), h = host_bits(plen);

	return (struct ivl){ k & ~h, k | h };
}

void prefix_mask(uint8_t out[16], const uint8_t addr[16], unsigned int plen)
{
	key_addr(addr_key(addr) & ~host_bits(plen), out);
}

unsigned int prefix_first(ivl_key lo, ivl_key hi)
{
	unsigned int plen = 0;

	/* the shortest prefix whose network is lo and whose broadcast is not past hi */
	while (plen < 128 && ((lo & host_bits(plen)) || (lo | host_bits(plen)) > hi))
		plen++;
	return plen;
}

/* ---- the interval index ------------------------------------------------------------------ */

static int key_cmp(const void *a, const void *b)
{
	ivl_key x = *(const ivl_key *)a, y = *(const ivl_key *)b;

	return (x > y) - (x < y);
}

/* The rank of the first key >= k (n_keys when none). */
static size_t rank_ge(const struct ivl_index *x, ivl_key k)
{
	size_t lo = 0, hi = x->n_keys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->keys[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct ivl_entry *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

int ivl_index_build(struct ivl_index *x, struct ivl_item *items, size_t n)
{
	size_t k = 0;

	memset(x, 0, sizeof(*x));
	x->keys = malloc((2 * n + 1) * sizeof(*x->keys));
	x->e = malloc((n + 1) * sizeof(*x->e));
	for (x->leaves = 1; x->leaves < n; x->leaves *= 2)
		;
	x->max = calloc(2 * x->leaves, sizeof(*x->max));
	if (!x->keys || !x->e || !x->max) {
		ivl_index_free(x);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		x->keys[k++] = items[i].lo;
		x->keys[k++] = items[i].hi;
	}
	qsort(x->keys, k, sizeof(*x->keys), key_cmp);
	for (size_t i = 0; i < k; i++)
		if (!x->n_keys || x->keys[x->n_keys - 1] != x->keys[i])
			x->keys[x->n_keys++] = x->keys[i];
	for (size_t i = 0; i < n; i++)
		x->e[i] = (struct ivl_entry){ rank_ge(x, items[i].lo), rank_ge(x, items[i].hi),
					      items[i].id };
	qsort(x->e, n, sizeof(*x->e), entry_cmp);
	x->n = n;
	for (size_t i = 0; i < n; i++)
		x->max[x->leaves + i] = x->e[i].hi + 1;
	for (size_t i = x->leaves; i-- > 1;)
		x->max[i] = x->max[2 * i] > x->max[2 * i + 1] ? x->max[2 * i] : x->max[2 * i + 1];
	return 0;
}

void ivl_index_free(struct ivl_index *x)
{
	if (!x)
		return;
	free(x->keys);
	free(x->e);
	free(x->max);
	memset(x, 0, sizeof(*x));
}

size_t ivl_index_query(const struct ivl_index *x, ivl_key lo_max, ivl_key hi_min, uint32_t *out,
		       size_t cap)
{
	/* entries [0, end) have lo <= lo_max; hi >= hi_min is max > min_rank */
	size_t end = rank_ge(x, lo_max), n = 0, min_rank = rank_ge(x, hi_min);
	struct {
		size_t node, l, r;
	} st[64];
	int sp = 0;

	if (end < x->n_keys && x->keys[end] == lo_max)
		end++;
	/* end is now a rank bound: entries with lo rank < end */
	{
		size_t lo = 0, hi = x->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (x->e[mid].lo < end)
				lo = mid + 1;
			else
				hi = mid;
		}
		end = lo;
	}
	if (!end || min_rank >= x->n_keys)
		return 0;
	st[sp++] = (typeof(st[0])){ 1, 0, x->leaves };
	while (sp) {
		typeof(st[0]) c = st[--sp];

		if (c.l >= end || x->max[c.node] <= min_rank)
			continue;
		if (c.r - c.l == 1) {
			if (n == cap)
				return cap + 1;
			out[n++] = x->e[c.l].id;
			continue;
		}
		/* right first on the stack, so that the left half comes out first */
		st[sp++] = (typeof(st[0])){ 2 * c.node + 1, (c.l + c.r) / 2, c.r };
		st[sp++] = (typeof(st[0])){ 2 * c.node, c.l, (c.l + c.r) / 2 };
	}
	return n;
}
