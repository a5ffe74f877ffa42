// SPDX-License-Identifier: GPL-2.0
/*
 * Probing a mail domain. Three rounds, each as parallel as it can be:
 *   1. MX, _mta-sts TXT and _smtp._tls TXT of the domain;
 *   2. A, AAAA and (when the MX answer was secure, RFC 7672 2.2) TLSA and CNAME of every MX
 *      host, then TLSA at the expansion of a secure CNAME chain;
 *   3. the SMTP probes of every MX address on port 25, each with its DANE handshake when
 *      the host has usable TLSA records, while another thread fetches the MTA-STS policy.
 * The certificate checks of the SMTP probes count (verify) when the domain publishes an
 * MTA-STS policy of mode enforce or testing: only MTA-STS makes a sender insist on a
 * certificate valid for the MX name.
 * What it all means is decided in probe_domain_verdict.c.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include "lazy_curl.h"

#include "probe_domain.h"
#include "probe_io.h"

/* "example.org" or "example.org.": letters, digits, '-', '_' and dots; lower-cased. */
static int domain_name(const char *in, char *out, size_t len, const struct probe_diag *pd)
{
	size_t n = strlen(in), label = 0;

	if (n && in[n - 1] == '.')
		n--;
	if (!n || n >= len || n > 253)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = in[i];

		if (c == '.') {
			if (!label)
				goto bad;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				goto bad;
		} else {
			goto bad;
		}
		out[i] = tolower(c);
	}
	out[n] = '\0';
	return 0;
bad:
	return probe_fail(pd, NULL, -EINVAL, "'%s' is not a domain name", in);
}

static int by_pref(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	return x->pref != y->pref ? x->pref - y->pref : strcmp(x->name, y->name);
}

/* The MX hosts of the answer, by preference; none when it is a null MX. */
static void mx_hosts(struct domain_result *r)
{
	size_t n = dns_count(&r->mx), len;

	for (size_t i = 0; i < n && r->n_mx < DOMAIN_MX_MAX; i++) {
		const uint8_t *rd = dns_rdata(&r->mx, i, &len);
		struct mx_host *h = &r->mx_hosts[r->n_mx];
		bool dup = false;

		if (dns_mx(rd, len, &h->pref, h->name, sizeof(h->name)))
			continue; /* counted by the verdict from the answer itself */
		for (size_t k = 0; k < r->n_mx; k++)
			dup |= !strcasecmp(r->mx_hosts[k].name, h->name);
		if (!h->name[0] && n == 1)
			r->null_mx = true;
		if (!dup && h->name[0])
			r->n_mx++;
	}
	qsort(r->mx_hosts, r->n_mx, sizeof(r->mx_hosts[0]), by_pref);
}

/* Round 1 done: who receives mail. */
static void mx_from_answer(struct domain_result *r)
{
	if (r->mx.sec == DNS_BOGUS || r->mx.rcode < 0)
		return;
	if (r->mx.rcode == 0 && !r->mx.havedata) {
		/* no MX: the domain itself, with its own addresses (RFC 5321 5.1) */
		snprintf(r->mx_hosts[0].name, sizeof(r->mx_hosts[0].name), "%s", r->domain);
		r->mx_hosts[0].implicit = true;
		r->n_mx = 1;
		return;
	}
	mx_hosts(r);
}

static int round2(struct dns_ctx *dc, struct domain_result *r, uint64_t deadline)
{
	char q[PROBE_NAME_MAX + 16];

	for (size_t i = 0; i < r->n_mx; i++) {
		struct mx_host *h = &r->mx_hosts[i];

		dns_submit(dc, &h->a, h->name, DNS_T_A);
		dns_submit(dc, &h->aaaa, h->name, DNS_T_AAAA);
		/* TLSA only where the MX answer (or its absence) is signed; asked in parallel
		 * with the addresses, used only if they are signed too (verdict) */
		h->tlsa_asked = r->mx.sec == DNS_SECURE;
		snprintf(q, sizeof(q), "_25._tcp.%s", h->name);
		if (h->tlsa_asked) {
			dns_submit(dc, &h->tlsa, q, DNS_T_TLSA);
			dns_submit(dc, &h->cname, h->name, DNS_T_CNAME);
		}
	}
	return dns_wait(dc, deadline);
}

/* No TLSA records at that name (as opposed to a failed look-up, where senders defer). */
static bool tlsa_none(const struct dns_answer *a)
{
	return a->sec != DNS_BOGUS && (a->rcode == 3 || (a->rcode == 0 && !a->havedata));
}

