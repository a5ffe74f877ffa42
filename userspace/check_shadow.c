// SPDX-License-Identifier: GPL-2.0
/* Rules that can never match (shadow.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "policy.h"
#include "shadow.h"

static const struct ivl ports_all = { 0, 65535 }, ports_none = { IVL_PORT_NONE, IVL_PORT_NONE };
static const struct ivls any_port = { (struct ivl *)&ports_all, 1, 1 };
static const struct ivls no_port = { (struct ivl *)&ports_none, 1, 1 };
static const struct ivls root_v4 = { (struct ivl *)&ivl_v4_all, 1, 1 };
static const struct ivls root_v6 = { (struct ivl *)&ivl_v6_all, 1, 1 };

/* The view of term t of rule r for one family and one side of ported; false when it holds
 * no packet. */
static bool view_make(const struct shadow_in *in, uint32_t ri, const struct rule_term *t,
		      unsigned int fam, bool ported, struct shadow_view *v)
{
	const struct plan_rule *r = &in->rules[ri];
	int f = fam == POL_FAM_V6;

	memset(v, 0, sizeof(*v));
	if (!(r->fams & fam))
		return false;
	v->protos = t->protos;
	if (ported) {
		memset(&v->protos, 0, sizeof(v->protos));
		for (int k = 0; k < 2; k++)
			if (proto_has(&t->protos, k ? IPPROTO_UDP : IPPROTO_TCP))
				proto_add(&v->protos, k ? IPPROTO_UDP : IPPROTO_TCP);
	} else {
		proto_del(&v->protos, IPPROTO_TCP);
		proto_del(&v->protos, IPPROTO_UDP);
	}
	if (protoset_empty(&v->protos))
		return false;
	v->ctx = in->ctx[ri];
	v->rule = ri;
	v->fam = fam;
	v->field[0] = t->has_sport ? &t->sport : ported ? &any_port : &no_port;
	v->field[1] = t->has_dport ? &t->dport : ported ? &any_port : &no_port;
	v->field[2] = r->has_src ? &r->src[f].merged : f ? &root_v6 : &root_v4;
	v->field[3] = r->has_dst ? &r->dst[f].merged : f ? &root_v6 : &root_v4;
	return true;
}

int shadow_views(const struct shadow_in *in, struct shadow_view **views, size_t *n)
{
	size_t cap = 0;

	*n = 0;
	for (size_t r = 0; r < in->n_rules; r++)
		cap += 4 * in->rules[r].n_terms;
	*views = malloc((cap ? cap : 1) * sizeof(**views));
	if (!*views)
		return -ENOMEM;
	for (uint32_t r = 0; r < in->n_rules; r++)
		for (size_t t = 0; t < in->rules[r].n_terms; t++)
			for (int k = 0; k < 4; k++)
				*n += view_make(in, r, &in->rules[r].terms[t],
						k & 1 ? POL_FAM_V6 : POL_FAM_V4, k < 2,
						&(*views)[*n]);
	return 0;
}

/* ---- the pairwise walk --------------------------------------------------------------------- */

struct walk {
	const struct shadow_in *in;
	unsigned long budget;
};

/* Cheap tests first: a view that shares no packet with t can neither cover it nor add to a
 * union that does. */
static bool disjoint(const struct shadow_view *t, const struct shadow_view *u)
{
	if (t->fam != u->fam || !(t->ctx & u->ctx))
		return true;
	for (int i = 0; i < 2; i++) {
		const struct ivls *a = t->field[i], *b = u->field[i];

		if (!a->n || !b->n || a->v[0].lo > b->v[b->n - 1].hi ||
		    b->v[0].lo > a->v[a->n - 1].hi)
			return true;
	}
	return !protoset_meet(&t->protos, &u->protos);
}

static bool view_empty(const struct shadow_view *v)
{
	return protoset_empty(&v->protos) || !v->ctx;
}

