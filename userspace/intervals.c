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
		size_t cap = s->cap ? s->cap * 2 : 1; /* most rules: one port, one prefix */
		struct ivl *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = lo <= hi ? (struct ivl){ lo, hi } : (struct ivl){ hi, lo };
	return 0;
}

static bool ivl_less(const struct ivl *x, const struct ivl *y)
{
	return x->lo < y->lo || (x->lo == y->lo && x->hi < y->hi);
}

static void ivl_insertion_sort(struct ivl *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct ivl x = v[i];
		size_t j = i;

		for (; j && ivl_less(&x, &v[j - 1]); j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

#define SORT_RUN 16 /* runs sorted by insertion before merging */

/*
 * Sorted by (lo, hi), stable: runs of SORT_RUN by insertion, then merged pairwise. Typed,
 * not qsort(): a rule's 200 ports were sorted three times by qsort's callbacks, a quarter of
 * `tlsfw check` at 4,096 such rules (performance.md).
 */
int ivl_sort(struct ivl *v, size_t n)
{
	struct ivl *tmp, *a = v, *b;

	for (size_t i = 0; i < n; i += SORT_RUN)
		ivl_insertion_sort(v + i, n - i < SORT_RUN ? n - i : SORT_RUN);
	if (n <= SORT_RUN)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	b = tmp;
	for (size_t width = SORT_RUN; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = mid + width < n ? mid + width : n, i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				b[k++] = ivl_less(&a[j], &a[i]) ? a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		a = a == v ? tmp : v;
		b = b == v ? tmp : v;
	}
	if (a != v)
		memcpy(v, a, n * sizeof(*v));
	free(tmp);
	return 0;
}

/*
 * An LSD radix sort on the keys' upper 32 bits, a byte a pass (a pass whose byte is the same in
 * every key is skipped): the 200 ports of a rule were sorted as 32-byte intervals of 128-bit
 * keys, twice, 7% of `tlsfw check` at 4,096 such rules (performance.md). sort_points() below
 * is the same idea for a few large lists: its 16-bit digits need a 256 KB table per pass,
 * which a list of 200 keys, sorted 8,000 times, must not pay.
 */
void port_keys_sort(uint64_t *k, uint64_t *tmp, size_t n)
{
	uint64_t *a = k, *b = tmp;
	unsigned int shift = 48;

	/* lists of single ports (lo == hi) are ordered by lo alone: two passes, not four */
	for (size_t i = 0; i < n; i++) {
		if (k[i] >> 48 != (k[i] >> 32 & 0xffff)) {
			shift = 32;
			break;
		}
	}
	for (; shift < 64 && n > 1; shift += 8) {
		size_t count[256] = { 0 }, at = 0;

		for (size_t i = 0; i < n; i++)
			count[a[i] >> shift & 255]++;
		if (count[a[0] >> shift & 255] == n)
			continue;
		for (unsigned int d = 0; d < 256; d++) {
			size_t c = count[d];

			count[d] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++)
			b[count[a[i] >> shift & 255]++] = a[i];
		a = b;
		b = b == tmp ? k : tmp;
	}
	if (a != k)
		memcpy(k, a, n * sizeof(*k));
}

int ivls_add_port_keys(struct ivls *out, const uint64_t *k, size_t n)
{
	uint32_t lo = 0, hi = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t l = k[i] >> 48, h = k[i] >> 32 & 0xffff;

		if (i && l <= hi + 1) { /* overlapping or adjacent: one interval */
			hi = h > hi ? h : hi;
			continue;
		}
		if (i && ivls_add(out, lo, hi))
			return -ENOMEM;
		lo = l;
		hi = h;
	}
	return n ? ivls_add(out, lo, hi) : 0;
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
	size_t out = 0, i = 1;

	if (s->n < 2)
		return;
	while (i < s->n && !ivl_less(&s->v[i], &s->v[i - 1]))
		i++;
	if (i < s->n && ivl_sort(s->v, s->n))
		qsort(s->v, s->n, sizeof(*s->v), ivl_cmp); /* no memory for the merge */
	for (i = 1; i < s->n; i++) {
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

/* The first of the n sorted keys >= k (n when none). */
static size_t key_ge(const ivl_key *keys, size_t n, ivl_key k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (keys[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first of the n sorted keys > k. */
static size_t key_gt(const ivl_key *keys, size_t n, ivl_key k)
{
	size_t i = key_ge(keys, n, k);

	return i < n && keys[i] == k ? i + 1 : i;
}

struct point {
	ivl_key v;
	uint32_t id;
};

/*
 * Sort points by value, keeping the order of equal ones (a stable LSD radix sort over 16-bit
 * digits, on the digits that differ at all: two passes for ports or IPv4 addresses). A
 * million ports sort in milliseconds, where qsort() took a quarter of a second.
 */
static int sort_points(struct point *p, size_t n)
{
	struct point *tmp = malloc((n + 1) * sizeof(*tmp));
	uint32_t *count = malloc(65537 * sizeof(*count));
	ivl_key diff = 0;

	if (!tmp || !count) {
		free(tmp);
		free(count);
		return -ENOMEM;
	}
	for (size_t i = 1; i < n; i++)
		diff |= p[i].v ^ p[0].v;
	for (unsigned int shift = 0; shift < 128 && diff >> shift; shift += 16) {
		memset(count, 0, 65537 * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(uint16_t)(p[i].v >> shift) + 1]++;
		for (size_t d = 1; d <= 65536; d++)
			count[d] += count[d - 1];
		for (size_t i = 0; i < n; i++)
			tmp[count[(uint16_t)(p[i].v >> shift)]++] = p[i];
		memcpy(p, tmp, n * sizeof(*p));
	}
	free(tmp);
	free(count);
	return 0;
}

#define DENSE_SLOTS (IVL_PORT_NONE + 2)
#define DENSE_MIN 4096 /* fewer single values: the tables of the dense form cost more */

/*
 * The m single values among src's intervals, all ports, as a counting sort straight into the
 * index (no copy of the values to sort: at 4,096 rules of 200 ports, 800,000 of them, the
 * copies' fresh pages cost more than the sort). Equal values keep the order of src.
 */
static int build_dense(struct ivl_index *x, const struct ivl_src *src, size_t n_src, size_t m)
{
	uint32_t *next = malloc(DENSE_SLOTS * sizeof(*next));
	uint32_t *d = calloc(DENSE_SLOTS, sizeof(*d));

	if (!next || !d) {
		free(next);
		free(d);
		return -ENOMEM;
	}
	x->pdense = d;
	for (size_t s = 0; s < n_src; s++)
		for (size_t j = 0; j < src[s].n; j++)
			if (src[s].v[j].lo == src[s].v[j].hi)
				d[(uint32_t)src[s].v[j].lo + 1]++;
	for (size_t v = 1; v < DENSE_SLOTS; v++)
		d[v] += d[v - 1];
	memcpy(next, d, DENSE_SLOTS * sizeof(*next));
	for (size_t s = 0; s < n_src; s++)
		for (size_t j = 0; j < src[s].n; j++)
			if (src[s].v[j].lo == src[s].v[j].hi)
				x->pid[next[(uint32_t)src[s].v[j].lo]++] = src[s].id;
	for (size_t v = 0; v + 1 < DENSE_SLOTS; v++) {
		if (d[v] == d[v + 1])
			continue;
		x->pstart[x->n_pkeys] = d[v];
		for (uint32_t i = d[v]; i < d[v + 1]; i++)
			x->pvalue[i] = x->n_pkeys;
		x->pkeys[x->n_pkeys++] = v;
	}
	x->pstart[x->n_pkeys] = m;
	x->n_pt = m;
	free(next);
	return 0;
}

/* The single values among src's intervals, in their order. */
static int build_points(struct ivl_index *x, const struct ivl_src *src, size_t n_src)
{
	struct point *p = NULL;
	size_t m = 0;
	bool ports = true;
	int err = -ENOMEM;

	for (size_t s = 0; s < n_src; s++) {
		for (size_t j = 0; j < src[s].n; j++) {
			const struct ivl *i = &src[s].v[j];

			m += i->lo == i->hi;
			ports &= i->lo != i->hi || i->lo <= IVL_PORT_NONE;
		}
	}
	x->pkeys = malloc((m + 1) * sizeof(*x->pkeys));
	x->pstart = malloc((m + 2) * sizeof(*x->pstart));
	x->pid = malloc((m + 1) * sizeof(*x->pid));
	x->pvalue = malloc((m + 1) * sizeof(*x->pvalue));
	if (!x->pkeys || !x->pstart || !x->pid || !x->pvalue)
		goto out;
	if (ports && m >= DENSE_MIN)
		return build_dense(x, src, n_src, m);
	p = malloc((m + 1) * sizeof(*p));
	if (!p)
		goto out;
	m = 0;
	for (size_t s = 0; s < n_src; s++)
		for (size_t j = 0; j < src[s].n; j++)
			if (src[s].v[j].lo == src[s].v[j].hi)
				p[m++] = (struct point){ src[s].v[j].lo, src[s].id };
	err = sort_points(p, m);
	if (err)
		goto out;
	for (size_t i = 0; i < m; i++) {
		if (!x->n_pkeys || x->pkeys[x->n_pkeys - 1] != p[i].v) {
			x->pstart[x->n_pkeys] = i;
			x->pkeys[x->n_pkeys++] = p[i].v;
		}
		x->pid[i] = p[i].id;
		x->pvalue[i] = x->n_pkeys - 1;
	}
	x->pstart[x->n_pkeys] = m;
	x->n_pt = m;
out:
	free(p);
	return err;
}

#define RPORT_WORDS (DENSE_SLOTS / 64 + 1)
#define RPORT_MIN 64	/* fewer ranges: the tree's walk is short enough */
#define RPORT_SPAN 4096 /* wider look-ups go to the tree (the bits would take as long) */
/* the holders of each port are listed while that takes at most this many entries a range
 * (beyond 65,536): short ranges */
#define RPORT_STAB 8

static void bits_set(uint64_t *b, size_t lo, size_t hi)
{
	for (; lo <= hi && lo % 64; lo++)
		b[lo / 64] |= 1ull << lo % 64;
	for (; lo + 63 <= hi; lo += 64)
		b[lo / 64] = ~0ull;
	for (; lo <= hi; lo++)
		b[lo / 64] |= 1ull << lo % 64;
}

static bool bits_any(const uint64_t *b, size_t lo, size_t hi)
{
	uint64_t first = ~0ull << lo % 64, last = ~0ull >> (63 - hi % 64);

	if (lo / 64 == hi / 64)
		return b[lo / 64] & first & last;
	if (b[lo / 64] & first || b[hi / 64] & last)
		return true;
	for (size_t w = lo / 64 + 1; w < hi / 64; w++)
		if (b[w])
			return true;
	return false;
}

/* Among the ports some range holds, the rank of port v (one of them). */
static size_t rport_rank(const struct ivl_index *x, size_t v)
{
	return x->rrank[v / 64] + __builtin_popcountll(x->rports[v / 64] & ~(~0ull << v % 64));
}

/*
 * For short ranges, each port's holders as a list (positions, ascending), so that a port a
 * range holds is looked up without the tree either. -ENOMEM, or 0 (also when the ranges are
 * too long for it: the tree then answers).
 */
static int build_rstab(struct ivl_index *x)
{
	size_t total = 0, held = 0;
	uint32_t *at;

	for (size_t i = 0; i < x->n; i++)
		total += x->keys[x->e[i].hi] - x->keys[x->e[i].lo] + 1;
	if (total > RPORT_STAB * x->n + IVL_PORT_NONE)
		return 0;
	x->rrank = malloc(RPORT_WORDS * sizeof(*x->rrank));
	if (!x->rrank)
		return -ENOMEM;
	for (size_t w = 0; w < RPORT_WORDS; w++) {
		x->rrank[w] = held;
		held += __builtin_popcountll(x->rports[w]);
	}
	x->rstart = calloc(held + 1, sizeof(*x->rstart));
	x->rstab = malloc((total + 1) * sizeof(*x->rstab));
	at = malloc((held + 1) * sizeof(*at));
	if (!x->rstart || !x->rstab || !at) {
		free(at);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->n; i++)
		for (size_t v = x->keys[x->e[i].lo]; v <= x->keys[x->e[i].hi]; v++)
			x->rstart[rport_rank(x, v) + 1]++;
	for (size_t r = 0; r < held; r++)
		x->rstart[r + 1] += x->rstart[r];
	memcpy(at, x->rstart, held * sizeof(*at));
	for (size_t i = 0; i < x->n; i++) /* by position: each list ascends */
		for (size_t v = x->keys[x->e[i].lo]; v <= x->keys[x->e[i].hi]; v++)
			x->rstab[at[rport_rank(x, v)]++] = i;
	free(at);
	return 0;
}

/*
 * When every range is of ports, the ports some range holds, as bits: most look-ups of a port
 * meet no range (200 random ports a rule make short ranges where two are adjacent), and the
 * bits say so in a load instead of the tree's walk from the root (at 4,096 rules of 200 ports
 * that walk was 93 of the shadowing analysis's 2,190 million instructions, with cache misses).
 */
static int build_rports(struct ivl_index *x)
{
	size_t done = 0; /* ports below it are set, or lie below every range to come */

	if (x->n < RPORT_MIN || x->keys[x->n_keys - 1] > IVL_PORT_NONE)
		return 0;
	x->rports = calloc(RPORT_WORDS, sizeof(*x->rports));
	if (!x->rports)
		return -ENOMEM;
	for (size_t i = 0; i < x->n; i++) { /* by lo */
		size_t lo = x->keys[x->e[i].lo], hi = x->keys[x->e[i].hi];

		if (hi < done)
			continue;
		bits_set(x->rports, lo > done ? lo : done, hi);
		done = hi + 1;
	}
	return build_rstab(x);
}

/*
 * The ranges among src's intervals. Both ends of every range are sorted together (the radix sort
 * of the points, tagged 2 j and 2 j + 1 for range j), which gives the distinct ends and each
 * end's rank in one walk; the entries are then sorted by (lo rank, id) the same way. Before,
 * qsort() of the ends, two binary searches per range and qsort() of the entries were a
 * quarter of `tlsfw check` at 4,096 rules of 50 prefixes (performance.md).
 */
static int build_ranges(struct ivl_index *x, const struct ivl_src *src, size_t n_src)
{
	size_t k = 0, m = 0;
	struct ivl_entry *e;
	struct point *p;
	int err = -ENOMEM;

	for (size_t s = 0; s < n_src; s++)
		for (size_t j = 0; j < src[s].n; j++)
			m += src[s].v[j].lo != src[s].v[j].hi;
	x->keys = malloc((2 * m + 1) * sizeof(*x->keys));
	x->e = malloc((m + 1) * sizeof(*x->e));
	for (x->leaves = 1; x->leaves < m; x->leaves *= 2)
		;
	x->max = calloc(2 * x->leaves, sizeof(*x->max));
	p = malloc((2 * m + 1) * sizeof(*p));
	e = malloc((m + 1) * sizeof(*e));
	if (!x->keys || !x->e || !x->max || !p || !e)
		goto out;
	for (size_t s = 0; s < n_src; s++) {
		for (size_t j = 0; j < src[s].n; j++) {
			const struct ivl *i = &src[s].v[j];

			if (i->lo == i->hi)
				continue;
			e[k / 2].id = src[s].id;
			p[k] = (struct point){ i->lo, k };
			p[k + 1] = (struct point){ i->hi, k + 1 };
			k += 2;
		}
	}
	err = sort_points(p, k);
	if (err)
		goto out;
	for (size_t i = 0; i < k; i++) {
		uint32_t j = p[i].id / 2;

		if (!x->n_keys || x->keys[x->n_keys - 1] != p[i].v)
			x->keys[x->n_keys++] = p[i].v;
		if (p[i].id & 1)
			e[j].hi = x->n_keys - 1;
		else
			e[j].lo = x->n_keys - 1;
	}
	for (size_t j = 0; j < m; j++)
		p[j] = (struct point){ (ivl_key)e[j].lo << 32 | e[j].id, j };
	err = sort_points(p, m);
	if (err)
		goto out;
	for (size_t j = 0; j < m; j++)
		x->e[j] = e[p[j].id];
	x->n = m;
	for (size_t i = 0; i < x->n; i++)
		x->max[x->leaves + i] = x->e[i].hi + 1;
	for (size_t i = x->leaves; i-- > 1;)
		x->max[i] = x->max[2 * i] > x->max[2 * i + 1] ? x->max[2 * i] : x->max[2 * i + 1];
	err = build_rports(x);
out:
	free(p);
	free(e);
	return err;
}

int ivl_index_build(struct ivl_index *x, const struct ivl_src *src, size_t n_src)
{
	int err;

	memset(x, 0, sizeof(*x));
	err = build_points(x, src, n_src);
	if (!err)
		err = build_ranges(x, src, n_src);
	if (err)
		ivl_index_free(x);
	return err;
}

void ivl_index_free(struct ivl_index *x)
{
	if (!x)
		return;
	free(x->keys);
	free(x->e);
	free(x->max);
	free(x->pkeys);
	free(x->pstart);
	free(x->pid);
	free(x->pvalue);
	free(x->pdense);
	free(x->rports);
	free(x->rrank);
	free(x->rstart);
	free(x->rstab);
	memset(x, 0, sizeof(*x));
}

/* The ranges with lo <= lo_max and hi >= hi_min, appended to out[n]; the new n, or cap + 1. */
static size_t query_ranges(const struct ivl_index *x, ivl_key lo_max, ivl_key hi_min, uint32_t *out,
			   size_t n, size_t cap)
{
	/* ranks: lo <= lo_max is lo rank < end; hi >= hi_min is max > min_rank */
	size_t end = key_gt(x->keys, x->n_keys, lo_max), lo = 0, hi = x->n;
	size_t min_rank = key_ge(x->keys, x->n_keys, hi_min);
	struct {
		size_t node, l, r;
	} st[64];
	int sp = 0;

	while (lo < hi) { /* entries [0, lo) have lo rank < end */
		size_t mid = lo + (hi - lo) / 2;

		if (x->e[mid].lo < end)
			lo = mid + 1;
		else
			hi = mid;
	}
	end = lo;
	if (!end || min_rank >= x->n_keys)
		return n;
	st[sp++] = (typeof(st[0])){ 1, 0, x->leaves };
	while (sp) {
		typeof(st[0]) c = st[--sp];

		if (c.l >= end || x->max[c.node] <= min_rank)
			continue;
		if (c.r - c.l == 1) {
			if (n == cap)
				return cap + 1;
			out[n++] = c.l;
			continue;
		}
		/* the right half first on the stack, so that the left comes out first */
		st[sp++] = (typeof(st[0])){ 2 * c.node + 1, (c.l + c.r) / 2, c.r };
		st[sp++] = (typeof(st[0])){ 2 * c.node, c.l, (c.l + c.r) / 2 };
	}
	return n;
}

void ivl_index_points(const struct ivl_index *x, ivl_key lo, ivl_key hi, size_t *a, size_t *b)
{
	*a = *b = 0;
	if (lo > hi || !x->n_pkeys)
		return;
	if (x->pdense) {
		*a = x->pdense[lo < DENSE_SLOTS ? (size_t)lo : DENSE_SLOTS - 1];
		*b = x->pdense[hi < IVL_PORT_NONE ? (size_t)hi + 1 : DENSE_SLOTS - 1];
	} else if (lo == hi) { /* one value: one search */
		size_t i = key_ge(x->pkeys, x->n_pkeys, lo);

		*a = x->pstart[i];
		*b = i < x->n_pkeys && x->pkeys[i] == lo ? x->pstart[i + 1] : *a;
	} else {
		*a = x->pstart[key_ge(x->pkeys, x->n_pkeys, lo)];
		*b = x->pstart[key_gt(x->pkeys, x->n_pkeys, hi)];
	}
}

size_t ivl_index_ranges(const struct ivl_index *x, ivl_key lo_max, ivl_key hi_min, uint32_t *out,
			size_t n, size_t cap)
{
	if (!x->n)
		return n;
	if (x->rports) {
		/* a match holds a value between the two bounds (lo_max < hi_min: a "contains"
		 * look-up of [lo_max, hi_min]) */
		ivl_key a = lo_max < hi_min ? lo_max : hi_min, b = lo_max ^ hi_min ^ a;

		if (a > IVL_PORT_NONE)
			return n;
		if (b - a < RPORT_SPAN &&
		    !bits_any(x->rports, a, b < IVL_PORT_NONE ? b : IVL_PORT_NONE))
			return n;
		if (a == b && x->rstab) { /* one port a range holds: its list */
			size_t r = rport_rank(x, a);

			for (size_t j = x->rstart[r]; j < x->rstart[r + 1]; j++) {
				if (n == cap)
					return cap + 1;
				out[n++] = x->rstab[j];
			}
			return n;
		}
	}
	return query_ranges(x, lo_max, hi_min, out, n, cap);
}

size_t ivl_index_query(const struct ivl_index *x, ivl_key lo_max, ivl_key hi_min, uint32_t *out,
		       size_t cap)
{
	size_t n = 0, a, b;

	/* single values v with hi_min <= v <= lo_max: one run of the sorted values */
	ivl_index_points(x, hi_min, lo_max, &a, &b);
	for (size_t i = a; i < b; i++) {
		if (n == cap)
			return cap + 1;
		out[n++] = x->n + i;
	}
	return ivl_index_ranges(x, lo_max, hi_min, out, n, cap);
}
