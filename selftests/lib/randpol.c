// SPDX-License-Identifier: GPL-2.0
/* Test policies in memory and as YAML; see randpol.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bpf/tlsfw_abi.h"
#include "../../bpf/tlsfw_content_abi.h"
#include "catalog.h"
#include "icmp_types.h"
#include "randpol.h"

static const char rp_file[] = "random.conf";

void rp_seed(struct rp_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t rp_next(struct rp_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t rp_below(struct rp_rng *r, uint32_t n)
{
	return (uint32_t)(rp_next(r) % n);
}

/* Room for element n of an array grown only here: capacity doubles at powers of two. */
static void *grow(void *v, size_t n, size_t size)
{
	if (n && (n & (n - 1)))
		return v;
	return realloc(v, (n ? 2 * n : 1) * size);
}

void randpol_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->file = rp_file;
	p->version = 1;
	p->default_action = POL_ALLOW;
	p->malformed = POL_DROP;
	p->fragments = POL_FRAG_FOLLOW;
}

int randpol_add_iface(struct policy *p, const char *name, unsigned int hooks)
{
	struct pol_iface *v = grow(p->ifaces, p->n_ifaces, sizeof(*v));

	if (!v)
		return -ENOMEM;
	p->ifaces = v;
	memset(&v[p->n_ifaces], 0, sizeof(*v));
	snprintf(v[p->n_ifaces].name, sizeof(v->name), "%s", name);
	v[p->n_ifaces].hooks = hooks;
	p->n_ifaces++;
	return 0;
}

int randpol_add_rule(struct policy *p, const char *name, enum pol_action action,
		     struct pol_rule **out)
{
	struct pol_rule *v = grow(p->rules, p->n_rules, sizeof(*v));
	struct pol_rule *r;

	if (!v)
		return -ENOMEM;
	p->rules = v;
	r = &v[p->n_rules];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	if (!r->name)
		return -ENOMEM;
	r->action = action;
	/* Lines as a YAML writer would place them, so diagnostics have somewhere to point. */
	r->loc = (struct loc){ rp_file, 10 + 10 * (unsigned int)p->n_rules, 5, 1 };
	r->name_loc = r->loc;
	p->n_rules++;
	*out = r;
	return 0;
}

void randpol_add_proto(struct pol_rule *r, uint8_t proto)
{
	r->has_proto = true;
	r->protos[proto / 8] |= 1u << (proto % 8);
}

int randpol_add_range(struct pol_ports *pp, uint16_t lo, uint16_t hi)
{
	struct pol_port_range *v = grow(pp->r, pp->n, sizeof(*v));

	if (!v)
		return -ENOMEM;
	pp->r = v;
	v[pp->n++] = (struct pol_port_range){ .lo = lo, .hi = hi };
	return 0;
}

int randpol_add_cidr(struct pol_prefixes *ps, const char *cidr)
{
	struct pol_prefix q = { 0 };
	char buf[64];
	char *slash;
	struct pol_prefix *v;
	unsigned int plen;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, q.addr + 12) == 1) {
		q.addr[10] = q.addr[11] = 0xff;
		q.family = POL_FAM_V4;
		plen = slash ? (unsigned int)atoi(slash + 1) : 32;
		if (plen > 32)
			return -EINVAL;
		q.plen = 96 + plen;
	} else if (inet_pton(AF_INET6, buf, q.addr) == 1) {
		q.family = POL_FAM_V6;
		plen = slash ? (unsigned int)atoi(slash + 1) : 128;
		if (plen > 128)
			return -EINVAL;
		q.plen = plen;
	} else {
		return -EINVAL;
	}
	/* Clear host bits as the checker does. */
	for (unsigned int bit = q.plen; bit < 128; bit++)
		q.addr[bit / 8] &= ~(0x80 >> (bit % 8));
	v = grow(ps->p, ps->n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	ps->p = v;
	v[ps->n++] = q;
	return 0;
}

