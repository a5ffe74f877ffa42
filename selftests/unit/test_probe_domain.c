// SPDX-License-Identifier: GPL-2.0
/*
 * The verdict of a mail domain (probe_domain_verdict.c) on results built by hand: which
 * protection holds for every MX host, which checks fail and what they concern (the address,
 * the MX host or the whole domain: what on_fail: block drops), and the exit status.
 */
#include <string.h>

#include "probe_domain.h"
#include "tlsfw.h"

#include "check.h"

#define N_T 2

static struct mx_host hosts[DOMAIN_MX_MAX];
static struct probe_target t[N_T];
static struct probe_result r[N_T];

static void answer(struct dns_answer *a, uint16_t type, enum dns_sec sec, bool data)
{
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->done = true;
	a->sec = sec;
	a->havedata = data;
}

/* Two MX hosts, one address each, every answer secure, both addresses compliant and
 * authenticated by their TLSA records; no MTA-STS. */
static void base(struct domain_result *d)
{
	memset(d, 0, sizeof(*d));
	memset(hosts, 0, sizeof(hosts));
	snprintf(d->domain, sizeof(d->domain), "example.org");
	d->mx_hosts = hosts;
	d->n_mx = 2;
	d->t = t;
	d->r = r;
	d->n_t = N_T;
	answer(&d->mx, DNS_T_MX, DNS_SECURE, true);
	answer(&d->sts_txt, DNS_T_TXT, DNS_SECURE, false);
	answer(&d->rpt_txt, DNS_T_TXT, DNS_SECURE, false);
	d->sts_txt.rcode = d->rpt_txt.rcode = 3;
	for (int i = 0; i < 2; i++) {
		struct mx_host *h = &hosts[i];

		snprintf(h->name, sizeof(h->name), "mx%d.example.org", i + 1);
		answer(&h->a, DNS_T_A, DNS_SECURE, true);
		answer(&h->aaaa, DNS_T_AAAA, DNS_SECURE, false);
		answer(&h->tlsa, DNS_T_TLSA, DNS_SECURE, true);
		h->tlsa_asked = true;
		h->n_rr = h->n_tlsa_all = 1;
		h->first = i;
		h->n = 1;
		memset(&t[i], 0, sizeof(t[i]));
		memset(&r[i], 0, sizeof(r[i]));
		snprintf(t[i].name, sizeof(t[i].name), "%s", h->name);
		snprintf(r[i].address, sizeof(r[i].address), "192.0.2.%d:25", i + 1);
		r[i].reachable = true;
		r[i].starttls = ST_OK;
		snprintf(r[i].tls_version, sizeof(r[i].tls_version), "TLSv1.3");
		for (int c = 0; c < PC__N; c++)
			r[i].checks[c].st = PS_PASS;
		r[i].dane = DANE_VALID;
	}
}

/* An MTA-STS policy in mode, with one pattern. */
static void sts(struct domain_result *d, enum sts_mode mode, const char *pattern)
{
	d->sts_record = d->sts_fetched = d->policy_ok = true;
	d->policy.mode = mode;
	d->policy.n_mx = 1;
	snprintf(d->policy.mx[0], sizeof(d->policy.mx[0]), "%s", pattern);
	t[0].verify = t[1].verify = true;
}

static void expect(struct domain_result *d, enum domain_protection prot, int rc, size_t fails,
		   const char *what)
{
	domain_verdict(d);
	CHECK(d->prot == prot, "%s: protection %s, expected %s", what,
	      domain_protection_names[d->prot], domain_protection_names[prot]);
	CHECK(domain_exit_code(d) == rc, "%s: exit %d, expected %d", what, domain_exit_code(d), rc);
	CHECK(d->n_fail == fails, "%s: %zu failing checks, expected %zu", what, d->n_fail, fails);
}

