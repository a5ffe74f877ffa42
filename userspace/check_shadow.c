// SPDX-License-Identifier: GPL-2.0
/* Rules that can never match (shadow.h): views, and the indexed walk over them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "policy.h"
#include "shadow.h"

static const struct ivl ports_all = { 0, 65535 }, ports_none = { IVL_PORT_NONE, IVL_PORT_NONE };
static const struct ivls any_port = { (struct ivl *)&ports_all, 1, 1 };
static const struct ivls no_port = { (struct ivl *)&ports_none, 1, 1 };
static const struct ivl keys_all = { 0, IVL_PORT_NONE };
static const struct ivls any_key = { (struct ivl *)&keys_all, 1, 1 };
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
	if (!ported && t->fams && !(t->fams & fam))
		return false;
	v->field[0] = t->has_sport ? &t->sport : ported ? &any_port : &no_port;
	v->field[1] = t->has_dport ? &t->dport : ported ? &any_port : &no_port;
	/* Without ports, the dport field holds what the data plane classifies there: ICMP
	 * types (tlsfw_abi.h), any of them for a term that names none. */
	if (!ported && t->has_type) /* one protocol per such term, whose types apply */
		v->field[1] = &t->keys[proto_has(&t->protos, IPPROTO_ICMPV6) ? RULE_V6 : RULE_V4];
	else if (!ported)
		v->field[1] = &any_key;
	if (!v->field[1]->n)
		return false;
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

/* ---- one view against another ------------------------------------------------------------- */

/* A view that shares no packet with t can neither cover it nor add to a union that does, and
 * is not named among the rules that match first. The cheap tests come first. */
bool shadow_disjoint(const struct shadow_view *t, const struct shadow_view *u)
{
	if (t->fam != u->fam || !(t->ctx & u->ctx))
		return true;
	for (int i = 0; i < 2; i++) {
		const struct ivls *a = t->field[i], *b = u->field[i];

		if (!a->n || !b->n || a->v[0].lo > b->v[b->n - 1].hi ||
		    b->v[0].lo > a->v[a->n - 1].hi)
			return true;
	}
	if (!protoset_meet(&t->protos, &u->protos))
		return true;
	for (int i = 0; i < 4; i++)
		if (!ivls_meet(t->field[i], u->field[i]))
			return true;
	return false;
}

bool shadow_view_empty(const struct shadow_view *v)
{
	return protoset_empty(&v->protos) || !v->ctx;
}