int randpol_add_name(struct pol_names *nn, const char *name)
{
	char **v = grow(nn->v, nn->n, sizeof(*v));
	struct loc *l;

	if (!v)
		return -ENOMEM;
	nn->v = v;
	l = grow(nn->locs, nn->n, sizeof(*l));
	if (!l)
		return -ENOMEM;
	nn->locs = l;
	v[nn->n] = strdup(name);
	if (!v[nn->n])
		return -ENOMEM;
	l[nn->n] = (struct loc){ rp_file, 1, 1, 1 };
	nn->n++;
	return 0;
}

static void free_names(struct pol_names *nn)
{
	for (size_t i = 0; i < nn->n; i++)
		free(nn->v[i]);
	free(nn->v);
	free(nn->locs);
}

void randpol_free(struct policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		struct pol_rule *r = &p->rules[i];

		free(r->name);
		free(r->sport.r);
		free(r->dport.r);
		free(r->src.p);
		free(r->dst.p);
		free(r->icmp_types.v);
		free_names(&r->services);
		free_names(&r->ifaces);
		free_names(&r->sni);
	}
	free(p->rules);
	free(p->ifaces);
	memset(p, 0, sizeof(*p));
}

/* ---- random policies ---------------------------------------------------------------- */

/* Small pools, so that rules overlap and packets hit them. */
static const uint16_t port_pool[] = { 0, 1, 22, 53, 80, 443, 853, 1000, 1024, 2000, 8080, 65535 };
static const char *const pfx_pool[] = {
	"10.0.0.0/8", "10.1.0.0/16",   "10.1.2.0/24",	    "10.1.2.3/32", "192.168.0.0/16",
	"0.0.0.0/0",  "10.128.0.0/9",  "fd00::/8",	    "fd00:1::/32", "fd00:1::53/128",
	"::/0",	      "2001:db8::/32", "2001:db8:0:1::/64",
};
static const uint8_t proto_pool[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6,
				      IPPROTO_GRE };
static const char *const if_pool[] = { "lan0", "wan0", "dmz0" };

static uint16_t rand_port(struct rp_rng *r)
{
	if (rp_below(r, 4))
		return port_pool[rp_below(r, sizeof(port_pool) / sizeof(port_pool[0]))];
	return rp_below(r, 4) ? rp_below(r, 2100) : rp_below(r, 65536);
}

static int rand_ports(struct rp_rng *r, struct pol_ports *pp)
{
	unsigned int n = 1 + rp_below(r, 3);
	int err = 0;

	for (unsigned int i = 0; !err && i < n; i++) {
		uint16_t a = rand_port(r), b = rp_below(r, 2) ? a : rand_port(r);

		err = randpol_add_range(pp, a < b ? a : b, a < b ? b : a);
	}
	return err;
}

static int rand_prefixes(struct rp_rng *r, struct pol_prefixes *ps, unsigned int family)
{
	unsigned int n = 1 + rp_below(r, 3);
	int err = 0;

	for (unsigned int i = 0; !err && i < n; i++) {
		char buf[64];

		if (rp_below(r, 2)) {
			const char *c =
				pfx_pool[rp_below(r, sizeof(pfx_pool) / sizeof(pfx_pool[0]))];

			if (family == POL_FAM_V4 && strchr(c, ':'))
				c = "10.1.0.0/16";
			if (family == POL_FAM_V6 && !strchr(c, ':'))
				c = "fd00::/8";
			snprintf(buf, sizeof(buf), "%s", c);
		} else if (family == POL_FAM_V6 || (!family && rp_below(r, 2))) {
			snprintf(buf, sizeof(buf), "fd00:%x::%x/%u", rp_below(r, 4), rp_below(r, 4),
				 rp_below(r, 129));
		} else {
			snprintf(buf, sizeof(buf), "10.%u.%u.%u/%u", rp_below(r, 3), rp_below(r, 4),
				 rp_below(r, 8), rp_below(r, 33));
		}
		err = randpol_add_cidr(ps, buf);
	}
	return err;
}

static bool has_fam(const struct pol_prefixes *ps, unsigned int fam)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->p[i].family == fam)
			return true;
	return false;
}

