// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3, the BPF half, phase 0 of the port fields: a sweep over the ports' range endpoints
 * (ICMP types travel in dport). The rest of the lowering is lower_bpf.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lower_bpf_priv.h"

/*
 * The sweep's events, by position: at each of the n distinct positions pos[i], the events
 * ev[at[i]] .. ev[at[i + 1] - 1], each a term t opening (2 t + 1) or closing (2 t) one of its
 * intervals there. Their order at one position does not matter to the sweep.
 */
struct sweep {
	uint32_t *pos, *at, *ev;
	size_t n;
};

static void sweep_free(struct sweep *sw)
{
	free(sw->pos);
	free(sw->at);
	free(sw->ev);
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

#define EVENTS_FEW 4096 /* fewer events: a sort of 64-bit keys, not the 256 KB counting table */

/* Where ev_emit() puts each event: as a (position, code) key into few; else, with ev NULL,
 * counted at count[position + 1]; else into ev at count[position], the position's next slot. */
struct ev_sink {
	uint64_t *few;
	uint32_t *count, *ev;
	size_t n;
};

static void ev_put(struct ev_sink *k, uint32_t pos, uint32_t code)
{
	if (k->few)
		k->few[k->n++] = (uint64_t)pos << 32 | code;
	else if (k->ev)
		k->ev[k->count[pos]++] = code;
	else
		k->count[pos + 1]++;
}

/* Every interval of every term with port values, through ev_put. */
static void ev_emit(struct lower *l, bool dport, struct ev_sink *k)
{
	for (size_t t = 0; t < l->n_terms; t++) {
		const struct ivls *pab[2];

		if (!term_dvals(l->term[t], dport, &pab[0], &pab[1]))
			continue;
		for (int h = 0; h < 2; h++)
			for (size_t i = 0; pab[h] && i < pab[h]->n; i++) {
				ev_put(k, (uint32_t)pab[h]->v[i].lo, 2 * t + 1);
				ev_put(k, (uint32_t)pab[h]->v[i].hi + 1, 2 * t);
			}
	}
}

/*
 * The events in position order: under EVENTS_FEW a sort of (position, code) keys; else a
 * counting sort straight from the terms' intervals into their slots (a million events in a
 * few milliseconds, with no unsorted copy of them written and read back).
 */
static int sweep_build(struct lower *l, bool dport, size_t n_ev, struct sweep *sw)
{
	struct ev_sink k = { 0 };

	memset(sw, 0, sizeof(*sw));
	sw->ev = malloc((n_ev + 1) * sizeof(*sw->ev));
	sw->pos = malloc((n_ev + 1) * sizeof(*sw->pos));
	sw->at = malloc((n_ev + 2) * sizeof(*sw->at));
	if (!sw->ev || !sw->pos || !sw->at)
		return -ENOMEM;
	if (n_ev < EVENTS_FEW) {
		k.few = malloc((2 * n_ev + 1) * sizeof(*k.few));
		if (!k.few)
			return -ENOMEM;
		ev_emit(l, dport, &k);
		port_keys_sort(k.few, k.few + n_ev, n_ev); /* by position, the upper half */
		for (size_t i = 0; i < n_ev; i++) {
			uint32_t pos = k.few[i] >> 32;

			if (!sw->n || sw->pos[sw->n - 1] != pos) {
				sw->at[sw->n] = i;
				sw->pos[sw->n++] = pos;
			}
			sw->ev[i] = (uint32_t)k.few[i];
		}
		sw->at[sw->n] = n_ev;
		free(k.few);
		return 0;
	}
	k.count = calloc(TLSFW_PORT_SLOTS + 2, sizeof(*k.count));
	if (!k.count)
		return -ENOMEM;
	ev_emit(l, dport, &k); /* counts, at pos + 1 */
	for (size_t p = 1; p <= TLSFW_PORT_SLOTS + 1; p++)
		k.count[p] += k.count[p - 1];
	for (size_t p = 0; p <= TLSFW_PORT_SLOTS; p++) {
		if (k.count[p] == k.count[p + 1])
			continue;
		sw->at[sw->n] = k.count[p];
		sw->pos[sw->n++] = p;
	}
	sw->at[sw->n] = n_ev;
	k.ev = sw->ev;
	ev_emit(l, dport, &k); /* placed: count[pos] is the next slot of pos */
	free(k.count);
	return 0;
}

/*
 * Phase 0 for a port field: a sweep over the range endpoints. Between two consecutive
 * endpoints (an elementary interval) the set of admitting terms is constant, so each interval
 * is interned once. A term may list overlapping ranges, hence a count per term.
 */
int lower_ports(struct lower *l, bool dport)
{
	struct bsset *cls = dport ? &l->dport : &l->sport;
	uint32_t *cnt = calloc(l->n_terms ? l->n_terms : 1, sizeof(*cnt)), *tab = NULL, id0;
	struct sweep sw = { 0 };
	uint64_t *cur = l->tmp;
	size_t n_ev = 0;
	int err = -ENOMEM;

	if (!cnt)
		goto out;
	memset(cur, 0, l->w * sizeof(*cur));
	for (size_t t = 0; t < l->n_terms; t++) {
		const struct ivls *pab[2];

		if (!term_dvals(l->term[t], dport, &pab[0], &pab[1])) {
			bs_set(cur, t);
			continue;
		}
		for (int h = 0; h < 2; h++)
			n_ev += pab[h] ? 2 * pab[h]->n : 0;
	}
	/* No term has the field: one class, every slot's. As the field's first class it is 0,
	 * which is what a fresh mapping reads: no slot written, no page touched (the data
	 * plane and the fill do not read the field then; cut_fields leaves it as it is). */
	if (!n_ev && !cls->n) {
		err = bss_intern(cls, cur, &id0); /* the set's first class: id 0 */
		tab = err ? NULL : cls_table_alloc(TLSFW_PORT_SLOTS, 0);
		err = err ?: tab ? 0 : -ENOMEM;
		goto done;
	}
	tab = cls_table_alloc(TLSFW_PORT_SLOTS, TLSFW_PORT_SLOTS); /* every slot written below */
	if (!tab)
		goto out;
	err = sweep_build(l, dport, n_ev, &sw);
	/* at most one class per elementary interval, and the one of no ports */
	if (!err)
		err = bss_reserve(cls, sw.n + 2);
	/* Slot TLSFW_PORT_NONE (no ports): only terms without a port constraint. */
	if (!err)
		err = bss_intern(cls, cur, &tab[TLSFW_PORT_NONE]);
	for (size_t i = 0, pos = 0; !err && pos < TLSFW_PORT_NONE;) {
		size_t next;
		uint32_t id;

		if (i < sw.n && sw.pos[i] == pos) {
			/* a term's close here follows an interval of it open before: no underflow */
			for (uint32_t j = sw.at[i]; j < sw.at[i + 1]; j++) {
				uint32_t t = sw.ev[j] / 2;

				if (sw.ev[j] & 1)
					cnt[t]++;
				else
					cnt[t]--;
				if (cnt[t])
					bs_set(cur, t);
				else
					cur[t / 64] &= ~(1ull << (t % 64));
			}
			i++;
		}
		next = i < sw.n && sw.pos[i] < TLSFW_PORT_NONE ? sw.pos[i] : TLSFW_PORT_NONE;
		err = bss_intern(cls, cur, &id);
		for (size_t p = pos; !err && p < next; p++)
			tab[p] = id;
		pos = next;
	}
done:
	if (err)
		goto out;
	if (dport)
		l->pl->dport_cls = tab;
	else
		l->pl->sport_cls = tab;
	tab = NULL;
out:
	cls_table_free(tab, TLSFW_PORT_SLOTS);
	free(cnt);
	sweep_free(&sw);
	return err;
}
