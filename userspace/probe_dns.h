/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DNS for `tlsfw probe --domain`: queries through libunbound, which validates DNSSEC itself
 * (the system's resolvers from resolv.conf as forwarders, the root trust anchor and any
 * --trust-anchor files), and the decoders of the RDATA it returns. Every answer records
 * whether it was secure, insecure or bogus.
 */
#ifndef TLSFW_PROBE_DNS_H
#define TLSFW_PROBE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

#define DNS_T_A 1
#define DNS_T_CNAME 5
#define DNS_T_MX 15
#define DNS_T_TXT 16
#define DNS_T_AAAA 28
#define DNS_T_TLSA 52

#define DNS_ROOT_ANCHOR "/usr/share/dns/root.key" /* Debian's dns-root-data */
#define DNS_TXT_MAX 4096			  /* one TXT record, its strings joined */

enum dns_sec { DNS_INSECURE = 0, DNS_SECURE, DNS_BOGUS };
extern const char *const dns_sec_names[3];

struct ub_result;
struct dns_ctx;

struct dns_answer {
	char name[PROBE_NAME_MAX];
	uint16_t type;
	bool done;	  /* answered, failed or given up */
	int rcode;	  /* DNS RCODE (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...); -1: no answer */
	bool havedata;	  /* records of the type exist (never used when bogus) */
	enum dns_sec sec; /* of the answer, data or denial */
	char why[256];	  /* why bogus, or why there is no answer */
	struct ub_result *res;
	int async_id;
	struct dns_ctx *ctx;
};

struct dns_opts {
	const char *const *anchors; /* --trust-anchor files: DNSKEY or DS lines */
	size_t n_anchors;
	const char *root_anchor; /* NULL: none; a missing file is an error only without anchors */
};

/* A resolver context. On error returns -errno with one record in pd. */
int dns_new(struct dns_ctx **out, const struct dns_opts *o, const struct probe_diag *pd);
void dns_free(struct dns_ctx *c);
/* Start a query; a is filled when dns_wait() sees its answer. a must stay put until then. */
int dns_submit(struct dns_ctx *c, struct dns_answer *a, const char *name, uint16_t type);
/* The name a CNAME chain led the answer to, without the final dot, into out ("" when the
 * answer came without CNAME); returns out. */
const char *dns_canonical(const struct dns_answer *a, char *out, size_t len);
/*
 * Process answers until every submitted query is done or the deadline (pio_now_ms() clock)
 * passes; queries still open then are cancelled and marked "no answer within ... ms".
 */
int dns_wait(struct dns_ctx *c, uint64_t deadline);
void dns_answer_free(struct dns_answer *a);

/* Usable data: answered, not bogus, records present. */
bool dns_has_data(const struct dns_answer *a);
/* Records of an answer that has data (0 otherwise), and the RDATA of record i. */
size_t dns_count(const struct dns_answer *a);
const uint8_t *dns_rdata(const struct dns_answer *a, size_t i, size_t *len);
/* "A", "MX", ... for the types above */
const char *dns_type_name(uint16_t type);
/* "secure", "insecure", "bogus: why", "NXDOMAIN (secure)", "SERVFAIL", "no answer: why" */
void dns_describe(const struct dns_answer *a, char *out, size_t len);

/*
 * RDATA decoders: pure functions over RDATA as libunbound returns it (names uncompressed).
 * They return 0, or -EBADMSG for RDATA the type cannot hold, -ENAMETOOLONG when the text
 * does not fit out. Names come out in presentation form without the final dot, bytes other
 * than letters, digits, '-' and '_' escaped as \DDD.
 */
int dns_name_text(const uint8_t *p, size_t len, size_t *used, char *out, size_t outlen);
int dns_mx(const uint8_t *rd, size_t len, uint16_t *pref, char *host, size_t hostlen);
/* The character-strings of one TXT record joined (RFC 8461 3.1, RFC 8460 3); a NUL byte is
 * -EBADMSG. */
int dns_txt(const uint8_t *rd, size_t len, char *out, size_t outlen);

struct dns_tlsa {
	uint8_t usage, selector, mtype;
	const uint8_t *data; /* into the RDATA */
	size_t len;
};
int dns_tlsa(const uint8_t *rd, size_t len, struct dns_tlsa *out);
/* A (4 bytes) or AAAA (16 bytes) to text. */
int dns_addr(uint16_t type, const uint8_t *rd, size_t len, char *out, size_t outlen);

#endif