/* A protocol of the other family becomes the rule family's: icmp <-> icmpv6. */
static void family_protos(struct pol_rule *rule)
{
	uint8_t wrong = rule->family == POL_FAM_V6 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	uint8_t right = rule->family == POL_FAM_V6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;

	if (!rule->family || !(rule->protos[wrong / 8] & (1u << (wrong % 8))))
		return;
	rule->protos[wrong / 8] &= ~(1u << (wrong % 8));
	rule->protos[right / 8] |= 1u << (right % 8);
}

/* Remove what policy_check refuses: port 0, a port listed twice, ports on a proto without
 * them, icmp in an IPv6 rule (icmpv6 in an IPv4 one), a direction no listed interface hooks,
 * src and dst of different families. */
static int make_valid(const struct policy *p, struct rp_rng *r, struct pol_rule *rule)
{
	struct pol_ports *pps[2] = { &rule->sport, &rule->dport };
	bool hooked = false;

	for (int k = 0; k < 2; k++) {
		size_t n = 0;

		for (size_t i = 0; i < pps[k]->n; i++) {
			struct pol_port_range x = pps[k]->r[i];
			bool seen = false;

			if (!x.lo) {
				x.lo = 1;
				if (!x.hi)
					x.hi = 1;
			}
			for (size_t j = 0; j < n; j++)
				seen |= pps[k]->r[j].lo == x.lo && pps[k]->r[j].hi == x.hi;
			if (!seen)
				pps[k]->r[n++] = x;
		}
		pps[k]->n = n;
	}
	family_protos(rule);
	if (rule->has_proto && (rule->has_sport || rule->has_dport) &&
	    !(rule->protos[IPPROTO_TCP / 8] & (1u << (IPPROTO_TCP % 8))) &&
	    !(rule->protos[IPPROTO_UDP / 8] & (1u << (IPPROTO_UDP % 8))))
		randpol_add_proto(rule, rp_below(r, 2) ? IPPROTO_TCP : IPPROTO_UDP);
	for (size_t i = 0; i < p->n_ifaces; i++) {
		bool listed = !rule->ifaces.n;

		for (size_t j = 0; j < rule->ifaces.n; j++)
			listed |= !strcmp(rule->ifaces.v[j], p->ifaces[i].name);
		if (listed &&
		    (!rule->direction ||
		     p->ifaces[i].hooks & (rule->direction == POL_DIR_INGRESS ? POL_HOOK_INGRESS :
										POL_HOOK_EGRESS)))
			hooked = true;
	}
	if (!hooked)
		rule->direction = 0;
	if (rule->has_src && rule->has_dst && !rule->family &&
	    !(has_fam(&rule->src, POL_FAM_V4) && has_fam(&rule->dst, POL_FAM_V4)) &&
	    !(has_fam(&rule->src, POL_FAM_V6) && has_fam(&rule->dst, POL_FAM_V6)))
		return randpol_add_cidr(
			&rule->dst, has_fam(&rule->src, POL_FAM_V4) ? "10.1.0.0/16" : "fd00::/8");
	return 0;
}

/* ICMP types, named and numbered, the essentials' among them. */
static const char *const icmp_pool[] = {
	"echo-request",
	"echo-reply",
	"destination-unreachable",
	"nd-neighbor-solicit",
	"packet-too-big",
	"redirect",
	"mld-listener-query",
	"time-exceeded",
	"router-solicitation",
	"mld2-listener-report",
	"0",
	"3",
	"8",
	"128",
	"135",
	"143",
	"255",
};

/* A rule whose protocols are ICMP alone gets icmp_type: now and then; only types that exist
 * in one of its protocols when it must be valid. */
