// SPDX-License-Identifier: GPL-2.0
/*
 * What a probed mail domain's answers mean: every failing check (a finding), and the
 * strongest protection that holds for every MX host. A failing check is anything that makes
 * the domain less protected than its records claim, or that a sender following those
 * records would stop at: a bogus answer, an MX host without TLS or failing the SMTP checks,
 * a TLSA record that does not match (a DANE sender refuses to deliver), an MTA-STS record
 * whose policy cannot be fetched or parsed, or that an MX host does not meet. Certificate
 * checks count only where MTA-STS claims them (the probes verify then); certificate expiry
 * elsewhere and near expiry are warnings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "probe_domain.h"
#include "tlsfw.h"

const char *const domain_protection_names[PROT_NO_MAIL + 1] = {
	[PROT_NONE] = "none",
	[PROT_OPPORTUNISTIC] = "opportunistic",
	[PROT_STS_TESTING] = "mta-sts-testing",
	[PROT_STS_ENFORCE] = "mta-sts-enforce",
	[PROT_DANE] = "dane",
	[PROT_NO_MAIL] = "no-mail",
};

/* A finding about the whole domain; the caller narrows it down (mx, target) when it can. */
static struct domain_finding *add(struct domain_result *r, bool warning, const char *check,
				  const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static struct domain_finding *add(struct domain_result *r, bool warning, const char *check,
				  const char *subject, const char *fmt, ...)
{
	static __thread struct domain_finding lost; /* written, never read */
	struct domain_finding *f;
	va_list ap;

	r->n_fail += !warning;
	if (r->n_f == DOMAIN_FINDINGS_MAX) {
		r->n_lost++;
		return &lost;
	}
	f = &r->f[r->n_f++];
	f->warning = warning;
	f->mx = f->target = -1;
	snprintf(f->check, sizeof(f->check), "%s", check);
	snprintf(f->subject, sizeof(f->subject), "%s", subject);
	va_start(ap, fmt);
	vsnprintf(f->evidence, sizeof(f->evidence), fmt, ap);
	va_end(ap);
	return f;
}

/* A look-up that did not give a usable answer: bogus is a dnssec failure, the rest dns. */
static bool lookup_failed(struct domain_result *r, const struct dns_answer *a, int mx)
{
	char d[300], subject[PROBE_NAME_MAX + 16];

	snprintf(subject, sizeof(subject), "%s %s", dns_type_name(a->type), a->name);
	dns_describe(a, d, sizeof(d));
	if (a->sec == DNS_BOGUS) {
		add(r, false, "dnssec", subject, "%s", d)->mx = mx;
		return true;
	}
	if (a->rcode < 0 || (a->rcode && a->rcode != 3)) {
		add(r, false, "dns", subject, "%s", d)->mx = mx;
		return true;
	}
	return false;
}

bool mx_addrs_secure(const struct mx_host *h)
{
	return mx_addrs_signed(h) ||
	       (h->cname.sec == DNS_SECURE && h->cname.rcode == 0 && h->cname.havedata);
}

static void dns_findings(struct domain_result *r)
{
	bool mx_failed = lookup_failed(r, &r->mx, -1);

	if (!mx_failed && r->mx.rcode == 3)
		add(r, false, "dns", r->domain, "the domain does not exist (NXDOMAIN, %s)",
		    dns_sec_names[r->mx.sec]);
	else if (!mx_failed && r->mx.havedata && !r->n_mx && !r->null_mx)
		add(r, false, "dns", r->domain, "no usable MX record in the answer");
	lookup_failed(r, &r->sts_txt, -1);
	lookup_failed(r, &r->rpt_txt, -1);
	for (size_t i = 0; i < r->n_mx; i++) {
		struct mx_host *h = &r->mx_hosts[i];
		bool failed = lookup_failed(r, &h->a, i);

		failed |= lookup_failed(r, &h->aaaa, i);
		/* with unsigned addresses a sender does not look for TLSA (RFC 7672 2.2.2):
		 * a provider's server failing _tcp queries stops no delivery */
		if (h->tlsa_asked && mx_addrs_secure(h))
			lookup_failed(r, &h->tlsa, i);
		if (!failed && !h->n)
			add(r, false, "mx", h->name, "no address (A or AAAA) to deliver to")->mx =
				i;
	}
}

static void target_subject(const struct probe_target *t, const struct probe_result *pr, char *out,
			   size_t len)
{
	snprintf(out, len, "%.255s %.63s", t->name, pr->address[0] ? pr->address : t->spec);
}

static void target_findings(struct domain_result *r, size_t i)
{
	const struct probe_target *t = &r->t[i];
	const struct probe_result *pr = &r->r[i];
	char s[PROBE_NAME_MAX + 64];

	target_subject(t, pr, s, sizeof(s));
	if (!pr->reachable) {
		add(r, false, "smtp", s, "unreachable: %s", pr->error)->target = i;
		return;
	}
	for (int c = 0; c < PC__N; c++) {
		const struct probe_check *k = &pr->checks[c];
		/* expiry without MTA-STS: no sender checks it (DANE-TA has its own) */
		bool soft = k->st == PS_WARN || (c == PC_EXPIRY && !t->verify);

		if (k->st == PS_FAIL || k->st == PS_WARN)
			add(r, soft, "smtp", s, "%s: %s", probe_check_names[c], k->evidence)
				->target = i;
	}
	if (pr->dane == DANE_INVALID || pr->dane == DANE_NOT_USABLE)
		add(r, pr->dane == DANE_NOT_USABLE, "dane", s, "%s", pr->dane_evidence)->target = i;
}

/* Why DANE does not apply to h, or NULL when it does (RFC 7672 2.2). */
static const char *dane_not_applicable(const struct mx_host *h)
{
	if (!h->tlsa_asked)
		return "the MX answer is not signed: DANE does not apply";
	if (!mx_addrs_secure(h))
		return "the address records are not signed: DANE does not apply";
	if (h->tlsa.sec == DNS_BOGUS || h->tlsa.rcode < 0 || (h->tlsa.rcode && h->tlsa.rcode != 3))
		return NULL; /* bogus or failed look-up: a DANE sender defers */
	if (h->tlsa.sec != DNS_SECURE)
		return "the TLSA answer is not signed: DANE does not apply";
	if (!h->tlsa.havedata)
		return "no TLSA records";
	return NULL;
}

static void dane_of(struct domain_result *r, struct mx_host *h)
{
	const char *na = dane_not_applicable(h);
	size_t valid = 0, bad = h->n;

	if (na) {
		h->dane = DANE_NA;
		snprintf(h->dane_why, sizeof(h->dane_why), "%s", na);
		return;
	}
	if (h->tlsa.sec == DNS_BOGUS || h->tlsa.rcode) {
		h->dane = DANE_INVALID;
		snprintf(h->dane_why, sizeof(h->dane_why),
			 "the TLSA look-up failed: DANE senders defer delivery");
		return;
	}
	if (!h->n_rr) {
		h->dane = DANE_NOT_USABLE;
		snprintf(
			h->dane_why, sizeof(h->dane_why),
			"none of the %zu TLSA records is usable for SMTP (usages 2 and 3, selectors 0 and 1, matching types 0, 1, 2)",
			h->n_tlsa_all);
		add(r, true, "dane", h->name, "%s", h->dane_why);
		return;
	}
	for (size_t i = h->first; i < h->first + h->n; i++) {
		valid += r->r[i].dane == DANE_VALID;
		if (r->r[i].dane != DANE_VALID && bad == h->n)
			bad = i - h->first;
	}
	h->dane = h->n && valid == h->n ? DANE_VALID : DANE_INVALID;
	snprintf(h->dane_why, sizeof(h->dane_why), "%s",
		 !h->n	    ? "no address to authenticate" :
		 bad < h->n ? r->r[h->first + bad].dane_evidence :
			      r->r[h->first].dane_evidence);
}

static void sts_findings(struct domain_result *r)
{
	char pats[256] = "";
	size_t o = 0;

	if (!r->sts_record) {
		if (r->sts_error[0])
			add(r, false, "mta-sts", r->sts_txt.name, "%s", r->sts_error);
		return;
	}
	if (r->fetch.error[0]) {
		add(r, false, "mta-sts", r->fetch.url, "%s", r->fetch.error);
		return;
	}
	if (!r->policy_ok) {
		add(r, false, "mta-sts", r->fetch.url, "%s", r->sts_error);
		return;
	}
	if (r->policy.n_warnings)
		add(r, true, "mta-sts", r->fetch.url, "%s", r->policy.warning);
	for (size_t k = 0; k < r->policy.n_mx && o < sizeof(pats); k++)
		o += snprintf(pats + o, sizeof(pats) - o, "%s%s", k ? ", " : "", r->policy.mx[k]);
	for (size_t i = 0; i < r->n_mx; i++) {
		struct mx_host *h = &r->mx_hosts[i];

		for (size_t k = 0; k < r->policy.n_mx && !h->sts_match; k++)
			h->sts_match = sts_mx_match(r->policy.mx[k], h->name);
		if (!h->sts_match && r->policy.mode != STS_MODE_NONE)
			add(r, false, "mta-sts", h->name,
			    "matches no mx pattern of the policy (%s): %s senders %s", pats,
			    sts_mode_names[r->policy.mode],
			    r->policy.mode == STS_MODE_ENFORCE ? "refuse to deliver to it" :
								 "report a failure")
				->mx = i;
	}
}

static void rpt_findings(struct domain_result *r)
{
	if (!r->rpt_record && r->rpt_error[0])
		add(r, true, "tls-rpt", r->rpt_txt.name, "%s", r->rpt_error);
}

/* Every address took STARTTLS and came up with TLS; with pkix, verified for its MX name. */
static bool every_target(const struct domain_result *r, bool pkix)
{
	for (size_t i = 0; i < r->n_t; i++) {
		const struct probe_result *pr = &r->r[i];

		if (!pr->reachable || pr->starttls != ST_OK || !pr->tls_version[0])
			return false;
		if (pkix &&
		    (pr->checks[PC_CHAIN].st != PS_PASS || pr->checks[PC_NAME].st != PS_PASS ||
		     pr->checks[PC_EXPIRY].st == PS_FAIL))
			return false;
	}
	return r->n_t > 0;
}

static enum domain_protection protection(const struct domain_result *r)
{
	bool dane = r->n_mx > 0, match = r->n_mx > 0;

	if (r->null_mx)
		return PROT_NO_MAIL;
	if (!every_target(r, false) || r->mx.sec == DNS_BOGUS)
		return PROT_NONE;
	for (size_t i = 0; i < r->n_mx; i++) {
		dane &= r->mx_hosts[i].dane == DANE_VALID;
		match &= r->mx_hosts[i].sts_match;
	}
	if (dane)
		return PROT_DANE;
	if (!r->policy_ok || !match || r->policy.mode == STS_MODE_NONE || !every_target(r, true))
		return PROT_OPPORTUNISTIC;
	return r->policy.mode == STS_MODE_ENFORCE ? PROT_STS_ENFORCE : PROT_STS_TESTING;
}

void domain_verdict(struct domain_result *r)
{
	r->n_f = r->n_fail = r->n_lost = 0;
	dns_findings(r);
	for (size_t i = 0; i < r->n_t; i++)
		target_findings(r, i);
	for (size_t i = 0; i < r->n_mx; i++)
		dane_of(r, &r->mx_hosts[i]);
	sts_findings(r);
	rpt_findings(r);
	r->prot = protection(r);
	r->reachable = r->null_mx || r->mx.sec == DNS_BOGUS;
	for (size_t i = 0; i < r->n_t; i++)
		r->reachable |= r->r[i].reachable;
}

int domain_exit_code(const struct domain_result *r)
{
	if (!r->reachable)
		return EXIT_SYSTEM;
	return r->n_fail ? EXIT_NONCOMPLIANT : EXIT_OK;
}
