// SPDX-License-Identifier: GPL-2.0
/*
 * termsets.c: interned sets of terms, stored as their non-zero words, against whole bitsets
 * kept by the test. Random sets of every density (empty, one term, a few, half, all) over
 * widths that end inside a word and on a word's end: interning (equal sets one id, ids in
 * order of first appearance), loading, intersecting, the terms of every class, enumerate()
 * and bss_cut().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "randpol.h"
#include "termsets.h"

#include "check.h"

#define MAX_W 8
#define MAX_SETS 300

/* A random set of n_terms terms: its density drawn first. */
static void random_set(struct rp_rng *r, uint64_t *b, size_t w, size_t n_terms)
{
	unsigned int kind = rp_below(r, 6);

	memset(b, 0, w * sizeof(*b));
	for (size_t t = 0; t < n_terms; t++) {
		bool on = kind == 1 ? t == 0 :
			  kind == 2 ? rp_below(r, n_terms) == 0 :
			  kind == 3 ? rp_below(r, 2) :
			  kind == 4 ? true :
			  kind == 5 ? rp_below(r, 8) == 0 :
				      false; /* 0: empty */
		if (on)
			bs_set(b, t);
	}
	/* kind 1: term 0 and one more, so that the same sets recur and must find their id */
	if (kind == 1 && n_terms > 1)
		bs_set(b, rp_below(r, n_terms));
}

static bool same(const uint64_t *a, const uint64_t *b, size_t w)
{
	return !memcmp(a, b, w * sizeof(*a));
}

static bool meets(const uint64_t *a, const uint64_t *b, size_t w)
{
	for (size_t i = 0; i < w; i++)
		if (a[i] & b[i])
			return true;
	return false;
}

/* The reference: the distinct sets in order of first appearance. */
struct ref {
	uint64_t v[MAX_SETS][MAX_W];
	size_t n;
};

static uint32_t ref_id(struct ref *ref, const uint64_t *b, size_t w)
{
	for (size_t i = 0; i < ref->n; i++)
		if (same(ref->v[i], b, w))
			return i;
	memcpy(ref->v[ref->n], b, w * sizeof(*b));
	return ref->n++;
}

static void check_set(const struct bsset *s, const struct ref *ref, size_t w, size_t n_terms,
		      struct rp_rng *r)
{
	uint64_t b[MAX_W], a[MAX_W], dst[MAX_W], all[MAX_W];
	bool any = false;

	CHECK(s->n == ref->n, "%zu classes, expected %zu", s->n, ref->n);
	for (size_t c = 0; c < ref->n && c < s->n; c++) {
		bss_load(s, c, b);
		CHECK(same(b, ref->v[c], w), "class %zu loads as interned", c);
		CHECK(bss_empty(s, c) == !meets(ref->v[c], ref->v[c], w), "class %zu empty", c);
		random_set(r, a, w, n_terms);
		for (size_t i = 0; i < w; i++)
			b[i] = a[i] & ref->v[c][i];
		CHECK(bss_and(s, c, a, dst) == meets(a, ref->v[c], w), "class %zu: and's result",
		      c);
		CHECK(same(dst, b, w), "class %zu: and", c);
	}
	for (size_t i = 0; i < w; i++)
		b[i] = ~0ull;
	for (size_t c = 0; c < ref->n; c++) {
		if (!meets(ref->v[c], ref->v[c], w))
			continue;
		any = true;
		for (size_t i = 0; i < w; i++)
			b[i] &= ref->v[c][i];
	}
	bss_all(s, all);
	CHECK(same(all, b, w), "the terms of every non-empty class%s", any ? "" : " (none)");
}

/* enumerate(): the classes sharing a term with a set, ascending. */
static void check_enumerate(struct bsset *s, const struct ref *ref, size_t w, size_t n_terms,
			    struct rp_rng *r)
{
	struct enum_buf e;
	uint64_t q[MAX_W];

	CHECK(!bss_index(s, n_terms), "bss_index");
	CHECK(!enum_buf_init(&e, s->n), "enum_buf_init");
	for (int round = 0; round < 20; round++) {
		size_t k = 0;
		bool ok = true;

		random_set(r, q, w, n_terms);
		enumerate(s, q, &e);
		for (size_t c = 0; c < ref->n; c++) {
			if (!meets(q, ref->v[c], w))
				continue;
			ok &= k < e.n && e.out[k] == c;
			k++;
		}
		/* enumerate may list more (classes of terms in every class meet anything they
		 * share with the query) only when the query holds such a term */
		if (k != e.n || !ok) {
			bool wide = meets(q, s->all, w);

			CHECK(wide && e.n == s->n,
			      "enumerate: %zu classes listed, %zu meet the set", e.n, k);
		}
	}
	enum_buf_free(&e);
}

/* bss_cut(): each class cut after its first term in stop, re-interned in order. */
static void check_cut(struct bsset *s, struct ref *ref, size_t w, size_t n_terms, struct rp_rng *r)
{
	uint64_t stop[MAX_W];
	uint32_t map[MAX_SETS];
	struct ref cut = { .n = 0 };

	random_set(r, stop, w, n_terms);
	CHECK(!bss_cut(s, stop, map), "bss_cut");
	for (size_t c = 0; c < ref->n; c++) {
		uint64_t b[MAX_W];
		bool done = false;

		for (size_t i = 0; i < w; i++) {
			uint64_t hit = ref->v[c][i] & stop[i];

			b[i] = done ? 0 : ref->v[c][i];
			if (!done && hit) {
				b[i] &= (hit & -hit) | ((hit & -hit) - 1);
				done = true;
			}
		}
		CHECK(map[c] == ref_id(&cut, b, w), "class %zu cut into %u", c, map[c]);
	}
	*ref = cut;
	check_set(s, ref, w, n_terms, r);
}

int main(void)
{
	static const size_t widths[] = { 1, 7, 63, 64, 65, 130, 200, 512 };
	struct rp_rng r;

	rp_seed(&r, 11);
	for (size_t k = 0; k < sizeof(widths) / sizeof(widths[0]); k++) {
		size_t n_terms = widths[k], w = (n_terms + 63) / 64;

		for (int round = 0; round < 40; round++) {
			static struct ref ref;
			struct bsset s;
			size_t n = 1 + rp_below(&r, MAX_SETS - 1);

			bss_init(&s, w);
			ref.n = 0;
			if (round & 1)
				CHECK(!bss_reserve(&s, n), "bss_reserve");
			for (size_t i = 0; i < n; i++) {
				uint64_t b[MAX_W];
				uint32_t id, want;

				random_set(&r, b, w, n_terms);
				want = ref_id(&ref, b, w);
				CHECK(!bss_intern(&s, b, &id), "bss_intern");
				CHECK(id == want, "%zu terms: set %zu interned as %u, expected %u",
				      n_terms, i, id, want);
			}
			check_set(&s, &ref, w, n_terms, &r);
			check_enumerate(&s, &ref, w, n_terms, &r);
			check_cut(&s, &ref, w, n_terms, &r);
			bss_free(&s);
		}
	}
	return check_report("test_termsets");
}
