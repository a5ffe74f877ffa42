// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 2: everything that needs the whole policy. Names (rules, interfaces, services,
 * probes), consistency between matches (family against addresses, services against proto and
 * dport, ports against protocols without ports), rules that can never match, and the terms
 * the lowering works on. Values that stage 1 could not represent were diagnosed there.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../bpf/tlsfw_abi.h"
#include "catalog.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define POL_MAX_RULES 4096 /* TLSFW_MAX_RULES holds two generations' worth of renames */
#define POL_NAME_MAX 63
#define PORT_NONE 65536u	 /* "the packet has no ports", as in the data plane */
#define SHADOW_BUDGET 50000000ul /* work units before the shadowing analysis gives up */

struct checker {
	struct policy *p;
	struct diag *d;
	uint32_t *ctx;	      /* per rule: (interface, direction) pairs it can see */
	uint8_t *bad;	      /* per rule: an error was reported inside it */
	unsigned long budget; /* the shadowing analysis stops quietly when it runs out */
};

/* ---- small sets ------------------------------------------------------------------------------ */

static int bit_test(const uint8_t *set, unsigned int i)
{
	return set[i / 8] >> (i % 8) & 1;
}

static void bit_set(uint8_t *set, unsigned int i)
{
	set[i / 8] |= 1u << (i % 8);
}

static int bits_empty(const uint8_t *set)
{
	for (int i = 0; i < 32; i++)
		if (set[i])
			return 0;
	return 1;
}

static int bits_subset(const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < 32; i++)
		if (a[i] & ~b[i])
			return 0;
	return 1;
}

static int has_port_protos(const uint8_t *set)
{
	return bit_test(set, IPPROTO_TCP) || bit_test(set, IPPROTO_UDP);
}

static int only_port_protos(const uint8_t *set)
{
	uint8_t rest[32];

	memcpy(rest, set, 32);
	rest[IPPROTO_TCP / 8] &= ~(1u << (IPPROTO_TCP % 8));
	rest[IPPROTO_UDP / 8] &= ~(1u << (IPPROTO_UDP % 8));
	return bits_empty(rest);
}

struct rng {
	uint32_t lo, hi;
};

static int rng_cmp(const void *a, const void *b)
{
	const struct rng *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : (x->hi > y->hi) - (x->hi < y->hi);
}

/* Sort and merge overlapping or adjacent ranges in place; returns the new count. */
static size_t rng_normalize(struct rng *r, size_t n)
{
	size_t out = 0;

	if (!n)
		return 0;
	qsort(r, n, sizeof(*r), rng_cmp);
	for (size_t i = 1; i < n; i++) {
		if (r[i].lo <= r[out].hi + 1) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* a (any order) inside b (normalized)? */
static int rng_subset(const struct rng *a, size_t na, const struct rng *b, size_t nb)
{
	for (size_t i = 0; i < na; i++) {
		int in = 0;

		for (size_t j = 0; j < nb && !in; j++)
			in = b[j].lo <= a[i].lo && a[i].hi <= b[j].hi;
		if (!in)
			return 0;
	}
	return 1;
}

static int prefix_covers(const struct pol_prefix *a, const struct pol_prefix *b)
{
	unsigned int full = a->plen / 8, rest = a->plen % 8;

	if (a->family != b->family || a->plen > b->plen)
		return 0;
	if (memcmp(a->addr, b->addr, full))
		return 0;
	if (rest) {
		uint8_t mask = 0xff << (8 - rest);

		return (a->addr[full] & mask) == (b->addr[full] & mask);
	}
	return 1;
}

/* Prefix sets are kept sorted by (family, address, length) with the set of lengths present,
 * so that coverage is a few binary searches instead of a scan: lists of 100,000 prefixes
 * are compared in milliseconds. */
struct pset {
	const struct pol_prefix **v;
	size_t n;
	uint8_t lens[17]; /* bitmap over lengths 0..128 */
};

static int pfx_cmp(const struct pol_prefix *a, const struct pol_prefix *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr, b->addr, 16);
	if (r)
		return r;
	return (a->plen > b->plen) - (a->plen < b->plen);
}

static int pfx_qcmp(const void *a, const void *b)
{
	return pfx_cmp(*(const struct pol_prefix *const *)a, *(const struct pol_prefix *const *)b);
}

static void pset_sort(struct pset *s)
{
	qsort(s->v, s->n, sizeof(*s->v), pfx_qcmp);
	memset(s->lens, 0, sizeof(s->lens));
	for (size_t i = 0; i < s->n; i++)
		bit_set(s->lens, s->v[i]->plen);
}

/* The first element not below key. */
static size_t pset_lower(const struct pset *s, const struct pol_prefix *key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (pfx_cmp(s->v[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void pfx_mask(struct pol_prefix *p, unsigned int plen)
{
	for (unsigned int b = plen; b < 128; b++)
		p->addr[b / 8] &= ~(0x80 >> (b % 8));
	p->plen = plen;
}

/* Is p covered by the union of the set? Splits p where the set holds something narrower. */
static int prefix_covered(struct checker *c, const struct pol_prefix *p, const struct pset *s)
{
	struct pol_prefix key, half;
	size_t i;

	for (unsigned int l = 0; l <= p->plen; l++) {
		if (!bit_test(s->lens, l))
			continue;
		if (!c->budget)
			return 0;
		c->budget--;
		key = *p;
		pfx_mask(&key, l);
		i = pset_lower(s, &key);
		if (i < s->n && !pfx_cmp(s->v[i], &key))
			return 1;
	}
	/* Nothing covers p whole: is there anything inside it? */
	key = *p;
	pfx_mask(&key, p->plen);
	i = pset_lower(s, &key);
	if (i >= s->n || !prefix_covers(&key, s->v[i]) || p->plen >= 128)
		return 0;
	half = key;
	half.plen++;
	if (!prefix_covered(c, &half, s))
		return 0;
	half.addr[p->plen / 8] |= 0x80 >> (p->plen % 8);
	return prefix_covered(c, &half, s);
}

static const struct pol_prefix root_v4 = { .addr = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff },
					   .plen = 96,
					   .family = POL_FAM_V4 };
static const struct pol_prefix root_v6 = { .plen = 0, .family = POL_FAM_V6 };

/* ---- names --------------------------------------------------------------------------------- */

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > POL_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      s[i] == '_'))
			return 0;
	return 1;
}

static void check_name(struct checker *c, const char *what, const char *name, const struct loc *loc)
{
	if (strlen(name) > POL_NAME_MAX)
		diag_error(c->d, loc, "%s name '%s' is too long (%zu characters, at most %d)", what,
			   name, strlen(name), POL_NAME_MAX);
	else if (!valid_name(name))
		diag_error(c->d, loc,
			   "invalid %s name '%s': use lowercase letters, digits, '-' and '_'", what,
			   name);
}

static int valid_ifname(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return 0;
	return 1;
}

static void check_version(struct checker *c)
{
	struct policy *p = c->p;
	struct loc whole = { .file = p->file };

	if (!p->version_loc.line)
		diag_error(c->d, &whole, "missing 'version: 1' (the policy language version)");
	else if (p->version != 1)
		diag_error(c->d, &p->version_loc,
			   "unsupported version %u: this tlsfw reads version 1", p->version);
}

static void check_ifaces(struct checker *c)
{
	struct policy *p = c->p;
	struct loc whole = { .file = p->file };

	if (!p->n_ifaces)
		diag_warning(c->d, p->ifaces_loc.line ? &p->ifaces_loc : &whole,
			     "the policy lists no interfaces: apply has nothing to enforce it on");
	for (size_t i = 0; i < p->n_ifaces; i++) {
		struct pol_iface *f = &p->ifaces[i];

		if (!f->hooks)
			f->hooks = POL_HOOK_INGRESS;
		if (i == TLSFW_MAX_IFACES)
			diag_error(c->d, &f->loc, "too many interfaces: a policy lists at most %d",
				   TLSFW_MAX_IFACES);
		if (!f->name[0])
			continue; /* missing or empty: said by the reader */
		if (!valid_ifname(f->name)) {
			diag_error(c->d, &f->loc,
				   "invalid interface name '%s': no '/', ':' or spaces", f->name);
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(p->ifaces[j].name, f->name)) {
				diag_error(c->d, &f->loc,
					   "interface '%s' is listed twice (first at line %u)",
					   f->name, p->ifaces[j].loc.line);
				break;
			}
		}
	}
}