static int rand_icmp_types(struct rp_rng *r, struct pol_rule *rule, bool valid)
{
	bool v4 = rule->protos[IPPROTO_ICMP / 8] >> (IPPROTO_ICMP % 8) & 1;
	bool v6 = rule->protos[IPPROTO_ICMPV6 / 8] >> (IPPROTO_ICMPV6 % 8) & 1;
	unsigned int n = 1 + rp_below(r, 3), others = 0;

	for (unsigned int i = 0; i < 256; i++)
		others += i != IPPROTO_ICMP && i != IPPROTO_ICMPV6 &&
			  (rule->protos[i / 8] >> (i % 8) & 1);
	if (!rule->has_proto || others || (!v4 && !v6) || rule->has_sport || rule->has_dport ||
	    rule->services.n || rp_below(r, 2))
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		const char *w = icmp_pool[rp_below(r, sizeof(icmp_pool) / sizeof(icmp_pool[0]))];
		const struct icmp_type_name *e = icmp_type_find(w);
		struct pol_icmp_type t = { e ? e->v4 : atoi(w), e ? e->v6 : atoi(w) };
		struct pol_icmp_type *v;

		if (valid && ((!v4 && t.v6 < 0) || (!v6 && t.v4 < 0)))
			continue;
		v = realloc(rule->icmp_types.v, (rule->icmp_types.n + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		rule->icmp_types.v = v;
		v[rule->icmp_types.n++] = t;
	}
	return 0;
}

/* Ports of implicit-TLS services and others, none a STARTTLS port (the checker refuses
 * require: tls there). */
static const uint16_t tls_port_pool[] = { 22, 80, 443, 853, 993, 995, 1194, 8443 };

/* A content rule: payload: quic on UDP, or require: tls on TCP, with or without ports. */
static int rand_content(struct rp_rng *r, struct pol_rule *rule)
{
	unsigned int n = rp_below(r, 3);
	int err = 0;

	rule->payload_quic = rp_below(r, 2);
	rule->require_tls = !rule->payload_quic;
	randpol_add_proto(rule, rule->payload_quic ? IPPROTO_UDP : IPPROTO_TCP);
	rule->has_dport = n > 0;
	for (unsigned int k = 0; !err && k < n; k++) {
		uint16_t v = rule->payload_quic && !rp_below(r, 2) ?
				     rand_port(r) | 1 :
				     tls_port_pool[rp_below(r, sizeof(tls_port_pool) /
								       sizeof(tls_port_pool[0]))];
		bool seen = false;

		for (size_t j = 0; j < rule->dport.n; j++)
			seen |= rule->dport.r[j].lo == v;
		if (!seen)
			err = randpol_add_range(&rule->dport, v, v);
	}
	return err;
}

static int rand_rule(struct policy *p, struct rp_rng *r, const struct randpol_opts *o,
		     unsigned int i)
{
	struct pol_rule *rule;
	char name[32];
	int err;

	snprintf(name, sizeof(name), "r%u", i);
	err = randpol_add_rule(p, name, (enum pol_action)rp_below(r, 3), &rule);
	if (err)
		return err;
	if (o->monitor && !rp_below(r, 5))
		rule->mode = POL_MONITOR;
	if (!rp_below(r, 5))
		rule->family = rp_below(r, 2) ? POL_FAM_V4 : POL_FAM_V6;
	if (o->names && !rp_below(r, 3)) {
		err = randpol_names_rule(r, rule);
	} else if (o->content && !rp_below(r, 3)) {
		err = rand_content(r, rule);
	} else if (o->services && !rp_below(r, 5)) {
		unsigned int n = 1 + rp_below(r, 2);

		for (unsigned int k = 0; !err && k < n; k++) {
			const struct service *s = &catalog[rp_below(r, catalog_len)];

			/* a service with server names (doh) makes a name rule: not modelled */
			err = randpol_add_name(&rule->services, s->names ? "https" : s->name);
		}
	} else {
		if (!rp_below(r, 3)) {
			unsigned int n = 1 + rp_below(r, 2);

			for (unsigned int k = 0; k < n; k++)
				randpol_add_proto(rule,
						  proto_pool[rp_below(r, sizeof(proto_pool))]);
		}
		if (!rp_below(r, 3)) {
			rule->has_dport = true;
			err = rand_ports(r, &rule->dport);
		}
	}
	if (!err && !rp_below(r, 7)) {
		rule->has_sport = true;
		err = rand_ports(r, &rule->sport);
	}
	if (!err && !rp_below(r, 4)) {
		rule->has_src = true;
		err = rand_prefixes(r, &rule->src, rule->family);
	}
	if (!err && !rp_below(r, 4)) {
		rule->has_dst = true;
		err = rand_prefixes(r, &rule->dst, rule->family);
	}
	if (!err && !rp_below(r, 5))
		rule->direction = rp_below(r, 2) ? POL_DIR_INGRESS : POL_DIR_EGRESS;
	if (!err && !rp_below(r, 5)) {
		for (size_t k = 0; !err && k < p->n_ifaces; k++)
			if (rp_below(r, 2))
				err = randpol_add_name(&rule->ifaces, p->ifaces[k].name);
	}
	/* state: alone or with anything else; one value most of the time */
	if (!err && o->state && !rp_below(r, 3))
		rule->state = rp_below(r, 2) ? 1u << rp_below(r, POL_ST_COUNT) :
					       1 + rp_below(r, (1u << POL_ST_COUNT) - 1);
	if (!err && o->valid)
		err = make_valid(p, r, rule);
	if (!err)
		err = rand_icmp_types(r, rule, o->valid);
	/* A rule matching everything hides every later rule: keep them rare. */
	if (!err && !rule->has_proto && !rule->has_sport && !rule->has_dport && !rule->services.n &&
	    !rule->has_src && !rule->has_dst && !rule->family && !rule->direction &&
	    !rule->ifaces.n && rp_below(r, 10)) {
		rule->has_dst = true;
		err = rand_prefixes(r, &rule->dst, 0);
	}
	return err;
}

int randpol_new(struct policy *p, struct rp_rng *r, const struct randpol_opts *o)
{
	unsigned int n_if = 1 + rp_below(r, 3), n_rules;
	int err = 0;

	randpol_init(p);
	p->default_action = rp_below(r, 2) ? POL_ALLOW : POL_DROP;
	p->malformed = rp_below(r, 2) ? POL_ALLOW : POL_DROP;
	p->fragments = (enum pol_frag)rp_below(r, 3);
	p->essentials = rp_below(r, 4) ? POL_ALLOW : POL_DROP;
	if (o->content)
		p->midstream = rp_below(r, 2) ? POL_ALLOW : POL_DROP;
	if (o->names)
		p->sni_unordered = rp_below(r, 2) ? POL_ALLOW : POL_DROP;
	for (unsigned int i = 0; !err && i < n_if; i++) {
		unsigned int hooks = 1 + rp_below(r, 3);

		err = randpol_add_iface(p, if_pool[i], hooks);
	}
	n_rules = 1 + rp_below(r, o->max_rules ? o->max_rules : 1);
	for (unsigned int i = 0; !err && i < n_rules; i++)
		err = rand_rule(p, r, o, i);
	if (err)
		randpol_free(p);
	return err;
}

/* ---- YAML ------------------------------------------------------------------------------ */

struct sb {
	char *s;
	size_t n, cap;
	int err;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if (b->n + n < b->cap)
			break;
		{
			size_t cap = (b->cap + n + 1) * 2;
			char *s = realloc(b->s, cap);

			if (!s) {
				b->err = -ENOMEM;
				return;
			}
			b->s = s;
			b->cap = cap;
		}
	}
	b->n += n;
}