/*
 * RFC 7672 2.2.2 and 3.2.2: addresses reached through a secure CNAME chain have their TLSA
 * records at the expanded name, else (none there) at the MX name; a chain that leads into
 * an unsigned zone still lets DANE apply, TLSA at the MX name, when its first CNAME is
 * secure. h->tlsa ends up the answer that counts, h->base its base domain.
 */
static int tlsa_base(struct dns_ctx *dc, struct domain_result *r, uint64_t deadline)
{
	char q[PROBE_NAME_MAX + 16];
	int ret = 0;

	for (size_t i = 0; i < r->n_mx; i++) {
		struct mx_host *h = &r->mx_hosts[i];

		dns_canonical(h->a.havedata ? &h->a : &h->aaaa, h->base, sizeof(h->base));
		if (!h->tlsa_asked || !mx_addrs_signed(h) || !h->base[0]) {
			snprintf(h->base, sizeof(h->base), "%s", h->name);
			continue;
		}
		snprintf(q, sizeof(q), "_25._tcp.%s", h->base);
		dns_submit(dc, &h->tlsa_other, q, DNS_T_TLSA);
	}
	ret = dns_wait(dc, deadline);
	for (size_t i = 0; i < r->n_mx; i++) {
		struct mx_host *h = &r->mx_hosts[i];
		struct dns_answer tmp;

		if (!strcmp(h->base, h->name))
			continue;
		if (tlsa_none(&h->tlsa_other)) {
			snprintf(h->base, sizeof(h->base), "%s", h->name);
			continue;
		}
		tmp = h->tlsa;
		h->tlsa = h->tlsa_other;
		h->tlsa_other = tmp;
	}
	return ret;
}

/* RFC 7672 3.1.3: DANE-TA(2) and DANE-EE(3), selectors 0 and 1, matching types 0, 1, 2. */
static bool tlsa_usable(const struct dns_tlsa *t)
{
	return (t->usage == 2 || t->usage == 3) && t->selector <= 1 &&
	       (t->mtype == 0 || (t->mtype == 1 && t->len == 32) ||
		(t->mtype == 2 && t->len == 64)) &&
	       t->len;
}

static void tlsa_records(struct mx_host *h)
{
	size_t n = dns_count(&h->tlsa), len;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *rd = dns_rdata(&h->tlsa, i, &len);
		struct dns_tlsa t;

		if (dns_tlsa(rd, len, &t))
			continue;
		h->n_tlsa_all++;
		if (tlsa_usable(&t) && h->n_rr < DOMAIN_TLSA_MAX)
			h->rr[h->n_rr++] = t;
	}
}

/* DANE applies when MX, addresses (or their first CNAME) and TLSA are all signed and TLSA
 * has usable records. */
static bool dane_applies(const struct mx_host *h)
{
	return h->tlsa_asked && h->tlsa.sec == DNS_SECURE && h->n_rr && mx_addrs_secure(h) &&
	       h->a.rcode >= 0 && h->aaaa.rcode >= 0;
}

static int add_target(struct domain_result *r, const struct domain_opts *o, struct mx_host *h,
		      const char *addr, uint16_t type)
{
	struct probe_target *t = &r->t[r->n_t];
	char spec[INET6_ADDRSTRLEN + 16];
	const struct target_spec ts = { .spec = spec, .starttls = "smtp" };
	struct diag d; /* an address and port formatted here: nothing to report */
	const struct probe_diag pd = { .d = &d };
	int ret;

	snprintf(spec, sizeof(spec), type == DNS_T_AAAA ? "[%s]:25" : "%s:25", addr);
	diag_init(&d);
	ret = probe_target_parse(t, &ts, &pd);
	diag_free(&d);
	if (ret)
		return ret;
	snprintf(t->name, sizeof(t->name), "%s", h->name);
	t->min_tls = o->min_tls;
	t->verify = r->sts_record;
	/* RFC 8461 4.2 names the certificate's dNSName SANs (RFC 9525: never the CN, a
	 * wildcard only as a whole leftmost label), as senders that enforce it check them */
	t->san_only = true;
	if (dane_applies(h)) {
		t->tlsa = h->rr;
		t->n_tlsa = h->n_rr;
		/* the MX answer is secure here: the next-hop domain is a name too (7672 3.2.2) */
		if (!h->implicit)
			t->dane_refs[0] = r->domain;
		if (strcmp(h->base, h->name)) {
			t->dane_base = h->base;
			t->dane_refs[1] = h->name;
		}
	}
	r->n_t++;
	return 0;
}

