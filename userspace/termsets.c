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

/* The hash of b from its non-zero words (what is stored of it), and how many there are. Only
 * equal sets must hash equal: ids follow the order of interning, so the plan does not depend
 * on the hash. */
static uint64_t bs_hash(const uint64_t *b, size_t w, uint32_t *nnz)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	uint32_t n = 0;
	size_t i = 0;

	/* Most classes hold a few words of dozens: skip zeros four at a time. */
	for (; i + 4 <= w; i += 4) {
		if (!(b[i] | b[i + 1] | b[i + 2] | b[i + 3]))
			continue;
		for (size_t j = i; j < i + 4; j++) {
			if (b[j]) {
				h = bs_mix(h + j, b[j]);
				n++;
			}
		}
	}
	for (; i < w; i++) {
		if (b[i]) {
			h = bs_mix(h + i, b[i]);
			n++;
		}
	}
	*nnz = n;
	return bs_mix(h, n);
}

void bss_init(struct bsset *s, size_t w)
{
	memset(s, 0, sizeof(*s));
	s->w = w;
}

void bss_free(struct bsset *s)
{
	free(s->cls);
	free(s->word);
	free(s->slots);
	free(s->all);
	free(s->inv_start);
	free(s->inv);
	memset(s, 0, sizeof(*s));
}

void bss_load(const struct bsset *s, uint32_t id, uint64_t *b)
{
	memset(b, 0, s->w * sizeof(*b));
	for (uint32_t k = s->cls[id].off; k < s->cls[id].off + s->cls[id].len; k++)
		b[s->word[k].idx] = s->word[k].val;
}

bool bss_and(const struct bsset *s, uint32_t id, const uint64_t *a, uint64_t *dst)
{
	uint64_t any = 0;

	memset(dst, 0, s->w * sizeof(*dst));
	for (uint32_t k = s->cls[id].off; k < s->cls[id].off + s->cls[id].len; k++) {
		uint32_t i = s->word[k].idx;

		dst[i] = a[i] & s->word[k].val;
		any |= dst[i];
	}
	return any != 0;
}

/* Whether class id of s is b, which has nnz non-zero words. */
static bool bss_equal(const struct bsset *s, uint32_t id, const uint64_t *b, uint32_t nnz)
{
	if (s->cls[id].len != nnz)
		return false;
	for (uint32_t k = s->cls[id].off; k < s->cls[id].off + nnz; k++)
		if (b[s->word[k].idx] != s->word[k].val)
			return false;
	return true;
}

