// SPDX-License-Identifier: GPL-2.0
/* Sets of terms, interned into class ids (termsets.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "termsets.h"

static inline uint64_t bs_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

/* Four independent lanes, joined at the end: one lane is a chain of dependent multiplies,
 * and hashing 512-byte classes was 90% of bss_intern (perf annotate), the compiler's
 * largest function for 4,096 rules. Only equal sets must hash equal: ids follow the order
 * of interning, so the plan does not depend on the hash. */
static uint64_t bs_hash(const uint64_t *b, size_t w)
{
	uint64_t h0 = 0x9e3779b97f4a7c15ull, h1 = 0xc2b2ae3d27d4eb4full, h2 = 0x165667b19e3779f9ull,
		 h3 = 0x27d4eb2f165667c5ull;
	size_t i = 0;

	for (; i + 4 <= w; i += 4) {
		h0 = bs_mix(h0, b[i]);
		h1 = bs_mix(h1, b[i + 1]);
		h2 = bs_mix(h2, b[i + 2]);
		h3 = bs_mix(h3, b[i + 3]);
	}
	for (; i < w; i++)
		h0 = bs_mix(h0, b[i]);
	return bs_mix(bs_mix(bs_mix(h0, h1), h2), h3);
}

void bss_init(struct bsset *s, size_t w)
{
	memset(s, 0, sizeof(*s));
	s->w = w;
}

void bss_free(struct bsset *s)
{
	free(s->bits);
	free(s->hash);
	free(s->slots);
	free(s->all);
	free(s->inv_start);
	free(s->inv);
	memset(s, 0, sizeof(*s));
}