static int iface_index(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_ifaces && i < TLSFW_MAX_IFACES; i++)
		if (!strcmp(p->ifaces[i].name, name))
			return i;
	return -1;
}

static void check_rule_ifaces(struct checker *c, size_t ri)
{
	struct policy *p = c->p;
	struct pol_rule *r = &p->rules[ri];
	const char *names[TLSFW_MAX_IFACES];
	size_t n = 0;
	uint32_t mask = 0;

	for (size_t i = 0; i < p->n_ifaces && i < TLSFW_MAX_IFACES; i++)
		names[n++] = p->ifaces[i].name;
	for (size_t j = 0; j < r->ifaces.n; j++) {
		const char *hint;

		if (iface_index(p, r->ifaces.v[j]) >= 0)
			continue;
		hint = did_you_mean(r->ifaces.v[j], names, n);
		if (hint)
			diag_error(
				c->d, &r->ifaces.locs[j],
				"rule '%s' names interface '%s', which the policy does not list (did you mean '%s'?)",
				r->name ? r->name : "?", r->ifaces.v[j], hint);
		else
			diag_error(
				c->d, &r->ifaces.locs[j],
				"rule '%s' names interface '%s', which the policy does not list under 'interfaces'",
				r->name ? r->name : "?", r->ifaces.v[j]);
	}
	if (!p->n_ifaces) {
		/* Nothing to attach to: only the direction restricts. */
		c->ctx[ri] = r->direction ? r->direction : POL_DIR_INGRESS | POL_DIR_EGRESS;
		return;
	}
	for (size_t i = 0; i < p->n_ifaces && i < TLSFW_MAX_IFACES; i++) {
		const struct pol_iface *f = &p->ifaces[i];
		int listed = !r->ifaces.n;

		for (size_t j = 0; j < r->ifaces.n && !listed; j++)
			listed = !strcmp(r->ifaces.v[j], f->name);
		if (!listed)
			continue;
		if ((!r->direction || r->direction & POL_DIR_INGRESS) &&
		    f->hooks & POL_HOOK_INGRESS)
			mask |= 1u << (2 * i);
		if ((!r->direction || r->direction & POL_DIR_EGRESS) && f->hooks & POL_HOOK_EGRESS)
			mask |= 1u << (2 * i + 1);
	}
	c->ctx[ri] = mask;
	if (mask || !r->direction)
		return;
	/* Only the hooks stand in the way: say which ones to add. */
	for (size_t i = 0; i < p->n_ifaces && i < TLSFW_MAX_IFACES; i++) {
		const struct pol_iface *f = &p->ifaces[i];
		int listed = !r->ifaces.n;
		const char *dir = r->direction == POL_DIR_EGRESS ? "egress" : "ingress";

		for (size_t j = 0; j < r->ifaces.n && !listed; j++)
			listed = !strcmp(r->ifaces.v[j], f->name);
		if (!listed)
			continue;
		diag_error(
			c->d, &r->direction_loc,
			"rule '%s' can never match: it applies to %s but interface '%s' does not hook %s (add %s to its hooks: [ingress, egress])",
			r->name ? r->name : "?", dir, f->name, dir, dir);
		break;
	}
}

/* ---- one rule ------------------------------------------------------------------------------ */

