// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3, first step: a policy rule -> its entry in the backend-neutral rule list (rules.h).
 * Services become terms (alternatives of protocols and ports), ports and prefixes become
 * merged interval sets, interfaces and directions a mask of the hooks the rule applies to.
 * The checker builds the same entries for its shadowing analysis.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "../bpf/tlsfw_abi.h"
#include "catalog.h"
#include "rules.h"

static const uint8_t ported[2] = { IPPROTO_TCP, IPPROTO_UDP };

struct alt { /* one (protocols, ports) alternative of a rule's services */
	struct protoset protos;
	struct ivls ports;
	struct loc loc;
};

static bool alt_same_ports(const struct alt *a, const struct alt *b)
{
	return ivls_equal(&a->ports, &b->ports);
}

/*
 * Merge alternatives that share their protocols or their ports: fewer terms, same packets.
 * The order of what is left is part of the plan (terms are numbered in it): keep this walk
 * as it is.
 */
static size_t merge_alts(struct alt *alts, size_t n)
{
	bool changed = true;

	while (changed) {
		changed = false;
		for (size_t i = 0; i < n && !changed; i++) {
			for (size_t j = i + 1; j < n && !changed; j++) {
				struct alt *a = &alts[i], *b = &alts[j];

				if (alt_same_ports(a, b)) {
					protoset_union(&a->protos, &b->protos);
				} else if (!memcmp(&a->protos, &b->protos, sizeof(a->protos))) {
					bool ok = true;

					for (size_t k = 0; k < b->ports.n && ok; k++)
						ok = !ivls_add(&a->ports, b->ports.v[k].lo,
							       b->ports.v[k].hi);
					if (!ok)
						continue;
					ivls_normalize(&a->ports);
				} else {
					continue;
				}
				ivls_free(&b->ports);
				alts[j] = alts[--n];
				changed = true;
			}
		}
	}
	return n;
}

static int ports_of(struct ivls *out, const struct pol_ports *pp)
{
	uint64_t *k = malloc((2 * pp->n + 1) * sizeof(*k));
	int err;

	memset(out, 0, sizeof(*out));
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < pp->n; i++)
		k[i] = PORT_KEY(pp->r[i].lo, pp->r[i].hi);
	port_keys_sort(k, k + pp->n, pp->n);
	err = ivls_add_port_keys(out, k, pp->n);
	free(k);
	return err;
}

/* One alternative from a service port, cut down to the rule's dport; 1 when something is
 * left, 0 when nothing, -ENOMEM. */
static int service_alt(const struct pol_rule *r, const struct svc_port *sp, const struct loc *loc,
		       struct alt *a)
{
	memset(a, 0, sizeof(*a));
	proto_add(&a->protos, sp->proto);
	a->loc = *loc;
	if (!r->has_dport && ivls_add(&a->ports, sp->lo, sp->hi))
		return -ENOMEM;
	for (size_t m = 0; r->has_dport && m < r->dport.n; m++) {
		uint32_t lo = r->dport.r[m].lo > sp->lo ? r->dport.r[m].lo : sp->lo;
		uint32_t hi = r->dport.r[m].hi < sp->hi ? r->dport.r[m].hi : sp->hi;

		if (lo <= hi && ivls_add(&a->ports, lo, hi))
			return -ENOMEM;
	}
	ivls_normalize(&a->ports);
	if (!a->ports.n)
		ivls_free(&a->ports);
	return a->ports.n > 0;
}

