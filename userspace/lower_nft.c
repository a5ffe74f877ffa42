// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3, the nftables half: the rule list -> table inet tlsfw as data (nft_ruleset.h). The
 * ruleset's shape (see "nftables backend" in Documentation/architecture.md):
 *
 *   - one chain per (interface, direction): "<if>_in" is a base chain on the inet ingress
 *     hook of that device; "<if>_out" a regular chain reached from the forward and output
 *     base chains through the verdict map "egress" (oifname -> jump <if>_out);
 *   - in each chain: the fragment rules, one rule per policy rule (one per family when a rule
 *     names addresses), the default rule; every rule counts into a named counter
 *     "<rule>/<if>/<in|out>" and into the interface's total for its verdict, and carries a
 *     comment with the rule's name and line;
 *   - ports and addresses are looked up in sets named after the rule (intervals of protocol
 *     . port, and address intervals), so a rule costs the same with one port or a thousand;
 *     a single protocol and port, or a single prefix, is compared inline instead;
 *   - a run of at least NFT_RUN_MIN consecutive rules of a chain that match destination ports
 *     alone is one lookup in a verdict map per protocol, "<if>/<in|out>/<tcp|udp><k>": each
 *     port jumps to the rule chain "<rule>/<if>/<in|out>" of the first rule of the run holding
 *     it, which counts and gives the verdict (lower_nft_run.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "lower.h"
#include "nft_priv.h"
#include "plan.h"
#include "relabel.h"
#include "lower_nft_priv.h"

const uint8_t nl_ported[2] = { IPPROTO_TCP, IPPROTO_UDP };
/* The interface's own counters, in this order after its rules' in every chain. */
enum {
	OWN_DEFAULT,
	OWN_PASS,
	OWN_DROP,
	OWN_REJECT,
	OWN_MONITOR,
	OWN_FRAG_DROPPED,
	OWN_FRAG_ALLOWED
};
static const char *const own_stats[] = {
	"default", "pass", "drop", "reject", "monitor", "fragment-dropped", "fragment-allowed",
};
/* Which of them apply zeroes when the new policy changes their label (relabel.h). */
static const unsigned int own_relabel[] = {
	[OWN_DEFAULT] = RELABEL_DEFAULT,
	[OWN_REJECT] = RELABEL_REJECT,
	[OWN_MONITOR] = RELABEL_MONITOR,
};

/* ---- names ---------------------------------------------------------------------------------- */

void nft_chain_name(char *buf, size_t len, const char *ifname, bool egress)
{
	snprintf(buf, len, "%s_%s", ifname, egress ? "out" : "in");
}

void nft_counter_name(char *buf, size_t len, const char *rule, const char *ifname, bool egress)
{
	snprintf(buf, len, "%s/%s/%s", rule, ifname, egress ? "out" : "in");
}

void nft_own_counter_name(char *buf, size_t len, const char *stat, const char *ifname, bool egress)
{
	snprintf(buf, len, "%s/%s/%s", ifname, egress ? "out" : "in", stat);
}

void nft_records_comment(char *buf, size_t len, const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;

	snprintf(buf, len, "tlsfw: %.40s", base ? base + 1 : path ? path : "-");
}

/* ---- growing the ruleset ------------------------------------------------------------------- */

void *nl_grow(struct nctx *c, void *v, size_t n, size_t *cap, size_t size)
{
	void *nv;

	if (c->err)
		return NULL;
	if (n < *cap)
		return v;
	nv = realloc(v, (*cap ? 2 * *cap : 16) * size);
	if (!nv) {
		c->err = -ENOMEM;
		return NULL;
	}
	*cap = *cap ? 2 * *cap : 16;
	return nv;
}

struct nft_rs_chain *nl_chain_new(struct nctx *c, const char *name, int iface,
				  const struct loc *loc)
{
	struct nft_ruleset *rs = c->rs;
	struct nft_rs_chain *v = nl_grow(c, rs->chains, rs->n_chains, &c->cap_chains, sizeof(*v)),
			    *ch;

	if (!v)
		return NULL;
	rs->chains = v;
	ch = &v[rs->n_chains++];
	memset(ch, 0, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->hook = -1;
	ch->iface = iface;
	if (loc)
		ch->loc = *loc;
	return ch;
}

struct nft_rs_set *nl_set_new(struct nctx *c, const char *name, int rule, const struct loc *loc)
{
	struct nft_ruleset *rs = c->rs;
	struct nft_rs_set *v = nl_grow(c, rs->sets, rs->n_sets, &c->cap_sets, sizeof(*v)), *s;

	if (!v)
		return NULL;
	rs->sets = v;
	s = &v[rs->n_sets++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->rule = rule;
	s->staged = rule >= 0;
	if (loc)
		s->loc = *loc;
	return s;
}

struct nft_rs_elem *nl_elem_new(struct nctx *c, struct nft_rs_set *s, const struct loc *loc)
{
	struct nft_rs_elem *e;

	if (c->err)
		return NULL;
	/* capacity 16, then doubled: a run's map holds thousands of elements */
	if (!s->n || (s->n >= 16 && !(s->n & (s->n - 1)))) {
		e = realloc(s->e, (s->n ? 2 * s->n : 16) * sizeof(*e));
		if (!e) {
			c->err = -ENOMEM;
			return NULL;
		}
		s->e = e;
	}
	e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	e->chain = -1;
	if (loc)
		e->loc = *loc;
	return e;
}

static int counter_new(struct nctx *c, const char *name, const char *comment, int rule,
		       const struct loc *loc)
{
	struct nft_ruleset *rs = c->rs;
	struct nft_rs_counter *v =
		nl_grow(c, rs->counters, rs->n_counters, &c->cap_counters, sizeof(*v));

	if (!v)
		return -1;
	rs->counters = v;
	memset(&v[rs->n_counters], 0, sizeof(*v));
	snprintf(v[rs->n_counters].name, sizeof(v->name), "%s", name);
	snprintf(v[rs->n_counters].comment, sizeof(v->comment), "%s", comment);
	v[rs->n_counters].rule = rule;
	if (loc)
		v[rs->n_counters].loc = *loc;
	return rs->n_counters++;
}

struct nft_rs_rule *nl_rule_new(struct nctx *c, int chain, int owner, const struct loc *loc,
				const char *comment)
{
	struct nft_ruleset *rs = c->rs;
	struct nft_rs_rule *v = nl_grow(c, rs->rules, rs->n_rules, &c->cap_rules, sizeof(*v)), *r;

	if (!v)
		return NULL;
	rs->rules = v;
	r = &v[rs->n_rules++];
	memset(r, 0, sizeof(*r));
	r->chain = chain;
	r->rule = owner;
	r->counter = -1;
	snprintf(r->comment, sizeof(r->comment), "%s", comment);
	if (loc)
		r->loc = *loc;
	return r;
}

struct nft_rs_item *nl_item(struct nctx *c, struct nft_rs_rule *r, enum nft_item_kind kind)
{
	struct nft_rs_item *v;

	if (!r || c->err)
		return NULL;
	v = realloc(r->items, (r->n + 1) * sizeof(*v));
	if (!v) {
		c->err = -ENOMEM;
		return NULL;
	}
	r->items = v;
	v = &v[r->n++];
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->ref = -1;
	return v;
}

void nl_item_ref(struct nctx *c, struct nft_rs_rule *r, enum nft_item_kind kind, int ref)
{
	struct nft_rs_item *it = nl_item(c, r, kind);

	if (it)
		it->ref = ref;
}

static void item_l4proto(struct nctx *c, struct nft_rs_rule *r, uint8_t proto)
{
	struct nft_rs_item *it = nl_item(c, r, NFT_I_L4PROTO);

	if (it)
		it->proto = proto;
}

/* ---- one rule's sets -------------------------------------------------------------------------- */

/* Where the port value at lo of protocol proto comes from: the first term holding it. */
const struct loc *nl_port_loc(const struct plan_rule *r, bool sport, uint8_t proto, ivl_key lo)
{
	for (size_t i = 0; i < r->n_terms; i++) {
		const struct rule_term *t = &r->terms[i];
		const struct ivls *p = sport ? &t->sport : &t->dport;

		if ((sport ? t->has_sport : t->has_dport) && proto_has(&t->protos, proto) &&
		    ivls_find(p, lo))
			return &t->loc;
	}
	return &r->loc;
}

/* Every interval of v one value: a set of them needs no intervals (a hash set). */
static bool ivls_single(const struct ivls *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].lo != v->v[i].hi)
			return false;
	return true;
}

/* (protocol . port) intervals of the rule: merged per protocol (pipapo sets refuse overlaps);
 * single ports alone when the set is a hash (no NFT_SET_INTERVAL). */
static void port_elems(struct nctx *c, const struct plan_rule *r, bool sport, struct nft_rs_set *s)
{
	const struct ivls *by = sport ? r->sport_by : r->dport_by;
	bool ranges = s->flags & NFT_SET_INTERVAL;

	for (int k = 0; k < 2; k++) {
		for (size_t j = 0; j < by[k].n; j++) {
			uint16_t lo = by[k].v[j].lo, hi = by[k].v[j].hi;
			struct nft_rs_elem *e =
				nl_elem_new(c, s, nl_port_loc(r, sport, nl_ported[k], lo));

			if (!e)
				return;
			e->key[0] = nl_ported[k];
			e->key[4] = lo >> 8;
			e->key[5] = lo & 0xff;
			if (!ranges)
				continue;
			memcpy(e->key_end, e->key, 8);
			e->key_end[4] = hi >> 8;
			e->key_end[5] = hi & 0xff;
			e->has_end = true;
		}
	}
}

static size_t port_count(const struct plan_rule *r, bool sport)
{
	const struct ivls *by = sport ? r->sport_by : r->dport_by;

	return by[0].n + by[1].n;
}

static void rule_ports(struct nctx *c, size_t ri, struct shape *sh)
{
	const struct plan_rule *r = &c->pl->rules[ri];
	char name[80];

	for (int s = 0; s < 2; s++) {
		const struct ivls *by = s ? r->sport_by : r->dport_by;
		struct nft_rs_set *set;

		sh->any[s] = s ? r->any_sport : r->any_dport;
		if (!sh->any[s] || (!s && c->in_run[ri]))
			continue;
		/* One protocol and one port or range: two comparisons, no set. Besides the lookup,
		 * a set per rule costs at apply: the kernel finds sets by name in a list, so
		 * thousands of one-port rules made applies quadratic. */
		if (port_count(r, s) == 1) {
			int k = by[0].n ? 0 : 1;

			sh->one[s] = true;
			sh->port1[s] = (struct nft_rs_item){ .kind = NFT_I_PORT,
							     .proto = nl_ported[k],
							     .src = s,
							     .lo = by[k].v[0].lo,
							     .hi = by[k].v[0].hi,
							     .ref = -1 };
			continue;
		}
		snprintf(name, sizeof(name), "%s_%s", r->name, s ? "ps" : "pd");
		set = nl_set_new(c, name, ri, &r->loc);
		if (!set)
			return;
		set->key_type = NFT_TYPE_INET_PROTOCOL << NFT_TYPE_BITS | NFT_TYPE_INET_SERVICE;
		set->key_len = 8;
		if (!ivls_single(&by[0]) || !ivls_single(&by[1])) {
			set->flags = NFT_SET_INTERVAL | NFT_SET_CONCAT;
			set->fields[0] = 1;
			set->fields[1] = 2;
		}
		port_elems(c, r, s, set);
		set->size = set->n;
		sh->port_set[s] = c->rs->n_sets - 1;
	}
}

static void rule_protos(struct nctx *c, size_t ri, struct shape *sh)
{
	const struct plan_rule *r = &c->pl->rules[ri];
	unsigned int n = protoset_count(&r->protos), last = 0;
	char name[80];
	struct nft_rs_set *set;

	for (unsigned int i = 0; i < 256; i++)
		if (proto_has(&r->protos, i))
			last = i;
	if (n == 1) {
		sh->one_proto = last;
		return;
	}
	if (n < 2 || n == 256)
		return;
	snprintf(name, sizeof(name), "%s_proto", r->name);
	set = nl_set_new(c, name, ri, &r->loc);
	if (!set)
		return;
	set->key_type = NFT_TYPE_INET_PROTOCOL;
	set->key_len = 1;
	for (unsigned int i = 0; i < 256; i++) {
		struct nft_rs_elem *e;

		if (!proto_has(&r->protos, i))
			continue;
		e = nl_elem_new(c, set, &r->terms[0].loc);
		if (e)
			e->key[0] = i;
	}
	set->size = set->n;
	sh->proto_set = c->rs->n_sets - 1;
}

/* Where the address interval starting at lo comes from: the first prefix inside it. */
static const struct loc *addr_loc(const struct rule_addrs *a, const struct ivl *x)
{
	for (size_t i = 0; i < a->n; i++) {
		struct ivl p = prefix_ivl(a->v[i].addr, a->v[i].plen);

		if (p.lo >= x->lo && p.hi <= x->hi)
			return &a->v[i].loc;
	}
	return NULL;
}

/*
 * Prefixes of one family as interval elements: the merged intervals, each a start element
 * and an end element one past its last address (none when it reaches the top). In a hash set
 * (every merged interval one address) the start elements alone.
 */
static void addr_elems(struct nctx *c, const struct rule_addrs *a, unsigned int f,
		       struct nft_rs_set *s)
{
	size_t alen = f == RULE_V4 ? 4 : 16;
	ivl_key top = f == RULE_V4 ? ivl_v4_all.hi : ivl_v6_all.hi;
	bool ranges = s->flags & NFT_SET_INTERVAL;

	for (size_t i = 0; i < a->merged.n; i++) {
		const struct ivl *x = &a->merged.v[i];
		const struct loc *loc = addr_loc(a, x);
		struct nft_rs_elem *e = nl_elem_new(c, s, loc);
		uint8_t raw[16];

		if (!e)
			return;
		key_addr(x->lo, raw);
		memcpy(e->key, raw + 16 - alen, alen);
		if (!ranges || x->hi == top)
			continue;
		e = nl_elem_new(c, s, loc);
		if (!e)
			return;
		key_addr(x->hi + 1, raw);
		memcpy(e->key, raw + 16 - alen, alen);
		e->interval_end = true;
	}
}

static void rule_addrs(struct nctx *c, size_t ri, struct shape *sh)
{
	const struct plan_rule *r = &c->pl->rules[ri];
	char name[80];

	sh->split = r->fams != (POL_FAM_V4 | POL_FAM_V6) || r->has_src || r->has_dst;
	for (unsigned int f = 0; f < 2; f++) {
		for (int d = 0; d < 2; d++) {
			const struct rule_addrs *a = d ? &r->dst[f] : &r->src[f];
			struct nft_rs_set *set;

			if (!(r->fams & (f ? POL_FAM_V6 : POL_FAM_V4)) ||
			    !(d ? r->has_dst : r->has_src))
				continue;
			if (a->n == 1) { /* one prefix: a masked comparison, no set */
				sh->addr1[d][f] = &a->v[0];
				continue;
			}
			snprintf(name, sizeof(name), "%s_%s%c", r->name, d ? "dst" : "src",
				 f ? '6' : '4');
			set = nl_set_new(c, name, ri, &r->loc);
			if (!set)
				return;
			set->key_type = f ? NFT_TYPE_IP6ADDR : NFT_TYPE_IPADDR;
			set->key_len = f ? 16 : 4;
			set->flags = ivls_single(&a->merged) ? 0 : NFT_SET_INTERVAL;
			addr_elems(c, a, f, set);
			set->size = set->n;
			sh->addr_set[d][f] = c->rs->n_sets - 1;
		}
	}
}

static void rule_shape(struct nctx *c, size_t ri, struct shape *sh)
{
	const struct plan_rule *r = &c->pl->rules[ri];

	memset(sh, 0, sizeof(*sh));
	sh->port_set[0] = sh->port_set[1] = sh->proto_set = sh->one_proto = -1;
	memset(sh->addr_set, 0xff, sizeof(sh->addr_set));
	if (!r->n_terms) {
		/* without this, a rule without matches would match every packet */
		sh->never = true;
		return;
	}
	sh->per_term = r->has_type;
	if (sh->per_term)
		; /* each term's values inline, in rules of their own (term_rules) */
	else if (r->any_dport || r->any_sport)
		rule_ports(c, ri, sh);
	else
		rule_protos(c, ri, sh);
	rule_addrs(c, ri, sh);
}

/* ---- chains and rules ----------------------------------------------------------------------- */

/* The interface's totals a packet of verdict a counts into, as the data plane keeps them:
 * "pass", "drop" or "reject", and "monitor" too for a monitor-mode match (which passes).
 * They are kept across apply whatever the rules are called, as the BPF backend's are. */
static void totals(struct nctx *c, struct nft_rs_rule *nr, const struct chain_ctx *cc,
		   unsigned int a, bool monitor)
{
	if (monitor) {
		nl_item_ref(c, nr, NFT_I_COUNTER, cc->own + OWN_MONITOR);
		a = POL_ALLOW;
	}
	nl_item_ref(c, nr, NFT_I_COUNTER,
		    cc->own + (a == POL_DROP   ? OWN_DROP :
			       a == POL_REJECT ? OWN_REJECT :
						 OWN_PASS));
}

/* The verdict of a rule that matched: monitor rules count and pass, like the BPF backend
 * (they match first, later rules do not see the packet). */
static void verdict(struct nctx *c, struct nft_rs_rule *nr, unsigned int a, bool monitor,
		    int reject)
{
	if (monitor || a == POL_ALLOW)
		nl_item(c, nr, NFT_I_ACCEPT);
	else if (a == POL_DROP)
		nl_item(c, nr, NFT_I_DROP);
	else
		nl_item_ref(c, nr, NFT_I_GOTO, reject);
}

static void addr_match(struct nctx *c, struct nft_rs_rule *nr, const struct shape *sh, int d,
		       unsigned int f)
{
	const struct rule_pfx *one = sh->addr1[d][f];
	struct nft_rs_item *it;

	if (sh->addr_set[d][f] < 0 && !one)
		return;
	it = nl_item(c, nr, one ? NFT_I_ADDR : NFT_I_ADDR_SET);
	if (!it)
		return;
	it->fam = f ? POL_FAM_V6 : POL_FAM_V4;
	it->src = !d;
	it->ref = sh->addr_set[d][f];
	if (one) {
		memcpy(it->addr, f ? one->addr : one->addr + 12, f ? 16 : 4);
		it->plen = f ? one->plen : one->plen - 96;
	}
}

/* What one nft rule of a term matches: a protocol, one value range, the family. */
struct term_match {
	uint8_t proto;
	uint16_t lo, hi;
	int fam; /* POL_FAM_*, 0: either */
};

static void term_rule(struct nctx *c, size_t ri, const struct shape *sh, const struct chain_ctx *cc,
		      const struct rule_term *t, const struct term_match *m, int cidx,
		      const char *comment)
{
	const struct plan_rule *r = &c->pl->rules[ri];
	struct nft_rs_rule *nr = nl_rule_new(c, cc->chain, ri, &t->loc, comment);
	struct nft_rs_item *it;

	if (!nr)
		return;
	nr->counter = cidx;
	snprintf(nr->info, sizeof(nr->info), "action=%s mode=%s line=%u order=%zu",
		 pol_action_names[r->action], pol_mode_names[r->monitor], r->line, ri);
	if (m->fam) {
		it = nl_item(c, nr, NFT_I_NFPROTO);
		if (it)
			it->fam = m->fam;
	}
	it = nl_item(c, nr, t->has_type ? NFT_I_ICMP_TYPE : NFT_I_PORT);
	if (it) {
		it->proto = m->proto;
		it->lo = m->lo;
		it->hi = m->hi;
	}
	if (t->has_type && t->hop && m->proto == IPPROTO_ICMPV6) {
		it = nl_item(c, nr, NFT_I_HOPLIMIT);
		if (it)
			it->lo = t->hop;
	}
	if (sh->split && m->fam) {
		addr_match(c, nr, sh, 0, m->fam == POL_FAM_V6);
		addr_match(c, nr, sh, 1, m->fam == POL_FAM_V6);
	}
	nl_ct_state(c, nr, r);
	nl_item_ref(c, nr, NFT_I_COUNTER, cidx);
	totals(c, nr, cc, r->action, r->monitor);
	verdict(c, nr, r->action, r->monitor, cc->reject);
}

/*
 * A rule with ICMP types (or the essentials rule, whose terms differ in family and hop
 * limit): one nft rule per term, protocol and value range, all counting into the rule's
 * counter, in term order. A union of the terms would mix them (ICMP's types with ICMPv6's,
 * DHCPv4's ports with IPv6).
 */
static void term_rules(struct nctx *c, size_t ri, const struct shape *sh,
		       const struct chain_ctx *cc, int cidx, const char *comment)
{
	const struct plan_rule *r = &c->pl->rules[ri];
	static const uint8_t protos[4] = { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP };

	for (size_t ti = 0; ti < r->n_terms; ti++) {
		const struct rule_term *t = &r->terms[ti];

		for (int f = 0; f < 3; f++) {
			/* f 0: no family of its own; 1, 2: IPv4, IPv6 (addresses, or the term's) */
			int fam = f == 1 ? POL_FAM_V4 : f == 2 ? POL_FAM_V6 : 0;
			bool per_fam = sh->split || t->fams;

			if (per_fam != (f > 0) || (fam && !(r->fams & fam)) ||
			    (fam && t->fams && !(t->fams & fam)))
				continue;
			for (int k = t->has_type ? 0 : 2; k < (t->has_type ? 2 : 4); k++) {
				const struct ivls *v = t->has_type ? &t->types[k] : &t->dport;

				if (!proto_has(&t->protos, protos[k]))
					continue;
				for (size_t j = 0; j < v->n; j++) {
					struct term_match m = { protos[k], v->v[j].lo, v->v[j].hi,
								fam };

					term_rule(c, ri, sh, cc, t, &m, cidx, comment);
				}
			}
		}
	}
}

void nl_rule_in_chain(struct nctx *c, size_t ri, const struct shape *sh, struct chain_ctx *cc)
{
	const struct plan_rule *r = &c->pl->rules[ri];
	int cidx = cc->next_counter++;
	char comment[128];

	snprintf(comment, sizeof(comment), "%s (line %u)%s", r->name, r->line,
		 r->monitor ? " monitor" :
		 sh->never  ? " matches nothing" :
			      "");
	if (sh->per_term && !sh->never) {
		term_rules(c, ri, sh, cc, cidx, comment);
		return;
	}
	for (unsigned int f = 0; f < 2; f++) {
		struct nft_rs_rule *nr;

		if (sh->never ? f : sh->split ? !(r->fams & (f ? POL_FAM_V6 : POL_FAM_V4)) : f)
			continue;
		nr = nl_rule_new(c, cc->chain, ri, &r->loc, comment);
		if (!nr)
			return;
		nr->counter = cidx;
		/* order: rule chains of runs come after the chains that use them, so stats
		 * cannot take policy order from the order of the rules in the table */
		snprintf(nr->info, sizeof(nr->info), "action=%s mode=%s line=%u order=%zu",
			 pol_action_names[r->action], pol_mode_names[r->monitor], r->line, ri);
		if (sh->never) {
			/* Still a rule, so that stats finds the rule's counter and what it is: one
			 * that asks for two transport protocols at once. */
			item_l4proto(c, nr, IPPROTO_TCP);
			item_l4proto(c, nr, IPPROTO_UDP);
			nl_item_ref(c, nr, NFT_I_COUNTER, cidx);
			return;
		}
		if (sh->split) {
			struct nft_rs_item *it = nl_item(c, nr, NFT_I_NFPROTO);

			if (it)
				it->fam = f ? POL_FAM_V6 : POL_FAM_V4;
		}
		for (int s = 0; s < 2; s++) {
			struct nft_rs_item *it;

			if (!sh->any[s])
				continue;
			if (sh->one[s]) {
				it = nl_item(c, nr, NFT_I_PORT);
				if (it)
					*it = sh->port1[s];
			} else {
				it = nl_item(c, nr, NFT_I_PORT_SET);
				if (it) {
					it->src = s;
					it->ref = sh->port_set[s];
				}
			}
		}
		if (sh->one_proto >= 0)
			item_l4proto(c, nr, sh->one_proto);
		if (sh->proto_set >= 0)
			nl_item_ref(c, nr, NFT_I_L4PROTO_SET, sh->proto_set);
		if (sh->split) {
			addr_match(c, nr, sh, 0, f);
			addr_match(c, nr, sh, 1, f);
		}
		nl_ct_state(c, nr, r);
		nl_item_ref(c, nr, NFT_I_COUNTER, cidx);
		totals(c, nr, cc, r->action, r->monitor);
		verdict(c, nr, r->action, r->monitor, cc->reject);
	}
}

/*
 * Fragments. Nothing in nf_tables remembers a first fragment's verdict for the ones that follow,
 * and the ingress hook runs before reassembly: `follow` and `allow` both pass non-first
 * fragments here (the first fragment, which holds the ports, gets the rules; without it the
 * receiver cannot reassemble the datagram). `drop` drops every fragment.
 */
static void frag_rules(struct nctx *c, const struct chain_ctx *cc)
{
	bool drop = c->pl->frag_mode == POL_FRAG_DROP;
	int cidx = cc->own + (drop ? OWN_FRAG_DROPPED : OWN_FRAG_ALLOWED);
	char comment[64];

	snprintf(comment, sizeof(comment), "fragments: %s", pol_frag_names[c->pl->frag_mode]);
	for (unsigned int f = 0; f < 2; f++) {
		struct nft_rs_rule *nr = nl_rule_new(c, cc->chain, -1, NULL, comment);
		struct nft_rs_item *it = nl_item(c, nr, NFT_I_NFPROTO);

		if (!it)
			return;
		it->fam = f ? POL_FAM_V6 : POL_FAM_V4;
		it = nl_item(c, nr, !f ? NFT_I_FRAG4 : drop ? NFT_I_FRAG6 : NFT_I_FRAG6_OFF);
		if (it && !f)
			it->lo = drop ? 0x3fff : 0x1fff; /* with MF, or the offset alone */
		nl_item_ref(c, nr, NFT_I_COUNTER, cidx);
		totals(c, nr, cc, drop ? POL_DROP : POL_ALLOW, false);
		nl_item(c, nr, drop ? NFT_I_DROP : NFT_I_ACCEPT);
	}
}

static void default_rule(struct nctx *c, const struct chain_ctx *cc)
{
	char comment[64];
	struct nft_rs_rule *nr;

	snprintf(comment, sizeof(comment), "default: %s", pol_action_names[c->pl->default_action]);
	nr = nl_rule_new(c, cc->chain, -1, NULL, comment);
	nl_item_ref(c, nr, NFT_I_COUNTER, cc->own + OWN_DEFAULT);
	totals(c, nr, cc, c->pl->default_action, false);
	nl_item(c, nr, c->pl->default_action == POL_DROP ? NFT_I_DROP : NFT_I_ACCEPT);
}

bool nl_rule_applies(const struct plan_rule *r, size_t ii, bool egress)
{
	return ii < TLSFW_MAX_IFACES && (r->ctx & RULE_CTX(ii, egress));
}

/* Counter comments are what `tlsfw stats` reads back ("rule=R iface=I dir=D"): keep the
 * format in step with nft_counter_parse() in apply_nft.c. They say only what the counter's
 * name says, because a counter outlives the policy that created it. */
static void chain_counters(struct nctx *c, size_t ii, bool egress)
{
	const struct plan_iface *ifc = &c->pl->ifaces[ii];
	const char *dir = egress ? "egress" : "ingress";
	char name[160], comment[128];

	c->counters[2 * ii + egress] = c->rs->n_counters;
	for (size_t ri = 0; ri < c->pl->n_rules; ri++) {
		const struct plan_rule *r = &c->pl->rules[ri];

		if (!nl_rule_applies(r, ii, egress))
			continue;
		/* "(essentials)/..." is no name `nft -f` reads back: the implicit rule counts in
		 * the interface's own namespace, "lan0/in/essentials" */
		if (r->essentials)
			nft_own_counter_name(name, sizeof(name), "essentials", ifc->name, egress);
		else
			nft_counter_name(name, sizeof(name), r->name, ifc->name, egress);
		snprintf(comment, sizeof(comment), "rule=%s iface=%s dir=%s", r->name, ifc->name,
			 dir);
		counter_new(c, name, comment, ri, &r->loc);
	}
	for (size_t i = 0; i < sizeof(own_stats) / sizeof(own_stats[0]); i++) {
		nft_own_counter_name(name, sizeof(name), own_stats[i], ifc->name, egress);
		snprintf(comment, sizeof(comment), "rule=(%s) iface=%s dir=%s", own_stats[i],
			 ifc->name, dir);
		if (counter_new(c, name, comment, -1, &ifc->loc) >= 0 &&
		    i < sizeof(own_relabel) / sizeof(own_relabel[0]))
			c->rs->counters[c->rs->n_counters - 1].relabel = own_relabel[i];
	}
}

static void iface_chain(struct nctx *c, const struct shape *shapes, size_t ii, bool egress,
			int reject)
{
	const struct plan_iface *ifc = &c->pl->ifaces[ii];
	struct chain_ctx cc = { .ifname = ifc->name, .egress = egress, .reject = reject };
	char name[IFNAMSIZ + 8];
	struct nft_rs_chain *ch;
	size_t n = 0;

	for (size_t ri = 0; ri < c->pl->n_rules; ri++)
		n += nl_rule_applies(&c->pl->rules[ri], ii, egress);
	cc.next_counter = c->counters[2 * ii + egress];
	cc.own = cc.next_counter + n;
	nft_chain_name(name, sizeof(name), ifc->name, egress);
	if (!egress && c->pl->has_state)
		nl_ct_chain_name(name, sizeof(name), ifc->name);
	ch = nl_chain_new(c, name, ii, &ifc->loc);
	if (!ch)
		return;
	if (!egress) {
		ch->hook = NF_INET_INGRESS;
		snprintf(ch->dev, sizeof(ch->dev), "%s", ifc->name);
	}
	cc.chain = c->rs->n_chains - 1;
	if (!egress && c->pl->has_state)
		nl_ct_ingress(c, ch, cc.chain, ifc->name);
	frag_rules(c, &cc);
	for (size_t ri = 0, end; ri < c->pl->n_rules && !c->err; ri = end) {
		size_t n;

		end = ri + 1;
		if (!nl_rule_applies(&c->pl->rules[ri], ii, egress))
			continue;
		n = nl_run_at(c->pl, ii, egress, ri, &end);
		if (n >= NFT_RUN_MIN) {
			nl_run_lookup(c, &cc, ri, end, n);
			continue;
		}
		end = ri + 1;
		nl_rule_in_chain(c, ri, &shapes[ri], &cc);
	}
	default_rule(c, &cc);
}

static int reject_chain(struct nctx *c)
{
	struct nft_rs_chain *ch = nl_chain_new(c, NFT_REJECT_CHAIN, -1, NULL);
	int idx = c->rs->n_chains - 1;
	struct nft_rs_rule *nr;

	if (!ch)
		return -1;
	nr = nl_rule_new(c, idx, -1, NULL, "reject: TCP reset");
	item_l4proto(c, nr, IPPROTO_TCP);
	nl_item(c, nr, NFT_I_REJECT_TCP);
	nr = nl_rule_new(c, idx, -1, NULL, "reject: ICMP administratively prohibited");
	nl_item(c, nr, NFT_I_REJECT_ICMPX);
	return idx;
}

/* Egress: forward and output dispatch through one verdict map, oifname -> jump <if>_out. */
static void egress_dispatch(struct nctx *c, const int *out_chain)
{
	static const struct {
		const char *name;
		int hook;
	} base[] = { { "forward", NF_INET_FORWARD }, { "output", NF_INET_LOCAL_OUT } };
	struct nft_rs_set *map = nl_set_new(c, "egress", -1, NULL);
	int midx = c->rs->n_sets - 1;

	if (!map)
		return;
	map->key_type = NFT_TYPE_IFNAME;
	map->key_len = IFNAMSIZ;
	map->flags = NFT_SET_MAP;
	map->map = true;
	map->key_host = true;
	for (size_t ii = 0; ii < c->pl->n_ifaces; ii++) {
		const struct plan_iface *ifc = &c->pl->ifaces[ii];
		struct nft_rs_elem *e;

		if (!(ifc->hooks & POL_HOOK_EGRESS))
			continue;
		e = nl_elem_new(c, map, &ifc->loc);
		if (!e)
			return;
		memcpy(e->key, ifc->name, strnlen(ifc->name, IFNAMSIZ - 1));
		e->chain = out_chain[ii];
	}
	for (size_t i = 0; i < 2; i++) {
		struct nft_rs_chain *ch = nl_chain_new(c, base[i].name, -1, NULL);
		struct nft_rs_rule *nr;

		if (!ch)
			return;
		ch->hook = base[i].hook;
		nr = nl_rule_new(c, c->rs->n_chains - 1, -1, NULL,
				 "egress: each interface's chain");
		nl_item_ref(c, nr, NFT_I_OIFNAME, midx);
	}
}

static void lower_chains(struct nctx *c, const struct shape *shapes, int *out_chain)
{
	const struct plan *pl = c->pl;
	bool any_egress = false;
	int reject;

	for (size_t ii = 0; ii < pl->n_ifaces; ii++) {
		if (pl->ifaces[ii].hooks & POL_HOOK_INGRESS)
			chain_counters(c, ii, false);
		if (pl->ifaces[ii].hooks & POL_HOOK_EGRESS)
			chain_counters(c, ii, true);
	}
	reject = reject_chain(c);
	for (size_t ii = 0; ii < pl->n_ifaces; ii++) {
		out_chain[ii] = -1;
		if (pl->ifaces[ii].hooks & POL_HOOK_EGRESS) {
			out_chain[ii] = c->rs->n_chains;
			iface_chain(c, shapes, ii, true, reject);
			any_egress = true;
		}
		if (pl->ifaces[ii].hooks & POL_HOOK_INGRESS)
			iface_chain(c, shapes, ii, false, reject);
	}
	if (any_egress)
		egress_dispatch(c, out_chain);
	nl_run_chains(c);
}

/* Content rules (payload:, require:) have no nftables form that decides exactly as the data
 * plane does; policy_check says so at the key, this is the lowering's own guard. */
static int refuse_content(const struct plan *pl, struct diag *d)
{
	for (size_t i = 0; i < pl->n_rules; i++) {
		const struct plan_rule *r = &pl->rules[i];

		if (!rule_is_content(r))
			continue;
		diag_error(d, r->payload_quic ? &r->payload_loc : &r->require_loc,
			   "%s needs backend: bpf",
			   r->payload_quic ? "payload: quic" : "require: tls");
		return -EINVAL;
	}
	return 0;
}

int lower_nft(struct plan *pl, struct diag *d)
{
	struct nctx c = { .pl = pl, .rs = &pl->nft };
	int refused = refuse_content(pl, d);

	if (refused)
		return refused;
	struct shape *shapes = calloc(pl->n_rules ? pl->n_rules : 1, sizeof(*shapes));
	int *out_chain = calloc(pl->n_ifaces ? pl->n_ifaces : 1, sizeof(*out_chain));
	struct nft_rs_chain *records;

	c.counters = calloc(2 * pl->n_ifaces + 1, sizeof(*c.counters));
	c.in_run = calloc(pl->n_rules + 1, sizeof(*c.in_run));
	memset(c.rs, 0, sizeof(*c.rs));
	if (!shapes || !out_chain || !c.counters || !c.in_run)
		c.err = -ENOMEM;
	else
		nl_runs_mark(&c);
	nft_records_comment(c.rs->comment, sizeof(c.rs->comment), pl->file);
	c.rs->n_policy_rules = pl->n_rules;
	c.rs->default_action = pl->default_action;
	c.rs->rejects = relabel_rejects(pl);
	for (size_t ri = 0; ri < pl->n_rules && !c.err; ri++)
		rule_shape(&c, ri, &shapes[ri]);
	records = nl_chain_new(&c, NFT_POLICY_CHAIN, -1, NULL);
	if (records)
		records->records = true;
	if (!c.err)
		lower_chains(&c, shapes, out_chain);
	/* Only interval sets (rbtree, pipapo) publish a transaction's elements after its
	 * generation flip (struct nft_batch): a hash set's elements turn active with the rules,
	 * so it is made in the switch itself, under its plain name. */
	for (size_t i = 0; i < c.rs->n_sets; i++)
		if (!(c.rs->sets[i].flags & NFT_SET_INTERVAL))
			c.rs->sets[i].staged = false;
	free(shapes);
	free(out_chain);
	free(c.counters);
	free(c.in_run);
	free(c.runs);
	if (c.err) {
		nft_ruleset_free(c.rs);
		return c.err;
	}
	pl->has_nft = true;
	return 0;
}

void nft_ruleset_free(struct nft_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_sets; i++)
		free(rs->sets[i].e);
	for (size_t i = 0; i < rs->n_rules; i++)
		free(rs->rules[i].items);
	free(rs->sets);
	free(rs->rules);
	free(rs->chains);
	free(rs->counters);
	memset(rs, 0, sizeof(*rs));
}
