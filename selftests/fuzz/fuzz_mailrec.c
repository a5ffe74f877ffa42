// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for what a mail domain publishes and a resolver returns: the MTA-STS
 * policy file, the _mta-sts and _smtp._tls TXT records, and the RDATA decoders of MX, TXT
 * and TLSA. The first byte picks the parser; the rest is the input, in an exact-size heap
 * copy (NUL-terminated for the TXT parsers, which take strings) so that ASan sees any read
 * past the end. Results are checked for the invariants the callers rely on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe_dns.h"
#include "probe_mailrec.h"

static void policy(const char *b, size_t l)
{
	static struct sts_policy p;
	struct diag d;
	int ret;

	diag_init(&d);
	ret = sts_policy_parse(b, l, &p, &d);
	/* an error is one record, a success none */
	if (d.errors != (ret != 0))
		abort();
	diag_free(&d);
	if (ret)
		return;
	if (p.mode > STS_MODE_ENFORCE || p.max_age < 0 || p.max_age > STS_MAX_AGE_MAX ||
	    p.n_mx > STS_MX_MAX || (p.mode != STS_MODE_NONE && !p.n_mx))
		abort();
	for (size_t i = 0; i < p.n_mx; i++)
		if (!p.mx[i][0] || sts_mx_match(p.mx[i], "") || strchr(p.mx[i], ' '))
			abort();
}

static void txt(const char *s)
{
	struct diag d;
	struct sts_txt t;
	struct tlsrpt r;

	diag_init(&d);
	if (!sts_txt_parse(s, &t, &d) && (!t.id[0] || strlen(t.id) > STS_ID_MAX))
		abort();
	if (!tlsrpt_parse(s, &r, &d) && (!r.n_rua || r.n_rua > TLSRPT_RUA_MAX))
		abort();
	diag_free(&d);
	sts_mx_match(s, "mx.example.org");
	sts_mx_match("*.example.org", s);
}

static void rdata(const uint8_t *b, size_t l)
{
	char host[PROBE_NAME_MAX], text[DNS_TXT_MAX];
	struct dns_tlsa t;
	uint16_t pref;

	if (!dns_mx(b, l, &pref, host, sizeof(host)) && strlen(host) >= sizeof(host))
		abort();
	if (!dns_txt(b, l, text, sizeof(text)) && strlen(text) >= l)
		abort();
	if (!dns_tlsa(b, l, &t) && t.data + t.len != b + l)
		abort();
	dns_addr(DNS_T_A, b, l, host, sizeof(host));
	dns_addr(DNS_T_AAAA, b, l, host, sizeof(host));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t l;
	char *copy;

	if (size < 1)
		return 0;
	l = size - 1;
	copy = malloc(l + 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, l);
	switch (data[0] % 3) {
	case 0:
		policy(copy, l);
		break;
	case 1:
		copy[l] = '\0';
		txt(copy);
		break;
	default:
		rdata((const uint8_t *)copy, l);
		break;
	}
	free(copy);
	return 0;
}