static void check_prefixes(struct checker *c, const struct pol_rule *r,
			   const struct pol_prefixes *pp, unsigned int *fams)
{
	char buf[64], net[64];

	*fams = 0;
	for (size_t i = 0; i < pp->n; i++) {
		const struct pol_prefix *x = &pp->p[i];
		struct pol_prefix masked = *x;

		*fams |= x->family;
		for (unsigned int b = x->plen; b < 128; b++)
			masked.addr[b / 8] &= ~(0x80 >> (b % 8));
		if (memcmp(masked.addr, x->addr, 16))
			diag_error(c->d, &x->loc, "prefix %s has host bits set (did you mean %s?)",
				   pol_prefix_str(x, buf, sizeof(buf)),
				   pol_prefix_str(&masked, net, sizeof(net)));
		if (r->family && r->family != x->family)
			diag_error(c->d, &x->loc,
				   "%s is an %s address but the rule says family: %s",
				   pol_prefix_str(x, buf, sizeof(buf)),
				   x->family == POL_FAM_V4 ? "IPv4" : "IPv6",
				   r->family == POL_FAM_V4 ? "ipv4" : "ipv6");
	}
}

static void check_rule(struct checker *c, size_t ri)
{
	struct policy *p = c->p;
	struct pol_rule *r = &p->rules[ri];
	unsigned int src_fams = 0, dst_fams = 0;

	if (r->name)
		check_name(c, "rule", r->name, &r->name_loc);
	check_prefixes(c, r, &r->src, &src_fams);
	check_prefixes(c, r, &r->dst, &dst_fams);
	if (!r->family && r->has_src && r->has_dst && src_fams && dst_fams &&
	    !(src_fams & dst_fams))
		diag_error(
			c->d, &r->dst.loc,
			"rule '%s' can never match: src holds only %s addresses and dst only %s ones",
			r->name ? r->name : "?", src_fams == POL_FAM_V4 ? "IPv4" : "IPv6",
			dst_fams == POL_FAM_V4 ? "IPv4" : "IPv6");
	if (r->has_proto && (r->has_sport || r->has_dport) && !has_port_protos(r->protos))
		diag_error(
			c->d, r->has_dport ? &r->dport.loc : &r->sport.loc,
			"rule '%s' has ports, but its proto carries none: ports match only tcp and udp",
			r->name ? r->name : "?");
	for (size_t j = 0; j < r->services.n; j++) {
		const char *names[64], *hint;
		size_t n = 0;

		if (catalog_find(r->services.v[j]))
			continue;
		for (size_t i = 0; i < catalog_len && n + 2 <= ARRAY_SIZE(names); i++) {
			names[n++] = catalog[i].name;
			if (catalog[i].alias)
				names[n++] = catalog[i].alias;
		}
		hint = did_you_mean(r->services.v[j], names, n);
		if (hint)
			diag_error(c->d, &r->services.locs[j],
				   "unknown service '%s' (did you mean '%s'?)", r->services.v[j],
				   hint);
		else
			diag_error(c->d, &r->services.locs[j],
				   "unknown service '%s' (see `tlsfw services`)", r->services.v[j]);
	}
	check_rule_ifaces(c, ri);
}

static int name_cmp(const void *a, const void *b, void *arg)
{
	const struct pol_rule *rules = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(rules[x].name, rules[y].name);

	return r ? r : (x > y) - (x < y);
}

/* Sorted, so that 4,096 rules do not take 8 million comparisons. */
static void check_duplicate_names(struct checker *c)
{
	struct policy *p = c->p;
	size_t *idx = calloc(p->n_rules ? p->n_rules : 1, sizeof(*idx)), n = 0;

	if (!idx)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].name)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), name_cmp, p->rules);
	for (size_t i = 1, first = 0; i < n; i++) {
		const struct pol_rule *r = &p->rules[idx[i]];

		if (strcmp(p->rules[idx[first]].name, r->name)) {
			first = i;
			continue;
		}
		diag_error(c->d, &r->name_loc, "duplicate rule name '%s' (first at line %u)",
			   r->name, p->rules[idx[first]].name_loc.line);
	}
	free(idx);
}

/* ---- terms ---------------------------------------------------------------------------------- */

struct alt { /* one (protocols, ports) alternative of a rule's services */
	uint8_t protos[32];
	struct rng *r;
	size_t n;
};

static int alt_same_ports(const struct alt *a, const struct alt *b)
{
	return a->n == b->n && !memcmp(a->r, b->r, a->n * sizeof(*a->r));
}

/* Merge alternatives that share their protocols or their ports: fewer terms, same packets. */
static size_t merge_alts(struct alt *alts, size_t n)
{
	int changed = 1;

	while (changed) {
		changed = 0;
		for (size_t i = 0; i < n && !changed; i++) {
			for (size_t j = i + 1; j < n && !changed; j++) {
				struct alt *a = &alts[i], *b = &alts[j];

				if (alt_same_ports(a, b)) {
					for (int k = 0; k < 32; k++)
						a->protos[k] |= b->protos[k];
				} else if (!memcmp(a->protos, b->protos, 32)) {
					struct rng *r = realloc(a->r, (a->n + b->n) * sizeof(*r));

					if (!r)
						continue;
					memcpy(r + a->n, b->r, b->n * sizeof(*r));
					a->r = r;
					a->n = rng_normalize(r, a->n + b->n);
				} else {
					continue;
				}
				free(b->r);
				alts[j] = alts[--n];
				changed = 1;
			}
		}
	}
	return n;
}

struct term_buf {
	struct pol_term *t;
	size_t n, cap;
};

static struct pol_term *term_add(struct term_buf *tb, uint32_t rule)
{
	if (tb->n == tb->cap) {
		size_t cap = tb->cap ? tb->cap * 2 : 64;
		struct pol_term *t = realloc(tb->t, cap * sizeof(*t));

		if (!t)
			return NULL;
		tb->t = t;
		tb->cap = cap;
	}
	memset(&tb->t[tb->n], 0, sizeof(*tb->t));
	tb->t[tb->n].rule = rule;
	return &tb->t[tb->n++];
}

static const char *proto_word(unsigned int proto)
{
	return proto == IPPROTO_TCP ? "tcp" : "udp";
}

