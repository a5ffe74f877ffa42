// SPDX-License-Identifier: GPL-2.0
/*
 * The probes of a policy run by compile() (`tlsfw apply`, `tlsfw check --probe`): every
 * failing `on_fail: block` probe becomes a drop rule for the addresses and port it probed,
 * which the lowering puts FIRST in rule order: a server that failed its probe is blocked even
 * where a later allow rule would let its traffic through. The policy itself is not changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lazy_openssl.h"

#include "names.h"
#include "policy.h"
#include "probe_domain.h"
#include "probe_block.h"
#include "probe_policy.h"

int probe_min_tls_of(const struct pol_probe *pp, struct diag *d)
{
	int v = pp->min_tls ? probe_min_tls_parse(pp->min_tls) : TLS1_2_VERSION;

	if (v < 0)
		diag_error(
			d, &pp->min_tls_loc,
			"probe '%s': min_tls must be \"1.0\", \"1.1\", \"1.2\" or \"1.3\", not '%s'",
			pp->name, pp->min_tls);
	return v;
}

int probe_target_of(struct probe_target *t, const struct pol_probe *pp, struct diag *d)
{
	const struct target_spec ts = { pp->target, pp->starttls, &pp->starttls_loc };
	const struct probe_diag pd = { d, pp->target_loc, pp->name, DIAG_ERROR };
	int v;

	if (probe_target_parse(t, &ts, &pd))
		return -EINVAL;
	v = probe_min_tls_of(pp, d);
	if (v < 0)
		return -EINVAL;
	t->min_tls = v;
	t->verify = pp->verify;
	snprintf(t->label, sizeof(t->label), "%s", pp->name ? pp->name : "");
	return 0;
}

/* ---- on_fail: block ------------------------------------------------------------------------ */

int probe_policy_check_blocks(const struct policy *p, struct diag *d)
{
	unsigned int errors = d->errors;

	for (size_t i = 0; i < p->n_probes; i++) {
		const struct pol_probe *pp = &p->probes[i];

		if (!pp->on_fail_block || !pp->name)
			continue;
		for (size_t k = 0; k < p->n_rules; k++) {
			const struct pol_rule *r = &p->rules[k];

			if (r->probe || !r->name || strcmp(r->name, pp->name))
				continue;
			diag_error(
				d, &pp->name_loc,
				"probe '%s' has on_fail: block, and its drop rule would take the name of rule '%s' (line %u): rename the probe or the rule",
				pp->name, r->name, r->name_loc.line);
			break;
		}
	}
	return d->errors > errors ? -EINVAL : 0;
}

static void block_rule_free(struct pol_rule *r)
{
	free(r->name);
	free(r->dport.r);
	free(r->dst.p);
	memset(r, 0, sizeof(*r));
}

/* The drop rule of one failing probe: tcp to its port and addresses, located at the probe. */
static int block_rule(struct pol_rule *r, const struct pol_probe *pp, const struct probe_block *b)
{
	const struct loc *act = pp->on_fail_loc.line ? &pp->on_fail_loc : &pp->name_loc;

	memset(r, 0, sizeof(*r));
	r->name = strdup(pp->name);
	r->dport.r = calloc(1, sizeof(*r->dport.r));
	r->dst.p = calloc(b->n_dst, sizeof(*r->dst.p));
	if (!r->name || !r->dport.r || !r->dst.p) {
		block_rule_free(r);
		return -ENOMEM;
	}
	r->loc = pp->loc;
	r->name_loc = pp->name_loc;
	r->has_proto = true;
	r->protos[IPPROTO_TCP / 8] |= 1u << (IPPROTO_TCP % 8);
	r->proto_loc = pp->target_loc;
	r->has_dport = true;
	r->dport.r[0].lo = b->port;
	r->dport.r[0].hi = b->port;
	r->dport.r[0].loc = pp->target_loc;
	r->dport.n = 1;
	r->dport.loc = pp->target_loc;
	r->has_dst = true;
	for (size_t i = 0; i < b->n_dst; i++) {
		r->dst.p[i] = b->dst[i];
		r->dst.p[i].loc = pp->target_loc;
	}
	r->dst.n = b->n_dst;
	r->dst.loc = pp->target_loc;
	r->action = POL_DROP;
	r->action_loc = *act;
	r->mode = POL_ENFORCE;
	r->mode_loc = *act;
	r->probe = pp->name;
	return 0;
}

