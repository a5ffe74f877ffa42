// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3: checked policy -> plan, by Recursive Flow Classification (see the "Classification"
 * section of Documentation/architecture.md).
 *
 * Everything works on terms (a rule is the OR of its terms, terms are consecutive per rule)
 * and on sets of terms held as bitsets. Each field maps values to the set of terms whose
 * constraint admits the value; equal sets share one class id. The combination tables keep
 * only non-empty intersections, so the data plane's "no entry" is the default verdict, and
 * equal intersections share one output class, which keeps the next phase small.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* Interned sets of terms: bitset -> dense class id, in order of first appearance. */
struct bsset {
	size_t w;	/* 64-bit words per bitset */
	uint64_t *bits; /* n * w words */
	size_t n, cap;
	uint32_t *slots; /* open addressing, id + 1, 0 = empty */
	size_t hcap;	 /* power of two */
	/* for enumerate(): terms present in every class, and term -> classes for the rest */
	uint64_t *all;
	uint32_t *inv_start, *inv;
};

static uint64_t bs_hash(const uint64_t *b, size_t w)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < w; i++) {
		h ^= b[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

static bool bs_empty(const uint64_t *b, size_t w)
{
	for (size_t i = 0; i < w; i++)
		if (b[i])
			return false;
	return true;
}

/* dst = a & b; returns whether the result is non-empty. */
static bool bs_and(uint64_t *dst, const uint64_t *a, const uint64_t *b, size_t w)
{
	uint64_t any = 0;

	for (size_t i = 0; i < w; i++) {
		dst[i] = a[i] & b[i];
		any |= dst[i];
	}
	return any != 0;
}

static bool bs_meets(const uint64_t *a, const uint64_t *b, size_t w)
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

static size_t bs_first(const uint64_t *b, size_t w)
{
	for (size_t i = 0; i < w; i++)
		if (b[i])
			return i * 64 + __builtin_ctzll(b[i]);
	return SIZE_MAX;
}

static void bss_init(struct bsset *s, size_t w)
{
	memset(s, 0, sizeof(*s));
	s->w = w;
}

static void bss_free(struct bsset *s)
{
	free(s->bits);
	free(s->slots);
	free(s->all);
	free(s->inv_start);
	free(s->inv);
	memset(s, 0, sizeof(*s));
}

static inline const uint64_t *bss_get(const struct bsset *s, uint32_t id)
{
	return s->bits + (size_t)id * s->w;
}

static int bss_grow_hash(struct bsset *s)
{
	size_t hcap = s->hcap ? s->hcap * 2 : 64;
	uint32_t *slots = calloc(hcap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t id = 0; id < s->n; id++) {
		size_t h = bs_hash(bss_get(s, id), s->w) & (hcap - 1);

		while (slots[h])
			h = (h + 1) & (hcap - 1);
		slots[h] = id + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->hcap = hcap;
	return 0;
}

static int bss_intern(struct bsset *s, const uint64_t *b, uint32_t *id)
{
	size_t h, w = s->w;
	int err;

	if ((s->n + 1) * 2 > s->hcap) {
		err = bss_grow_hash(s);
		if (err)
			return err;
	}
	h = bs_hash(b, w) & (s->hcap - 1);
	while (s->slots[h]) {
		uint32_t cand = s->slots[h] - 1;

		if (!memcmp(bss_get(s, cand), b, w * sizeof(*b))) {
			*id = cand;
			return 0;
		}
		h = (h + 1) & (s->hcap - 1);
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		uint64_t *bits = realloc(s->bits, cap * w * sizeof(*bits));

		if (!bits)
			return -ENOMEM;
		s->bits = bits;
		s->cap = cap;
	}
	memcpy(s->bits + s->n * w, b, w * sizeof(*b));
	s->slots[h] = s->n + 1;
	*id = s->n++;
	return 0;
}

/*
 * The terms in every non-empty class of s (mostly terms that do not constrain the field). An
 * empty class never takes part in a non-empty intersection, so it does not count.
 */
static void bss_all(const struct bsset *s, uint64_t *all)
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
static int bss_index(struct bsset *s, size_t n_terms)
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

/* Scratch for enumerate(): a stamp per class avoids clearing a "seen" array each time. */
struct enum_buf {
	uint32_t *stamp;
	uint32_t now;
	uint32_t *out;
	size_t n;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The classes of s that share a term with set, ascending, into e->out. */
static void enumerate(const struct bsset *s, const uint64_t *set, struct enum_buf *e)
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
	qsort(e->out, e->n, sizeof(*e->out), cmp_u32);
}

static int enum_buf_init(struct enum_buf *e, size_t n)
{
	e->stamp = calloc(n ? n : 1, sizeof(*e->stamp));
	e->out = malloc((n ? n : 1) * sizeof(*e->out));
	e->now = 0;
	e->n = 0;
	if (!e->stamp || !e->out)
		return -ENOMEM;
	return 0;
}

static void enum_buf_free(struct enum_buf *e)
{
	free(e->stamp);
	free(e->out);
}

/* A distinct prefix named by some rule, and the rules naming it (ascending, no repeats). */
struct pfx {
	uint8_t addr[16];
	uint8_t plen;
	uint8_t family; /* POL_FAM_V4 or POL_FAM_V6 */
	uint32_t *rules;
	size_t n_rules, cap_rules;
};

struct pfxset {
	struct pfx *v;
	size_t n, cap;
	uint32_t *slots; /* index + 1 */
	size_t hcap;
	bool plens[129]; /* lengths in use, to walk only real ancestors */
};

struct lower {
	const struct policy *p;
	struct diag *d;
	struct plan *pl;
	size_t n_rules; /* rules taken into account: a prefix of the policy */
	size_t n_terms;
	size_t w;
	uint32_t *rule_first, *rule_nterms; /* terms of each rule */
	struct bsset proto, sport, dport, src, dst, ctx, a, b;
	uint64_t *tmp, *tmp2, *tmp3;
	uint8_t *src_fam, *dst_fam; /* per src/dst class: families of its entries (bit 0 v4) */
	const char *overflow;	    /* which table went over its map, for the message */
};

static const uint8_t v4_catchall[16] = { [10] = 0xff, [11] = 0xff };

static void mask_addr(uint8_t *out, const uint8_t *in, unsigned int plen)
{
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = plen > i * 8 ? plen - i * 8 : 0;

		out[i] = bits >= 8 ? in[i] : bits ? in[i] & (uint8_t)(0xff << (8 - bits)) : 0;
	}
}

static uint64_t pfx_hash(const uint8_t *addr, uint8_t plen)
{
	uint64_t h = plen * 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 16; i++) {
		h ^= addr[i];
		h *= 0x100000001b3ull;
	}
	return h ^ h >> 29;
}

static struct pfx *pfx_find(const struct pfxset *s, const uint8_t *addr, uint8_t plen)
{
	size_t h;

	if (!s->hcap)
		return NULL;
	h = pfx_hash(addr, plen) & (s->hcap - 1);
	while (s->slots[h]) {
		struct pfx *x = &s->v[s->slots[h] - 1];

		if (x->plen == plen && !memcmp(x->addr, addr, 16))
			return x;
		h = (h + 1) & (s->hcap - 1);
	}
	return NULL;
}

static int pfx_rehash(struct pfxset *s, size_t hcap)
{
	uint32_t *slots = calloc(hcap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = pfx_hash(s->v[i].addr, s->v[i].plen) & (hcap - 1);

		while (slots[h])
			h = (h + 1) & (hcap - 1);
		slots[h] = i + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->hcap = hcap;
	return 0;
}

/* Add (addr/plen, family) for rule (rule UINT32_MAX: the catch-alls, no owner). */
static int pfx_add(struct pfxset *s, const uint8_t *raw, uint8_t plen, uint8_t family,
		   uint32_t rule)
{
	uint8_t addr[16];
	struct pfx *x;
	int err;

	mask_addr(addr, raw, plen);
	x = pfx_find(s, addr, plen);
	if (!x) {
		if ((s->n + 1) * 2 > s->hcap) {
			err = pfx_rehash(s, s->hcap ? s->hcap * 2 : 256);
			if (err)
				return err;
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct pfx *v = realloc(s->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->v = v;
			s->cap = cap;
		}
		x = &s->v[s->n];
		memset(x, 0, sizeof(*x));
		memcpy(x->addr, addr, 16);
		x->plen = plen;
		x->family = family;
		s->n++;
		{
			size_t h = pfx_hash(addr, plen) & (s->hcap - 1);

			while (s->slots[h])
				h = (h + 1) & (s->hcap - 1);
			s->slots[h] = s->n;
		}
		s->plens[plen] = true;
	}
	if (rule == UINT32_MAX || (x->n_rules && x->rules[x->n_rules - 1] == rule))
		return 0;
	if (x->n_rules == x->cap_rules) {
		size_t cap = x->cap_rules ? x->cap_rules * 2 : 2;
		uint32_t *r = realloc(x->rules, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		x->rules = r;
		x->cap_rules = cap;
	}
	x->rules[x->n_rules++] = rule;
	return 0;
}

static void pfxset_free(struct pfxset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].rules);
	free(s->v);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* IPv4 first (v4-mapped space), then IPv6; by address, then length: stable output. */
static int cmp_pfx(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family == POL_FAM_V4 ? -1 : 1;
	c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return x->plen < y->plen ? -1 : x->plen > y->plen;
}

static void set_rule_terms(struct lower *l, uint64_t *b, uint32_t r)
{
	for (uint32_t k = 0; k < l->rule_nterms[r]; k++)
		bs_set(b, l->rule_first[r] + k);
}

static bool in_v4_mapped(const uint8_t *addr)
{
	return !memcmp(addr, v4_catchall, 12);
}

/* The distinct prefixes of src (dst = false) or dst, with the rules naming each, plus the
 * two catch-alls. */
static int collect_prefixes(struct lower *l, bool dst, struct pfxset *s)
{
	int err;

	err = pfx_add(s, v4_catchall, 96, POL_FAM_V4, UINT32_MAX);
	if (!err)
		err = pfx_add(s, (const uint8_t[16]){ 0 }, 0, POL_FAM_V6, UINT32_MAX);
	for (uint32_t r = 0; !err && r < l->n_rules; r++) {
		const struct pol_rule *rule = &l->p->rules[r];
		const struct pol_prefixes *ps = dst ? &rule->dst : &rule->src;

		if (!(dst ? rule->has_dst : rule->has_src))
			continue;
		for (size_t i = 0; !err && i < ps->n; i++) {
			const struct pol_prefix *q = &ps->p[i];

			/* The data plane keys IPv4 as v4-mapped IPv6: an IPv6 prefix inside that
			 * space would match IPv4 packets, which an IPv6 rule must not. */
			if (q->family == POL_FAM_V6 && q->plen >= 96 && in_v4_mapped(q->addr)) {
				diag_error(
					l->d, &q->loc,
					"IPv6 prefix inside the IPv4-mapped range ::ffff:0:0/96; write the IPv4 address instead");
				return -EINVAL;
			}
			err = pfx_add(s, q->addr, q->plen, q->family, r);
		}
		/* Checked per rule, so that the rule that went over can be named. */
		if (!err && s->n > TLSFW_MAX_PREFIXES / 2) {
			l->overflow = dst ? "dst prefixes" : "src prefixes";
			err = -E2BIG;
		}
	}
	return err;
}

/*
 * The terms of entry x: base (terms without the field) and those of every rule naming a
 * prefix that covers x. Longest-prefix match returns one entry, so it must carry the terms of
 * every shorter covering prefix; only prefixes of the same family cover each other.
 */
static void prefix_terms(struct lower *l, const struct pfxset *s, const struct pfx *x,
			 const uint64_t *base, uint64_t *b)
{
	uint8_t anc[16];

	memcpy(b, base, l->w * sizeof(*b));
	for (unsigned int len = 0; len <= x->plen; len++) {
		const struct pfx *q;

		if (!s->plens[len])
			continue;
		mask_addr(anc, x->addr, len);
		q = pfx_find(s, anc, len);
		if (!q || q->family != x->family)
			continue;
		for (size_t k = 0; k < q->n_rules; k++)
			set_rule_terms(l, b, q->rules[k]);
	}
}

/* Phase 0 for src (dst = false) or dst. */
static int lower_prefixes(struct lower *l, bool dst)
{
	struct bsset *cls = dst ? &l->dst : &l->src;
	struct pfxset s = { 0 };
	struct plan_prefix *out = NULL;
	uint64_t *base = NULL;
	int err;

	err = collect_prefixes(l, dst, &s);
	if (err)
		goto out;
	qsort(s.v, s.n, sizeof(*s.v), cmp_pfx);
	err = pfx_rehash(&s, s.hcap); /* the sort moved the entries */
	if (err)
		goto out;
	out = calloc(s.n, sizeof(*out));
	base = calloc(l->w, sizeof(*base));
	if (!out || !base) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t r = 0; r < l->n_rules; r++)
		if (!(dst ? l->p->rules[r].has_dst : l->p->rules[r].has_src))
			set_rule_terms(l, base, r);
	for (size_t i = 0; i < s.n; i++) {
		prefix_terms(l, &s, &s.v[i], base, l->tmp);
		memcpy(out[i].addr, s.v[i].addr, 16);
		out[i].plen = s.v[i].plen;
		err = bss_intern(cls, l->tmp, &out[i].cls);
		if (err)
			goto out;
	}
	if (dst) {
		l->pl->dst = out;
		l->pl->n_dst = s.n;
	} else {
		l->pl->src = out;
		l->pl->n_src = s.n;
	}
	out = NULL;
out:
	free(out);
	free(base);
	pfxset_free(&s);
	return err;
}

struct port_ev {
	uint32_t pos;
	uint32_t term;
	int delta;
};

static int cmp_ev(const void *a, const void *b)
{
	const struct port_ev *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static const struct pol_ports *term_ports(const struct pol_term *t, bool dport)
{
	return dport ? t->dport : t->sport;
}

/*
 * Phase 0 for a port field: a sweep over the range endpoints. Between two consecutive
 * endpoints (an elementary interval) the set of admitting terms is constant, so each interval
 * is interned once. A term may list overlapping ranges, hence a count per term.
 */
static int lower_ports(struct lower *l, bool dport)
{
	struct bsset *cls = dport ? &l->dport : &l->sport;
	uint32_t *tab = calloc(TLSFW_PORT_SLOTS, sizeof(*tab));
	uint32_t *cnt = calloc(l->n_terms ? l->n_terms : 1, sizeof(*cnt));
	struct port_ev *ev = NULL;
	size_t n_ev = 0, cap_ev = 0;
	uint64_t *cur = l->tmp;
	int err = -ENOMEM;

	if (!tab || !cnt)
		goto out;
	memset(cur, 0, l->w * sizeof(*cur));
	for (size_t t = 0; t < l->n_terms; t++) {
		const struct pol_ports *pp = term_ports(&l->p->terms[t], dport);

		if (!pp) {
			bs_set(cur, t);
			continue;
		}
		for (size_t i = 0; i < pp->n; i++) {
			if (n_ev + 2 > cap_ev) {
				size_t cap = cap_ev ? cap_ev * 2 : 64;
				struct port_ev *v = realloc(ev, cap * sizeof(*v));

				if (!v)
					goto out;
				ev = v;
				cap_ev = cap;
			}
			ev[n_ev++] = (struct port_ev){ pp->r[i].lo, t, 1 };
			ev[n_ev++] = (struct port_ev){ (uint32_t)pp->r[i].hi + 1, t, -1 };
		}
	}
	/* Slot TLSFW_PORT_NONE (no ports): only terms without a port constraint. */
	err = bss_intern(cls, cur, &tab[TLSFW_PORT_NONE]);
	if (err)
		goto out;
	if (n_ev)
		qsort(ev, n_ev, sizeof(*ev), cmp_ev);
	for (size_t k = 0, pos = 0; pos < TLSFW_PORT_NONE;) {
		size_t next = TLSFW_PORT_NONE;
		uint32_t id;

		while (k < n_ev && ev[k].pos == pos) {
			uint32_t t = ev[k].term;

			cnt[t] += ev[k].delta;
			if (cnt[t])
				bs_set(cur, t);
			else
				cur[t / 64] &= ~(1ull << (t % 64));
			k++;
		}
		if (k < n_ev && ev[k].pos < next)
			next = ev[k].pos;
		err = bss_intern(cls, cur, &id);
		if (err)
			goto out;
		for (size_t i = pos; i < next; i++)
			tab[i] = id;
		pos = next;
	}
	if (dport)
		l->pl->dport_cls = tab;
	else
		l->pl->sport_cls = tab;
	tab = NULL;
	err = 0;
out:
	free(tab);
	free(cnt);
	free(ev);
	return err;
}

static bool term_has_ports(const struct pol_term *t)
{
	return t->sport || t->dport;
}

static int lower_proto(struct lower *l)
{
	const struct policy *p = l->p;
	uint64_t *b = l->tmp;
	int err;

	for (unsigned int fam = 0; fam < 2; fam++) {
		unsigned int fam_bit = fam ? POL_FAM_V6 : POL_FAM_V4;

		for (unsigned int proto = 0; proto < 256; proto++) {
			memset(b, 0, l->w * sizeof(*b));
			for (size_t t = 0; t < l->n_terms; t++) {
				const struct pol_term *term = &p->terms[t];
				unsigned int fmask = p->rules[term->rule].family;

				if (fmask && !(fmask & fam_bit))
					continue;
				if (!(term->protos[proto / 8] & (1u << (proto % 8))))
					continue;
				/* A rule with a port matches only TCP and UDP. */
				if (term_has_ports(term) && proto != IPPROTO_TCP &&
				    proto != IPPROTO_UDP)
					continue;
				bs_set(b, t);
			}
			err = bss_intern(&l->proto, b, &l->pl->proto_cls[fam * 256 + proto]);
			if (err)
				return err;
		}
	}
	return 0;
}

static bool rule_has_iface(const struct pol_rule *r, const char *name)
{
	if (!r->ifaces.n)
		return true;
	for (size_t i = 0; i < r->ifaces.n; i++)
		if (!strcmp(r->ifaces.v[i], name))
			return true;
	return false;
}

static int lower_ctx(struct lower *l)
{
	const struct policy *p = l->p;
	struct plan *pl = l->pl;
	uint64_t *b = l->tmp;
	int err;

	pl->ctx = calloc(p->n_ifaces * 2 + 1, sizeof(*pl->ctx));
	if (!pl->ctx)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct pol_iface *ifc = &p->ifaces[i];

		for (unsigned int dir = TLSFW_DIR_INGRESS; dir <= TLSFW_DIR_EGRESS; dir++) {
			unsigned int hook =
				dir == TLSFW_DIR_INGRESS ? POL_HOOK_INGRESS : POL_HOOK_EGRESS;
			unsigned int dbit =
				dir == TLSFW_DIR_INGRESS ? POL_DIR_INGRESS : POL_DIR_EGRESS;
			struct plan_ctx *c;

			if (!(ifc->hooks & hook))
				continue;
			memset(b, 0, l->w * sizeof(*b));
			for (size_t t = 0; t < l->n_terms; t++) {
				const struct pol_rule *r = &p->rules[p->terms[t].rule];

				if (r->direction && !(r->direction & dbit))
					continue;
				if (rule_has_iface(r, ifc->name))
					bs_set(b, t);
			}
			c = &pl->ctx[pl->n_ctx++];
			snprintf(c->ifname, sizeof(c->ifname), "%s", ifc->name);
			c->dir = dir;
			err = bss_intern(&l->ctx, b, &c->cls);
			if (err)
				return err;
		}
	}
	return 0;
}

struct combv {
	struct plan_comb *v;
	size_t n, cap;
};

static int comb_push(struct lower *l, struct combv *cv, const struct plan_comb *e,
		     const char *table)
{
	if (cv->n >= TLSFW_MAX_COMB / 2) {
		l->overflow = table;
		return -E2BIG;
	}
	if (cv->n == cv->cap) {
		size_t cap = cv->cap ? cv->cap * 2 : 64;
		struct plan_comb *v = realloc(cv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		cv->v = v;
		cv->cap = cap;
	}
	cv->v[cv->n++] = *e;
	return 0;
}

static int cmp_comb(const void *a, const void *b)
{
	const struct plan_comb *x = a, *y = b;

	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	return x->c < y->c ? -1 : x->c > y->c;
}

/* One combination table: f1 x f2 (x f3) -> out, or -> first rule when out is NULL. */
struct comb_step {
	const struct bsset *f1;
	struct bsset *f2, *f3; /* f3 NULL: the third key word is 0 */
	struct bsset *out;
	struct combv *cv;
	const char *table; /* for the overflow message */
};

/* Entries for class x of f1 and class y of f2 (intersection xy, non-empty). */
static int combine_xy(struct lower *l, const struct comb_step *st, uint32_t x, uint32_t y,
		      const uint64_t *xy, struct enum_buf *e3)
{
	size_t w = l->w;
	int err = 0;

	if (st->f3) {
		enumerate(st->f3, xy, e3);
	} else {
		e3->out[0] = 0;
		e3->n = 1;
	}
	for (size_t j = 0; !err && j < e3->n; j++) {
		struct plan_comb c = { x, y, e3->out[j], 0 };
		const uint64_t *set = xy;

		if (st->f3) {
			if (!bs_and(l->tmp3, xy, bss_get(st->f3, c.c), w))
				continue;
			set = l->tmp3;
		}
		if (st->out)
			err = bss_intern(st->out, set, &c.out);
		else
			c.out = l->p->terms[bs_first(set, w)].rule;
		if (!err)
			err = comb_push(l, st->cv, &c, st->table);
	}
	return err;
}

/*
 * For each class x of f1, each class y of f2 meeting it, each class z of f3 meeting both,
 * store the non-empty intersection: interned into out (its id is the entry's value) or, for
 * the last phase, resolved to its first rule.
 */
static int combine(struct lower *l, const struct comb_step *st)
{
	struct enum_buf e2 = { 0 }, e3 = { 0 };
	int err;

	err = bss_index(st->f2, l->n_terms);
	if (!err && st->f3)
		err = bss_index(st->f3, l->n_terms);
	if (!err)
		err = enum_buf_init(&e2, st->f2->n);
	if (!err)
		err = enum_buf_init(&e3, st->f3 ? st->f3->n : 1);
	for (uint32_t x = 0; !err && x < st->f1->n; x++) {
		const uint64_t *bx = bss_get(st->f1, x);

		if (bs_empty(bx, l->w))
			continue;
		enumerate(st->f2, bx, &e2);
		for (size_t i = 0; !err && i < e2.n; i++) {
			uint32_t y = e2.out[i];

			/* A packet's addresses are of one family: no v4 src with a v6 dst. */
			if (st->f1 == &l->src && !(l->src_fam[x] & l->dst_fam[y]))
				continue;
			if (bs_and(l->tmp2, bx, bss_get(st->f2, y), l->w))
				err = combine_xy(l, st, x, y, l->tmp2, &e3);
		}
	}
	enum_buf_free(&e2);
	enum_buf_free(&e3);
	if (!err && st->cv->n)
		qsort(st->cv->v, st->cv->n, sizeof(*st->cv->v), cmp_comb);
	return err;
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
static int bss_cut(struct bsset *s, const uint64_t *stop, uint32_t *map)
{
	struct bsset ns;
	uint64_t *b = malloc(s->w * sizeof(*b));
	int err = 0;

	if (!b)
		return -ENOMEM;
	bss_init(&ns, s->w);
	for (size_t c = 0; !err && c < s->n; c++) {
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
		err = bss_intern(&ns, b, &map[c]);
	}
	free(b);
	if (err) {
		bss_free(&ns);
		return err;
	}
	bss_free(s);
	*s = ns;
	return 0;
}

/* Where a field's class ids are stored: n uint32_t, stride bytes apart (a plain array, or the
 * class member of an array of entries). */
struct cls_ref {
	uint32_t *first;
	size_t n, stride;
};

#define CLS_ARRAY(a, cnt) ((struct cls_ref){ (a), (cnt), sizeof(uint32_t) })
#define CLS_FIELD(arr, cnt, member) \
	((struct cls_ref){ (arr) ? &(arr)[0].member : NULL, (cnt), sizeof((arr)[0]) })

struct cut_field {
	struct bsset *set;
	struct cls_ref ref;
};

/*
 * Cut each field's classes after the first term that every other field admits everywhere
 * (later terms can never decide), then renumber the class ids stored in the plan. The same
 * step serves phase 0 (six fields) and phase 1 (A, B and ctx).
 */
static int cut_fields(struct lower *l, struct cut_field *f, int nf)
{
	size_t w = l->w, nmax = 0;
	uint64_t *all = calloc(nf * w, sizeof(*all)), *stop = calloc(w, sizeof(*stop));
	uint32_t *map = NULL;
	int err = -ENOMEM;

	for (int k = 0; k < nf; k++)
		nmax = f[k].set->n > nmax ? f[k].set->n : nmax;
	map = calloc(nmax ? nmax : 1, sizeof(*map));
	if (!all || !stop || !map)
		goto out;
	for (int k = 0; k < nf; k++)
		bss_all(f[k].set, all + k * w);
	for (int k = 0; k < nf; k++) {
		for (size_t i = 0; i < w; i++) {
			stop[i] = ~0ull;
			for (int j = 0; j < nf; j++)
				if (j != k)
					stop[i] &= all[j * w + i];
		}
		err = bss_cut(f[k].set, stop, map);
		if (err)
			goto out;
		for (size_t i = 0; i < f[k].ref.n; i++) {
			uint32_t *v = (uint32_t *)((char *)f[k].ref.first + i * f[k].ref.stride);

			*v = map[*v];
		}
	}
	err = 0;
out:
	free(all);
	free(stop);
	free(map);
	return err;
}

/* Phase-0 cut: each field against the terms that every other field admits everywhere. */
static int cut_phase0(struct lower *l)
{
	struct plan *pl = l->pl;
	struct cut_field f[] = {
		{ &l->proto, CLS_ARRAY(pl->proto_cls, TLSFW_PROTO_SLOTS) },
		{ &l->sport, CLS_ARRAY(pl->sport_cls, TLSFW_PORT_SLOTS) },
		{ &l->dport, CLS_ARRAY(pl->dport_cls, TLSFW_PORT_SLOTS) },
		{ &l->src, CLS_FIELD(pl->src, pl->n_src, cls) },
		{ &l->dst, CLS_FIELD(pl->dst, pl->n_dst, cls) },
		{ &l->ctx, CLS_FIELD(pl->ctx, pl->n_ctx, cls) },
	};

	return cut_fields(l, f, sizeof(f) / sizeof(f[0]));
}

static uint8_t entry_fam(const struct plan_prefix *x)
{
	return x->plen >= 96 && in_v4_mapped(x->addr) ? 1 : 2;
}

static int prefix_families(struct lower *l)
{
	const struct plan *pl = l->pl;

	l->src_fam = calloc(l->src.n + 1, 1);
	l->dst_fam = calloc(l->dst.n + 1, 1);
	if (!l->src_fam || !l->dst_fam)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n_src; i++)
		l->src_fam[pl->src[i].cls] |= entry_fam(&pl->src[i]);
	for (size_t i = 0; i < pl->n_dst; i++)
		l->dst_fam[pl->dst[i].cls] |= entry_fam(&pl->dst[i]);
	return 0;
}

/* Phase-1 cut: A, B and ctx against each other, before phase 2 multiplies them. */
static int cut_phase1(struct lower *l, struct combv *c1, struct combv *c2)
{
	struct plan *pl = l->pl;
	struct cut_field f[] = {
		{ &l->a, CLS_FIELD(c1->v, c1->n, out) },
		{ &l->b, CLS_FIELD(c2->v, c2->n, out) },
		{ &l->ctx, CLS_FIELD(pl->ctx, pl->n_ctx, cls) },
	};

	return cut_fields(l, f, sizeof(f) / sizeof(f[0]));
}

static int lower_rules_meta(struct lower *l)
{
	const struct policy *p = l->p;
	struct plan *pl = l->pl;

	pl->rules = calloc(p->n_rules ? p->n_rules : 1, sizeof(*pl->rules));
	pl->ifaces = calloc(p->n_ifaces ? p->n_ifaces : 1, sizeof(*pl->ifaces));
	if (!pl->rules || !pl->ifaces)
		return -ENOMEM;
	for (size_t r = 0; r < p->n_rules; r++) {
		pl->rules[r].name = p->rules[r].name;
		pl->rules[r].action = p->rules[r].action;
		pl->rules[r].monitor = p->rules[r].mode == POL_MONITOR;
		pl->rules[r].line = p->rules[r].loc.line;
	}
	pl->n_rules = p->n_rules;
	for (size_t i = 0; i < p->n_ifaces; i++) {
		snprintf(pl->ifaces[i].name, sizeof(pl->ifaces[i].name), "%s", p->ifaces[i].name);
		pl->ifaces[i].hooks = p->ifaces[i].hooks;
		pl->ifaces[i].xdp_mode = p->ifaces[i].xdp_mode;
	}
	pl->n_ifaces = p->n_ifaces;
	return 0;
}

static int lower_terms_index(struct lower *l)
{
	const struct policy *p = l->p;

	l->rule_first = calloc(p->n_rules + 1, sizeof(*l->rule_first));
	l->rule_nterms = calloc(p->n_rules + 1, sizeof(*l->rule_nterms));
	if (!l->rule_first || !l->rule_nterms)
		return -ENOMEM;
	l->n_terms = 0;
	for (size_t t = 0; t < p->n_terms; t++) {
		uint32_t r = p->terms[t].rule;

		if (r >= l->n_rules)
			break; /* terms are in rule order */
		if (!l->rule_nterms[r])
			l->rule_first[r] = t;
		l->rule_nterms[r]++;
		l->n_terms = t + 1;
	}
	l->w = l->n_terms ? (l->n_terms + 63) / 64 : 1;
	return 0;
}

static void lower_free(struct lower *l)
{
	free(l->rule_first);
	free(l->rule_nterms);
	free(l->tmp);
	free(l->tmp2);
	free(l->tmp3);
	free(l->src_fam);
	free(l->dst_fam);
	bss_free(&l->proto);
	bss_free(&l->sport);
	bss_free(&l->dport);
	bss_free(&l->src);
	bss_free(&l->dst);
	bss_free(&l->ctx);
	bss_free(&l->a);
	bss_free(&l->b);
}

/* Lower the first n_rules rules of p into out (zeroed here). */
static int lower_n(struct lower *l, const struct policy *p, size_t n_rules, struct plan *out)
{
	struct combv c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
	int err;

	memset(out, 0, sizeof(*out));
	l->p = p;
	l->pl = out;
	l->n_rules = n_rules;
	l->overflow = NULL;
	err = lower_terms_index(l);
	if (err)
		return err;
	l->tmp = calloc(l->w, sizeof(uint64_t));
	l->tmp2 = calloc(l->w, sizeof(uint64_t));
	l->tmp3 = calloc(l->w, sizeof(uint64_t));
	if (!l->tmp || !l->tmp2 || !l->tmp3)
		return -ENOMEM;
	bss_init(&l->proto, l->w);
	bss_init(&l->sport, l->w);
	bss_init(&l->dport, l->w);
	bss_init(&l->src, l->w);
	bss_init(&l->dst, l->w);
	bss_init(&l->ctx, l->w);
	bss_init(&l->a, l->w);
	bss_init(&l->b, l->w);

	out->default_action = p->default_action;
	out->malformed_action = p->malformed;
	out->frag_mode = p->fragments;
	for (size_t t = 0; t < l->n_terms; t++) {
		const struct pol_term *term = &p->terms[t];
		const struct pol_rule *r = &p->rules[term->rule];

		out->fields |= term->sport ? TLSFW_F_SPORT : 0;
		out->fields |= term->dport ? TLSFW_F_DPORT : 0;
		out->fields |= r->has_src ? TLSFW_F_SRC : 0;
		out->fields |= r->has_dst ? TLSFW_F_DST : 0;
	}

	err = lower_rules_meta(l);
	if (!err)
		err = lower_proto(l);
	if (!err)
		err = lower_ports(l, false);
	if (!err)
		err = lower_ports(l, true);
	if (!err)
		err = lower_prefixes(l, false);
	if (!err)
		err = lower_prefixes(l, true);
	if (!err)
		err = lower_ctx(l);
	if (!err)
		err = cut_phase0(l);
	if (!err)
		err = prefix_families(l);
	if (!err)
		err = combine(l, &(struct comb_step){ &l->proto, &l->sport, &l->dport, &l->a, &c1,
						      "comb1" });
	if (!err)
		err = combine(l,
			      &(struct comb_step){ &l->src, &l->dst, NULL, &l->b, &c2, "comb2" });
	if (!err)
		err = cut_phase1(l, &c1, &c2);
	if (!err)
		err = combine(l, &(struct comb_step){ &l->ctx, &l->a, &l->b, NULL, &c3, "comb3" });
	out->comb1 = c1.v;
	out->n_comb1 = c1.n;
	out->comb2 = c2.v;
	out->n_comb2 = c2.n;
	out->comb3 = c3.v;
	out->n_comb3 = c3.n;
	out->n_proto_cls = l->proto.n;
	out->n_sport_cls = l->sport.n;
	out->n_dport_cls = l->dport.n;
	out->n_src_cls = l->src.n;
	out->n_dst_cls = l->dst.n;
	out->n_ctx_cls = l->ctx.n;
	out->n_a_cls = l->a.n;
	out->n_b_cls = l->b.n;
	return err;
}

static int lower_try(const struct policy *p, size_t n_rules, struct plan *out, struct diag *d,
		     const char **overflow)
{
	struct lower l = { .d = d };
	int err = lower_n(&l, p, n_rules, out);

	*overflow = l.overflow;
	lower_free(&l);
	if (err)
		plan_free(out);
	return err;
}

int policy_lower(const struct policy *p, struct plan *out, struct diag *d)
{
	const char *overflow = NULL;
	size_t lo, hi;
	struct plan pl;
	int err;

	err = lower_try(p, p->n_rules, &pl, d, &overflow);
	if (err != -E2BIG) {
		if (!err)
			*out = pl;
		return err;
	}
	/* Tables only grow as rules are added (classes refine, intersections stay non-empty),
	 * so the first prefix of the policy that overflows ends at the rule to blame. The trial
	 * runs report into a scratch context: d gets one message. */
	lo = 1;
	hi = p->n_rules;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct diag scratch;
		const char *ov;

		diag_init(&scratch);
		if (lower_try(p, mid, &pl, &scratch, &ov) == -E2BIG) {
			hi = mid;
			overflow = ov;
		} else {
			lo = mid + 1;
		}
		plan_free(&pl);
		diag_free(&scratch);
	}
	if (lo >= 1 && lo <= p->n_rules) {
		const struct pol_rule *r = &p->rules[lo - 1];
		bool pfx = overflow && strstr(overflow, "prefixes");

		diag_error(
			d, &r->loc,
			"rule '%s' makes the %s table exceed its map (%u entries); merge or simplify rules",
			r->name ? r->name : "?", overflow ? overflow : "classification",
			pfx ? TLSFW_MAX_PREFIXES / 2 : TLSFW_MAX_COMB / 2);
	}
	memset(out, 0, sizeof(*out));
	return -E2BIG;
}

void plan_free(struct plan *pl)
{
	if (!pl)
		return;
	free(pl->sport_cls);
	free(pl->dport_cls);
	free(pl->src);
	free(pl->dst);
	free(pl->ctx);
	free(pl->comb1);
	free(pl->comb2);
	free(pl->comb3);
	free(pl->rules);
	free(pl->ifaces);
	memset(pl, 0, sizeof(*pl));
}

/* ---- printing ------------------------------------------------------------------------ */

static const char *const act_names[] = { "allow", "drop", "reject" };
static const char *const frag_names[] = { "follow", "drop", "allow" };
static const char *const xdp_names[] = { "auto", "native", "generic" };

static const char *name_of(const char *const *v, size_t n, unsigned int i)
{
	return i < n ? v[i] : "?";
}

/* IPv4 in dotted notation (the v4 catch-all is 0.0.0.0/0), IPv6 as inet_ntop writes it. */
static void print_prefix(const struct plan_prefix *x, FILE *out)
{
	char buf[INET6_ADDRSTRLEN];

	if (x->plen >= 96 && in_v4_mapped(x->addr)) {
		inet_ntop(AF_INET, x->addr + 12, buf, sizeof(buf));
		fprintf(out, "%s/%u", buf, x->plen - 96);
	} else {
		inet_ntop(AF_INET6, x->addr, buf, sizeof(buf));
		fprintf(out, "%s/%u", buf, x->plen);
	}
}

static void print_runs(const uint32_t *cls, size_t n, const char *indent, FILE *out)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && cls[j + 1] == cls[i])
			j++;
		fprintf(out, "%s%zu-%zu -> %u\n", indent, i, j, cls[i]);
		i = j + 1;
	}
}