/* A service of the rule keeps nothing after its proto and dport: say which one removed it. */
static void service_excluded(struct checker *c, size_t ri, size_t j, const struct service *s,
			     const uint8_t *protos)
{
	const struct pol_rule *r = &c->p->rules[ri];
	char ports[96] = "";
	int proto_ok = 0;

	for (size_t k = 0; k < s->n_ports; k++) {
		char one[24];

		snprintf(one, sizeof(one),
			 s->ports[k].lo == s->ports[k].hi ? "%s%s/%u" : "%s%s/%u-%u", k ? ", " : "",
			 proto_word(s->ports[k].proto), s->ports[k].lo, s->ports[k].hi);
		strncat(ports, one, sizeof(ports) - strlen(ports) - 1);
		proto_ok |= bit_test(protos, s->ports[k].proto);
	}
	diag_error(c->d, &r->services.locs[j],
		   "service '%s' (%s) can never match in rule '%s': the rule's %s excludes it",
		   r->services.v[j], ports, r->name ? r->name : "?", proto_ok ? "dport" : "proto");
}

/* One alternative from a service port, cut down to the rule's dport; 0 when nothing is left. */
static int service_alt(const struct pol_rule *r, const struct svc_port *sp, struct alt *a)
{
	memset(a, 0, sizeof(*a));
	bit_set(a->protos, sp->proto);
	a->r = calloc(r->has_dport && r->dport.n ? r->dport.n : 1, sizeof(*a->r));
	if (!a->r)
		return -ENOMEM;
	if (!r->has_dport)
		a->r[a->n++] = (struct rng){ sp->lo, sp->hi };
	for (size_t m = 0; r->has_dport && m < r->dport.n; m++) {
		uint32_t lo = r->dport.r[m].lo > sp->lo ? r->dport.r[m].lo : sp->lo;
		uint32_t hi = r->dport.r[m].hi < sp->hi ? r->dport.r[m].hi : sp->hi;

		if (lo <= hi)
			a->r[a->n++] = (struct rng){ lo, hi };
	}
	a->n = rng_normalize(a->r, a->n);
	if (!a->n) {
		free(a->r);
		a->r = NULL;
	}
	return a->n > 0;
}

static int alt_to_term(const struct pol_rule *r, size_t ri, const struct alt *a,
		       struct term_buf *tb)
{
	struct pol_port_range *own = calloc(a->n, sizeof(*own));
	struct pol_term *t;

	if (!own)
		return -ENOMEM;
	t = term_add(tb, ri);
	if (!t) {
		free(own);
		return -ENOMEM;
	}
	for (size_t k = 0; k < a->n; k++) {
		own[k].lo = a->r[k].lo;
		own[k].hi = a->r[k].hi;
		own[k].loc = r->services.loc;
	}
	memcpy(t->protos, a->protos, 32);
	t->sport = r->has_sport ? &r->sport : NULL;
	t->own_dport.r = own;
	t->own_dport.n = a->n;
	t->own_dport.loc = r->services.loc;
	t->dport = &t->own_dport; /* set again once the array stops moving */
	return 0;
}

/* The terms of a rule with services: one per (protocols, ports) alternative that survives the
 * rule's own proto and dport. */
static int service_terms(struct checker *c, size_t ri, const uint8_t *protos, struct term_buf *tb)
{
	const struct pol_rule *r = &c->p->rules[ri];
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

			if (!bit_test(protos, s->ports[k].proto))
				continue;
			kept = service_alt(r, &s->ports[k], &alts[n]);
			if (kept < 0)
				err = kept;
			else
				n += kept;
		}
		if (s && n == before && !err)
			service_excluded(c, ri, j, s, protos);
	}
	n = merge_alts(alts, n);
	for (size_t i = 0; i < n; i++) {
		if (!err)
			err = alt_to_term(r, ri, &alts[i], tb);
		free(alts[i].r);
	}
	free(alts);
	return err;
}

static int rule_terms(struct checker *c, size_t ri, struct term_buf *tb)
{
	const struct pol_rule *r = &c->p->rules[ri];
	uint8_t protos[32];
	struct pol_term *t;

	if (r->has_proto)
		memcpy(protos, r->protos, 32);
	else
		memset(protos, 0xff, 32);
	if (r->has_sport || r->has_dport || r->services.n) {
		/* Ports exist only for tcp and udp: [tcp, icmp] with a port is tcp. */
		uint8_t keep[32] = { 0 };

		if (bit_test(protos, IPPROTO_TCP))
			bit_set(keep, IPPROTO_TCP);
		if (bit_test(protos, IPPROTO_UDP))
			bit_set(keep, IPPROTO_UDP);
		memcpy(protos, keep, 32);
	}
	if (r->services.n)
		return service_terms(c, ri, protos, tb);
	if (bits_empty(protos))
		return 0; /* diagnosed in check_rule */
	t = term_add(tb, ri);
	if (!t)
		return -ENOMEM;
	memcpy(t->protos, protos, 32);
	t->sport = r->has_sport ? &r->sport : NULL;
	t->dport = r->has_dport ? &r->dport : NULL;
	return 0;
}

static int make_terms(struct checker *c)
{
	struct policy *p = c->p;
	struct term_buf tb = { 0 };
	int err = 0;

	for (size_t i = 0; i < p->n_terms; i++)
		free(p->terms[i].own_dport.r);
	free(p->terms);
	p->terms = NULL;
	p->n_terms = 0;
	for (size_t ri = 0; ri < p->n_rules && !err; ri++)
		err = rule_terms(c, ri, &tb);
	for (size_t i = 0; i < tb.n; i++)
		if (tb.t[i].own_dport.r)
			tb.t[i].dport = &tb.t[i].own_dport;
	p->terms = tb.t;
	p->n_terms = tb.n;
	return err;
}

/* ---- shadowed rules -------------------------------------------------------------------------- */

/* A term as sets, one per field, ready for subset tests. */
struct view {
	uint8_t protos[32];
	struct rng *port[2]; /* sport, dport; normalized, PORT_NONE = no ports */
	size_t n_port[2];
	struct pset pfx[2]; /* src, dst */
	uint32_t ctx;
	uint32_t rule;
	unsigned int fam; /* POL_FAM_V4 or POL_FAM_V6: a view is of one family */
};