/* A hash table of hcap slots (a power of two) for the classes of s. */
static int bss_rehash(struct bsset *s, size_t hcap)
{
	uint32_t *slots = calloc(hcap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t id = 0; id < s->n; id++) {
		size_t h = s->cls[id].hash & (hcap - 1);

		while (slots[h])
			h = (h + 1) & (hcap - 1);
		slots[h] = id + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->hcap = hcap;
	return 0;
}

/* Room for cap classes. */
static int bss_grow(struct bsset *s, size_t cap)
{
	struct bss_class *cls = realloc(s->cls, cap * sizeof(*cls));

	if (!cls)
		return -ENOMEM;
	s->cls = cls;
	s->cap = cap;
	return 0;
}

/* Room for wcap words of all classes. */
static int bss_grow_words(struct bsset *s, size_t wcap)
{
	struct bss_word *word;

	if (wcap > UINT32_MAX)
		return -E2BIG;
	word = realloc(s->word, wcap * sizeof(*word));
	if (!word)
		return -ENOMEM;
	s->word = word;
	s->wcap = wcap;
	return 0;
}

int bss_intern(struct bsset *s, const uint64_t *b, uint32_t *id)
{
	size_t h, w = s->w;
	uint32_t nnz;
	uint64_t hh;
	int err;

	if ((s->n + 1) * 2 > s->hcap) {
		err = bss_rehash(s, s->hcap ? s->hcap * 2 : 64);
		if (err)
			return err;
	}
	hh = bs_hash(b, w, &nnz);
	h = hh & (s->hcap - 1);
	while (s->slots[h]) {
		uint32_t cand = s->slots[h] - 1;

		if (s->cls[cand].hash == hh && bss_equal(s, cand, b, nnz)) {
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
	if (s->nw + nnz > s->wcap) {
		size_t wcap = s->wcap ? s->wcap * 2 : 64;

		while (s->nw + nnz > wcap)
			wcap *= 2;
		err = bss_grow_words(s, wcap);
		if (err)
			return err;
	}
	s->cls[s->n].off = s->nw;
	s->cls[s->n].len = nnz;
	for (size_t i = 0, left = nnz; left; i++) { /* up to the last non-zero word */
		if (b[i]) {
			s->word[s->nw].idx = i;
			s->word[s->nw++].val = b[i];
			left--;
		}
	}
	s->cls[s->n].hash = hh;
	s->slots[h] = s->n + 1;
	*id = s->n++;
	return 0;
}

/*
 * The terms in every non-empty class of s (mostly terms that do not constrain the field). An
 * empty class never takes part in a non-empty intersection, so it does not count. A word a
 * class does not store is 0 in it.
 */
void bss_all(const struct bsset *s, uint64_t *all)
{
	size_t left = s->w; /* words of all not yet 0 */

	for (size_t i = 0; i < s->w; i++)
		all[i] = ~0ull;
	for (size_t c = 0; c < s->n && left; c++) {
		uint32_t k = s->cls[c].off, end = k + s->cls[c].len;

		if (k == end)
			continue;
		for (size_t i = 0; i < s->w; i++) {
			uint64_t v = k < end && s->word[k].idx == i ? s->word[k++].val : 0;

			if (all[i] && !(all[i] &= v))
				left--;
		}
	}
}

/* body, with t each term of class c of s that is not in s->all. */
#define FOR_EACH_TERM(s, c, t, body)                                                        \
	for (uint32_t k_ = (s)->cls[c].off; k_ < (s)->cls[c].off + (s)->cls[c].len; k_++) { \
		uint32_t i_ = (s)->word[k_].idx;                                            \
		uint64_t m_ = (s)->word[k_].val & ~(s)->all[i_];                            \
                                                                                            \
		while (m_) {                                                                \
			size_t t = (size_t)i_ * 64 + __builtin_ctzll(m_);                   \
                                                                                            \
			m_ &= m_ - 1;                                                       \
			body;                                                               \
		}                                                                           \
	}

/*
 * Prepare enumerate(): which classes can meet a given set of terms. A term in every class
 * (typically one that does not constrain the field) meets them all; for the others keep the
 * list of classes holding them, so that only candidate classes are tested.
 */
int bss_index(struct bsset *s, size_t n_terms)
{
	size_t total = 0;
	uint32_t *fill;

	if (s->all)
		return 0; /* already indexed */
	s->all = malloc(s->w * sizeof(*s->all));
	s->inv_start = calloc(n_terms + 1, sizeof(*s->inv_start));
	if (!s->all || !s->inv_start)
		return -ENOMEM;
	bss_all(s, s->all);
	for (size_t c = 0; c < s->n; c++)
		FOR_EACH_TERM(s, c, t, s->inv_start[t + 1]++);
	for (size_t t = 0; t < n_terms; t++) {
		total += s->inv_start[t + 1];
		s->inv_start[t + 1] = total;
	}
	s->inv = malloc((total ? total : 1) * sizeof(*s->inv));
	fill = calloc(n_terms + 1, sizeof(*fill));
	if (!s->inv || !fill) {
		free(fill);
		return -ENOMEM;
	}
	for (size_t c = 0; c < s->n; c++)
		FOR_EACH_TERM(s, c, t, s->inv[s->inv_start[t] + fill[t]++] = c);
	free(fill);
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
	uint64_t *b = calloc(s->w ? s->w : 1, sizeof(*b)); /* all zero between classes */
	struct bsset cut;
	int err = 0;

	if (!b)
		return -ENOMEM;
	/* Cut into a new set that then takes s's place: its stored words are small enough for
	 * two copies (the whole bitsets were rewritten in place). */
	bss_init(&cut, s->w);
	for (size_t c = 0; !err && c < s->n; c++) {
		uint32_t k = s->cls[c].off, end = k + s->cls[c].len;

		/* the class's stored words up to the first that holds a term of stop, that one
		 * up to and including its lowest such term: written into b (not the whole bitset
		 * loaded and walked: most classes hold a word or two of dozens) */
		for (; k < end; k++) {
			uint64_t v = s->word[k].val, hit = v & stop[s->word[k].idx];

			if (hit) {
				uint64_t low = hit & -hit;

				b[s->word[k++].idx] = v & (low | (low - 1));
				break;
			}
			b[s->word[k].idx] = v;
		}
		err = bss_intern(&cut, b, &map[c]);
		while (k-- > s->cls[c].off)
			b[s->word[k].idx] = 0;
	}
	free(b);
	if (err) {
		bss_free(&cut);
		return err;
	}
	bss_free(s);
	*s = cut;
	return 0;
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