static int term_push(struct plan_rule *out, struct rule_term **t)
{
	struct rule_term *v = realloc(out->terms, (out->n_terms + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	out->terms = v;
	*t = &v[out->n_terms++];
	memset(*t, 0, sizeof(**t));
	return 0;
}

/* The terms of a rule with services: one per (protocols, ports) alternative that survives
 * the rule's own proto and dport. */
static int service_terms(const struct pol_rule *r, const struct protoset *protos,
			 struct plan_rule *out, void (*excluded)(void *, size_t), void *arg)
{
	struct alt *alts = calloc(2 * r->services.n + 1, sizeof(*alts));
	size_t n = 0;
	int err = 0;

	if (!alts)
		return -ENOMEM;
	for (size_t j = 0; j < r->services.n && !err; j++) {
		const struct service *s = catalog_find(r->services.v[j]);
		size_t before = n;

		for (size_t k = 0; s && k < s->n_ports && !err; k++) {
			int kept;

			if (!proto_has(protos, s->ports[k].proto))
				continue;
			kept = service_alt(r, &s->ports[k], &r->services.locs[j], &alts[n]);
			if (kept < 0)
				err = kept;
			else
				n += kept;
		}
		if (s && n == before && !err && excluded)
			excluded(arg, j);
	}
	n = merge_alts(alts, n);
	for (size_t i = 0; i < n; i++) {
		struct rule_term *t;

		if (!err)
			err = term_push(out, &t);
		if (err) {
			ivls_free(&alts[i].ports);
			continue;
		}
		t->protos = alts[i].protos;
		t->has_dport = true;
		t->dport = alts[i].ports;
		t->loc = alts[i].loc;
		t->has_sport = r->has_sport;
		if (r->has_sport)
			err = ports_of(&t->sport, &r->sport);
	}
	free(alts);
	return err;
}

/* The values the data plane classifies for the term's types (TLSFW_ICMP6_* in tlsfw_abi.h):
 * ICMP the type; ICMPv6 the type in each hop-limit class the term admits. */
static int type_keys(struct rule_term *t)
{
	static const unsigned int hl[3] = { TLSFW_ICMP6_HL255, TLSFW_ICMP6_HL1,
					    TLSFW_ICMP6_HLOTHER };

	for (size_t j = 0; j < t->types[RULE_V4].n; j++)
		if (ivls_add(&t->keys[RULE_V4], t->types[RULE_V4].v[j].lo,
			     t->types[RULE_V4].v[j].hi))
			return -ENOMEM;
	for (int h = 0; h < 3; h++) {
		if ((t->hop == 255 && h != 0) || (t->hop == 1 && h != 1))
			continue;
		for (size_t j = 0; j < t->types[RULE_V6].n; j++)
			if (ivls_add(&t->keys[RULE_V6], t->types[RULE_V6].v[j].lo + hl[h],
				     t->types[RULE_V6].v[j].hi + hl[h]))
				return -ENOMEM;
	}
	ivls_normalize(&t->keys[RULE_V4]);
	ivls_normalize(&t->keys[RULE_V6]);
	return 0;
}

/*
 * icmp_type: one term per ICMP protocol of the rule that some type exists for. Not one term
 * for both: the data plane's values of ICMP types and of ICMPv6 types in hop-limit class 255
 * overlap (tlsfw_abi.h), and only the protocol class may tell them apart.
 */
static int icmp_terms(const struct pol_rule *r, const struct protoset *protos,
		      struct plan_rule *out)
{
	static const uint8_t icmp[2] = { IPPROTO_ICMP, IPPROTO_ICMPV6 };
	int err = 0;

	for (int f = 0; f < 2 && !err; f++) {
		struct rule_term *t;
		struct ivls v = { 0 };

		for (size_t i = 0; i < r->icmp_types.n && !err; i++) {
			int16_t x = f ? r->icmp_types.v[i].v6 : r->icmp_types.v[i].v4;

			if (x >= 0)
				err = ivls_add(&v, x, x);
		}
		ivls_normalize(&v);
		if (!err && v.n && proto_has(protos, icmp[f]))
			err = term_push(out, &t);
		else
			v.n = 0;
		if (err || !v.n) {
			ivls_free(&v);
			continue;
		}
		proto_add(&t->protos, icmp[f]);
		t->loc = r->icmp_types.loc;
		t->has_type = true;
		t->types[f] = v;
		err = type_keys(t);
	}
	return err;
}

static int rule_terms(const struct pol_rule *r, struct plan_rule *out,
		      void (*excluded)(void *, size_t), void *arg)
{
	struct protoset protos;
	struct rule_term *t;
	int err;

	if (r->has_proto) {
		memset(&protos, 0, sizeof(protos));
		for (unsigned int i = pol_proto_next(r->protos, 0); i < 256;
		     i = pol_proto_next(r->protos, i + 1))
			proto_add(&protos, i);
	} else {
		protoset_all(&protos);
	}
	if (r->has_sport || r->has_dport || r->services.n) {
		/* Ports exist only for tcp and udp: [tcp, icmp] with a port is tcp. */
		struct protoset keep = { 0 };

		for (int k = 0; k < 2; k++)
			if (proto_has(&protos, ported[k]))
				proto_add(&keep, ported[k]);
		protos = keep;
	}
	if (r->services.n)
		return service_terms(r, &protos, out, excluded, arg);
	if (protoset_empty(&protos))
		return 0; /* matches nothing (the checker says why) */
	if (r->icmp_types.n) {
		out->has_type = true;
		return icmp_terms(r, &protos, out);
	}
	err = term_push(out, &t);
	if (err)
		return err;
	t->protos = protos;
	t->has_sport = r->has_sport;
	t->has_dport = r->has_dport;
	t->loc = r->has_dport ? r->dport.loc : r->has_proto ? r->proto_loc : r->loc;
	if (r->has_sport && ports_of(&t->sport, &r->sport))
		return -ENOMEM;
	if (r->has_dport && ports_of(&t->dport, &r->dport))
		return -ENOMEM;
	return 0;
}

static int pfx_cmp(const void *a, const void *b)
{
	const struct rule_pfx *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, 16);

	return c ? c : (x->plen > y->plen) - (x->plen < y->plen);
}

/* The prefixes of one family, masked, sorted, without repeats, and their union. */
static int addrs_of(struct rule_addrs *out, const struct pol_prefixes *pp, unsigned int fam)
{
	size_t n = 0;

	/* Room for this family's prefixes alone: none for most rules, which name no address
	 * (four empty arrays a rule were 0.8 MB of a 4,096-rule policy's heap). */
	for (size_t i = 0; i < pp->n; i++)
		n += pp->p[i].family == fam;
	out->n = 0;
	if (!n)
		return 0;
	out->v = calloc(n, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < pp->n; i++) {
		if (pp->p[i].family != fam)
			continue;
		prefix_mask(out->v[n].addr, pp->p[i].addr, pp->p[i].plen);
		out->v[n].plen = pp->p[i].plen;
		out->v[n].loc = pp->p[i].loc;
		n++;
	}
	qsort(out->v, n, sizeof(*out->v), pfx_cmp);
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		struct ivl x;

		if (out->n && !pfx_cmp(&out->v[out->n - 1], &out->v[i]))
			continue;
		out->v[out->n++] = out->v[i];
		x = prefix_ivl(out->v[i].addr, out->v[i].plen);
		if (ivls_add(&out->merged, x.lo, x.hi))
			return -ENOMEM;
	}
	ivls_normalize(&out->merged);
	return 0;
}

