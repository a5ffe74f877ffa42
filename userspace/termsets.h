/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sets of terms as bitsets, interned into dense class ids: the classes of the BPF lowering
 * (lower_bpf.c). A field maps each value to the set of terms admitting it; equal sets share
 * one id, given in order of first appearance so that the output is deterministic.
 */
#ifndef TLSFW_TERMSETS_H
#define TLSFW_TERMSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Interned sets of terms: bitset -> dense class id, in order of first appearance. A class is
 * stored as its non-zero 64-bit words only (index and value, ascending): most classes hold a
 * few terms, and a 4,096-rule policy's classes as whole bitsets of 65 words were 6.45 MB of
 * the compiler's 17.4 MB heap (performance.md, "The compiler's heap"). Callers pass and get
 * whole bitsets of w words.
 */
struct bsset {
	size_t w; /* 64-bit words per bitset */
	struct bss_class {
		uint32_t off, len; /* its words: word[off] to word[off + len - 1] */
		uint64_t hash;	   /* a rehash reads no words */
	} * cls;
	size_t n, cap;
	struct bss_word { /* the non-zero words of every class, ascending within a class */
		uint64_t val;
		uint32_t idx;
	} * word;
	size_t nw, wcap;
	uint32_t *slots; /* open addressing, id + 1, 0 = empty */
	size_t hcap;	 /* power of two */
	/* for enumerate(): terms present in every class, and term -> classes for the rest */
	uint64_t *all;
	uint32_t *inv_start, *inv;
};

/* Scratch for enumerate(): a stamp per class avoids clearing a "seen" array each time. */
struct enum_buf {
	uint32_t *stamp;
	uint32_t now;
	uint32_t *out;
	size_t n;
};

static inline bool bs_meets(const uint64_t *a, const uint64_t *b, size_t w)
{
	for (size_t i = 0; i < w; i++)
		if (a[i] & b[i])
			return true;
	return false;
}

static inline void bs_set(uint64_t *b, size_t t)
{
	b[t / 64] |= 1ull << (t % 64);
}

static inline size_t bs_first(const uint64_t *b, size_t w)
{
	for (size_t i = 0; i < w; i++)
		if (b[i])
			return i * 64 + __builtin_ctzll(b[i]);
	return SIZE_MAX;
}

static inline bool bss_empty(const struct bsset *s, uint32_t id)
{
	return !s->cls[id].len;
}

/* b = class id of s, as a whole bitset. */
void bss_load(const struct bsset *s, uint32_t id, uint64_t *b);
/* dst = a & class id of s; returns whether the result is non-empty. */
bool bss_and(const struct bsset *s, uint32_t id, const uint64_t *a, uint64_t *dst);

void bss_init(struct bsset *s, size_t w);
void bss_free(struct bsset *s);
/* The id of b in s, added when new. 0 or -ENOMEM. */
int bss_intern(struct bsset *s, const uint64_t *b, uint32_t *id);
/* The terms in every non-empty class of s. */
void bss_all(const struct bsset *s, uint64_t *all);
/* Prepare enumerate() over s (once; later calls do nothing). 0 or -ENOMEM. */
int bss_index(struct bsset *s, size_t n_terms);
/* The classes of s that share a term with set, ascending, into e->out. */
void enumerate(const struct bsset *s, const uint64_t *set, struct enum_buf *e);
int enum_buf_init(struct enum_buf *e, size_t n);
void enum_buf_free(struct enum_buf *e);
/* Cut every class of s after its first term in stop, re-intern, map[old id] = new id. */
int bss_cut(struct bsset *s, const uint64_t *stop, uint32_t *map);
/* Room for n classes in s, so that interning them copies and rehashes nothing. */
int bss_reserve(struct bsset *s, size_t n);

#endif