void probe_rules_free(struct pol_rule *rules, size_t n)
{
	for (size_t i = 0; rules && i < n; i++)
		block_rule_free(&rules[i]);
	free(rules);
}

int probe_block_rules(const struct policy *p, const struct probe_block *b, size_t n,
		      struct pol_rule **out)
{
	struct pol_rule *rules;
	int err = 0;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		if (b[i].probe >= p->n_probes || !p->probes[b[i].probe].name || !b[i].n_dst ||
		    b[i].n_dst > PROBE_BLOCK_MAX_ADDRS || !b[i].port)
			return -EINVAL;
	rules = calloc(n ? n : 1, sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++)
		err = block_rule(&rules[i], &p->probes[b[i].probe], &b[i]);
	if (err) {
		probe_rules_free(rules, n);
		return err;
	}
	*out = rules;
	return 0;
}

/* ---- running the probes ----------------------------------------------------------------- */

static void add_addr(struct probe_block *b, int family, const void *addr)
{
	struct pol_prefix x = { .plen = 128 };

	if (family == AF_INET) {
		x.addr[10] = 0xff;
		x.addr[11] = 0xff;
		memcpy(x.addr + 12, addr, 4);
		x.family = POL_FAM_V4;
	} else {
		memcpy(x.addr, addr, 16);
		x.family = POL_FAM_V6;
	}
	for (size_t i = 0; i < b->n_dst; i++)
		if (!memcmp(b->dst[i].addr, x.addr, 16))
			return;
	if (b->n_dst < PROBE_BLOCK_MAX_ADDRS)
		b->dst[b->n_dst++] = x;
}

/* "192.0.2.1:25" or "[2001:db8::1]:25", as probe_result.address holds it. */
static void add_result_addr(struct probe_block *b, const char *s)
{
	char a[INET6_ADDRSTRLEN + 1];
	uint8_t raw[16];
	const char *end;
	size_t n;

	if (s[0] == '[') {
		end = strchr(s, ']');
		n = end ? (size_t)(end - s - 1) : 0;
		s++;
	} else {
		end = strrchr(s, ':');
		n = end ? (size_t)(end - s) : 0;
	}
	if (!n || n >= sizeof(a))
		return;
	memcpy(a, s, n);
	a[n] = '\0';
	if (inet_pton(AF_INET, a, raw) == 1)
		add_addr(b, AF_INET, raw);
	else if (inet_pton(AF_INET6, a, raw) == 1)
		add_addr(b, AF_INET6, raw);
}

/*
 * Every address the target's host has, not only the one the probe reached: a client may be
 * given any of them. The probe's own address first, so that it is blocked even if a second
 * look-up answers differently.
 */
static void block_addrs(struct probe_block *b, const struct probe_target *t,
			const struct probe_result *r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;

	if (r->address[0])
		add_result_addr(b, r->address);
	if (t->host_is_addr)
		hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(t->host, NULL, &hints, &ai))
		return;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		if (a->ai_family == AF_INET)
			add_addr(b, AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr);
		else if (a->ai_family == AF_INET6)
			add_addr(b, AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr);
	}
	freeaddrinfo(ai);
}

static void addrs_str(const struct probe_block *b, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < b->n_dst && used < len; i++) {
		char a[INET6_ADDRSTRLEN];
		int w;

		if (b->dst[i].family == POL_FAM_V4)
			inet_ntop(AF_INET, b->dst[i].addr + 12, a, sizeof(a));
		else
			inet_ntop(AF_INET6, b->dst[i].addr, a, sizeof(a));
		w = snprintf(out + used, len - used, "%s%s", i ? ", " : "", a);
		if (w < 0)
			break;
		used += w;
	}
}