static bool names_iface(const struct pol_rule *r, const char *name)
{
	if (!r->ifaces.n)
		return true;
	for (size_t j = 0; j < r->ifaces.n; j++)
		if (!strcmp(r->ifaces.v[j], name))
			return true;
	return false;
}

static uint32_t rule_ctx(const struct policy *p, const struct pol_rule *r)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < p->n_ifaces && i < TLSFW_MAX_IFACES; i++) {
		const struct pol_iface *f = &p->ifaces[i];

		if (!names_iface(r, f->name))
			continue;
		if ((!r->direction || r->direction & POL_DIR_INGRESS) &&
		    f->hooks & POL_HOOK_INGRESS)
			mask |= RULE_CTX(i, false);
		if ((!r->direction || r->direction & POL_DIR_EGRESS) && f->hooks & POL_HOOK_EGRESS)
			mask |= RULE_CTX(i, true);
	}
	return mask;
}

/* Merged sets over all terms, for the backends that match a rule as a whole. A rule of one
 * term (most rules) has its term's sets, normalized already: the unions borrow them rather
 * than copy them (by_borrowed: rule_free() leaves them to the term). */
static int rule_unions(struct plan_rule *out)
{
	out->by_borrowed = out->n_terms == 1;
	for (size_t i = 0; i < out->n_terms; i++) {
		const struct rule_term *t = &out->terms[i];

		protoset_union(&out->protos, &t->protos);
		out->any_sport |= t->has_sport;
		out->any_dport |= t->has_dport;
		for (int k = 0; k < 2; k++) {
			if (!proto_has(&t->protos, ported[k]))
				continue;
			if (out->by_borrowed) {
				if (t->has_sport)
					out->sport_by[k] = t->sport;
				if (t->has_dport)
					out->dport_by[k] = t->dport;
				continue;
			}
			for (size_t j = 0; t->has_sport && j < t->sport.n; j++)
				if (ivls_add(&out->sport_by[k], t->sport.v[j].lo, t->sport.v[j].hi))
					return -ENOMEM;
			for (size_t j = 0; t->has_dport && j < t->dport.n; j++)
				if (ivls_add(&out->dport_by[k], t->dport.v[j].lo, t->dport.v[j].hi))
					return -ENOMEM;
		}
	}
	for (int k = 0; k < 2 && !out->by_borrowed; k++) {
		ivls_normalize(&out->sport_by[k]);
		ivls_normalize(&out->dport_by[k]);
	}
	return 0;
}

