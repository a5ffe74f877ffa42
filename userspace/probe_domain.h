/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `tlsfw probe --domain DOMAIN`: is mail to a domain protected as its records claim?
 *
 * probe_domain.c         DNS (MX with the RFC 5321 fallback, addresses, TLSA, _mta-sts,
 *                        _smtp._tls), the SMTP probes of every MX address with DANE, the
 *                        MTA-STS policy fetch
 * probe_domain_verdict.c findings (every failing check) and the protection in force
 * probe_domain_report.c  human and JSON reports
 */
#ifndef TLSFW_PROBE_DOMAIN_H
#define TLSFW_PROBE_DOMAIN_H

#include <stdio.h>

#include "probe.h"
#include "probe_dns.h"
#include "probe_mailrec.h"

#define DOMAIN_MX_MAX 16       /* MX hosts examined, in preference order */
#define DOMAIN_ADDRS_MAX 8     /* addresses of one MX host probed */
#define DOMAIN_TLSA_MAX 16     /* usable TLSA records of one MX host kept */
#define DOMAIN_FINDINGS_MAX 96 /* failing checks and warnings reported */

/* The strongest protection in force for every MX host, weakest first. */
enum domain_protection {
	PROT_NONE = 0,	    /* some MX host takes mail without TLS */
	PROT_OPPORTUNISTIC, /* STARTTLS everywhere, nothing makes senders insist on it */
	PROT_STS_TESTING,   /* an MTA-STS policy in testing mode that every MX host meets */
	PROT_STS_ENFORCE,   /* an MTA-STS policy in enforce mode that every MX host meets */
	PROT_DANE,	    /* every MX host authenticated by DNSSEC-signed TLSA records */
	PROT_NO_MAIL,	    /* a null MX (RFC 7505): the domain takes no mail */
};
extern const char *const domain_protection_names[PROT_NO_MAIL + 1];

struct domain_opts {
	struct probe_opts probe; /* timeout, concurrency, CA store (MTA-STS too), warn_days */
	struct dns_opts dns;
	int min_tls;
};

struct mx_host {
	char name[PROBE_NAME_MAX];
	uint16_t pref;
	bool implicit; /* no MX records: the domain itself (RFC 5321 5.1) */
	struct dns_answer a, aaaa, tlsa;
	bool tlsa_asked; /* the MX answer was secure */
	/* RFC 7672 2.2.2: the CNAME answer of name (a secure one lets DANE apply to an
	 * insecure chain, TLSA at name), and the TLSA answer at the other base domain */
	struct dns_answer cname, tlsa_other;
	char base[PROBE_NAME_MAX];	     /* the TLSA base domain: name or its expansion */
	struct dns_tlsa rr[DOMAIN_TLSA_MAX]; /* the usable TLSA records (into tlsa) */
	size_t n_rr, n_tlsa_all;
	enum probe_dane dane; /* over all its addresses; DANE_NA: DANE does not apply */
	char dane_why[320];   /* why DANE does not apply, or the verdict */
	bool sts_match;	      /* matches an mx pattern of the MTA-STS policy */
	size_t first, n;      /* its targets in domain_result.t and .r */
};

struct domain_finding {
	bool warning;	/* false: a failing check */
	char check[24]; /* "dnssec", "smtp", "dane", "mta-sts", "tls-rpt", ... */
	char subject[PROBE_NAME_MAX + 64];
	char evidence[400];
	int mx, target; /* what it concerns (mx_hosts, t); -1: the whole domain, all its MX */
};

struct domain_result {
	char domain[PROBE_NAME_MAX];
	char label[PROBE_NAME_MAX]; /* the policy's probe name, or "" */
	struct dns_answer mx, sts_txt, rpt_txt;
	bool null_mx;
	struct mx_host *mx_hosts; /* DOMAIN_MX_MAX of them */
	size_t n_mx;
	struct probe_target *t; /* one per MX host address */
	struct probe_result *r;
	size_t n_t;

	bool sts_record;		 /* exactly one valid v=STSv1 TXT record */
	struct sts_txt sts;		 /* its id */
	bool sts_fetched;		 /* a policy was fetched (ok or not) */
	struct sts_fetch fetch;		 /* the fetch */
	bool policy_ok;			 /* the policy parsed */
	struct sts_policy policy;	 /* what it says */
	char sts_error[MAILREC_ERR_MAX]; /* the TXT record's or the policy's error */

	bool rpt_record; /* exactly one valid v=TLSRPTv1 record */
	struct tlsrpt rpt;
	char rpt_error[MAILREC_ERR_MAX];

	enum domain_protection prot;
	bool reachable; /* DNS answered and some MX host could be reached (or null MX) */
	struct domain_finding f[DOMAIN_FINDINGS_MAX];
	size_t n_f, n_fail, n_lost; /* findings, failing ones, findings that did not fit */
	unsigned int elapsed_ms;
};

/*
 * Probe one domain into r (zeroed first; free with domain_result_free, also on error).
 * Returns 0 once the domain was examined (its findings say how it went), -EINVAL for a
 * domain name that is not one, other -errno when the probe could not run (resolver set-up,
 * trust anchors); either with one record in pd.
 */
int domain_probe(const struct domain_opts *o, const char *domain, struct domain_result *r,
		 const struct probe_diag *pd);
void domain_result_free(struct domain_result *r);

/* Are both of h's address answers signed? (A secure CNAME chain ends in them.) */
static inline bool mx_addrs_signed(const struct mx_host *h)
{
	return h->a.sec == DNS_SECURE && h->aaaa.sec == DNS_SECURE;
}

/* Are h's address answers, or the first CNAME on their way, signed? Only then does TLSA
 * count (RFC 7672 2.2.2). */
bool mx_addrs_secure(const struct mx_host *h);

/* Findings and protection of a probed domain (probe_domain_verdict.c). */
void domain_verdict(struct domain_result *r);
/* 0 protected as claimed, 3 reachable with failing checks, 2 unreachable (EXIT_*). */
int domain_exit_code(const struct domain_result *r);

/* "PROTECTED: dane", "NOT PROTECTED AS CLAIMED (2 checks failed); in force: ...", ... */
void domain_verdict_text(const struct domain_result *r, char *out, size_t len);
void domain_report_text(FILE *out, const struct domain_result *r, size_t n);
int domain_report_json(FILE *out, const struct domain_result *r, size_t n);
/* "domains" and a summary (under the key summary) of n domains into root; 0 or -ENOMEM. */
struct json_object;
int domain_report_json_add(struct json_object *root, const struct domain_result *r, size_t n,
			   const char *summary);

#endif