enum { F_PROTO, F_SPORT, F_DPORT, F_SRC, F_DST, F_CTX, F_MAX };

static void view_free(struct view *v)
{
	for (int i = 0; i < 2; i++) {
		free(v->port[i]);
		free(v->pfx[i].v);
	}
}

static int view_ports(struct view *v, int i, const struct pol_ports *pp)
{
	size_t n = pp ? pp->n : 1;

	v->port[i] = calloc(n ? n : 1, sizeof(struct rng));
	if (!v->port[i])
		return -ENOMEM;
	if (pp) {
		for (size_t k = 0; k < n; k++)
			v->port[i][k] = (struct rng){ pp->r[k].lo, pp->r[k].hi };
	} else if (only_port_protos(v->protos)) {
		v->port[i][0] = (struct rng){ 0, 65535 };
	} else if (!has_port_protos(v->protos)) {
		v->port[i][0] = (struct rng){ PORT_NONE, PORT_NONE };
	} else {
		v->port[i][0] = (struct rng){ 0, PORT_NONE };
	}
	v->n_port[i] = rng_normalize(v->port[i], n);
	return 0;
}

static int view_prefixes(struct view *v, int i, const struct pol_prefixes *pp, bool has,
			 unsigned int fams)
{
	struct pset *s = &v->pfx[i];
	size_t n = has ? pp->n : 2;

	s->v = calloc(n ? n : 1, sizeof(*s->v));
	if (!s->v)
		return -ENOMEM;
	s->n = 0;
	if (has) {
		for (size_t j = 0; j < pp->n; j++)
			if (pp->p[j].family & fams)
				s->v[s->n++] = &pp->p[j];
	} else {
		if (fams & POL_FAM_V4)
			s->v[s->n++] = &root_v4;
		if (fams & POL_FAM_V6)
			s->v[s->n++] = &root_v6;
	}
	pset_sort(s);
	return 0;
}

static unsigned int prefix_fams(const struct pol_prefixes *pp, bool has)
{
	unsigned int f = 0;

	if (!has)
		return POL_FAM_V4 | POL_FAM_V6;
	for (size_t i = 0; i < pp->n; i++)
		f |= pp->p[i].family;
	return f;
}

/*
 * The view of term t restricted to one address family (fam) and to the protocols with ports
 * (ported) or without, or -ENOENT when the term matches no such packet. Split so that
 * "family: ipv4" then "family: ipv6" is seen to cover everything, and "proto: tcp" then
 * "proto: icmp" to cover "proto: [tcp, icmp]".
 */
static int view_make(struct checker *c, const struct pol_term *t, unsigned int fam, int ported,
		     struct view *v)
{
	const struct pol_rule *r = &c->p->rules[t->rule];
	unsigned int fams = r->family ? r->family : POL_FAM_V4 | POL_FAM_V6;

	memset(v, 0, sizeof(*v));
	/* The families a packet of this term can have: addresses restrict them too. */
	fams &= prefix_fams(&r->src, r->has_src) & prefix_fams(&r->dst, r->has_dst) & fam;
	if (!fams)
		return -ENOENT;
	memcpy(v->protos, t->protos, 32);
	for (unsigned int p = 0; p < 256; p++)
		if ((p == IPPROTO_TCP || p == IPPROTO_UDP) != ported)
			v->protos[p / 8] &= ~(1u << (p % 8));
	if (bits_empty(v->protos))
		return -ENOENT;
	v->ctx = c->ctx[t->rule];
	v->rule = t->rule;
	v->fam = fam;
	if (view_ports(v, 0, t->sport) || view_ports(v, 1, t->dport) ||
	    view_prefixes(v, 0, &r->src, r->has_src, fams) ||
	    view_prefixes(v, 1, &r->dst, r->has_dst, fams))
		return -ENOMEM;
	return 0;
}

/* Cheap tests first: a term that shares no packet with t can neither cover it nor add to a
 * union that does. */
static int disjoint(const struct view *t, const struct view *u)
{
	int common = 0;

	/* an IPv4 packet is never an IPv6 one (without this, every pair of views of different
	 * families went through the prefix walk: seconds for thousands of rules) */
	if (t->fam != u->fam || !(t->ctx & u->ctx))
		return 1;
	for (int i = 0; i < 2; i++)
		if (!t->n_port[i] || !u->n_port[i] ||
		    t->port[i][0].lo > u->port[i][u->n_port[i] - 1].hi ||
		    u->port[i][0].lo > t->port[i][t->n_port[i] - 1].hi)
			return 1;
	for (int i = 0; i < 32 && !common; i++)
		common = t->protos[i] & u->protos[i];
	return !common;
}

static int view_empty(const struct view *v)
{
	return bits_empty(v->protos) || !v->ctx || !v->pfx[0].n || !v->pfx[1].n || !v->n_port[0] ||
	       !v->n_port[1];
}

/* Does s hold its family's whole space (a rule without prefixes of that family)? */
static int pset_whole(const struct pset *s, unsigned int fam)
{
	for (size_t k = 0; k < s->n; k++)
		if (s->v[k] == (fam == POL_FAM_V4 ? &root_v4 : &root_v6))
			return 1;
	return 0;
}

static int pfx_subset(struct checker *c, const struct view *t, const struct view *u, int i)
{
	for (size_t k = 0; k < t->pfx[i].n; k++) {
		/* the common case, rules without prefixes, without walking prefix lengths:
		 * thousands of such rules made check take seconds */
		if (pset_whole(&u->pfx[i], t->pfx[i].v[k]->family))
			continue;
		if (!prefix_covered(c, t->pfx[i].v[k], &u->pfx[i]))
			return 0;
	}
	return 1;
}