/* Round 2 done: one target per address of every MX host. */
static int targets(struct domain_result *r, const struct domain_opts *o)
{
	r->t = calloc(r->n_mx * 2 * DOMAIN_ADDRS_MAX + 1, sizeof(*r->t));
	r->r = calloc(r->n_mx * 2 * DOMAIN_ADDRS_MAX + 1, sizeof(*r->r));
	if (!r->t || !r->r)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_mx; i++) {
		struct mx_host *h = &r->mx_hosts[i];
		const struct dns_answer *ans[2] = { &h->a, &h->aaaa };

		tlsa_records(h);
		h->first = r->n_t;
		for (int k = 0; k < 2; k++) {
			size_t n = dns_count(ans[k]), len;

			for (size_t j = 0; j < n && r->n_t - h->first < DOMAIN_ADDRS_MAX; j++) {
				const uint8_t *rd = dns_rdata(ans[k], j, &len);
				char a[INET6_ADDRSTRLEN];

				if (!dns_addr(ans[k]->type, rd, len, a, sizeof(a)))
					add_target(r, o, h, a, ans[k]->type);
			}
		}
		h->n = r->n_t - h->first;
	}
	return 0;
}

/* One kind of TXT record: its parser (-ENOENT: another kind), its version tag and the size
 * of what it parses into. */
struct txt_kind {
	int (*parse)(const char *txt, void *out, struct diag *d);
	const char *version;
	size_t size;
};

static int parse_sts(const char *txt, void *out, struct diag *d)
{
	return sts_txt_parse(txt, out, d);
}

static int parse_rpt(const char *txt, void *out, struct diag *d)
{
	return tlsrpt_parse(txt, out, d);
}

/* A record's (or the policy's) last error is the finding about it: its text goes into the
 * result, which outlives d (emptied here). */
static void finding_of(struct diag *d, char out[MAILREC_ERR_MAX])
{
	for (size_t i = d->n; i-- > 0;)
		if (d->recs[i].level == DIAG_ERROR) {
			snprintf(out, MAILREC_ERR_MAX, "%s", d->recs[i].msg);
			break;
		}
	diag_free(d);
}

/*
 * Exactly one record of a kind counts (RFC 8461 3.1, RFC 8460 3); records of other kinds
 * are ignored. True when there is one and it parsed into out; else the last error in d says
 * why, and there is none when there is no record.
 */
static bool one_record(const struct dns_answer *a, const struct txt_kind *k, void *out,
		       struct diag *d)
{
	size_t len, n = 0;
	char txt[DNS_TXT_MAX];
	bool ok = false;
	/* each record is parsed into a scratch copy: a parser clears what it is given, and a
	 * record of another kind after the one that counts must not wipe it */
	void *tmp = malloc(k->size);

	if (!tmp) {
		diag_error(d, NULL, "out of memory");
		return false;
	}
	for (size_t i = 0; i < dns_count(a); i++) {
		const uint8_t *rd = dns_rdata(a, i, &len);
		int ret = dns_txt(rd, len, txt, sizeof(txt));

		if (!ret)
			ret = k->parse(txt, tmp, d);
		if (ret == -ENOENT)
			continue;
		n++;
		ok = !ret;
		if (ok)
			memcpy(out, tmp, k->size);
	}
	free(tmp);
	if (n > 1)
		diag_error(d, NULL, "%zu v=%s records: senders ignore them all", n, k->version);
	return ok && n == 1;
}

static void txt_records(struct domain_result *r)
{
	static const struct txt_kind sts = { parse_sts, "STSv1", sizeof(struct sts_txt) },
				     rpt = { parse_rpt, "TLSRPTv1", sizeof(struct tlsrpt) };
	struct diag d;

	diag_init(&d);
	r->sts_record = one_record(&r->sts_txt, &sts, &r->sts, &d);
	finding_of(&d, r->sts_error);
	r->rpt_record = one_record(&r->rpt_txt, &rpt, &r->rpt, &d);
	finding_of(&d, r->rpt_error);
}

struct fetch_job {
	struct domain_result *r;
	const struct probe_opts *o;
};

static void *fetch_policy(void *arg)
{
	struct fetch_job *j = arg;
	struct domain_result *r = j->r;
	struct diag d;

	r->sts_fetched = true;
	if (sts_fetch(r->domain, j->o, &r->fetch))
		return NULL;
	diag_init(&d);
	r->policy_ok = !sts_policy_parse(r->fetch.body, r->fetch.len, &r->policy, &d);
	finding_of(&d, r->sts_error);
	return NULL;
}