/* A hash table of hcap slots (a power of two) for the classes of s. */
static int bss_rehash(struct bsset *s, size_t hcap)
{
	uint32_t *slots = calloc(hcap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t id = 0; id < s->n; id++) {
		size_t h = s->hash[id] & (hcap - 1);

		while (slots[h])
			h = (h + 1) & (hcap - 1);
		slots[h] = id + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->hcap = hcap;
	return 0;
}

/* Room for cap classes in bits and hash. */
static int bss_grow(struct bsset *s, size_t cap)
{
	uint64_t *bits = realloc(s->bits, cap * s->w * sizeof(*bits)), *hash;

	if (!bits)
		return -ENOMEM;
	s->bits = bits;
	hash = realloc(s->hash, cap * sizeof(*hash));
	if (!hash)
		return -ENOMEM;
	s->hash = hash;
	s->cap = cap;
	return 0;
}

int bss_intern(struct bsset *s, const uint64_t *b, uint32_t *id)
{
	size_t h, w = s->w;
	uint64_t hh;
	int err;

	if ((s->n + 1) * 2 > s->hcap) {
		err = bss_rehash(s, s->hcap ? s->hcap * 2 : 64);
		if (err)
			return err;
	}
	hh = bs_hash(b, w);
	h = hh & (s->hcap - 1);
	while (s->slots[h]) {
		uint32_t cand = s->slots[h] - 1;

		if (s->hash[cand] == hh && !memcmp(bss_get(s, cand), b, w * sizeof(*b))) {
			*id = cand;
			return 0;
		}
		h = (h + 1) & (s->hcap - 1);
	}
	if (s->n == s->cap) {
		err = bss_grow(s, s->cap ? s->cap * 2 : 16);
		if (err)
			return err;
	}
	memcpy(s->bits + s->n * w, b, w * sizeof(*b));
	s->hash[s->n] = hh;
	s->slots[h] = s->n + 1;
	*id = s->n++;
	return 0;
}

/*
 * The terms in every non-empty class of s (mostly terms that do not constrain the field). An
 * empty class never takes part in a non-empty intersection, so it does not count.
 */
void bss_all(const struct bsset *s, uint64_t *all)
{
	for (size_t i = 0; i < s->w; i++)
		all[i] = ~0ull;
	for (size_t c = 0; c < s->n; c++) {
		const uint64_t *b = bss_get(s, c);

		if (bs_empty(b, s->w))
			continue;
		for (size_t i = 0; i < s->w; i++)
			all[i] &= b[i];
	}
}

/*
 * Prepare enumerate(): which classes can meet a given set of terms. A term in every class
 * (typically one that does not constrain the field) meets them all; for the others keep the
 * list of classes holding them, so that only candidate classes are tested.
 */
int bss_index(struct bsset *s, size_t n_terms)
{
	size_t w = s->w, total = 0;

	if (s->all)
		return 0; /* already indexed */
	s->all = malloc(w * sizeof(*s->all));
	s->inv_start = calloc(n_terms + 1, sizeof(*s->inv_start));
	if (!s->all || !s->inv_start)
		return -ENOMEM;
	bss_all(s, s->all);
	for (size_t c = 0; c < s->n; c++) {
		const uint64_t *b = bss_get(s, c);

		for (size_t i = 0; i < w; i++) {
			uint64_t m = b[i] & ~s->all[i];

			while (m) {
				s->inv_start[i * 64 + __builtin_ctzll(m) + 1]++;
				m &= m - 1;
			}
		}
	}
	for (size_t t = 0; t < n_terms; t++) {
		total += s->inv_start[t + 1];
		s->inv_start[t + 1] = total;
	}
	s->inv = malloc((total ? total : 1) * sizeof(*s->inv));
	if (!s->inv)
		return -ENOMEM;
	{
		uint32_t *fill = calloc(n_terms + 1, sizeof(*fill));

		if (!fill)
			return -ENOMEM;
		for (size_t c = 0; c < s->n; c++) {
			const uint64_t *b = bss_get(s, c);

			for (size_t i = 0; i < w; i++) {
				uint64_t m = b[i] & ~s->all[i];

				while (m) {
					size_t t = i * 64 + __builtin_ctzll(m);

					m &= m - 1;
					s->inv[s->inv_start[t] + fill[t]++] = c;
				}
			}
		}
		free(fill);
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The classes of s that share a term with set, ascending, into e->out. */
void enumerate(const struct bsset *s, const uint64_t *set, struct enum_buf *e)
{
	size_t w = s->w;

	e->n = 0;
	if (bs_meets(set, s->all, w)) {
		for (size_t c = 0; c < s->n; c++)
			e->out[e->n++] = c;
		return;
	}
	if (++e->now == 0) {
		memset(e->stamp, 0, s->n * sizeof(*e->stamp));
		e->now = 1;
	}
	for (size_t i = 0; i < w; i++) {
		uint64_t m = set[i];

		while (m) {
			size_t t = i * 64 + __builtin_ctzll(m);

			m &= m - 1;
			for (uint32_t k = s->inv_start[t]; k < s->inv_start[t + 1]; k++) {
				uint32_t c = s->inv[k];

				if (e->stamp[c] != e->now) {
					e->stamp[c] = e->now;
					e->out[e->n++] = c;
				}
			}
		}
	}
	/* Many classes met: read them off the stamps, in order, rather than sort them through
	 * a callback (the dport classes of 4,096 one-port rules: 4,097 ids per call). */
	if (e->n > s->n / 8) {
		e->n = 0;
		for (size_t c = 0; c < s->n; c++)
			if (e->stamp[c] == e->now)
				e->out[e->n++] = c;
		return;
	}
	qsort(e->out, e->n, sizeof(*e->out), cmp_u32);
}

int enum_buf_init(struct enum_buf *e, size_t n)
{
	e->stamp = calloc(n ? n : 1, sizeof(*e->stamp));
	e->out = malloc((n ? n : 1) * sizeof(*e->out));
	e->now = 0;
	e->n = 0;
	if (!e->stamp || !e->out)
		return -ENOMEM;
	return 0;
}

void enum_buf_free(struct enum_buf *e)
{
	free(e->stamp);
	free(e->out);
}

/*
 * Cut every class of s after its first term in stop, re-intern (equal results merge) and
 * give map[old id] = new id. Ids keep their order of first appearance, so class 0 stays 0.
 *
 * Why this is exact: stop holds terms present in every class of every other field of the
 * final intersection. If class S of this field holds such a term t, t survives the whole
 * intersection, so the first match is t or an earlier term, and nothing after t can decide
 * it. Emptiness is unchanged too, since t itself is kept. Without this cut, a catch-all rule
 * (or one that only constrains ports) makes every combination non-empty and the later
 * phases grow to the product of the class counts.
 */
int bss_cut(struct bsset *s, const uint64_t *stop, uint32_t *map)
{
	uint64_t *b = malloc(s->w * sizeof(*b));
	size_t n = s->n;
	int err = 0;

	if (!b)
		return -ENOMEM;
	/* In place: class c is cut into id map[c] <= c, so the classes after c are still
	 * intact when c is rewritten, and the set needs no second copy of its bits (megabytes
	 * at 4,096 rules: fresh pages and realloc copies took a fifth of `tlsfw check`). */
	free(s->all);
	free(s->inv_start);
	free(s->inv);
	s->all = NULL;
	s->inv_start = s->inv = NULL;
	s->n = 0;
	if (s->slots)
		memset(s->slots, 0, s->hcap * sizeof(*s->slots));
	for (size_t c = 0; !err && c < n; c++) {
		const uint64_t *old = bss_get(s, c);
		bool cut = false;

		for (size_t i = 0; i < s->w; i++) {
			uint64_t hit = old[i] & stop[i];

			if (cut) {
				b[i] = 0;
			} else if (hit) {
				/* keep bits up to and including the lowest hit */
				uint64_t low = hit & -hit;

				b[i] = old[i] & (low | (low - 1));
				cut = true;
			} else {
				b[i] = old[i];
			}
		}
		err = bss_intern(s, b, &map[c]);
	}
	free(b);
	return err;
}

int bss_reserve(struct bsset *s, size_t n)
{
	size_t hcap;
	int err;

	if (n <= s->cap)
		return 0;
	err = bss_grow(s, n);
	if (err)
		return err;
	hcap = s->hcap ? s->hcap : 64;
	while ((n + 1) * 2 > hcap)
		hcap *= 2;
	return hcap == s->hcap ? 0 : bss_rehash(s, hcap);
}