/* The fields in which u does not cover t, as a bit mask (exact when at most one). */
static unsigned int uncovered(const struct shadow_view *t, const struct shadow_view *u)
{
	unsigned int miss = 0;

	if (!protoset_subset(&t->protos, &u->protos))
		miss |= 1u << SH_PROTO;
	if (t->ctx & ~u->ctx)
		miss |= 1u << SH_CTX;
	for (int i = 0; i < 2; i++)
		if (!ivls_subset(t->field[i], u->field[i]))
			miss |= 1u << (SH_SPORT + i);
	if (__builtin_popcount(miss) > 1)
		return miss;
	for (int i = 2; i < 4; i++)
		if (!ivls_subset(t->field[i], u->field[i]))
			miss |= 1u << (SH_SPORT + i);
	return miss;
}

/* Does the union of group's field f cover t's? (every other field of each covers t's) */
static bool union_covers(const struct shadow_view *t, const struct shadow_view **group, size_t n,
			 int f)
{
	struct ivls all = { 0 };
	bool ok = true;

	if (f == SH_PROTO || f == SH_CTX) {
		struct protoset protos = { 0 };
		uint32_t ctx = 0;

		for (size_t i = 0; i < n; i++) {
			protoset_union(&protos, &group[i]->protos);
			ctx |= group[i]->ctx;
		}
		return f == SH_PROTO ? protoset_subset(&t->protos, &protos) : !(t->ctx & ~ctx);
	}
	for (size_t g = 0; g < n && ok; g++) {
		const struct ivls *x = group[g]->field[f - SH_SPORT];

		for (size_t k = 0; k < x->n && ok; k++)
			ok = !ivls_add(&all, x->v[k].lo, x->v[k].hi);
	}
	ivls_normalize(&all);
	ok = ok && ivls_subset(t->field[f - SH_SPORT], &all);
	ivls_free(&all);
	return ok;
}

/* group[f]: room for every view, for the earlier views that cover t in all fields but f */
static bool view_covered(struct walk *w, const struct shadow_view *views, size_t first_of_rule,
			 size_t ti, uint8_t *by, const struct shadow_view ***group)
{
	const struct shadow_view *t = &views[ti];
	size_t n_group[SH_FIELDS] = { 0 };

	for (size_t ui = 0; ui < first_of_rule && w->budget; ui++) {
		const struct shadow_view *u = &views[ui];
		unsigned int miss;

		if (w->in->bad[u->rule] || disjoint(t, u))
			continue;
		w->budget--;
		miss = uncovered(t, u);
		if (!miss) {
			by[u->rule] = 1;
			return w->budget > 0;
		}
		if (__builtin_popcount(miss) == 1)
			group[__builtin_ctz(miss)][n_group[__builtin_ctz(miss)]++] = u;
	}
	for (int f = 0; f < SH_FIELDS; f++) {
		if (n_group[f] < 2 || !union_covers(t, group[f], n_group[f], f))
			continue;
		for (size_t g = 0; g < n_group[f]; g++)
			by[group[f][g]->rule] = 1;
		return w->budget > 0;
	}
	return false;
}

int shadow_analyse(const struct shadow_in *in, shadow_report report, void *arg)
{
	struct walk w = { .in = in, .budget = in->budget };
	const struct shadow_view **group[SH_FIELDS] = { 0 };
	struct shadow_view *views = NULL;
	uint8_t *by = calloc(in->n_rules ? in->n_rules : 1, 1);
	size_t n = 0, vi = 0;
	int err = shadow_views(in, &views, &n);

	for (int f = 0; !err && f < SH_FIELDS; f++) {
		group[f] = calloc(n ? n : 1, sizeof(**group));
		if (!group[f])
			err = -ENOMEM;
	}
	if (!by)
		err = -ENOMEM;
	while (!err && vi < n && w.budget) {
		size_t first = vi, end = vi;
		uint32_t ri = views[vi].rule;
		bool all;

		while (end < n && views[end].rule == ri)
			end++;
		memset(by, 0, in->n_rules);
		all = !in->bad[ri];
		for (size_t k = first; k < end && all; k++)
			all = view_empty(&views[k]) || view_covered(&w, views, first, k, by, group);
		if (all && first > 0 && memchr(by, 1, ri))
			report(arg, ri, by);
		vi = end;
	}
	for (int f = 0; f < SH_FIELDS; f++)
		free(group[f]);
	free(views);
	free(by);
	return err;
}
