// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 2: everything that needs the whole policy. Names (rules, interfaces, services,
 * probes), consistency between matches (family against addresses, services against proto and
 * dport, ports against protocols without ports), rules that can never match (check_shadow.c,
 * on the rule list the lowering derives) and lock-outs. It only reports: the policy is left
 * as stage 1 made it. Values that stage 1 could not represent were diagnosed there.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "../bpf/tlsfw_abi.h"
#include "../bpf/tlsfw_content_abi.h"
#include "catalog.h"
#include "policy.h"
#include "policy_sni.h"
#include "rules.h"
#include "shadow.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define POL_MAX_RULES TLSFW_POLICY_RULES
/* each failing probe adds a drop rule, and the essentials rule is one more */
#define POL_MAX_PROBES (TLSFW_IMPLICIT_RULES - 1)
#define POL_NAME_MAX 63
#define SHADOW_BUDGET 50000000ul /* work units before the shadowing analysis gives up */

struct checker {
	const struct policy *p;
	struct diag *d;
	struct plan_rule *rules; /* what each rule matches, as the lowering derives it */
	uint32_t *ctx;		 /* per rule: (interface, direction) pairs it can see */
	uint8_t *bad;		 /* per rule: an error was reported inside it */
};

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
	const struct policy *p = c->p;
	struct loc whole = { .file = p->file };

	if (!p->version_loc.line)
		diag_error(c->d, &whole, "missing 'version: 1' (the policy language version)");
	else if (p->version != 1)
		diag_error(c->d, &p->version_loc,
			   "unsupported version %u: this tlsfw reads version 1", p->version);
}

static void check_ifaces(struct checker *c)
{
	const struct policy *p = c->p;
	struct loc whole = { .file = p->file };

	if (!p->n_ifaces)
		diag_warning(c->d, p->ifaces_loc.line ? &p->ifaces_loc : &whole,
			     "the policy lists no interfaces: apply has nothing to enforce it on");
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct pol_iface *f = &p->ifaces[i];

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
	const struct policy *p = c->p;
	const struct pol_rule *r = &p->rules[ri];
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

/*
 * icmp_type: only where every protocol of the rule is icmp or icmpv6, and each type must
 * exist in some family of the rule: a name of one family on a rule of the other would
 * match nothing.
 */
static void check_icmp_types(struct checker *c, const struct pol_rule *r)
{
	bool v4 = r->protos[IPPROTO_ICMP / 8] >> (IPPROTO_ICMP % 8) & 1;
	bool v6 = r->protos[IPPROTO_ICMPV6 / 8] >> (IPPROTO_ICMPV6 % 8) & 1;
	size_t others = 0;

	if (!r->icmp_types.n)
		return;
	for (unsigned int i = 0; i < 256; i++)
		others += i != IPPROTO_ICMP && i != IPPROTO_ICMPV6 &&
			  (r->protos[i / 8] >> (i % 8) & 1);
	if (!r->has_proto || others || (!v4 && !v6)) {
		diag_error(
			c->d, &r->icmp_types.loc,
			"icmp_type needs a rule whose proto is icmp, icmpv6 or both (rule '%s' says %s)",
			r->name ? r->name : "?", r->has_proto ? "other protocols too" : "no proto");
		return;
	}
	for (size_t i = 0; i < r->icmp_types.n; i++) {
		const struct pol_icmp_type *t = &r->icmp_types.v[i];

		if (!v6 && t->v4 < 0)
			diag_error(
				c->d, &t->loc,
				"this ICMP type exists only in ICMPv6, but the rule's proto is icmp");
		else if (!v4 && t->v6 < 0)
			diag_error(
				c->d, &t->loc,
				"this ICMP type exists only in ICMP (IPv4), but the rule's proto is icmpv6");
	}
}

static void check_rule(struct checker *c, size_t ri)
{
	const struct policy *p = c->p;
	const struct pol_rule *r = &p->rules[ri];
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
	/* ICMP is IPv4's, ICMPv6 IPv6's: against the other family the protocol never matches */
	for (size_t i = 0; r->family && i < r->n_proto_items; i++) {
		const struct pol_proto_item *x = &r->proto_items[i];

		if (x->proto == IPPROTO_ICMP && r->family == POL_FAM_V6)
			diag_error(
				c->d, &x->loc,
				"icmp is IPv4's protocol, but the rule says family: ipv6 (did you mean icmpv6?)");
		else if (x->proto == IPPROTO_ICMPV6 && r->family == POL_FAM_V4)
			diag_error(
				c->d, &x->loc,
				"icmpv6 is IPv6's protocol, but the rule says family: ipv4 (did you mean icmp?)");
	}
	if (r->has_proto && (r->has_sport || r->has_dport) &&
	    !(r->protos[IPPROTO_TCP / 8] >> (IPPROTO_TCP % 8) & 1) &&
	    !(r->protos[IPPROTO_UDP / 8] >> (IPPROTO_UDP % 8) & 1))
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
	check_icmp_types(c, r);
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
	const struct policy *p = c->p;
	size_t *idx = calloc(p->n_rules ? p->n_rules : 1, sizeof(*idx)), n = 0;

	if (!idx)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].name)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), name_cmp, (void *)p->rules);
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