static void yaml_ports(struct sb *b, const char *key, const struct pol_ports *pp)
{
	sb_printf(b, "    %s: [", key);
	for (size_t i = 0; i < pp->n; i++) {
		if (pp->r[i].lo == pp->r[i].hi)
			sb_printf(b, "%s%u", i ? ", " : "", pp->r[i].lo);
		else
			sb_printf(b, "%s\"%u-%u\"", i ? ", " : "", pp->r[i].lo, pp->r[i].hi);
	}
	sb_printf(b, "]\n");
}

static void yaml_prefixes(struct sb *b, const char *key, const struct pol_prefixes *ps)
{
	sb_printf(b, "    %s: [", key);
	for (size_t i = 0; i < ps->n; i++) {
		const struct pol_prefix *q = &ps->p[i];
		char buf[INET6_ADDRSTRLEN];

		if (q->family == POL_FAM_V4) {
			inet_ntop(AF_INET, q->addr + 12, buf, sizeof(buf));
			sb_printf(b, "%s\"%s/%u\"", i ? ", " : "", buf, q->plen - 96);
		} else {
			inet_ntop(AF_INET6, q->addr, buf, sizeof(buf));
			sb_printf(b, "%s\"%s/%u\"", i ? ", " : "", buf, q->plen);
		}
	}
	sb_printf(b, "]\n");
}

