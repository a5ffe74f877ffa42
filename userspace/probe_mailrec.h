/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The records a mail domain publishes about its TLS: the MTA-STS TXT record and policy file
 * (RFC 8461) and the TLS-RPT TXT record (RFC 8460). Parsers are pure functions over text
 * (fuzzed: selftests/fuzz/fuzz_mailrec.c); probe_mtasts.c fetches the policy.
 */
#ifndef TLSFW_PROBE_MAILREC_H
#define TLSFW_PROBE_MAILREC_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "probe.h"

#define STS_ID_MAX 32		 /* id=: 1 to 32 letters and digits */
#define STS_MX_MAX 32		 /* mx patterns kept from one policy */
#define STS_MAX_AGE_MAX 31557600 /* RFC 8461 3.2: one year */
#define STS_MAX_AGE_LOW 86400	 /* below a day: a warning (RFC: weeks or more expected) */
#define STS_POLICY_MAX 65536	 /* bytes of a policy file fetched at most */
#define TLSRPT_RUA_MAX 8	 /* rua URIs kept */
#define MAILREC_ERR_MAX 256

/* ---- _mta-sts TXT: "v=STSv1; id=..." ------------------------------------------------------ */

struct sts_txt {
	char id[STS_ID_MAX + 1];
};

/*
 * One TXT record of _mta-sts.<domain>. Returns 0; -ENOENT when it does not begin with
 * "v=STSv1" (such records are ignored, RFC 8461 3.1); -EINVAL when it does but is malformed
 * (one error in d, without a place: the caller tells whose record it is).
 */
int sts_txt_parse(const char *txt, struct sts_txt *out, struct diag *d);

/* ---- the policy: https://mta-sts.<domain>/.well-known/mta-sts.txt ------------------------ */

enum sts_mode { STS_MODE_NONE = 0, STS_MODE_TESTING, STS_MODE_ENFORCE };
extern const char *const sts_mode_names[3];

struct sts_policy {
	enum sts_mode mode;
	long max_age;
	char mx[STS_MX_MAX][PROBE_NAME_MAX]; /* patterns as written: "mail.example.org" or
						"*.example.org" */
	size_t n_mx;
	unsigned int n_warnings;
	char warning[MAILREC_ERR_MAX]; /* the first: tolerated, but worth fixing */
};

/*
 * Strictly by the ABNF of RFC 8461 3.2: lines "key: value" ended by LF or CRLF; version
 * STSv1, mode, max_age (0 to 31557600) required once each; mx patterns ("*." only as the
 * first label), at least one unless mode is none; unknown fields ignored. Returns 0 or
 * -EINVAL with one error "line N: ..." in d.
 */
int sts_policy_parse(const char *buf, size_t len, struct sts_policy *p, struct diag *d);

/* RFC 8461 4.1: host matches pattern, case-insensitively; "*.example.org" matches exactly
 * one label in place of the star. A final dot on host is ignored. */
bool sts_mx_match(const char *pattern, const char *host);

/* The policy fetched from https://mta-sts.<domain>/.well-known/mta-sts.txt (probe_mtasts.c). */
struct sts_fetch {
	char url[PROBE_NAME_MAX + 48];
	long http_status;	     /* 0: no HTTP response */
	char content_type[96];	     /* as the server sent it */
	char error[MAILREC_ERR_MAX]; /* why no policy was read; "" when one was */
	char *body;		     /* the policy, NUL-terminated (free with sts_fetch_free) */
	size_t len;
	unsigned int elapsed_ms;
};

/*
 * Fetch the policy of domain with libcurl: HTTPS only, the certificate verified against
 * o->ca_file (the system store when NULL) for the host name, no redirects (RFC 8461 3.3),
 * 200 with media type text/plain, at most STS_POLICY_MAX bytes, within 2 x o->timeout_ms.
 * Returns 0 with the body, or -EIO with f->error. curl_global_init() must have run.
 */
int sts_fetch(const char *domain, const struct probe_opts *o, struct sts_fetch *f);
void sts_fetch_free(struct sts_fetch *f);

/* ---- _smtp._tls TXT: "v=TLSRPTv1; rua=..." ------------------------------------------------ */

struct tlsrpt {
	char rua[TLSRPT_RUA_MAX][PROBE_NAME_MAX]; /* mailto: and https: URIs */
	size_t n_rua;
};

/* One TXT record of _smtp._tls.<domain>; returns like sts_txt_parse. */
int tlsrpt_parse(const char *txt, struct tlsrpt *out, struct diag *d);

#endif