/*
 * Round 3 done. The probes verified certificates for the MX names while the record claimed
 * MTA-STS; with mode none, or no policy to be had, senders act as if there were no MTA-STS
 * (RFC 8461 5), and so does the verdict: the chain and name checks are not applicable.
 */
static void sts_unclaimed(struct domain_result *r)
{
	if (!r->sts_record || (r->policy_ok && r->policy.mode != STS_MODE_NONE))
		return;
	for (size_t i = 0; i < r->n_t; i++) {
		struct probe_check *k = r->r[i].checks;

		r->t[i].verify = false;
		if (k[PC_CHAIN].st == PS_FAIL)
			k[PC_CHAIN].st = PS_NA;
		if (k[PC_NAME].st == PS_FAIL)
			k[PC_NAME].st = PS_NA;
	}
}

/* Round 3: the SMTP probes, and the MTA-STS policy alongside. */
static int round3(struct domain_result *r, const struct domain_opts *o)
{
	struct fetch_job job = { r, &o->probe };
	pthread_t th;
	bool threaded = false;
	int ret;

	if (r->sts_record)
		threaded = !pthread_create(&th, NULL, fetch_policy, &job);
	ret = probe_run(&o->probe, r->t, r->n_t, r->r);
	if (threaded)
		pthread_join(th, NULL);
	else if (r->sts_record)
		fetch_policy(&job);
	return ret;
}

static int rounds(struct dns_ctx *dc, const struct domain_opts *o, struct domain_result *r)
{
	char q[PROBE_NAME_MAX + 16];
	int ret;

	dns_submit(dc, &r->mx, r->domain, DNS_T_MX);
	snprintf(q, sizeof(q), "_mta-sts.%s", r->domain);
	dns_submit(dc, &r->sts_txt, q, DNS_T_TXT);
	snprintf(q, sizeof(q), "_smtp._tls.%s", r->domain);
	dns_submit(dc, &r->rpt_txt, q, DNS_T_TXT);
	ret = dns_wait(dc, pio_now_ms() + o->probe.timeout_ms);
	if (ret)
		return ret;
	mx_from_answer(r);
	txt_records(r);
	if (r->null_mx)
		return 0;
	ret = round2(dc, r, pio_now_ms() + o->probe.timeout_ms);
	if (!ret)
		ret = tlsa_base(dc, r, pio_now_ms() + o->probe.timeout_ms);
	if (!ret)
		ret = targets(r, o);
	if (!ret)
		ret = round3(r, o);
	if (!ret)
		sts_unclaimed(r);
	return ret;
}

int domain_probe(const struct domain_opts *o, const char *domain, struct domain_result *r,
		 const struct probe_diag *pd)
{
	uint64_t start = pio_now_ms();
	struct dns_ctx *dc = NULL;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = domain_name(domain, r->domain, sizeof(r->domain), pd);
	if (ret)
		return ret;
	r->mx_hosts = calloc(DOMAIN_MX_MAX, sizeof(*r->mx_hosts));
	if (!r->mx_hosts)
		return -ENOMEM;
	ret = dns_new(&dc, &o->dns, pd);
	if (ret)
		return ret == -EINVAL ? -ENOENT : ret; /* -EINVAL is for the domain name */
	/* before any thread: libcurl's global state (reference counted) */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ret = rounds(dc, o, r);
	curl_global_cleanup();
	if (ret)
		probe_fail(pd, NULL, ret, "cannot probe %s: %s", r->domain, strerror(-ret));
	else
		domain_verdict(r);
	dns_free(dc);
	r->elapsed_ms = pio_now_ms() - start;
	return ret;
}

void domain_result_free(struct domain_result *r)
{
	dns_answer_free(&r->mx);
	dns_answer_free(&r->sts_txt);
	dns_answer_free(&r->rpt_txt);
	for (size_t i = 0; r->mx_hosts && i < DOMAIN_MX_MAX; i++) {
		dns_answer_free(&r->mx_hosts[i].a);
		dns_answer_free(&r->mx_hosts[i].aaaa);
		dns_answer_free(&r->mx_hosts[i].tlsa);
		dns_answer_free(&r->mx_hosts[i].tlsa_other);
		dns_answer_free(&r->mx_hosts[i].cname);
	}
	free(r->mx_hosts);
	free(r->t);
	free(r->r);
	sts_fetch_free(&r->fetch);
	memset(r, 0, sizeof(*r));
}