static void yaml_names(struct sb *b, const char *key, const struct pol_names *nn)
{
	sb_printf(b, "    %s: [", key);
	for (size_t i = 0; i < nn->n; i++)
		sb_printf(b, "%s%s", i ? ", " : "", nn->v[i]);
	sb_printf(b, "]\n");
}

/* sni: names always quoted ("*." would start a YAML alias) */
static void yaml_sni(struct sb *b, const struct pol_rule *r)
{
	if (r->sni_none)
		sb_printf(b, "    sni: none\n");
	else if (r->has_sni)
		sb_printf(b, "    sni: [");
	for (size_t i = 0; r->has_sni && !r->sni_none && i < r->sni.n; i++)
		sb_printf(b, "%s\"%s\"", i ? ", " : "", r->sni.v[i]);
	if (r->has_sni && !r->sni_none)
		sb_printf(b, "]\n");
	if (r->sni_not)
		sb_printf(b, "    sni_match: not\n");
	if (r->ech != POL_ECH_ANY)
		sb_printf(b, "    ech: %s\n", r->ech == POL_ECH_PRESENT ? "present" : "absent");
}

static const char *proto_word(unsigned int proto, char *buf)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	sprintf(buf, "%u", proto);
	return buf;
}

static const char *const act_words[] = { "allow", "drop", "reject" };
static const char *const frag_words[] = { "follow", "drop", "allow" };

static void yaml_rule(struct sb *b, const struct pol_rule *r)
{
	sb_printf(b, "  - name: %s\n", r->name);
	if (r->has_proto) {
		bool first = true;
		char buf[8];

		sb_printf(b, "    proto: [");
		for (unsigned int k = 0; k < 256; k++) {
			if (!(r->protos[k / 8] & (1u << (k % 8))))
				continue;
			sb_printf(b, "%s%s", first ? "" : ", ", proto_word(k, buf));
			first = false;
		}
		sb_printf(b, "]\n");
	}
	if (r->services.n)
		yaml_names(b, "service", &r->services);
	if (r->has_sport)
		yaml_ports(b, "sport", &r->sport);
	if (r->has_dport)
		yaml_ports(b, "dport", &r->dport);
	for (size_t i = 0; i < r->icmp_types.n; i++) {
		const struct pol_icmp_type *t = &r->icmp_types.v[i];
		const char *name = NULL;

		for (size_t k = 0; t->v4 != t->v6 && !name && k < n_icmp_type_names; k++)
			if (icmp_type_names[k].v4 == t->v4 && icmp_type_names[k].v6 == t->v6)
				name = icmp_type_names[k].name;
		if (name)
			sb_printf(b, i ? ", %s" : "    icmp_type: [%s", name);
		else
			sb_printf(b, i ? ", %d" : "    icmp_type: [%d", t->v4);
		if (i + 1 == r->icmp_types.n)
			sb_printf(b, "]\n");
	}
	if (r->has_src)
		yaml_prefixes(b, "src", &r->src);
	if (r->has_dst)
		yaml_prefixes(b, "dst", &r->dst);
	if (r->family == POL_FAM_V4 || r->family == POL_FAM_V6)
		sb_printf(b, "    family: %s\n", r->family == POL_FAM_V4 ? "ipv4" : "ipv6");
	if (r->direction == POL_DIR_INGRESS || r->direction == POL_DIR_EGRESS)
		sb_printf(b, "    direction: %s\n",
			  r->direction == POL_DIR_INGRESS ? "ingress" : "egress");
	if (r->ifaces.n)
		yaml_names(b, "interface", &r->ifaces);
	if (r->payload_quic)
		sb_printf(b, "    payload: quic\n");
	if (r->require_tls)
		sb_printf(b, "    require: tls\n");
	yaml_sni(b, r);
	for (unsigned int k = 0, n = 0; k < POL_ST_COUNT; k++)
		if (r->state & (1u << k))
			sb_printf(b, "%s%s%s", n++ ? ", " : "    state: [", pol_state_names[k],
				  r->state >> (k + 1) ? "" : "]\n");
	sb_printf(b, "    action: %s\n", act_words[r->action]);
	if (r->mode == POL_MONITOR)
		sb_printf(b, "    mode: monitor\n");
}

