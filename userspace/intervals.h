/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sets of values as sorted intervals, the one place where port ranges, protocol bitmaps and
 * prefix sets are merged, compared and looked up. The checker's shadowing analysis, the
 * lowering of the rule list and both backends' tables (RFC classes, nftables set elements)
 * are built from these.
 *
 * A value is a 128-bit key: a port (0..65535, and 65536 for "the packet has no ports", as
 * the data plane says), or an address as 16 big-endian bytes (IPv4 v4-mapped), so that a
 * prefix is the interval [network, broadcast] and a prefix set is the union of intervals.
 */
#ifndef TLSFW_INTERVALS_H
#define TLSFW_INTERVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 ivl_key;

#define IVL_PORT_NONE 65536u /* "no ports", one past the last port */

struct ivl {
	ivl_key lo, hi; /* inclusive */
};

/* A set of values. After ivls_normalize() the intervals are sorted, disjoint and never
 * adjacent (merged), which every comparison below expects. */
struct ivls {
	struct ivl *v;
	size_t n, cap;
};

/* Append [lo, hi] (any order, overlaps allowed until the next normalize). 0 or -ENOMEM. */
int ivls_add(struct ivls *s, ivl_key lo, ivl_key hi);
void ivls_normalize(struct ivls *s);
/* v sorted by (lo, hi), equal ones in their order. 0, or -ENOMEM with v not sorted. */
int ivl_sort(struct ivl *v, size_t n);
void ivls_free(struct ivls *s);
/* A port range [lo, hi] as a sort key, tag in the low half: PORT_KEY(lo, hi) | tag. */
#define PORT_KEY(lo, hi) ((uint64_t)((uint32_t)(lo) << 16 | (uint16_t)(hi)) << 32)
/* k sorted by range (the keys' upper halves), equal ranges in their order; tmp holds n. */
void port_keys_sort(uint64_t *k, uint64_t *tmp, size_t n);
/* Appends the union of the n ranges of k (sorted by port_keys_sort) to out, merged: out
 * stays normalized when it was empty. 0 or -ENOMEM. */
int ivls_add_port_keys(struct ivls *out, const uint64_t *k, size_t n);
/* dst = a copy of src. 0 or -ENOMEM. */
int ivls_copy(struct ivls *dst, const struct ivls *src);
/* The interval of s holding value x, or NULL. */
const struct ivl *ivls_find(const struct ivls *s, ivl_key x);
/* Is [lo, hi] inside one interval of s (hence inside s, since s is merged)? */
bool ivls_contains(const struct ivls *s, ivl_key lo, ivl_key hi);
/* a inside b (both normalized). */
bool ivls_subset(const struct ivls *a, const struct ivls *b);
/* Do a and b share a value (both normalized)? */
bool ivls_meet(const struct ivls *a, const struct ivls *b);
bool ivls_equal(const struct ivls *a, const struct ivls *b);

/* ---- protocols -------------------------------------------------------------------------- */

struct protoset { /* a bitmap over the 256 IP protocol numbers */
	uint64_t w[4];
};

static inline bool proto_has(const struct protoset *s, unsigned int p)
{
	return s->w[(p & 255) / 64] >> (p % 64) & 1;
}

static inline void proto_add(struct protoset *s, unsigned int p)
{
	s->w[(p & 255) / 64] |= 1ull << (p % 64);
}

static inline void proto_del(struct protoset *s, unsigned int p)
{
	s->w[(p & 255) / 64] &= ~(1ull << (p % 64));
}

bool protoset_empty(const struct protoset *s);
/* inline, without branches: the shadowing analysis asks millions of times */
static inline bool protoset_subset(const struct protoset *a, const struct protoset *b)
{
	return !((a->w[0] & ~b->w[0]) | (a->w[1] & ~b->w[1]) | (a->w[2] & ~b->w[2]) |
		 (a->w[3] & ~b->w[3]));
}

static inline bool protoset_meet(const struct protoset *a, const struct protoset *b)
{
	return (a->w[0] & b->w[0]) | (a->w[1] & b->w[1]) | (a->w[2] & b->w[2]) |
	       (a->w[3] & b->w[3]);
}

unsigned int protoset_count(const struct protoset *s);
void protoset_union(struct protoset *dst, const struct protoset *src);
void protoset_all(struct protoset *s);
/* The protocols that carry ports: tcp and udp. */
bool protoset_has_ported(const struct protoset *s);
bool protoset_only_ported(const struct protoset *s);

/* ---- prefixes --------------------------------------------------------------------------- */