/* The fields in which u does not cover t, as a bit mask (exact when at most one). */
unsigned int shadow_uncovered(const struct shadow_view *t, const struct shadow_view *u)
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
bool shadow_union_covers(const struct shadow_view *t, const struct shadow_view **group, size_t n,
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

/* ---- the indexed walk ---------------------------------------------------------------------- */

/*
 * Which earlier views can matter to a view t? One that covers t, or that covers t in all
 * fields but one and joins a union. Either way it covers t in every field but at most one, so
 * it covers t in the most selective interval field F (sport, dport, src, dst: fewest views
 * contain t's value there), or F is its one uncovered field. The candidates are therefore the
 * views containing t's F (an index of every view's intervals, and the list of views that do
 * not constrain F), plus, for the union over F itself, the views whose F overlaps t's. The
 * outcome is the pairwise walk's (selftests/lib/shadow_ref.c) exactly; only the work differs.
 */

#define NO_MISS 0xff /* memo: disjoint, or not computed */
#define FEW 8	     /* overlapping intervals looked at first: one member often covers a port */

#define NO_VIEW UINT32_MAX

/*
 * The intervals of every view that constrains an interval field, by field. A term's views of
 * both families share their ports: each list is indexed once (a source), with the view of
 * either family it stands for.
 */
struct field_index {
	struct ivl_index ix; /* id: source */
	uint32_t (*view)[2]; /* per source: its view of IPv4, of IPv6, or NO_VIEW */
	uint32_t *rule;	     /* per source: the rule of its views */
	size_t n_src;
};

struct fam_index {	   /* the views of one family */
	uint32_t *univ[4]; /* that do not constrain the field, ascending */
	size_t n_univ[4];
	size_t last_first[4], last_n[4]; /* univ_before's last answer, per field */
};

/* What the cheap tests read of a view, in one place (a view's fields are pointers). */
struct vsum {
	struct protoset protos;
	uint32_t ctx;
	uint32_t lo[2], hi[2]; /* bounds of sport and dport */
	uint8_t fam;
	uint8_t univ; /* bit k: it does not constrain interval field k */
};

struct walk {
	const struct shadow_in *in;
	const struct shadow_view *views;
	uint32_t *rule; /* per view, its rule: apart from the views (80 B), it stays in cache */
	struct vsum *sum;
	size_t n;
	struct field_index fx[4];
	struct fam_index fam[2];
	uint32_t now;	 /* stamp of the view being judged, t */
	uint32_t *stamp; /* miss memo for t */
	uint8_t *miss;
	uint32_t *cstamp; /* t's candidates: they hold t's value of its most selective field */
	uint32_t *gstamp; /* in_group() memo for t */
	uint8_t *gval;
	uint32_t *cand; /* room for n views */
	uint32_t *buf;	/* room for every index entry */
	size_t n_buf;
	const struct shadow_view **group[SH_FIELDS];
	size_t n_group[SH_FIELDS];
	struct ivls cover;
	unsigned long budget;
};

static bool universal(const struct shadow_view *v, int k)
{
	const struct ivls *f = v->field[k];
	struct ivl all = k >= 2 ? (v->fam == POL_FAM_V4 ? ivl_v4_all : ivl_v6_all) :
			 protoset_only_ported(&v->protos) ? ports_all :
							    ports_none;

	return f->n == 1 && f->v[0].lo == all.lo && f->v[0].hi == all.hi;
}

/* The index of interval field k, and the lists of views that do not constrain it. */
static int index_field(struct walk *w, int k)
{
	struct field_index *x = &w->fx[k];
	const struct ivls *last = NULL;
	struct ivl_src *src = malloc((w->n + 1) * sizeof(*src));
	int err;

	x->view = malloc((w->n + 1) * sizeof(*x->view));
	x->rule = malloc((w->n + 1) * sizeof(*x->rule));
	for (int f = 0; f < 2; f++)
		w->fam[f].univ[k] = malloc((w->n + 1) * sizeof(*w->fam[f].univ[k]));
	if (!src || !x->view || !x->rule || !w->fam[0].univ[k] || !w->fam[1].univ[k]) {
		free(src);
		return -ENOMEM;
	}
	for (uint32_t v = 0; v < w->n; v++) {
		const struct ivls *iv = w->views[v].field[k];
		int f = w->views[v].fam == POL_FAM_V6;

		if (w->sum[v].univ >> k & 1) {
			w->fam[f].univ[k][w->fam[f].n_univ[k]++] = v;
			continue;
		}
		/* the views of one term are adjacent: the other family's, just before, may
		 * share this list */
		if (iv != last || x->view[x->n_src - 1][f] != NO_VIEW) {
			x->view[x->n_src][0] = x->view[x->n_src][1] = NO_VIEW;
			x->rule[x->n_src] = w->rule[v];
			src[x->n_src] = (struct ivl_src){ iv->v, iv->n, x->n_src };
			x->n_src++;
			last = iv;
		}
		x->view[x->n_src - 1][f] = v;
	}
	err = ivl_index_build(&x->ix, src, x->n_src);
	free(src);
	return err;
}

/* The view of t's family that index entry pos of field k stands for, or NO_VIEW. */
static uint32_t view_at(const struct walk *w, int k, uint32_t pos, int f)
{
	return w->fx[k].view[ivl_index_id(&w->fx[k].ix, pos)][f];
}

/* miss(t, u), remembered for t: NO_MISS when u cannot matter (a later view, a rule with an
 * error, no packet in common). */
static uint8_t miss_of(struct walk *w, uint32_t ti, size_t first, uint32_t u)
{
	if (w->stamp[u] == w->now)
		return w->miss[u];
	w->stamp[u] = w->now;
	w->miss[u] = NO_MISS;
	if (u >= first || w->in->bad[w->rule[u]] || !w->budget)
		return NO_MISS;
	w->budget--;
	if (!shadow_disjoint(&w->views[ti], &w->views[u]))
		w->miss[u] = shadow_uncovered(&w->views[ti], &w->views[u]);
	return w->miss[u];
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* How many views of t's family before first do not constrain field k: a prefix of the list.
 * The walk asks with first never smaller than the last time, so the answer moves on from the
 * last one (a binary search each time was 1% of `check` at 4,096 rules). */
static size_t univ_before(struct fam_index *x, int k, size_t first)
{
	size_t n = first >= x->last_first[k] ? x->last_n[k] : 0;

	while (n < x->n_univ[k] && x->univ[k][n] < first)
		n++;
	x->last_first[k] = first;
	x->last_n[k] = n;
	return n;
}

/* How many views the look-up of t's field k yields (the earlier that do not constrain k, and
 * any that hold t's first interval of k), at most cap + 1: that bounds its work. */
static size_t count_containing(struct walk *w, uint32_t ti, size_t first, int k, size_t cap)
{
	const struct shadow_view *t = &w->views[ti];
	size_t n = univ_before(&w->fam[t->fam == POL_FAM_V6], k, first);

	if (n > cap)
		return cap + 1;
	if (w->sum[ti].univ >> k & 1)
		return n;
	return n + ivl_index_query(&w->fx[k].ix, t->field[k]->v[0].lo, t->field[k]->v[0].hi, w->buf,
				   cap - n);
}

/* The earlier views that contain t's field k, ascending, into out; their number. */
static size_t containing(struct walk *w, uint32_t ti, size_t first, int k, uint32_t *out)
{
	const struct shadow_view *t = &w->views[ti];
	int f = t->fam == POL_FAM_V6;
	struct fam_index *x = &w->fam[f];
	size_t nu = univ_before(x, k, first), m = 0, n = 0, i = 0, j = 0;

	if (!(w->sum[ti].univ >> k & 1)) {
		/* a view's intervals are disjoint: at most one of them holds t's first one */
		size_t got = ivl_index_query(&w->fx[k].ix, t->field[k]->v[0].lo,
					     t->field[k]->v[0].hi, w->buf, w->n_buf);

		for (size_t e = 0; e < got; e++) {
			uint32_t v = view_at(w, k, w->buf[e], f);

			if (v < first) /* NO_VIEW is not */
				w->buf[m++] = v;
		}
		qsort(w->buf, m, sizeof(*w->buf), cmp_u32);
	}
	/* merged with the views that do not constrain k (ascending already) */
	while (i < nu || j < m)
		out[n++] = j >= m || (i < nu && x->univ[k][i] < w->buf[j]) ? x->univ[k][i++] :
									     w->buf[j++];
	return n;
}

/* t's most selective interval field (fewest views to look at); its earlier views containing
 * t's value into out. */
static int most_selective(struct walk *w, uint32_t ti, size_t first, uint32_t *out, size_t *n_out)
{
	static const int order[4] = { 3, 2, 1, 0 }; /* dst, src, dport, sport: likely first */
	size_t best = w->n_buf;
	int pick = -1;

	for (int i = 0; i < 4; i++) {
		int k = order[i];
		size_t n = count_containing(w, ti, first, k, best);

		if (pick >= 0 && n >= best)
			continue;
		pick = k;
		best = n;
	}
	*n_out = containing(w, ti, first, pick, out);
	return pick;
}

/* shadow_disjoint(), from the summaries */
static bool sum_disjoint(const struct vsum *t, const struct vsum *u)
{
	if (t->fam != u->fam || !(t->ctx & u->ctx))
		return true;
	for (int i = 0; i < 2; i++)
		if (t->lo[i] > u->hi[i] || u->lo[i] > t->hi[i])
			return true;
	return !protoset_meet(&t->protos, &u->protos);
}

/* u covers t in every field but interval field k (whatever it does there). */
static bool covers_except(const struct walk *w, uint32_t ti, uint32_t u, int k)
{
	const struct vsum *a = &w->sum[ti], *b = &w->sum[u];
	unsigned int check = 0xfu & ~(1u << k) & ~b->univ; /* the fields u constrains, but k */

	if (!protoset_subset(&a->protos, &b->protos) || (a->ctx & ~b->ctx))
		return false;
	/* a view that constrains a field covers no view that does not */
	if (a->univ & check)
		return false;
	for (; check; check &= check - 1) {
		int i = __builtin_ctz(check);

		if (!ivls_subset(w->views[ti].field[i], w->views[u].field[i]))
			return false;
	}
	return true;
}

/*
 * Is u one of the views whose union over interval field k may cover t: earlier, of a sound
 * rule, sharing packets with t, covering it in every other field, and not in k? k is t's most
 * selective field, so a view that was not t's candidate does not contain t's k: the costly
 * test of k (one list of ports against another) is left out for most views. The callers
 * found u in the index of k, so it shares some of t's k.
 */
static bool in_group(struct walk *w, uint32_t ti, size_t first, uint32_t u, int k)
{
	if (w->gstamp[u] == w->now)
		return w->gval[u];
	w->gstamp[u] = w->now;
	w->gval[u] = false;
	if (u >= first || w->in->bad[w->rule[u]] || !w->budget)
		return false;
	w->budget--;
	if (w->cstamp[u] == w->now)
		w->gval[u] = miss_of(w, ti, first, u) == 1u << (SH_SPORT + k);
	else
		w->gval[u] = !sum_disjoint(&w->sum[ti], &w->sum[u]) && covers_except(w, ti, u, k);
	return w->gval[u];
}

/* Is [lo, hi] covered by the group members among the first m entries of w->buf (positions
 * in index k)? */
static bool covered_by(struct walk *w, uint32_t ti, size_t first, int k, size_t m, ivl_key lo,
		       ivl_key hi)
{
	int f = w->views[ti].fam == POL_FAM_V6;

	w->cover.n = 0;
	for (size_t j = 0; j < m; j++) {
		uint32_t v = view_at(w, k, w->buf[j], f);
		struct ivl iv;

		if (v == NO_VIEW || !in_group(w, ti, first, v, k))
			continue;
		if (lo == hi) /* a single value: one member holding it is enough */
			return true;
		iv = ivl_index_ivl(&w->fx[k].ix, w->buf[j]);
		if (ivls_add(&w->cover, iv.lo, iv.hi))
			return false;
	}
	ivls_normalize(&w->cover);
	/* merged: [lo, hi] is covered when one merged interval holds it */
	return ivls_contains(&w->cover, lo, hi);
}

/* Does the union of the views that cover t in every field but interval field k cover t's
 * k? The views whose k overlaps t's, from the index, are the only ones that can add to it. */
static bool union_by_index(struct walk *w, uint32_t ti, size_t first, int k)
{
	const struct ivl_index *x = &w->fx[k].ix;
	const struct ivls *want = w->views[ti].field[k];

	for (size_t i = 0; i < want->n; i++) {
		ivl_key lo = want->v[i].lo, hi = want->v[i].hi;
		size_t m = ivl_index_query(x, hi, lo, w->buf, FEW);

		if (covered_by(w, ti, first, k, m < FEW ? m : FEW, lo, hi))
			continue;
		if (m <= FEW)
			return false;
		m = ivl_index_query(x, hi, lo, w->buf, w->n_buf);
		if (!covered_by(w, ti, first, k, m, lo, hi))
			return false;
	}
	return true;
}

/* The rules found to cover the rule being judged: by[r] set, and each such r listed in set, so
 * that the next rule starts from an empty by without clearing all of it (a memset of every
 * earlier rule's byte made the walk quadratic in memory: 8 MB at 4,096 rules). */
struct marks {
	uint8_t *by;
	uint32_t *set;
	size_t n;
};

static void mark(struct marks *m, uint32_t r)
{
	if (!m->by[r]) {
		m->by[r] = 1;
		m->set[m->n++] = r;
	}
}

/* Marks the rule of source id of index k on m when its view of t's family is a member of t's
 * group over k; not for a later rule, nor for one already named (through another view). The
 * rule is read first, from the source, and the view only after: these loads are most of the
 * walk's cost. */
static void mark_member(struct walk *w, uint32_t ti, size_t first, int k, uint32_t id,
			struct marks *m)
{
	const struct field_index *x = &w->fx[k];
	uint32_t r = x->rule[id], v;

	if (r >= w->rule[ti] || m->by[r])
		return;
	v = x->view[id][w->views[ti].fam == POL_FAM_V6];
	if (v != NO_VIEW && in_group(w, ti, first, v, k))
		mark(m, r);
}

/*
 * The rules of the views that cover t in every field but interval field k, on m. They share
 * packets with t, so their k overlaps t's: the index of k lists them, interval by interval of
 * t's k. (Not t's candidates in another field: when every rule leaves the other fields open,
 * those are all the earlier views.)
 */
static void mark_group_of(struct walk *w, uint32_t ti, size_t first, int k, struct marks *m)
{
	const struct field_index *x = &w->fx[k];
	const struct ivls *want = w->views[ti].field[k];

	for (size_t i = 0; i < want->n; i++) {
		ivl_key lo = want->v[i].lo, hi = want->v[i].hi;
		size_t a, b, got;

		/* the single values in t's interval, read in place: for one value its holders
		 * come by source, so by rule, and the first later rule ends them */
		ivl_index_points(&x->ix, lo, hi, &a, &b);
		for (size_t p = a; p < b; p++) {
			if (lo == hi && x->rule[x->ix.pid[p]] >= w->rule[ti])
				break;
			mark_member(w, ti, first, k, x->ix.pid[p], m);
		}
		got = ivl_index_ranges(&x->ix, hi, lo, w->buf, 0, w->n_buf);
		for (size_t e = 0; e < got; e++)
			mark_member(w, ti, first, k, ivl_index_id(&x->ix, w->buf[e]), m);
	}
}

/*
 * Is view ti (of the rule whose first view is first) covered? by collects the rules that
 * cover it. The candidates come from t's most selective interval field F: the first that
 * covers t entirely wins (the earliest, as in the pairwise walk); otherwise the first field,
 * in order, whose union over the views missing only that field covers t's.
 */
static bool view_covered(struct walk *w, uint32_t ti, size_t first, struct marks *m)
{
	size_t n = 0;
	int sel;

	w->now++;
	memset(w->n_group, 0, sizeof(w->n_group));
	sel = most_selective(w, ti, first, w->cand, &n);
	for (size_t i = 0; i < n; i++)
		w->cstamp[w->cand[i]] = w->now;
	for (size_t i = 0; i < n && w->budget; i++) {
		uint8_t miss = miss_of(w, ti, first, w->cand[i]);

		if (miss == NO_MISS)
			continue;
		if (!miss) {
			mark(m, w->views[w->cand[i]].rule);
			return w->budget > 0;
		}
		if (__builtin_popcount(miss) == 1) {
			int f = __builtin_ctz(miss);

			w->group[f][w->n_group[f]++] = &w->views[w->cand[i]];
		}
	}
	for (int f = 0; f < SH_FIELDS && w->budget; f++) {
		if (f == SH_SPORT + sel) {
			if (!union_by_index(w, ti, first, sel))
				continue;
			mark_group_of(w, ti, first, sel, m);
			return w->budget > 0;
		}
		if (w->n_group[f] < 2 ||
		    !shadow_union_covers(&w->views[ti], w->group[f], w->n_group[f], f))
			continue;
		for (size_t g = 0; g < w->n_group[f]; g++)
			mark(m, w->group[f][g]->rule);
		return w->budget > 0;
	}
	return false;
}

static void summarize(struct walk *w)
{
	for (size_t v = 0; v < w->n; v++) {
		const struct shadow_view *x = &w->views[v];
		struct vsum *s = &w->sum[v];

		w->rule[v] = x->rule;
		s->protos = x->protos;
		s->ctx = x->ctx;
		s->fam = x->fam;
		for (int i = 0; i < 2; i++) {
			s->lo[i] = x->field[i]->n ? (uint32_t)x->field[i]->v[0].lo : 1;
			s->hi[i] = x->field[i]->n ?
					   (uint32_t)x->field[i]->v[x->field[i]->n - 1].hi :
					   0;
		}
		for (int k = 0; k < 4; k++)
			s->univ |= universal(x, k) << k;
	}
}

static void walk_free(struct walk *w)
{
	for (int k = 0; k < 4; k++) {
		ivl_index_free(&w->fx[k].ix);
		free(w->fx[k].view);
		free(w->fx[k].rule);
		for (int f = 0; f < 2; f++)
			free(w->fam[f].univ[k]);
	}
	for (int f = 0; f < SH_FIELDS; f++)
		free(w->group[f]);
	free((void *)w->views);
	free(w->sum);
	free(w->rule);
	free(w->stamp);
	free(w->miss);
	free(w->cstamp);
	free(w->gstamp);
	free(w->gval);
	free(w->cand);
	free(w->buf);
	ivls_free(&w->cover);
}

static int walk_init(struct walk *w, const struct shadow_in *in)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->in = in;
	w->budget = in->budget;
	err = shadow_views(in, (struct shadow_view **)&w->views, &w->n);
	if (err)
		return err;
	w->sum = calloc(w->n + 1, sizeof(*w->sum));
	w->rule = calloc(w->n + 1, sizeof(*w->rule));
	w->stamp = calloc(w->n + 1, sizeof(*w->stamp));
	w->miss = calloc(w->n + 1, 1);
	w->cstamp = calloc(w->n + 1, sizeof(*w->cstamp));
	w->gstamp = calloc(w->n + 1, sizeof(*w->gstamp));
	w->gval = calloc(w->n + 1, 1);
	w->cand = calloc(w->n + 1, sizeof(*w->cand));
	if (!w->sum || !w->rule || !w->stamp || !w->miss || !w->cstamp || !w->gstamp || !w->gval ||
	    !w->cand)
		return -ENOMEM;
	for (int f = 0; f < SH_FIELDS; f++) {
		w->group[f] = calloc(w->n + 1, sizeof(*w->group[f]));
		if (!w->group[f])
			return -ENOMEM;
	}
	summarize(w);
	for (int k = 0; k < 4 && !err; k++)
		err = index_field(w, k);
	if (err)
		return err;
	w->n_buf = w->n;
	for (int k = 0; k < 4; k++)
		if (w->fx[k].ix.n + w->fx[k].ix.n_pt > w->n_buf)
			w->n_buf = w->fx[k].ix.n + w->fx[k].ix.n_pt;
	w->buf = calloc(w->n_buf + 1, sizeof(*w->buf));
	return w->buf ? 0 : -ENOMEM;
}

int shadow_analyse(const struct shadow_in *in, shadow_report report, void *arg)
{
	size_t n = in->n_rules ? in->n_rules : 1;
	struct marks m = { calloc(n, 1), malloc(n * sizeof(*m.set)), 0 };
	struct walk w;
	size_t vi = 0;
	int err = walk_init(&w, in);

	if (!m.by || !m.set)
		err = -ENOMEM;
	while (!err && vi < w.n && w.budget) {
		size_t first = vi, end = vi;
		uint32_t ri = w.views[vi].rule;
		bool all;

		while (end < w.n && w.views[end].rule == ri)
			end++;
		while (m.n)
			m.by[m.set[--m.n]] = 0;
		all = !in->bad[ri];
		for (size_t k = first; k < end && all; k++)
			all = shadow_view_empty(&w.views[k]) || view_covered(&w, k, first, &m);
		/* every mark is of an earlier rule: the candidates are views before first */
		if (all && first > 0 && m.n)
			report(arg, ri, m.by);
		vi = end;
	}
	walk_free(&w);
	free(m.by);
	free(m.set);
	return err;
}