char *randpol_yaml(const struct policy *p)
{
	struct sb b = { 0 };

	sb_printf(&b, "version: 1\ninterfaces:\n");
	for (size_t i = 0; i < p->n_ifaces; i++) {
		unsigned int h = p->ifaces[i].hooks;

		sb_printf(&b, "  - name: %s\n    hooks: [%s%s%s]\n", p->ifaces[i].name,
			  h & POL_HOOK_INGRESS ? "ingress" : "",
			  (h & POL_HOOK_INGRESS) && (h & POL_HOOK_EGRESS) ? ", " : "",
			  h & POL_HOOK_EGRESS ? "egress" : "");
	}
	sb_printf(&b, "default: %s\nfragments: %s\nmalformed: %s\n", act_words[p->default_action],
		  frag_words[p->fragments], act_words[p->malformed]);
	if (p->essentials == POL_DROP)
		sb_printf(&b, "essentials: drop\n");
	if (p->midstream == POL_DROP)
		sb_printf(&b, "midstream: drop\n");
	if (p->sni_unordered == POL_DROP)
		sb_printf(&b, "sni_unordered: drop\n");
	if (p->n_rules)
		sb_printf(&b, "rules:\n");
	for (size_t i = 0; i < p->n_rules; i++)
		yaml_rule(&b, &p->rules[i]);
	if (b.err) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- packets ------------------------------------------------------------------------- */

static void rand_addr(const struct policy *p, struct rp_rng *r, uint8_t family, uint8_t *addr)
{
	/* Most of the time: inside a prefix some rule names, with random host bits. */
	if (rp_below(r, 4)) {
		const struct pol_rule *rule = &p->rules[rp_below(r, p->n_rules)];
		const struct pol_prefixes *ps = rp_below(r, 2) ? &rule->src : &rule->dst;
		unsigned int want = family == 4 ? POL_FAM_V4 : POL_FAM_V6;

		for (size_t i = 0; i < ps->n; i++) {
			const struct pol_prefix *q = &ps->p[rp_below(r, ps->n)];

			if (q->family != want)
				continue;
			for (unsigned int k = 0; k < 16; k++)
				addr[k] = rp_next(r);
			for (unsigned int bit = 0; bit < q->plen; bit++) {
				uint8_t m = 0x80 >> (bit % 8);

				addr[bit / 8] = (addr[bit / 8] & ~m) | (q->addr[bit / 8] & m);
			}
			/* Near a boundary half of the time: flip the bit just past the prefix. */
			if (rp_below(r, 2) && q->plen < 128)
				addr[q->plen / 8] ^= 0x80 >> (q->plen % 8);
			goto fix;
		}
	}
	for (unsigned int k = 0; k < 16; k++)
		addr[k] = rp_next(r);
	if (family == 4) {
		addr[12] = rp_below(r, 2) ? 10 : addr[12];
	} else if (rp_below(r, 2)) {
		addr[0] = 0xfd;
		addr[1] = 0;
	}
fix:
	if (family == 4) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
	} else if (!memcmp(addr, (const uint8_t[12]){ [10] = 0xff, [11] = 0xff }, 12)) {
		addr[0] = 0x20; /* keep IPv6 out of the IPv4-mapped range */
	}
}