/* ---- what rules match ------------------------------------------------------------------------ */

static const char *proto_word(unsigned int proto)
{
	return proto == IPPROTO_TCP ? "tcp" : "udp";
}

struct excl {
	struct checker *c;
	size_t ri;
};

/* A service of the rule keeps nothing after its proto and dport: say which one removed it. */
static void service_excluded(void *arg, size_t j)
{
	const struct excl *x = arg;
	const struct pol_rule *r = &x->c->p->rules[x->ri];
	const struct service *s = catalog_find(r->services.v[j]);
	char ports[96] = "";
	int proto_ok = 0;

	for (size_t k = 0; s && k < s->n_ports; k++) {
		char one[24];

		snprintf(one, sizeof(one),
			 s->ports[k].lo == s->ports[k].hi ? "%s%s/%u" : "%s%s/%u-%u", k ? ", " : "",
			 proto_word(s->ports[k].proto), s->ports[k].lo, s->ports[k].hi);
		strncat(ports, one, sizeof(ports) - strlen(ports) - 1);
		if (!r->has_proto)
			proto_ok = 1;
		else
			proto_ok |= r->protos[s->ports[k].proto / 8] >> (s->ports[k].proto % 8) & 1;
	}
	diag_error(x->c->d, &r->services.locs[j],
		   "service '%s' (%s) can never match in rule '%s': the rule's %s excludes it",
		   r->services.v[j], ports, r->name ? r->name : "?", proto_ok ? "dport" : "proto");
}

/* The rule list the lowering will build, for the analyses below (and the errors of services
 * that a rule's own proto or dport excludes). */
static int build_rules(struct checker *c)
{
	const struct policy *p = c->p;

	c->rules = calloc(p->n_rules ? p->n_rules : 1, sizeof(*c->rules));
	if (!c->rules)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		struct excl x = { c, i };
		int err = rule_build(p, &p->rules[i], &c->rules[i], service_excluded, &x);

		if (err)
			return err;
	}
	return 0;
}