static unsigned int prefix_fams(const struct pol_prefixes *pp)
{
	unsigned int f = 0;

	for (size_t i = 0; i < pp->n; i++)
		f |= pp->p[i].family;
	return f;
}

/* sni:, sni_match:, ech: (issue 13). */
static void rule_build_names(const struct pol_rule *r, struct plan_rule *out)
{
	out->names = r->has_sni || r->ech != POL_ECH_ANY;
	out->sni_none = r->sni_none;
	out->sni_not = r->sni_not;
	out->ech = r->ech;
	out->sni = r->has_sni && !r->sni_none ? &r->sni : NULL;
	out->names_loc = r->has_sni ? r->sni.loc : r->ech_loc;
	for (size_t j = 0; j < r->services.n && !out->sni; j++) {
		const struct service *s = catalog_find(r->services.v[j]);

		if (s && s->names) {
			out->names = true;
			out->builtin_sni = s->names;
			out->names_loc = r->services.locs[j];
		}
	}
}

int rule_build(const struct policy *p, const struct pol_rule *r, struct plan_rule *out,
	       void (*excluded)(void *arg, size_t service), void *arg)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->name = r->name;
	out->action = r->action;
	out->monitor = r->mode == POL_MONITOR;
	out->line = r->loc.line;
	out->probe = r->probe;
	out->loc = r->loc;
	out->name_loc = r->name_loc;
	out->action_loc = r->action_loc;
	out->family = r->family;
	out->direction = r->direction;
	out->has_src = r->has_src;
	out->has_dst = r->has_dst;
	out->payload_quic = r->payload_quic;
	out->payload_loc = r->payload_loc;
	out->require_tls = r->require_tls;
	out->require_loc = r->require_loc;
	rule_build_names(r, out);
	out->state = r->state;
	out->state_loc = r->state_loc;
	out->log_rate = r->log_rate;
	out->log_loc = r->log_loc;
	out->fams = r->family ? r->family : POL_FAM_V4 | POL_FAM_V6;
	if (r->has_src)
		out->fams &= prefix_fams(&r->src);
	if (r->has_dst)
		out->fams &= prefix_fams(&r->dst);
	out->ctx = rule_ctx(p, r);
	err = rule_terms(r, out, excluded, arg);
	if (!err)
		err = rule_unions(out);
	for (unsigned int f = 0; f < 2 && !err; f++) {
		unsigned int fam = f ? POL_FAM_V6 : POL_FAM_V4;

		err = addrs_of(&out->src[f], &r->src, fam);
		if (!err)
			err = addrs_of(&out->dst[f], &r->dst, fam);
	}
	return err;
}