int main(void)
{
	struct domain_result d;

	base(&d);
	expect(&d, PROT_DANE, EXIT_OK, 0, "both MX hosts dane-valid");
	CHECK(hosts[0].dane == DANE_VALID && hosts[1].dane == DANE_VALID, "per host");

	base(&d);
	r[1].dane = DANE_INVALID;
	expect(&d, PROT_OPPORTUNISTIC, EXIT_NONCOMPLIANT, 1, "one TLSA does not match");
	CHECK(!strcmp(d.f[0].check, "dane") && d.f[0].target == 1 && hosts[1].dane == DANE_INVALID,
	      "the finding concerns the address: %s %d", d.f[0].check, d.f[0].target);

	base(&d);
	hosts[0].a.sec = hosts[1].a.sec = DNS_INSECURE;
	expect(&d, PROT_OPPORTUNISTIC, EXIT_OK, 0, "insecure addresses: DANE does not apply");
	CHECK(hosts[0].dane == DANE_NA, "no-dane");

	base(&d);
	r[0].dane = r[1].dane = DANE_NA;
	hosts[0].n_rr = hosts[1].n_rr = 0;
	sts(&d, STS_MODE_ENFORCE, "*.example.org");
	expect(&d, PROT_STS_ENFORCE, EXIT_OK, 0, "unusable TLSA, MTA-STS enforce");
	CHECK(hosts[0].dane == DANE_NOT_USABLE && d.n_f == 2 && d.f[0].warning && d.f[1].warning,
	      "unusable TLSA records are warnings: %zu findings", d.n_f);

	base(&d);
	r[0].dane = r[1].dane = DANE_NA;
	hosts[0].tlsa.havedata = hosts[1].tlsa.havedata = false;
	sts(&d, STS_MODE_TESTING, "*.example.org");
	expect(&d, PROT_STS_TESTING, EXIT_OK, 0, "MTA-STS testing, every MX matches");

	base(&d);
	hosts[0].tlsa.havedata = hosts[1].tlsa.havedata = false;
	r[0].dane = r[1].dane = DANE_NA;
	sts(&d, STS_MODE_ENFORCE, "mx1.example.org");
	expect(&d, PROT_OPPORTUNISTIC, EXIT_NONCOMPLIANT, 1, "mx2 matches no pattern");
	CHECK(!strcmp(d.f[0].check, "mta-sts") && d.f[0].mx == 1 && d.f[0].target == -1,
	      "the finding concerns the MX host: %d %d", d.f[0].mx, d.f[0].target);

	base(&d);
	hosts[0].tlsa.havedata = hosts[1].tlsa.havedata = false;
	r[0].dane = r[1].dane = DANE_NA;
	sts(&d, STS_MODE_ENFORCE, "*.example.org");
	r[0].checks[PC_NAME].st = PS_FAIL;
	expect(&d, PROT_OPPORTUNISTIC, EXIT_NONCOMPLIANT, 1, "a certificate not for its name");

	base(&d);
	r[0].checks[PC_EXPIRY].st = PS_FAIL;
	expect(&d, PROT_DANE, EXIT_OK, 0, "expired, without MTA-STS: a warning");
	CHECK(d.n_f == 1 && d.f[0].warning, "the warning");

	base(&d);
	d.sts_record = d.sts_fetched = true;
	snprintf(d.fetch.error, sizeof(d.fetch.error), "HTTP 404, expected 200");
	expect(&d, PROT_DANE, EXIT_NONCOMPLIANT, 1, "a policy that cannot be fetched");
	CHECK(d.f[0].mx == -1 && d.f[0].target == -1, "concerns the whole domain");

	base(&d);
	r[0].reachable = r[1].reachable = false;
	expect(&d, PROT_NONE, EXIT_SYSTEM, 2, "no MX address reachable");

	base(&d);
	d.mx.sec = DNS_BOGUS;
	d.mx.havedata = false; /* as probe_dns.c leaves a bogus answer */
	d.n_mx = d.n_t = 0;
	expect(&d, PROT_NONE, EXIT_NONCOMPLIANT, 1, "bogus MX answer");
	CHECK(!strcmp(d.f[0].check, "dnssec"), "%s", d.f[0].check);

	base(&d);
	d.null_mx = true;
	d.n_mx = d.n_t = 0;
	expect(&d, PROT_NO_MAIL, EXIT_OK, 0, "null MX");
	return check_report("test_probe_domain");
}