/* The fields in which u does not cover t, as a bit mask. */
static unsigned int uncovered(struct checker *c, const struct view *t, const struct view *u)
{
	unsigned int miss = 0;

	if (!bits_subset(t->protos, u->protos))
		miss |= 1u << F_PROTO;
	if (t->ctx & ~u->ctx)
		miss |= 1u << F_CTX;
	for (int i = 0; i < 2; i++)
		if (!rng_subset(t->port[i], t->n_port[i], u->port[i], u->n_port[i]))
			miss |= 1u << (F_SPORT + i);
	/* Prefix tests are the dear ones: only when they can decide anything. */
	if (__builtin_popcount(miss) > 1)
		return miss;
	for (int i = 0; i < 2; i++)
		if (!pfx_subset(c, t, u, i))
			miss |= 1u << (F_SRC + i);
	return miss;
}

/* Does the union of group's field f cover t's? (every other field of each is covered) */
static int union_covers(struct checker *c, const struct view *t, struct view **group, size_t n,
			int f)
{
	if (f == F_PROTO || f == F_CTX) {
		uint8_t protos[32] = { 0 };
		uint32_t ctx = 0;

		for (size_t i = 0; i < n; i++) {
			for (int k = 0; k < 32; k++)
				protos[k] |= group[i]->protos[k];
			ctx |= group[i]->ctx;
		}
		return f == F_PROTO ? bits_subset(t->protos, protos) : !(t->ctx & ~ctx);
	}
	if (f == F_SPORT || f == F_DPORT) {
		int i = f - F_SPORT, ok;
		size_t total = 0;
		struct rng *all;

		for (size_t g = 0; g < n; g++)
			total += group[g]->n_port[i];
		all = calloc(total ? total : 1, sizeof(*all));
		if (!all)
			return 0;
		total = 0;
		for (size_t g = 0; g < n; g++) {
			memcpy(all + total, group[g]->port[i], group[g]->n_port[i] * sizeof(*all));
			total += group[g]->n_port[i];
		}
		total = rng_normalize(all, total);
		ok = rng_subset(t->port[i], t->n_port[i], all, total);
		free(all);
		return ok;
	}
	{
		int i = f - F_SRC, ok = 1;
		struct pset all = { 0 };

		for (size_t g = 0; g < n; g++)
			all.n += group[g]->pfx[i].n;
		all.v = calloc(all.n ? all.n : 1, sizeof(*all.v));
		if (!all.v)
			return 0;
		all.n = 0;
		for (size_t g = 0; g < n; g++) {
			memcpy(all.v + all.n, group[g]->pfx[i].v,
			       group[g]->pfx[i].n * sizeof(*all.v));
			all.n += group[g]->pfx[i].n;
		}
		pset_sort(&all);
		for (size_t k = 0; k < t->pfx[i].n && ok; k++)
			ok = prefix_covered(c, t->pfx[i].v[k], &all);
		free(all.v);
		return ok;
	}
}

static void shadow_warning(struct checker *c, size_t ri, const uint8_t *by)
{
	const struct pol_rule *r = &c->p->rules[ri];
	char list[512];
	size_t used = 0, n = 0, shown = 0;

	for (size_t j = 0; j < ri; j++)
		n += by[j];
	list[0] = '\0';
	for (size_t j = 0; j < ri && used < sizeof(list); j++) {
		const struct pol_rule *u = &c->p->rules[j];
		int w;

		if (!by[j])
			continue;
		if (shown == 3) {
			snprintf(list + used, sizeof(list) - used, " and %zu more", n - shown);
			break;
		}
		w = snprintf(list + used, sizeof(list) - used, "%s'%s' (line %u)",
			     !shown	    ? "" :
			     shown + 1 == n ? " and " :
					      ", ",
			     u->name ? u->name : "?",
			     u->name_loc.line ? u->name_loc.line : u->loc.line);
		if (w > 0)
			used += w;
		shown++;
	}
	diag_warning(c->d, r->name_loc.line ? &r->name_loc : &r->loc,
		     "rule '%s' can never match: %s %s %s first", r->name ? r->name : "?",
		     n == 1 ? "rule" : "rules", list, n == 1 ? "matches" : "match");
}

/* group[f]: room for every view, for the earlier terms that cover t in all fields but f */
static int term_covered(struct checker *c, struct view *views, size_t first_of_rule, size_t ti,
			uint8_t *by, struct view ***group)
{
	struct view *t = &views[ti];
	size_t n_group[F_MAX] = { 0 };
	int covered = 0;

	for (size_t ui = 0; ui < first_of_rule && c->budget; ui++) {
		struct view *u = &views[ui];
		unsigned int miss;

		if (c->bad[u->rule] || disjoint(t, u))
			continue;
		c->budget--;
		miss = uncovered(c, t, u);
		if (!miss) {
			by[u->rule] = 1;
			return c->budget > 0;
		}
		if (__builtin_popcount(miss) == 1)
			group[__builtin_ctz(miss)][n_group[__builtin_ctz(miss)]++] = u;
	}
	for (int f = 0; f < F_MAX && !covered; f++) {
		if (n_group[f] < 2 || !union_covers(c, t, group[f], n_group[f], f))
			continue;
		for (size_t g = 0; g < n_group[f]; g++)
			by[group[f][g]->rule] = 1;
		covered = 1;
	}
	return covered && c->budget;
}

static void check_shadowing(struct checker *c)
{
	struct policy *p = c->p;
	struct view *views = calloc(p->n_terms ? 4 * p->n_terms : 1, sizeof(*views));
	uint8_t *by = calloc(p->n_rules ? p->n_rules : 1, 1);
	struct view **group[F_MAX] = { 0 };
	size_t n = 0, vi = 0;

	if (!views || !by)
		goto out;
	for (int f = 0; f < F_MAX; f++) {
		group[f] = calloc(p->n_terms ? 4 * p->n_terms : 1, sizeof(**group));
		if (!group[f])
			goto out;
	}
	for (size_t i = 0; i < p->n_terms; i++) {
		for (int k = 0; k < 4; k++) {
			unsigned int fam = k & 1 ? POL_FAM_V6 : POL_FAM_V4;
			int err = view_make(c, &p->terms[i], fam, k < 2, &views[n]);

			if (err == -ENOMEM) {
				view_free(&views[n]);
				goto out;
			}
			if (!err)
				n++;
			else
				view_free(&views[n]);
		}
	}
	while (vi < n && c->budget) {
		size_t first = vi, end = vi, ri = views[vi].rule;
		int all;

		while (end < n && views[end].rule == ri)
			end++;
		memset(by, 0, p->n_rules);
		all = !c->bad[ri];
		for (size_t k = first; k < end && all; k++)
			all = view_empty(&views[k]) || term_covered(c, views, first, k, by, group);
		if (all && first > 0) {
			int any = 0;

			for (size_t j = 0; j < ri; j++)
				any |= by[j];
			if (any)
				shadow_warning(c, ri, by);
		}
		vi = end;
	}
out:
	for (size_t i = 0; views && i < n; i++)
		view_free(&views[i]);
	for (int f = 0; f < F_MAX; f++)
		free(group[f]);
	free(views);
	free(by);
}