/* Why a probe failed, in one phrase: "unreachable (...)" or "not compliant (chain, name)". */
static void why_failed(const struct probe_result *r, char *out, size_t len)
{
	size_t used;

	if (!r->reachable) {
		snprintf(out, len, "unreachable (%s)", r->error[0] ? r->error : "no answer");
		return;
	}
	used = snprintf(out, len, "not compliant (failed:");
	for (int c = 0; c < PC__N && used < len; c++)
		if (r->checks[c].st == PS_FAIL)
			used += snprintf(out + used, len - used, " %s", probe_check_names[c]);
	if (used < len)
		snprintf(out + used, len - used, ")");
}

/* A failing probe: one warning at the probe, saying what on_fail did; notes follow. */
static void warn_failed(struct diag *d, const struct pol_probe *pp, const char *what,
			const char *why, const struct probe_block *b)
{
	const struct loc *at = pp->on_fail_loc.line ? &pp->on_fail_loc : &pp->name_loc;
	char addrs[PROBE_BLOCK_MAX_ADDRS * (INET6_ADDRSTRLEN + 2)];

	if (!pp->on_fail_block) {
		diag_warning(d, at,
			     "probe '%s' failed: %s is %s; on_fail: warn, so nothing is blocked",
			     pp->name, what, why);
	} else if (!b || !b->n_dst) {
		diag_warning(
			d, at,
			"probe '%s' failed: %s is %s; on_fail: block, but it has no address to block",
			pp->name, what, why);
	} else {
		addrs_str(b, addrs, sizeof(addrs));
		diag_warning(
			d, at,
			"probe '%s' failed: %s is %s; on_fail: block drops tcp/%u to %s (rule '%s', first in order)",
			pp->name, what, why, b->port, addrs, pp->name);
	}
}

/* The probes with a target: run together; each failing one reported, maybe blocked. */
static int target_blocks(const struct policy *p, struct diag *d, const struct probe_opts *o,
			 struct probe_block *b, size_t *nb)
{
	struct probe_target *t = calloc(p->n_probes, sizeof(*t));
	struct probe_result *r = calloc(p->n_probes, sizeof(*r));
	size_t *idx = calloc(p->n_probes, sizeof(*idx)), n = 0;
	int err = !t || !r || !idx ? -ENOMEM : 0;
	char why[320];

	for (size_t i = 0; !err && i < p->n_probes; i++) {
		if (p->probes[i].domain)
			continue;
		idx[n] = i;
		if (probe_target_of(&t[n++], &p->probes[i], d))
			err = -EINVAL;
	}
	if (!err && n)
		err = probe_run(o, t, n, r);
	for (size_t k = 0; !err && k < n; k++) {
		const struct pol_probe *pp = &p->probes[idx[k]];
		const struct loc *at = pp->on_fail_loc.line ? &pp->on_fail_loc : &pp->name_loc;
		struct probe_block *x = NULL;

		if (probe_compliant(&r[k]))
			continue;
		/* Unreachable counts as failed: a server the gateway cannot check is not
		 * trusted (fail closed), and may well be reachable for the clients. */
		if (pp->on_fail_block) {
			x = &b[*nb];
			memset(x, 0, sizeof(*x));
			x->probe = idx[k];
			x->port = t[k].port;
			block_addrs(x, &t[k], &r[k]);
			*nb += x->n_dst > 0;
		}
		why_failed(&r[k], why, sizeof(why));
		warn_failed(d, pp, t[k].spec, why, x);
		for (int c = 0; r[k].reachable && c < PC__N; c++)
			if (r[k].checks[c].st == PS_FAIL)
				diag_note(d, at, "%s: %s", probe_check_names[c],
					  r[k].checks[c].evidence);
	}
	free(t);
	free(r);
	free(idx);
	return err;
}

/* ---- domain probes ---------------------------------------------------------------------- */

/* The MX addresses a failing domain's drop rule covers: those its failures concern (one
 * address, one MX host), or every one when a failure concerns the whole domain. */