/* 16 bytes (big-endian) <-> key */
ivl_key addr_key(const uint8_t addr[16]);
void key_addr(ivl_key k, uint8_t addr[16]);
/* The interval of addr/plen (plen in IPv6 bits; IPv4 v4-mapped, 96 + its length). */
struct ivl prefix_ivl(const uint8_t addr[16], unsigned int plen);
/* addr with the bits past plen cleared, into out. */
void prefix_mask(uint8_t out[16], const uint8_t addr[16], unsigned int plen);
/* The longest prefix that starts at lo and ends at or before hi (plen in IPv6 bits): how an
 * interval is written as prefixes, largest first. */
unsigned int prefix_first(ivl_key lo, ivl_key hi);
/* The v4-mapped space ::ffff:0:0/96 (every IPv4 address), and all of IPv6. */
extern const struct ivl ivl_v4_all, ivl_v6_all;

/* ---- a static index of many intervals ------------------------------------------------------ */

/*
 * Intervals tagged with an id (the checker's views), built once, queried many times: "every
 * interval with lo <= x and hi >= y" answers both "which intervals contain [a, b]" (x = a,
 * y = b) and "which overlap [a, b]" (x = b, y = a). Single values (a port, a host address:
 * most of what policies list) are kept apart, sorted by value, so that looking one up is a
 * binary search over the distinct values and a run of ids. Ranges have their endpoints
 * replaced by their rank among all endpoints (12 bytes an entry whatever the key), are
 * sorted by lo, and a tree of the largest hi below each node finds the matches in
 * O((m + 1) log n).
 */
struct ivl_src { /* n intervals, every one tagged id */
	const struct ivl *v;
	size_t n;
	uint32_t id;
};

struct ivl_index {
	/* ranges: positions [0, n) */
	ivl_key *keys; /* distinct endpoints, sorted */
	size_t n_keys;
	struct ivl_entry {
		uint32_t lo, hi, id; /* ranks into keys */
	} * e;
	size_t n, leaves;
	uint32_t *max; /* 2 * leaves: max hi rank (+1, 0 = empty) under each node */
	/* single values: positions [n, n + n_pt) */
	ivl_key *pkeys; /* distinct values, sorted */
	size_t n_pkeys;
	uint32_t *pstart; /* n_pkeys + 1: where each value's ids start in pid */
	uint32_t *pid;	  /* ids, by value, then id */
	uint32_t *pvalue; /* per id of pid: index of its value in pkeys */
	size_t n_pt;
	/* many ports (every single value at most IVL_PORT_NONE): pdense[v] is how many of
	 * them are below v, v in [0, IVL_PORT_NONE + 1], so a look-up is two loads */
	uint32_t *pdense;
	/* every range of ports: bit v set when a range holds port v (see build_rports) */
	uint64_t *rports;
	/* and when they are short, the ranges holding each such port: rrank[w], how many of
	 * them lie below word w of rports; the positions of the r-th one's holders are
	 * rstab[rstart[r] .. rstart[r + 1]) */
	uint32_t *rrank, *rstart, *rstab;
};

/* The intervals of src[0, n_src), in order of id (equal values keep it); read in place, not
 * copied (at 4,096 rules of 200 ports a copy was 39 MB of fresh pages). 0 or -ENOMEM. */
int ivl_index_build(struct ivl_index *x, const struct ivl_src *src, size_t n_src);
void ivl_index_free(struct ivl_index *x);
/*
 * The entries with lo <= lo_max and hi >= hi_min, as positions (for the two functions below).
 * Returns their number, or cap + 1 when there are more than cap (out then holds cap of
 * them): a caller bounds its work by cap. Among equal single values, lower ids come first.
 */
size_t ivl_index_query(const struct ivl_index *x, ivl_key lo_max, ivl_key hi_min, uint32_t *out,
		       size_t cap);
/* Its two halves. The single values in [lo, hi] are at positions x->n + [*a, *b): value by
 * value, each value's ids ascending (x->pid[i] is the id of position x->n + i). */
void ivl_index_points(const struct ivl_index *x, ivl_key lo, ivl_key hi, size_t *a, size_t *b);
/* The ranges of the query appended to out[n, ...): the new n, or cap + 1. */
size_t ivl_index_ranges(const struct ivl_index *x, ivl_key lo_max, ivl_key hi_min, uint32_t *out,
			size_t n, size_t cap);

/* The id and the interval of the entry at position pos. */
static inline uint32_t ivl_index_id(const struct ivl_index *x, uint32_t pos)
{
	return pos < x->n ? x->e[pos].id : x->pid[pos - x->n];
}

static inline struct ivl ivl_index_ivl(const struct ivl_index *x, uint32_t pos)
{
	ivl_key v;

	if (pos < x->n)
		return (struct ivl){ x->keys[x->e[pos].lo], x->keys[x->e[pos].hi] };
	v = x->pkeys[x->pvalue[pos - x->n]];
	return (struct ivl){ v, v };
}

#endif