/*
 * Which rules hold an error: a rule spans from its first line to the next rule's (the last
 * one to the probes). Shadowing is judged among the others only, so that one run shows
 * both the errors and the rules that can never match.
 */
static void mark_bad_rules(struct checker *c)
{
	const struct policy *p = c->p;
	unsigned int end_last = UINT_MAX;

	if (p->n_probes && p->probes[0].loc.line > p->rules_loc.line)
		end_last = p->probes[0].loc.line;
	for (size_t i = 0; i < c->d->n; i++) {
		const struct diag_record *rec = &c->d->recs[i];
		size_t lo = 0, hi = p->n_rules;

		if (rec->level != DIAG_ERROR || !rec->loc.line || !rec->loc.file || !p->file ||
		    strcmp(rec->loc.file, p->file))
			continue;
		/* the last rule starting at or before the line */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (p->rules[mid].loc.line <= rec->loc.line)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo && (lo < p->n_rules || rec->loc.line < end_last))
			c->bad[lo - 1] = 1;
	}
}

/* default: drop with nothing letting ssh in is how administrators lock themselves out. */
static void check_lockout(struct checker *c)
{
	struct policy *p = c->p;

	if (p->default_action != POL_DROP)
		return;
	for (size_t i = 0; i < p->n_ifaces && i < TLSFW_MAX_IFACES; i++) {
		int ok = 0;

		if (!(p->ifaces[i].hooks & POL_HOOK_INGRESS))
			continue;
		for (size_t k = 0; k < p->n_terms && !ok; k++) {
			const struct pol_term *t = &p->terms[k];
			const struct pol_rule *r = &p->rules[t->rule];

			if (r->action != POL_ALLOW || r->mode != POL_ENFORCE ||
			    !(c->ctx[t->rule] & (1u << (2 * i))) ||
			    !bit_test(t->protos, IPPROTO_TCP))
				continue;
			ok = !t->dport;
			for (size_t j = 0; t->dport && j < t->dport->n && !ok; j++)
				ok = t->dport->r[j].lo <= 22 && 22 <= t->dport->r[j].hi;
		}
		if (!ok)
			diag_warning(
				c->d, p->default_loc.line ? &p->default_loc : &p->ifaces[i].loc,
				"default: drop and no rule allows tcp/22 (ssh) arriving on '%s': you may lock yourself out",
				p->ifaces[i].name);
	}
}

/* ---- probes ---------------------------------------------------------------------------------- */

static int valid_host(const char *h, size_t n)
{
	if (!n || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)h[i]) || h[i] == '.' || h[i] == '-' || h[i] == '_'))
			return 0;
	return 1;
}

static const char *const target_usage = "host:port, [ipv6]:port or host:service";

/* The host part of a probe target; returns where the port starts, NULL after a diagnostic. */
static const char *target_host(struct checker *c, const char *t, const struct loc *loc)
{
	const char *colon;

	if (t[0] == '[') {
		const char *close = strchr(t, ']');
		char a6[INET6_ADDRSTRLEN + 1];
		struct in6_addr addr;
		size_t n;

		if (!close || close[1] != ':') {
			diag_error(c->d, loc, "malformed probe target '%s' (expected %s)", t,
				   target_usage);
			return NULL;
		}
		n = close - t - 1;
		if (n < sizeof(a6)) {
			memcpy(a6, t + 1, n);
			a6[n] = '\0';
		}
		if (n >= sizeof(a6) || inet_pton(AF_INET6, a6, &addr) != 1) {
			diag_error(c->d, loc, "malformed IPv6 address in probe target '%s'", t);
			return NULL;
		}
		return close + 2;
	}
	colon = strrchr(t, ':');
	if (!colon) {
		diag_error(c->d, loc, "probe target '%s' has no port (expected %s)", t,
			   target_usage);
		return NULL;
	}
	if (memchr(t, ':', colon - t)) {
		diag_error(
			c->d, loc,
			"probe target '%s': put an IPv6 address in brackets, as in [2001:db8::1]:443",
			t);
		return NULL;
	}
	if (!valid_host(t, colon - t)) {
		diag_error(c->d, loc, "malformed host name in probe target '%s' (expected %s)", t,
			   target_usage);
		return NULL;
	}
	return colon + 1;
}

static void check_target(struct checker *c, const struct pol_probe *pr)
{
	const char *t = pr->target, *port = target_host(c, t, &pr->target_loc), *hint;
	const struct loc *loc = &pr->target_loc;
	const struct service *s;
	const char *names[64];
	size_t n = 0;
	int tcp = 0;

	if (!port)
		return;
	if (*port && strspn(port, "0123456789") == strlen(port)) {
		long v = strlen(port) > 6 ? 99999999 : strtol(port, NULL, 10);

		if (v < 1 || v > 65535)
			diag_error(c->d, loc,
				   "port %s of probe target '%s' is out of range (1-65535)", port,
				   t);
		return;
	}
	s = catalog_find(port);
	for (size_t k = 0; s && k < s->n_ports; k++)
		tcp |= s->ports[k].proto == IPPROTO_TCP;
	if (s && tcp)
		return;
	if (s) {
		diag_error(c->d, loc, "service '%s' of probe target '%s' has no TCP port to probe",
			   port, t);
		return;
	}
	for (size_t i = 0; i < catalog_len && n + 2 <= ARRAY_SIZE(names); i++) {
		names[n++] = catalog[i].name;
		if (catalog[i].alias)
			names[n++] = catalog[i].alias;
	}
	hint = *port ? did_you_mean(port, names, n) : NULL;
	if (hint)
		diag_error(c->d, loc,
			   "unknown port or service '%s' in probe target '%s' (did you mean '%s'?)",
			   port, t, hint);
	else
		diag_error(c->d, loc,
			   "unknown port or service '%s' in probe target '%s' (expected %s)", port,
			   t, target_usage);
}