static void domain_block_addrs(struct probe_block *b, const struct domain_result *dr)
{
	for (size_t i = 0; i < dr->n_f; i++) {
		const struct domain_finding *f = &dr->f[i];
		size_t lo = 0, hi = dr->n_t;

		if (f->warning)
			continue;
		if (f->target >= 0) {
			lo = f->target;
			hi = lo + 1;
		} else if (f->mx >= 0) {
			lo = dr->mx_hosts[f->mx].first;
			hi = lo + dr->mx_hosts[f->mx].n;
		}
		for (size_t k = lo; k < hi; k++)
			add_result_addr(b, dr->r[k].address[0] ? dr->r[k].address : dr->t[k].spec);
	}
}

/* One domain probe: probe, then report (and block) when it is not protected as claimed. */
static int one_domain_probe(const struct pol_probe *pp, struct diag *d, const struct domain_opts *o,
			    struct probe_block *b)
{
	const struct loc *at = pp->on_fail_loc.line ? &pp->on_fail_loc : &pp->name_loc;
	/* a domain that cannot be probed is a warning: the other probes and the policy go on */
	const struct probe_diag pd = { d, *at, pp->name, DIAG_WARNING };
	struct domain_result dr;
	char what[PROBE_NAME_MAX + 16], why[400];
	int ret = domain_probe(o, pp->domain, &dr, &pd);

	if (ret || (dr.reachable && !dr.n_fail)) {
		domain_result_free(&dr);
		return ret == -ENOMEM ? ret : 0;
	}
	snprintf(what, sizeof(what), "mail domain %s", dr.domain);
	domain_verdict_text(&dr, why, sizeof(why));
	if (pp->on_fail_block)
		domain_block_addrs(b, &dr);
	warn_failed(d, pp, what, why, pp->on_fail_block ? b : NULL);
	for (size_t i = 0; i < dr.n_f; i++)
		if (!dr.f[i].warning)
			diag_note(d, at, "%s %s: %s", dr.f[i].check, dr.f[i].subject,
				  dr.f[i].evidence);
	domain_result_free(&dr);
	return 0;
}

/* Each failing domain probe is a warning in d with a note per failing check, and with
 * on_fail: block gets a drop rule in b[*nb] (tcp/25 to the MX addresses its failures
 * concern; all of them when a failure concerns the whole domain). */
static int domain_blocks(const struct policy *p, struct diag *d, const struct probe_opts *o,
			 struct probe_block *b, size_t *nb)
{
	struct domain_opts dopts = { .probe = *o, .dns = { .root_anchor = DNS_ROOT_ANCHOR } };

	for (size_t i = 0; i < p->n_probes; i++) {
		const struct pol_probe *pp = &p->probes[i];
		struct probe_block *x = &b[*nb];
		int ret;

		if (!pp->domain)
			continue;
		dopts.min_tls = probe_min_tls_of(pp, d);
		if (dopts.min_tls < 0)
			return -EINVAL;
		dopts.dns.anchors = (const char *const *)&pp->trust_anchor;
		dopts.dns.n_anchors = pp->trust_anchor ? 1 : 0;
		memset(x, 0, sizeof(*x));
		x->probe = i;
		x->port = 25;
		ret = one_domain_probe(pp, d, &dopts, x);
		if (ret)
			return ret;
		*nb += pp->on_fail_block && x->n_dst > 0;
	}
	return 0;
}

int probe_policy_run(const struct policy *p, struct diag *d, const struct probe_opts *o,
		     struct pol_rule **rules, size_t *n_rules)
{
	const struct probe_opts defaults = {
		.timeout_ms = PROBE_DEFAULT_TIMEOUT_MS,
		.concurrency = PROBE_DEFAULT_CONCURRENCY,
		.warn_days = PROBE_DEFAULT_WARN_DAYS,
	};
	struct probe_block *b = NULL;
	size_t nb = 0;
	int err;

	*rules = NULL;
	*n_rules = 0;
	if (!p->n_probes)
		return 0;
	err = probe_policy_check_blocks(p, d);
	if (err)
		return err;
	b = calloc(p->n_probes, sizeof(*b));
	if (!b)
		return -ENOMEM;
	err = target_blocks(p, d, o ? o : &defaults, b, &nb);
	if (!err)
		err = domain_blocks(p, d, o ? o : &defaults, b, &nb);
	if (!err)
		err = probe_block_rules(p, b, nb, rules);
	if (!err)
		*n_rules = nb;
	free(b);
	return err;
}