void randpol_packet(const struct policy *p, struct rp_rng *r, struct ref_pkt *pkt)
{
	static const uint8_t protos[] = { IPPROTO_TCP,	IPPROTO_UDP,	IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_GRE };
	const struct pol_iface *ifc;

	memset(pkt, 0, sizeof(*pkt));
	pkt->family = rp_below(r, 2) ? 4 : 6;
	pkt->proto = rp_below(r, 8) ? protos[rp_below(r, sizeof(protos))] : rp_below(r, 256);
	pkt->has_ports = pkt->proto == IPPROTO_TCP || pkt->proto == IPPROTO_UDP;
	pkt->has_type = pkt->proto == IPPROTO_ICMP || pkt->proto == IPPROTO_ICMPV6;
	if (pkt->has_type) {
		static const uint8_t types[] = { 0,   3,   8,	128, 129, 130, 131, 132,
						 133, 134, 135, 136, 137, 143, 2,   1 };
		static const uint8_t hops[] = { 255, 1, 64, 254 };

		pkt->icmp_type =
			rp_below(r, 4) ? types[rp_below(r, sizeof(types))] : rp_below(r, 256);
		pkt->hop_limit = hops[rp_below(r, sizeof(hops))];
	}
	if (pkt->has_ports) {
		pkt->sport = rand_port(r);
		pkt->dport = rand_port(r);
		/* Aim at the policy's own port ranges and their edges. */
		if (p->n_rules && rp_below(r, 2)) {
			const struct pol_rule *rule = &p->rules[rp_below(r, p->n_rules)];
			const struct pol_ports *pp = rp_below(r, 2) ? &rule->dport : &rule->sport;

			if (pp->n) {
				const struct pol_port_range *rg = &pp->r[rp_below(r, pp->n)];
				uint16_t v = rp_below(r, 2) ? rg->lo : rg->hi;

				v += (int)rp_below(r, 3) - 1;
				if (pp == &rule->dport)
					pkt->dport = v;
				else
					pkt->sport = v;
			}
		}
		/* the essentials' ports, and their neighbours */
		if (pkt->proto == IPPROTO_UDP && !rp_below(r, 8)) {
			static const uint16_t ess[] = { 66, 67, 68, 69, 545, 546, 547, 548 };

			pkt->dport = ess[rp_below(r, sizeof(ess) / sizeof(ess[0]))];
		}
	}
	if (p->n_rules) {
		rand_addr(p, r, pkt->family, pkt->src);
		rand_addr(p, r, pkt->family, pkt->dst);
	} else {
		pkt->src[10] = pkt->src[11] = pkt->dst[10] = pkt->dst[11] = 0xff;
		pkt->family = 4;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		if (!p->rules[i].payload_quic && !p->rules[i].require_tls)
			continue;
		if (pkt->proto == IPPROTO_UDP)
			pkt->quic = rp_below(r, 3); /* NONE, LONG, INITIAL */
		if (pkt->proto == IPPROTO_TCP) {
			pkt->tls = 1 + rp_below(r, 5); /* UNDECIDED .. UNORDERED */
			/* a RST carries no data: never beyond a gap */
			pkt->rst = pkt->tls != TLSFW_TLS_UNORDERED && !rp_below(r, 8);
		}
		break;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		if (p->rules[i].state) {
			pkt->ct = TLSFW_CT_NEW + rp_below(r, POL_ST_COUNT);
			break;
		}
	}
	ifc = &p->ifaces[rp_below(r, p->n_ifaces)];
	pkt->ifname = ifc->name;
	if (ifc->hooks == (POL_HOOK_INGRESS | POL_HOOK_EGRESS))
		pkt->dir = rp_below(r, 2) ? TLSFW_DIR_INGRESS : TLSFW_DIR_EGRESS;
	else
		pkt->dir = ifc->hooks & POL_HOOK_EGRESS ? TLSFW_DIR_EGRESS : TLSFW_DIR_INGRESS;
}