/* A probe checks one server (target) or one mail domain (domain), and says which. */
static void check_probe_kind(struct checker *c, const struct pol_probe *pr)
{
	size_t n = pr->domain ? strlen(pr->domain) : 0;

	if (!pr->target && !pr->domain) {
		if (pr->name)
			diag_error(c->d, &pr->loc, "missing key 'target' or 'domain' in probe '%s'",
				   pr->name);
		else
			diag_error(c->d, &pr->loc, "missing key 'target' or 'domain' in a probe");
		return;
	}
	if (pr->trust_anchor && !pr->domain)
		diag_error(c->d, &pr->trust_anchor_loc,
			   "trust_anchor applies to domain probes only (DNSSEC of the MX records)");
	if (!pr->domain)
		return;
	if (pr->target)
		diag_error(
			c->d, &pr->domain_loc,
			"probe '%s' has both target and domain: a probe checks one server or one mail domain",
			pr->name ? pr->name : "?");
	if (!valid_host(pr->domain, n) || pr->domain[0] == '.' || strstr(pr->domain, ".."))
		diag_error(c->d, &pr->domain_loc,
			   "malformed mail domain '%s' (expected a name such as example.org)",
			   pr->domain);
	if (pr->starttls)
		diag_error(
			c->d, &pr->starttls_loc,
			"starttls does not apply to a domain probe: its MX hosts are probed with SMTP STARTTLS on port 25");
	if (pr->verify_loc.line)
		diag_error(
			c->d, &pr->verify_loc,
			"verify does not apply to a domain probe: certificates count where the domain's MTA-STS record asks for it");
}

static void check_probes(struct checker *c)
{
	static const char *const starttls[] = { "smtp", "imap",	    "pop3",  "ftp",  "ldap",
						"xmpp", "postgres", "sieve", "nntp", "none" };
	static const char *const versions[] = { "1.0", "1.1", "1.2", "1.3" };
	struct policy *p = c->p;

	for (size_t i = 0; i < p->n_probes; i++) {
		const struct pol_probe *pr = &p->probes[i];

		if (pr->name) {
			check_name(c, "probe", pr->name, &pr->name_loc);
			for (size_t j = 0; j < i; j++) {
				if (p->probes[j].name && !strcmp(p->probes[j].name, pr->name)) {
					diag_error(c->d, &pr->name_loc,
						   "duplicate probe name '%s' (first at line %u)",
						   pr->name, p->probes[j].name_loc.line);
					break;
				}
			}
		}
		check_probe_kind(c, pr);
		if (pr->target)
			check_target(c, pr);
		if (pr->starttls && !pr->domain) {
			size_t k;

			for (k = 0; k < ARRAY_SIZE(starttls); k++)
				if (!strcmp(pr->starttls, starttls[k]))
					break;
			if (k == ARRAY_SIZE(starttls)) {
				const char *hint =
					did_you_mean(pr->starttls, starttls, ARRAY_SIZE(starttls));

				if (hint)
					diag_error(
						c->d, &pr->starttls_loc,
						"unknown starttls protocol '%s' (did you mean '%s'?)",
						pr->starttls, hint);
				else
					diag_error(
						c->d, &pr->starttls_loc,
						"unknown starttls protocol '%s' (expected smtp, imap, pop3, ftp, ldap, xmpp, postgres, sieve, nntp or none)",
						pr->starttls);
			}
		}
		if (pr->min_tls) {
			size_t k;

			for (k = 0; k < ARRAY_SIZE(versions); k++)
				if (!strcmp(pr->min_tls, versions[k]))
					break;
			if (k == ARRAY_SIZE(versions))
				diag_error(
					c->d, &pr->min_tls_loc,
					"unsupported TLS version '%s' (expected \"1.0\", \"1.1\", \"1.2\" or \"1.3\")",
					pr->min_tls);
		}
	}
}

/* ---- entry point ------------------------------------------------------------------------------ */

int policy_check(struct policy *p, struct diag *d)
{
	struct checker c = { .p = p, .d = d, .budget = SHADOW_BUDGET };
	unsigned int errors = d->errors;
	struct loc whole = { .file = p->file };
	int err;

	c.ctx = calloc(p->n_rules ? p->n_rules : 1, sizeof(*c.ctx));
	c.bad = calloc(p->n_rules ? p->n_rules : 1, 1);
	if (!c.ctx || !c.bad) {
		free(c.ctx);
		free(c.bad);
		return -ENOMEM;
	}
	check_version(&c);
	check_ifaces(&c);
	if (p->n_rules > POL_MAX_RULES)
		diag_error(d, &p->rules[POL_MAX_RULES].loc,
			   "too many rules: a policy holds at most %d", POL_MAX_RULES);
	for (size_t i = 0; i < p->n_rules; i++)
		check_rule(&c, i);
	check_duplicate_names(&c);
	if (!p->n_rules && !d->errors)
		diag_warning(d, p->rules_loc.line ? &p->rules_loc : &whole,
			     "the policy has no rules: every packet gets the default verdict (%s)",
			     pol_action_names[p->default_action]);
	check_probes(&c);
	err = make_terms(&c);
	if (!err && !d->truncated) {
		mark_bad_rules(&c);
		check_shadowing(&c);
		/* Whether ssh gets in means little while some rule is wrong. */
		if (!d->errors)
			check_lockout(&c);
	}
	free(c.ctx);
	free(c.bad);
	if (err)
		return err;
	return d->errors > errors || d->truncated ? -EINVAL : 0;
}