static void print_ports(const char *name, const uint32_t *cls, FILE *out)
{
	fprintf(out, "\n%s:\n", name);
	if (!cls)
		return;
	print_runs(cls, TLSFW_PORT_NONE, "  ", out);
	fprintf(out, "  none -> %u\n", cls[TLSFW_PORT_NONE]);
}

static void print_comb(const char *title, const struct plan_comb *v, size_t n,
		       const struct plan *pl, bool rules, FILE *out)
{
	fprintf(out, "\n%s:\n", title);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "  %u %u %u -> %u", v[i].a, v[i].b, v[i].c, v[i].out);
		if (rules && v[i].out < pl->n_rules)
			fprintf(out, " %s", pl->rules[v[i].out].name);
		fputc('\n', out);
	}
}

void plan_print(const struct plan *pl, FILE *out)
{
	static const char *const field_names[] = { "sport", "dport", "src", "dst" };
	bool any = false;

	fprintf(out, "fields:");
	for (unsigned int i = 0; i < 4; i++) {
		if (pl->fields & (1u << i)) {
			fprintf(out, " %s", field_names[i]);
			any = true;
		}
	}
	fprintf(out, "%s\n", any ? "" : " none");
	fprintf(out, "default: %s\n", name_of(act_names, 3, pl->default_action));
	fprintf(out, "malformed: %s\n", name_of(act_names, 3, pl->malformed_action));
	fprintf(out, "fragments: %s\n", name_of(frag_names, 3, pl->frag_mode));
	fprintf(out, "classes: proto %u, sport %u, dport %u, src %u, dst %u, ctx %u, A %u, B %u\n",
		pl->n_proto_cls, pl->n_sport_cls, pl->n_dport_cls, pl->n_src_cls, pl->n_dst_cls,
		pl->n_ctx_cls, pl->n_a_cls, pl->n_b_cls);
	fprintf(out, "entries: src %zu, dst %zu, comb1 %zu, comb2 %zu, comb3 %zu\n", pl->n_src,
		pl->n_dst, pl->n_comb1, pl->n_comb2, pl->n_comb3);

	fprintf(out, "\ninterfaces:\n");
	for (size_t i = 0; i < pl->n_ifaces; i++) {
		const struct plan_iface *f = &pl->ifaces[i];

		fprintf(out, "  %s hooks %s%s%s xdp_mode %s\n", f->name,
			f->hooks & POL_HOOK_INGRESS ? "ingress" : "",
			(f->hooks & POL_HOOK_INGRESS) && (f->hooks & POL_HOOK_EGRESS) ? "," : "",
			f->hooks & POL_HOOK_EGRESS ? "egress" : "",
			name_of(xdp_names, 3, f->xdp_mode));
	}

	fprintf(out, "\nrules:\n");
	for (size_t i = 0; i < pl->n_rules; i++) {
		const struct plan_rule *r = &pl->rules[i];

		fprintf(out, "  %zu %s %s%s line %u\n", i, r->name ? r->name : "?",
			name_of(act_names, 3, r->action), r->monitor ? " monitor" : "", r->line);
	}

	fprintf(out, "\nproto:\n");
	print_runs(pl->proto_cls, 256, "  ipv4 ", out);
	print_runs(pl->proto_cls + 256, 256, "  ipv6 ", out);
	print_ports("sport", pl->sport_cls, out);
	print_ports("dport", pl->dport_cls, out);

	fprintf(out, "\nsrc:\n");
	for (size_t i = 0; i < pl->n_src; i++) {
		fprintf(out, "  ");
		print_prefix(&pl->src[i], out);
		fprintf(out, " -> %u\n", pl->src[i].cls);
	}
	fprintf(out, "\ndst:\n");
	for (size_t i = 0; i < pl->n_dst; i++) {
		fprintf(out, "  ");
		print_prefix(&pl->dst[i], out);
		fprintf(out, " -> %u\n", pl->dst[i].cls);
	}

	fprintf(out, "\nctx:\n");
	for (size_t i = 0; i < pl->n_ctx; i++)
		fprintf(out, "  %s %s -> %u\n", pl->ctx[i].ifname,
			pl->ctx[i].dir == TLSFW_DIR_EGRESS ? "egress" : "ingress", pl->ctx[i].cls);

	print_comb("comb1 (proto, sport, dport -> A)", pl->comb1, pl->n_comb1, pl, false, out);
	print_comb("comb2 (src, dst, 0 -> B)", pl->comb2, pl->n_comb2, pl, false, out);
	print_comb("comb3 (ctx, A, B -> rule)", pl->comb3, pl->n_comb3, pl, true, out);
}