void rule_free(struct plan_rule *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_terms; i++) {
		ivls_free(&r->terms[i].sport);
		ivls_free(&r->terms[i].dport);
		for (int k = 0; k < 2; k++) {
			ivls_free(&r->terms[i].types[k]);
			ivls_free(&r->terms[i].keys[k]);
		}
	}
	free(r->terms);
	for (int k = 0; k < 2; k++) {
		if (!r->by_borrowed) {
			ivls_free(&r->sport_by[k]);
			ivls_free(&r->dport_by[k]);
		}
		free(r->src[k].v);
		free(r->dst[k].v);
		ivls_free(&r->src[k].merged);
		ivls_free(&r->dst[k].merged);
	}
	memset(r, 0, sizeof(*r));
}

void rule_list_free(struct rule_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		rule_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * "On the link", exactly (tlsfw.conf(5), ESSENTIALS):
 *   - ICMPv6 neighbour discovery (133-137: router solicitation and advertisement, neighbour
 *     solicitation and advertisement, redirect) with hop limit 255: RFC 4861 has receivers
 *     discard any other, and a router forwarding one would lower it, so 255 proves the
 *     sender is on the link;
 *   - MLD (130-132 and 143) with hop limit 1: RFC 2710 and 3810 send it so, and a packet with
 *     hop limit 1 is forwarded by no router;
 *   - DHCPv4 over IPv4, UDP to port 67 (servers) or 68 (clients), and DHCPv6 over IPv6, UDP
 *     to port 547 or 546: by destination port, since a client has no address yet to be
 *     judged by.
 */
static const struct {
	uint8_t proto;
	uint16_t lo, hi, lo2, hi2; /* a second range, or 0 */
	uint8_t hop;
	unsigned int fams;
} essential[] = {
	{ IPPROTO_ICMPV6, 133, 137, 0, 0, 255, POL_FAM_V6 },
	{ IPPROTO_ICMPV6, 130, 132, 143, 143, 1, POL_FAM_V6 },
	{ IPPROTO_UDP, 67, 68, 0, 0, 0, POL_FAM_V4 },
	{ IPPROTO_UDP, 546, 547, 0, 0, 0, POL_FAM_V6 },
};

static int essential_term(struct plan_rule *out, size_t i)
{
	struct rule_term *t;
	struct ivls *v;
	int err = term_push(out, &t);

	if (err)
		return err;
	proto_add(&t->protos, essential[i].proto);
	t->fams = essential[i].fams;
	t->loc = out->loc;
	if (essential[i].proto == IPPROTO_UDP) {
		t->has_dport = true;
		v = &t->dport;
	} else {
		t->has_type = true;
		t->hop = essential[i].hop;
		v = &t->types[RULE_V6];
	}
	if (ivls_add(v, essential[i].lo, essential[i].hi) ||
	    (essential[i].lo2 && ivls_add(v, essential[i].lo2, essential[i].hi2)))
		return -ENOMEM;
	ivls_normalize(v);
	return t->has_type ? type_keys(t) : 0;
}

int rule_essentials(const struct policy *p, struct plan_rule *out)
{
	struct loc whole = { .file = p->file };
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->name = RULE_ESSENTIALS_NAME;
	out->action = POL_ALLOW;
	out->essentials = true;
	out->has_type = true;
	out->loc = p->essentials_loc.line ? p->essentials_loc : whole;
	out->name_loc = out->action_loc = out->loc;
	out->line = out->loc.line;
	out->fams = POL_FAM_V4 | POL_FAM_V6;
	for (size_t i = 0; i < p->n_ifaces && i < TLSFW_MAX_IFACES; i++) {
		if (p->ifaces[i].hooks & POL_HOOK_INGRESS)
			out->ctx |= RULE_CTX(i, false);
		if (p->ifaces[i].hooks & POL_HOOK_EGRESS)
			out->ctx |= RULE_CTX(i, true);
	}
	for (size_t i = 0; i < sizeof(essential) / sizeof(essential[0]) && !err; i++)
		err = essential_term(out, i);
	return err ? err : rule_unions(out);
}
