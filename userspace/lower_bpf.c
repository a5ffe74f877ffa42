// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3, the BPF half: the rule list -> the tables the data plane reads, by Recursive Flow
 * Classification (see the "Classification" section of Documentation/architecture.md).
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
#include <sys/mman.h>

#include "lower.h"
#include "lower_bpf_priv.h"
#include "lower_pfx.h"
#include "plan.h"
#include "policy_sni.h"
#include "termsets.h"

static const uint8_t v4_catchall[16] = { [10] = 0xff, [11] = 0xff };

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
		const struct plan_rule *rule = &l->pl->rules[r];
		const struct rule_addrs *ps = dst ? rule->dst : rule->src;

		if (!(dst ? rule->has_dst : rule->has_src))
			continue;
		for (size_t i = 0; !err && i < ps[RULE_V4].n; i++)
			err = pfx_add(s, ps[RULE_V4].v[i].addr, ps[RULE_V4].v[i].plen, POL_FAM_V4,
				      r);
		for (size_t i = 0; !err && i < ps[RULE_V6].n; i++) {
			const struct rule_pfx *q = &ps[RULE_V6].v[i];

			/* The data plane keys IPv4 as v4-mapped IPv6: an IPv6 prefix inside that
			 * space would match IPv4 packets, which an IPv6 rule must not. */
			if (q->plen >= 96 && in_v4_mapped(q->addr)) {
				diag_error(
					l->d, &q->loc,
					"IPv6 prefix inside the IPv4-mapped range ::ffff:0:0/96; write the IPv4 address instead");
				return -EINVAL;
			}
			err = pfx_add(s, q->addr, q->plen, POL_FAM_V6, r);
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
		pfx_mask(anc, x->addr, len);
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
	qsort(s.v, s.n, sizeof(*s.v), pfx_cmp);
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
		if (!(dst ? l->pl->rules[r].has_dst : l->pl->rules[r].has_src))
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

static bool term_has_ports(const struct rule_term *t)
{
	return t->has_sport || t->has_dport;
}

/* Does rule r admit conntrack state ct? Every rule admits UNKNOWN (the first lookup); a
 * state rule admits the states it lists after that. */
static bool rule_admits_ct(const struct plan_rule *r, unsigned int ct)
{
	if (ct == TLSFW_CT_UNKNOWN || !rule_is_state(r))
		return true;
	return ct <= POL_ST_COUNT && (r->state & (1u << (ct - 1)));
}

/*
 * Does rule r admit content class pl and state ct together? (A rule with a name and a
 * state matches a packet only when both are its own.) A rule that follows TCP flows
 * (require, names) admits every state while the class is UNKNOWN: content first, its state
 * after. A segment whose state an earlier state rule had looked up still reaches it and
 * feeds its flow (decide.h, decide_rule), as one that found it first does: otherwise a
 * flow's SYN and first bytes (new) never reach a rule with state: [established], whose later
 * segments find no flow (test_differential seed 161; tlsfw.conf(5), state:). A payload: quic
 * rule keeps no flow: it admits by state as any rule, which inspect()'s QUIC shortcut, taking
 * the rule found with the class UNKNOWN, relies on.
 */
static bool rule_admits(const struct plan *pl, const struct plan_rule *r, unsigned int c,
			unsigned int ct)
{
	if (c == TLSFW_PL_UNKNOWN && (r->require_tls || r->names))
		return true;
	return rule_admits_ct(r, ct) && rule_admits_content(pl, r, c);
}

/*
 * The generation's facts -> content class table (tlsfw_cfg.fact_pl). A QUIC long header is
 * QUIC; a flow whose first bytes are not a ClientHello is NOT_TLS, and so is one without
 * state (its SYN not seen: applied mid-stream, or evicted) under midstream: drop; a segment
 * beyond a gap before the TLS start is decided is UNORDERED. Issue 13's hello and ech facts
 * have their place in the index already; a name class will be a field of its own.
 */
/* With name rules: a malformed ClientHello is HELLO_BAD (name rules fail closed), a segment
 * beyond a gap after the TLS start, before the ClientHello ended, is HELLO_UNORDERED
 * (sni_unordered: says what then; not a require rule's: its decision is made). A
 * flow whose first bytes changed in a retransmission is CONFLICT: were it NOT_TLS, a name rule
 * would let through a ClientHello that the server reassembles from the first copy. */
static void lower_facts_hello(struct plan *pl, unsigned int i)
{
	unsigned int hello = i / 2 % 8, tls = i / 16 % 8;

	if (pl->fact_pl[i] == TLSFW_PL_NOT_TLS && tls == TLSFW_TLS_NO &&
	    hello == TLSFW_HELLO_MALFORMED)
		pl->fact_pl[i] = TLSFW_PL_CONFLICT;
	if (pl->fact_pl[i] != TLSFW_PL_PLAIN)
		return;
	if (hello == TLSFW_HELLO_MALFORMED)
		pl->fact_pl[i] = TLSFW_PL_HELLO_BAD;
	else if (hello == TLSFW_HELLO_UNORDERED)
		pl->fact_pl[i] = TLSFW_PL_HELLO_UNORDERED;
}

static void lower_facts(struct plan *pl)
{
	for (unsigned int i = 0; i < TLSFW_FACT_SLOTS; i++) {
		unsigned int quic = i / 128, tls = i / 16 % 8;
		uint8_t c = TLSFW_PL_PLAIN;

		if (quic == TLSFW_QUIC_LONG || quic == TLSFW_QUIC_INITIAL)
			c = TLSFW_PL_QUIC;
		else if (tls == TLSFW_TLS_NO)
			c = TLSFW_PL_NOT_TLS;
		else if (tls == TLSFW_TLS_MIDSTREAM && pl->midstream_action != TLSFW_ACT_ALLOW)
			c = TLSFW_PL_NOT_TLS;
		else if (tls == TLSFW_TLS_UNORDERED)
			c = TLSFW_PL_UNORDERED;
		pl->fact_pl[i] = c;
		if (pl->has_names)
			lower_facts_hello(pl, i);
	}
}

#define PROTO_MASKS_MAX 64 /* distinct protocol sets told apart; beyond, every protocol alone */

/*
 * rep[p]: the lowest protocol that every term treats as it treats p (both in or both out of
 * every term's protocols, both or neither TCP/UDP), hence with the same class in every slot.
 * A policy names a few protocol sets, so lower_proto computes a handful of classes per
 * (state, content, family) instead of 256, each a pass over all terms.
 */
static void proto_reps(const struct lower *l, uint8_t rep[256])
{
	struct protoset masks[PROTO_MASKS_MAX];
	uint16_t label[256], first[512];
	size_t n_masks = 0;

	for (size_t t = 0; t < l->n_terms && n_masks <= PROTO_MASKS_MAX; t++) {
		const struct protoset *m = &l->term[t]->protos;
		size_t k = 0;

		while (k < n_masks && memcmp(&masks[k], m, sizeof(*m)))
			k++;
		if (k == n_masks && n_masks++ < PROTO_MASKS_MAX)
			masks[k] = *m;
	}
	for (unsigned int p = 0; p < 256; p++) {
		rep[p] = p;
		label[p] = n_masks > PROTO_MASKS_MAX ? p : p == IPPROTO_TCP || p == IPPROTO_UDP;
	}
	if (n_masks > PROTO_MASKS_MAX)
		return;
	/* refine the partition by each set: (label, in the set) -> the new label */
	for (size_t k = 0; k < n_masks; k++) {
		uint16_t n = 0;

		memset(first, 0xff, sizeof(first));
		for (unsigned int p = 0; p < 256; p++) {
			unsigned int key = label[p] * 2 + proto_has(&masks[k], p);

			if (first[key] == 0xffff)
				first[key] = n++;
			label[p] = first[key];
		}
	}
	memset(first, 0xff, sizeof(first));
	for (unsigned int p = 0; p < 256; p++) {
		if (first[label[p]] == 0xffff)
			first[label[p]] = p;
		rep[p] = first[label[p]];
	}
}

/* The terms that slot i of the protocol table admits (its protocol, family, content, state). */
static void proto_terms(struct lower *l, unsigned int i, uint64_t *b)
{
	unsigned int ct = i / 512 / TLSFW_PL_VALUES, pl = i / 512 % TLSFW_PL_VALUES;
	unsigned int fam = i / 256 % 2, proto = i % 256;
	unsigned int fam_bit = fam ? POL_FAM_V6 : POL_FAM_V4;

	memset(b, 0, l->w * sizeof(*b));
	for (size_t t = 0; t < l->n_terms; t++) {
		const struct rule_term *term = l->term[t];
		const struct plan_rule *r = &l->pl->rules[l->term_rule[t]];

		if (r->family && !(r->family & fam_bit))
			continue;
		if (term->fams && !(term->fams & fam_bit))
			continue;
		if (!proto_has(&term->protos, proto))
			continue;
		/* A rule with a port matches only TCP and UDP. */
		if (term_has_ports(term) && proto != IPPROTO_TCP && proto != IPPROTO_UDP)
			continue;
		if (!rule_admits(l->pl, r, pl, ct))
			continue;
		bs_set(b, t);
	}
}

/* Protocol classes, per state and content class: index (ct * TLSFW_PL_VALUES + pl) * 512 +
 * family * 256 + protocol. Without content (state) rules every content class (state) is the
 * same, and is copied. */
static int lower_proto(struct lower *l)
{
	/* every slot in use is written below; mapped apart, not in the plan, so that a plan
	 * (and the struct compiled around it) is not 800 KB to zero in every process */
	uint32_t *cls = cls_table_alloc(TLSFW_PROTO_SLOTS, plan_proto_slots(l->pl));
	/* Name classes (8..63) only when some rule has a name; content classes are below 8. */
	unsigned int n_pl = !l->pl->has_content ? 1 : l->pl->has_names ? TLSFW_PL_VALUES : 8;
	unsigned int n_ct = l->pl->has_state ? TLSFW_CT_VALUES : 1;
	uint8_t rep[256];
	int err;

	if (!cls)
		return -ENOMEM;
	l->pl->proto_cls = cls;
	proto_reps(l, rep);
	/* the blocks of 512 slots in use, in slot order (class ids in order of appearance) */
	for (unsigned int ct = 0; ct < n_ct; ct++) {
		for (unsigned int pc = 0; pc < n_pl; pc++) {
			unsigned int base = (ct * TLSFW_PL_VALUES + pc) * 512;

			for (unsigned int i = base; i < base + 512; i++) {
				/* the same set as its representative's, interned (to the same
				 * id) before */
				if (rep[i % 256] != i % 256) {
					cls[i] = cls[i - i % 256 + rep[i % 256]];
					continue;
				}
				proto_terms(l, i, l->tmp);
				err = bss_intern(&l->proto, l->tmp, &cls[i]);
				if (err)
					return err;
			}
		}
	}
	/* the others are copies of a block in use, one memcpy each; none without state and
	 * content rules (plan_proto_slots) */
	for (unsigned int ct = 0; plan_proto_slots(l->pl) > 512 && ct < TLSFW_CT_VALUES; ct++)
		for (unsigned int pc = 0; pc < TLSFW_PL_VALUES; pc++)
			if (ct >= n_ct || pc >= n_pl)
				memcpy(cls + (ct * TLSFW_PL_VALUES + pc) * 512,
				       cls + ((ct < n_ct ? ct : 0) * TLSFW_PL_VALUES +
					      (pc < n_pl ? pc : 0)) *
						       512,
				       512 * sizeof(*cls));
	return 0;
}

static int lower_ctx(struct lower *l)
{
	struct plan *pl = l->pl;
	uint64_t *b = l->tmp;
	int err;

	pl->ctx = calloc(pl->n_ifaces * 2 + 1, sizeof(*pl->ctx));
	if (!pl->ctx)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n_ifaces; i++) {
		const struct plan_iface *ifc = &pl->ifaces[i];

		for (unsigned int dir = TLSFW_DIR_INGRESS; dir <= TLSFW_DIR_EGRESS; dir++) {
			unsigned int hook =
				dir == TLSFW_DIR_INGRESS ? POL_HOOK_INGRESS : POL_HOOK_EGRESS;
			uint32_t bit =
				i < TLSFW_MAX_IFACES ? RULE_CTX(i, dir == TLSFW_DIR_EGRESS) : 0;
			struct plan_ctx *c;

			if (!(ifc->hooks & hook))
				continue;
			memset(b, 0, l->w * sizeof(*b));
			for (size_t t = 0; t < l->n_terms; t++)
				if (l->pl->rules[l->term_rule[t]].ctx & bit)
					bs_set(b, t);
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

/* Entries come out of combine() in key order (x, then y, then z ascending, as enumerate()
 * lists classes): the sort is only a safeguard. */
static bool comb_sorted(const struct combv *cv)
{
	for (size_t i = 1; i < cv->n; i++)
		if (cmp_comb(&cv->v[i - 1], &cv->v[i]) > 0)
			return false;
	return true;
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
			if (!bss_and(st->f3, c.c, xy, l->tmp3))
				continue;
			set = l->tmp3;
		}
		if (st->out)
			err = bss_intern(st->out, set, &c.out);
		else
			c.out = l->term_rule[bs_first(set, w)];
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
	uint64_t *bx = malloc(l->w * sizeof(*bx));
	int err = bx ? 0 : -ENOMEM;

	if (!err)
		err = bss_index(st->f2, l->n_terms);
	if (!err && st->f3)
		err = bss_index(st->f3, l->n_terms);
	if (!err)
		err = enum_buf_init(&e2, st->f2->n);
	if (!err)
		err = enum_buf_init(&e3, st->f3 ? st->f3->n : 1);
	for (uint32_t x = 0; !err && x < st->f1->n; x++) {
		if (bss_empty(st->f1, x))
			continue;
		bss_load(st->f1, x, bx);
		enumerate(st->f2, bx, &e2);
		for (size_t i = 0; !err && i < e2.n; i++) {
			uint32_t y = e2.out[i];

			/* A packet's addresses are of one family: no v4 src with a v6 dst. */
			if (st->f1 == &l->src && !(l->src_fam[x] & l->dst_fam[y]))
				continue;
			if (bss_and(st->f2, y, bx, l->tmp2))
				err = combine_xy(l, st, x, y, l->tmp2, &e3);
		}
	}
	free(bx);
	enum_buf_free(&e2);
	enum_buf_free(&e3);
	if (!err && !comb_sorted(st->cv))
		qsort(st->cv->v, st->cv->n, sizeof(*st->cv->v), cmp_comb);
	return err;
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
		uint32_t n = f[k].set->n;
		bool same = true;

		for (size_t i = 0; i < w; i++) {
			stop[i] = ~0ull;
			for (int j = 0; j < nf; j++)
				if (j != k)
					stop[i] &= all[j * w + i];
		}
		err = bss_cut(f[k].set, stop, map);
		if (err)
			goto out;
		for (uint32_t c = 0; c < n && same; c++)
			same = map[c] == c;
		/* ids kept: the stored ones stand (a port table of one class is never touched) */
		for (size_t i = 0; !same && i < f[k].ref.n; i++) {
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
		{ &l->proto, CLS_ARRAY(pl->proto_cls, plan_proto_slots(pl)) },
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

static int lower_terms_index(struct lower *l)
{
	const struct plan *pl = l->pl;
	size_t n = 0;

	l->rule_first = calloc(l->n_rules + 1, sizeof(*l->rule_first));
	l->rule_nterms = calloc(l->n_rules + 1, sizeof(*l->rule_nterms));
	for (size_t r = 0; r < l->n_rules; r++)
		n += pl->rules[r].n_terms;
	l->term = calloc(n + 1, sizeof(*l->term));
	l->term_rule = calloc(n + 1, sizeof(*l->term_rule));
	if (!l->rule_first || !l->rule_nterms || !l->term || !l->term_rule)
		return -ENOMEM;
	l->n_terms = 0;
	for (size_t r = 0; r < l->n_rules; r++) {
		l->rule_first[r] = l->n_terms;
		l->rule_nterms[r] = pl->rules[r].n_terms;
		for (size_t k = 0; k < pl->rules[r].n_terms; k++) {
			l->term[l->n_terms] = &pl->rules[r].terms[k];
			l->term_rule[l->n_terms++] = r;
		}
	}
	l->w = l->n_terms ? (l->n_terms + 63) / 64 : 1;
	return 0;
}

static void lower_free(struct lower *l)
{
	free(l->rule_first);
	free(l->rule_nterms);
	free(l->term);
	free(l->term_rule);
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

/* The BPF half of out from the first n_rules rules of its rule list. */
static int lower_n(struct lower *l, size_t n_rules, struct plan *out)
{
	struct combv c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
	int err;

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

	for (size_t t = 0; t < l->n_terms; t++) {
		const struct rule_term *term = l->term[t];
		const struct plan_rule *r = &out->rules[l->term_rule[t]];

		out->fields |= term->has_sport ? TLSFW_F_SPORT : 0;
		out->fields |= term->has_dport || term->has_type ? TLSFW_F_DPORT : 0;
		out->fields |= r->has_src ? TLSFW_F_SRC : 0;
		out->fields |= r->has_dst ? TLSFW_F_DST : 0;
		out->has_content |= rule_is_content(r);
		out->has_state |= rule_is_state(r);
	}

	lower_facts(out);
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

/* The BPF half of out from its first n_rules rules; on failure out's BPF half is empty. */
static int lower_into(struct plan *out, size_t n_rules, struct diag *d, const char **overflow)
{
	struct lower l = { .d = d };
	int err;

	err = lower_n(&l, n_rules, out);
	*overflow = l.overflow;
	lower_free(&l);
	if (err)
		plan_bpf_free(out);
	return err;
}

/* A trial lowering of the first n_rules rules into out: a copy of pl (whose BPF half is
 * still empty) sharing everything else with it. */
static int lower_try(const struct plan *pl, size_t n_rules, struct plan *out, struct diag *d,
		     const char **overflow)
{
	*out = *pl;
	return lower_into(out, n_rules, d, overflow);
}

int lower_bpf(struct plan *pl, struct diag *d)
{
	const char *overflow = NULL;
	bool content = pl->has_content;
	size_t lo, hi;
	struct plan t;
	int err;

	/* In place, not in a copy of the plan (the trials below copy it: only the BPF half
	 * differs). */
	err = lower_into(pl, pl->n_rules, d, &overflow);
	if (err != -E2BIG) {
		pl->has_bpf = !err;
		return err;
	}
	pl->has_content = content; /* the trials start from the plan as it came */
	/* Tables only grow as rules are added (classes refine, intersections stay non-empty),
	 * so the first prefix of the rule list that overflows ends at the rule to blame. The
	 * trial runs report into a scratch context: d gets one message. */
	lo = 1;
	hi = pl->n_rules;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct diag scratch;
		const char *ov;

		diag_init(&scratch);
		if (lower_try(pl, mid, &t, &scratch, &ov) == -E2BIG) {
			hi = mid;
			overflow = ov;
		} else {
			lo = mid + 1;
		}
		plan_bpf_free(&t);
		diag_free(&scratch);
	}
	if (lo >= 1 && lo <= pl->n_rules) {
		const struct plan_rule *r = &pl->rules[lo - 1];
		bool pfx = overflow && strstr(overflow, "prefixes");

		diag_error(
			d, &r->loc,
			"rule '%s' makes the %s table exceed its map (%u entries); merge or simplify rules",
			r->name ? r->name : "?", overflow ? overflow : "classification",
			pfx ? TLSFW_MAX_PREFIXES / 2 : TLSFW_MAX_COMB / 2);
	}
	return -E2BIG;
}

uint32_t *cls_table_alloc(size_t n, size_t used)
{
	void *t = mmap(NULL, n * sizeof(uint32_t), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (used == n ? MAP_POPULATE : 0), -1, 0);

	return t == MAP_FAILED ? NULL : t;
}

void cls_table_free(uint32_t *t, size_t n)
{
	if (t)
		munmap(t, n * sizeof(*t));
}

void plan_bpf_free(struct plan *pl)
{
	if (!pl)
		return;
	cls_table_free(pl->sport_cls, TLSFW_PORT_SLOTS);
	cls_table_free(pl->dport_cls, TLSFW_PORT_SLOTS);
	free(pl->src);
	free(pl->dst);
	free(pl->ctx);
	free(pl->comb1);
	free(pl->comb2);
	free(pl->comb3);
	pl->sport_cls = pl->dport_cls = NULL;
	pl->src = pl->dst = NULL;
	pl->ctx = NULL;
	pl->comb1 = pl->comb2 = pl->comb3 = NULL;
	pl->n_src = pl->n_dst = pl->n_ctx = pl->n_comb1 = pl->n_comb2 = pl->n_comb3 = 0;
	cls_table_free(pl->proto_cls, TLSFW_PROTO_SLOTS);
	pl->proto_cls = NULL;
	pl->fields = 0;
	pl->n_proto_cls = pl->n_sport_cls = pl->n_dport_cls = pl->n_src_cls = 0;
	pl->n_dst_cls = pl->n_ctx_cls = pl->n_a_cls = pl->n_b_cls = 0;
	pl->has_bpf = false;
}