/* "rule 'x' can never match: rules 'a' (line 5), 'b' (line 9) and 3 more match first" */
static void shadow_say(struct diag *d, const struct plan_rule *rules, size_t ri, const uint8_t *by)
{
	const struct plan_rule *r = &rules[ri];
	char list[512];
	size_t used = 0, n = 0, shown = 0;

	for (size_t j = 0; j < ri; j++)
		n += by[j];
	list[0] = '\0';
	for (size_t j = 0; j < ri && used < sizeof(list); j++) {
		const struct plan_rule *u = &rules[j];
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
	diag_warning(d, r->name_loc.line ? &r->name_loc : &r->loc,
		     "rule '%s' can never match: %s %s %s first", r->name ? r->name : "?",
		     n == 1 ? "rule" : "rules", list, n == 1 ? "matches" : "match");
}

static void shadow_warning(void *arg, size_t ri, const uint8_t *by)
{
	struct checker *c = arg;

	shadow_say(c->d, c->rules, ri, by);
}

/* skip: rules left out, besides those with errors (content rules: check_content). */
static int check_shadowing(struct checker *c, const uint8_t *skip)
{
	struct shadow_in in = {
		.rules = c->rules,
		.n_rules = c->p->n_rules,
		.ctx = c->ctx,
		.bad = c->bad,
		.budget = SHADOW_BUDGET,
	};
	uint8_t *bad = malloc(c->p->n_rules ? c->p->n_rules : 1);
	int err;

	if (!bad)
		return -ENOMEM;
	for (size_t i = 0; i < c->p->n_rules; i++)
		bad[i] = c->bad[i] | skip[i];
	in.bad = bad;
	err = shadow_analyse(&in, shadow_warning, c);
	free(bad);
	return err;
}

struct probe_shadow {
	const struct plan_rule *rules;
	size_t n_extra;
	struct diag *d;
};

/* Only what the probes' rules change: a rule shadowed with one of them among the shadowers
 * (a rule that the policy's own rules shadow was reported by policy_check). */
static void probe_shadow_warning(void *arg, size_t ri, const uint8_t *by)
{
	const struct probe_shadow *ps = arg;

	if (ri >= ps->n_extra && memchr(by, 1, ps->n_extra))
		shadow_say(ps->d, ps->rules, ri, by);
}

void policy_check_probe_rules(const struct policy *p, const struct plan_rule *rules, size_t n_rules,
			      size_t n_extra, struct diag *d)
{
	struct probe_shadow ps = { rules, n_extra, d };
	uint32_t *ctx = calloc(n_rules ? n_rules : 1, sizeof(*ctx));
	uint8_t *bad = calloc(n_rules ? n_rules : 1, 1);
	struct shadow_in in = {
		.rules = rules,
		.n_rules = n_rules,
		.ctx = ctx,
		.bad = bad,
		.budget = SHADOW_BUDGET,
	};

	for (size_t i = 0; ctx && i < n_rules; i++)
		ctx[i] = p->n_ifaces	    ? rules[i].ctx :
			 rules[i].direction ? rules[i].direction :
					      POL_DIR_INGRESS | POL_DIR_EGRESS;
	/* Nothing said is nothing lost here: the policy was checked without these rules. */
	if (ctx && bad)
		shadow_analyse(&in, probe_shadow_warning, &ps);
	free(ctx);
	free(bad);
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

/* ---- content matches (payload:, require:) -------------------------------------------------- */

/* The first protocol of r other than keep, or -1. */
static int other_proto(const struct plan_rule *r, unsigned int keep)
{
	for (unsigned int i = 0; i < 256; i++)
		if (i != keep && proto_has(&r->protos, i))
			return i;
	return -1;
}

/* require: tls where a flow begins in plaintext (a STARTTLS protocol): every such flow would
 * be cut. By service, else by a TCP port the rule names; a rule of every port is warned,
 * as it may mean it (TLS only, whatever the port). */
static void check_starttls(struct checker *c, const struct pol_rule *pr, const struct plan_rule *r)
{
	for (size_t j = 0; j < pr->services.n; j++) {
		const struct service *s = catalog_find(pr->services.v[j]);

		if (s && s->tls == TLS_STARTTLS) {
			diag_error(
				c->d, &pr->services.locs[j],
				"require: tls would cut every %s flow: %s begins in plaintext and upgrades with STARTTLS (hint: require: tls is for implicit-TLS ports; see `tlsfw services`)",
				s->name, s->name);
			return;
		}
	}
	if (pr->services.n)
		return;
	if (!pr->has_dport) {
		diag_warning(
			c->d, &pr->require_loc,
			"require: tls on every TCP port (rule '%s' names no dport or service) cuts flows that begin in plaintext too, such as smtp, submission and imap with STARTTLS (hint: name the implicit-TLS ports; see `tlsfw services`)",
			pr->name ? pr->name : "?");
		return;
	}
	for (size_t i = 0; i < catalog_len; i++) {
		const struct service *s = &catalog[i];

		if (s->tls != TLS_STARTTLS)
			continue;
		for (size_t k = 0; k < s->n_ports; k++) {
			if (s->ports[k].proto != IPPROTO_TCP ||
			    !ivls_find(&r->dport_by[0], s->ports[k].lo))
				continue;
			diag_error(
				c->d, &pr->dport.loc,
				"require: tls would cut every flow to port %u (%s): it begins in plaintext and upgrades with STARTTLS (hint: require: tls is for implicit-TLS ports; see `tlsfw services`)",
				s->ports[k].lo, s->name);
			return;
		}
	}
}

/*
 * payload: quic reads UDP datagrams and require: tls TCP streams: a rule that matches other
 * protocols too would mean something the data plane does not do. A content rule matches a
 * subset of what its other matches select, so it never makes a later rule unreachable: it is
 * left out of the shadowing analysis (skip).
 */
static void check_content(struct checker *c, uint8_t *skip)
{
	const struct policy *p = c->p;

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pol_rule *pr = &p->rules[i];
		const struct plan_rule *r = &c->rules[i];
		int o;

		/* A state rule also matches a subset of what its other matches select. */
		if (pr->state)
			skip[i] = 1;
		if (!pr->payload_quic && !pr->require_tls)
			continue;
		skip[i] = 1;
		if (p->backend == POL_BACKEND_NFT) {
			diag_error(
				c->d, pr->payload_quic ? &pr->payload_loc : &pr->require_loc,
				"%s needs backend: bpf: nftables cannot %s (write backend: bpf, or remove the key)",
				pr->payload_quic ? "payload: quic" : "require: tls",
				pr->payload_quic ?
					"check a QUIC long header's version and connection ID lengths" :
					"follow a TCP flow's first bytes");
			continue;
		}
		if (pr->payload_quic && pr->require_tls) {
			diag_error(
				c->d, &pr->require_loc,
				"a rule has either payload: quic (UDP) or require: tls (TCP), not both: write two rules");
			continue;
		}
		o = other_proto(r, pr->payload_quic ? IPPROTO_UDP : IPPROTO_TCP);
		if (o >= 0)
			diag_error(
				c->d, pr->payload_quic ? &pr->payload_loc : &pr->require_loc,
				"%s applies to %s only, but rule '%s' also matches %s (write proto: %s)",
				pr->payload_quic ? "payload: quic" : "require: tls",
				pr->payload_quic ? "UDP datagrams" : "TCP flows",
				pr->name ? pr->name : "?",
				o == IPPROTO_TCP || o == IPPROTO_UDP ? proto_word(o) :
								       "other protocols",
				pr->payload_quic ? "udp" : "tcp");
		else if (pr->require_tls)
			check_starttls(c, pr, r);
	}
}

/* Essentials dropped under default drop: IPv6 neighbours never resolve, DHCP leases lapse. */
static void check_essentials(struct checker *c)
{
	const struct policy *p = c->p;

	if (p->essentials == POL_DROP && p->default_action == POL_DROP)
		diag_warning(
			c->d, &p->essentials_loc,
			"essentials: drop with default: drop: IPv6 neighbour discovery, router advertisements, MLD and DHCP pass only where a rule allows them; IPv6 neighbours may never resolve");
}

/* ---- what backend nft cannot do ------------------------------------------------------------ */

/*
 * backend: nft enforces with nf_tables alone, which cannot do three things the BPF backend
 * does (Documentation/architecture.md, "Differences from the BPF backend"): say so where the
 * policy asks for them, rather than leave it to the manual.
 */
static void check_nft_limits(struct checker *c)
{
	const struct policy *p = c->p;
	const struct loc *at = p->backend_loc.line ? &p->backend_loc : &p->rules_loc;
	char names[TLSFW_MAX_IFACES * (IFNAMSIZ + 2)] = "";
	size_t n = 0;

	if (p->backend != POL_BACKEND_NFT)
		return;
	if (p->fragments == POL_FRAG_FOLLOW)
		diag_warning(
			c->d, p->fragments_loc.line ? &p->fragments_loc : at,
			"backend: nft cannot follow fragments%s: nothing in nf_tables remembers a first fragment's verdict, so later fragments pass as with fragments: allow (write fragments: allow or drop to say so)",
			p->fragments_loc.line ? "" : " (fragments: follow is the default)");
	if (p->malformed_loc.line)
		diag_warning(
			c->d, &p->malformed_loc,
			"backend: nft leaves malformed packets to the kernel: the inet ingress hook drops IP packets with an invalid header whatever malformed: says, and a packet whose transport header cannot be read gets the default verdict");
	for (size_t i = 0; i < p->n_ifaces && i < TLSFW_MAX_IFACES; i++) {
		if (!(p->ifaces[i].hooks & POL_HOOK_INGRESS) || !p->ifaces[i].name[0])
			continue;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 n++ ? ", " : "", p->ifaces[i].name);
	}
	if (n)
		diag_warning(
			c->d, at,
			"backend: nft does not inspect QinQ (802.1ad) frames on the ingress of %s: the inet ingress hook sees IP packets only; list the VLAN device that receives them (as lan0.300.400) as an interface too",
			names);
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
	const struct policy *p = c->p;

	if (p->n_probes > POL_MAX_PROBES)
		diag_error(c->d, &p->probes[POL_MAX_PROBES].loc,
			   "too many probes: a policy holds at most %d", POL_MAX_PROBES);
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

/* log: is read from a BPF ring buffer; NFLOG (nft `log group`) is not read by tlsfw log yet. */
static void check_log(struct checker *c)
{
	const struct policy *p = c->p;

	for (size_t i = 0; i < p->n_rules && p->backend == POL_BACKEND_NFT; i++)
		if (p->rules[i].log_rate)
			diag_error(
				c->d, &p->rules[i].log_loc,
				"log: needs backend: bpf: tlsfw log reads the BPF data plane's ring buffer and does not read nftables' NFLOG groups yet (write backend: bpf, or remove the key)");
}

/* ---- entry point ------------------------------------------------------------------------------ */

int policy_check(const struct policy *p, struct diag *d)
{
	return policy_check_rules(p, d, NULL);
}

int policy_check_rules(const struct policy *p, struct diag *d, struct rule_list *rules)
{
	struct checker c = { .p = p, .d = d };
	unsigned int errors = d->errors;
	struct loc whole = { .file = p->file };
	int err = 0;

	c.ctx = calloc(p->n_rules ? p->n_rules : 1, sizeof(*c.ctx));
	c.bad = calloc(p->n_rules ? p->n_rules : 1, 1);
	if (!c.ctx || !c.bad) {
		err = -ENOMEM;
		goto out;
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
	check_essentials(&c);
	check_nft_limits(&c);
	check_log(&c);
	/* Past a hard limit the policy is refused anyway: analysing it would only take time. */
	if (p->n_rules > POL_MAX_RULES || d->truncated)
		goto out;
	err = build_rules(&c);
	if (!err && !d->truncated) {
		uint8_t *skip = calloc(p->n_rules ? p->n_rules : 1, 1);

		if (!skip)
			err = -ENOMEM;
		else
			check_content(&c, skip);
		if (skip)
			check_sni(p, c.rules, d, skip);
		mark_bad_rules(&c);
		if (!err)
			err = check_shadowing(&c, skip);
		free(skip);
	}
out:
	free(c.ctx);
	free(c.bad);
	if (!err && (d->errors > errors || d->truncated))
		err = -EINVAL;
	/* built, and judged: the lowering's rule list of these rules (a second build was a
	 * tenth of `tlsfw check` at 4,096 rules) */
	if (!err && rules && c.rules) {
		rules->v = c.rules;
		rules->n = p->n_rules;
		c.rules = NULL;
	}
	for (size_t i = 0; c.rules && i < p->n_rules; i++)
		rule_free(&c.rules[i]);
	free(c.rules);
	return err;
}
