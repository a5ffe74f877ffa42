// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3, the BPF half, phase 0 of the port fields: a sweep over the ports' range endpoints
 * (ICMP types travel in dport). The rest of the lowering is lower_bpf.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lower_bpf_priv.h"

struct port_ev {
	uint32_t pos;
	uint32_t term;
	int delta;
};

static int ev_cmp(const void *a, const void *b)
{
	const struct port_ev *x = a, *y = b;

	return (x->pos > y->pos) - (x->pos < y->pos);
}

#define EVENTS_FEW 4096 /* fewer events: qsort, not the 256 KB counting table */

/* Events by position (0..TLSFW_PORT_NONE), a counting sort: a million of them in a few
 * milliseconds. Their order at one position does not matter to the sweep. */
static int sort_events(struct port_ev *ev, size_t n)
{
	uint32_t *start;
	struct port_ev *tmp;

	if (n < EVENTS_FEW) {
		qsort(ev, n, sizeof(*ev), ev_cmp);
		return 0;
	}
	start = calloc(TLSFW_PORT_SLOTS + 1, sizeof(*start));
	tmp = malloc((n + 1) * sizeof(*tmp));
	if (!start || !tmp) {
		free(start);
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		start[ev[i].pos + 1]++;
	for (size_t p = 1; p <= TLSFW_PORT_SLOTS; p++)
		start[p] += start[p - 1];
	for (size_t i = 0; i < n; i++)
		tmp[start[ev[i].pos]++] = ev[i];
	memcpy(ev, tmp, n * sizeof(*ev));
	free(start);
	free(tmp);
	return 0;
}

static const struct ivls *term_ports(const struct rule_term *t, bool dport)
{
	if (dport)
		return t->has_dport ? &t->dport : NULL;
	return t->has_sport ? &t->sport : NULL;
}

/* The dport values a term admits: its ports, or its ICMP types as the parser puts them there
 * (tlsfw_abi.h, TLSFW_ICMP6_*; ICMP's keys are below 256, ICMPv6's of one type come in three
 * hop-limit classes, and the protocol class keeps the two families apart). */
static int term_dvals(const struct rule_term *t, bool dport, const struct ivls **a,
		      const struct ivls **b)
{
	*a = term_ports(t, dport);
	*b = NULL;
	if (!dport || !t->has_type)
		return *a != NULL;
	*a = &t->keys[RULE_V4];
	*b = &t->keys[RULE_V6];
	return 1;
}

struct port_evs {
	struct port_ev *v;
	size_t n, cap;
};

/* An opening and a closing event for each interval of pp, for term t. */
static int push_events(struct port_evs *e, const struct ivls *pp, uint32_t t)
{
	for (size_t i = 0; i < pp->n; i++) {
		if (e->n + 2 > e->cap) {
			size_t cap = e->cap ? e->cap * 2 : 64;
			struct port_ev *v = realloc(e->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			e->v = v;
			e->cap = cap;
		}
		e->v[e->n++] = (struct port_ev){ (uint32_t)pp->v[i].lo, t, 1 };
		e->v[e->n++] = (struct port_ev){ (uint32_t)pp->v[i].hi + 1, t, -1 };
	}
	return 0;
}

/* Distinct positions of the (sorted) events. */
static size_t count_positions(const struct port_evs *e)
{
	size_t n = 0;

	for (size_t k = 0; k < e->n; k++)
		n += !k || e->v[k].pos != e->v[k - 1].pos;
	return n;
}

/*
 * Phase 0 for a port field: a sweep over the range endpoints. Between two consecutive
 * endpoints (an elementary interval) the set of admitting terms is constant, so each interval
 * is interned once. A term may list overlapping ranges, hence a count per term.
 */
int lower_ports(struct lower *l, bool dport)
{
	struct bsset *cls = dport ? &l->dport : &l->sport;
	uint32_t *tab = malloc(TLSFW_PORT_SLOTS * sizeof(*tab)); /* every slot written below */
	uint32_t *cnt = calloc(l->n_terms ? l->n_terms : 1, sizeof(*cnt));
	struct port_evs evs = { 0 };
	uint64_t *cur = l->tmp;
	int err = -ENOMEM;

	if (!tab || !cnt)
		goto out;
	memset(cur, 0, l->w * sizeof(*cur));
	for (size_t t = 0; t < l->n_terms; t++) {
		const struct ivls *pab[2];

		if (!term_dvals(l->term[t], dport, &pab[0], &pab[1])) {
			bs_set(cur, t);
			continue;
		}
		for (int h = 0; h < 2; h++)
			if (pab[h] && push_events(&evs, pab[h], t))
				goto out;
	}
	if (evs.n && sort_events(evs.v, evs.n))
		goto out;
	/* at most one class per elementary interval, and the one of no ports */
	err = bss_reserve(cls, count_positions(&evs) + 2);
	if (err)
		goto out;
	/* Slot TLSFW_PORT_NONE (no ports): only terms without a port constraint. */
	err = bss_intern(cls, cur, &tab[TLSFW_PORT_NONE]);
	if (err)
		goto out;
	for (size_t k = 0, pos = 0; pos < TLSFW_PORT_NONE;) {
		size_t next = TLSFW_PORT_NONE;
		uint32_t id;

		while (k < evs.n && evs.v[k].pos == pos) {
			uint32_t t = evs.v[k].term;

			cnt[t] += evs.v[k].delta;
			if (cnt[t])
				bs_set(cur, t);
			else
				cur[t / 64] &= ~(1ull << (t % 64));
			k++;
		}
		if (k < evs.n && evs.v[k].pos < next)
			next = evs.v[k].pos;
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
	free(evs.v);
	return err;
}
