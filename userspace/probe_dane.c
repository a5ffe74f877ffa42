// SPDX-License-Identifier: GPL-2.0
/*
 * DANE for SMTP (RFC 7672) with OpenSSL's DANE support: the TLSA records of the MX host go
 * into each SSL (SSL_dane_tlsa_add) and OpenSSL verifies the presented chain against them,
 * with the rules of each usage: DANE-EE(3) matches the server's certificate or key with no
 * name or time checks; DANE-TA(2) makes the matched certificate a trust anchor, and the
 * chain below it is verified as usual, host name and validity periods included; the names
 * are the TLSA base domain and, after a secure MX look-up, the next-hop domain (RFC 7672
 * 3.2.2). PKIX usages 0 and 1 are unusable for SMTP (RFC 7672 3.1.3) and never
 * reach OpenSSL. The handshake is never aborted: the verdict is read afterwards.
 */
#include <errno.h>
#include <stdio.h>

#include "lazy_openssl.h"

#include "probe_dns.h"
#include "probe_engine.h"
#include "probe_io.h"

const char *const probe_dane_names[DANE_NOT_USABLE + 1] = {
	[DANE_NA] = "n/a",
	[DANE_VALID] = "dane-valid",
	[DANE_INVALID] = "dane-invalid",
	[DANE_NOT_USABLE] = "no-usable-tlsa",
};

static int add_records(struct pio *c, const void *arg)
{
	const struct probe_target *t = arg;
	const char *base = t->dane_base ? t->dane_base : t->name;
	int usable = 0;

	if (SSL_dane_enable(c->ssl, base) <= 0)
		return pio_fail(c, -EINVAL, "cannot enable DANE for %s", base);
	/* RFC 7672 8.1: the SNI names the TLSA base domain, after a CNAME expansion too */
	if (t->dane_base && !SSL_set_tlsext_host_name(c->ssl, base))
		return pio_fail(c, -EINVAL, "cannot send %s as the server name", base);
	/* RFC 7672 3.2.3: a wildcard is the whole left-most label or nothing */
	SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (size_t i = 0; i < PROBE_DANE_REFS; i++)
		if (t->dane_refs[i] && !SSL_add1_host(c->ssl, t->dane_refs[i]))
			return pio_fail(c, -ENOMEM, "cannot add %s as a DANE reference identifier",
					t->dane_refs[i]);
	for (size_t i = 0; i < t->n_tlsa; i++) {
		const struct dns_tlsa *r = &t->tlsa[i];

		if (r->usage != 2 && r->usage != 3)
			continue;
		/* 0: unusable (a selector or matching type OpenSSL lacks, a wrong digest
		 * length), skipped like RFC 7672 says; < 0: malformed */
		if (SSL_dane_tlsa_add(c->ssl, r->usage, r->selector, r->mtype, r->data, r->len) > 0)
			usable++;
	}
	if (!usable)
		return pio_fail(c, -ENODATA, "none of the %zu TLSA records is usable", t->n_tlsa);
	return 0;
}

SSL_CTX *probe_dane_ctx(const struct probe_target *t, char *why, size_t whylen)
{
	static const struct pio_tls_setup setup = { .fn = add_records };
	struct pio_tls_setup *s;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	s = ctx ? OPENSSL_malloc(sizeof(*s)) : NULL;
	if (!s || SSL_CTX_dane_enable(ctx) <= 0) {
		snprintf(why, whylen, "cannot set up DANE in OpenSSL");
		OPENSSL_free(s);
		SSL_CTX_free(ctx);
		return NULL;
	}
	*s = setup;
	s->arg = t;
	SSL_CTX_set_app_data(ctx, s);
	/* the verdict is read after the handshake, which must complete to be examined */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_dane_set_flags(ctx, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	return ctx;
}

void probe_dane_ctx_free(SSL_CTX *ctx)
{
	if (!ctx)
		return;
	OPENSSL_free(SSL_CTX_get_app_data(ctx));
	SSL_CTX_free(ctx);
}

void probe_dane_verdict(struct probe_result *r, SSL *ssl)
{
	long vr = SSL_get_verify_result(ssl);
	uint8_t usage, selector, mtype;
	const unsigned char *data;
	char who[160] = "?";
	X509 *cert = NULL;
	size_t dlen;
	int depth = SSL_get0_dane_authority(ssl, &cert, NULL);

	if (vr != X509_V_OK || depth < 0) {
		r->dane = DANE_INVALID;
		snprintf(r->dane_evidence, sizeof(r->dane_evidence),
			 "no TLSA record authenticates the server: %s",
			 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "no match");
		return;
	}
	SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen);
	if (cert)
		X509_NAME_oneline(X509_get_subject_name(cert), who, sizeof(who));
	else if (SSL_get0_peer_certificate(ssl))
		X509_NAME_oneline(X509_get_subject_name(SSL_get0_peer_certificate(ssl)), who,
				  sizeof(who));
	r->dane = DANE_VALID;
	snprintf(r->dane_evidence, sizeof(r->dane_evidence),
		 "TLSA %u %u %u matched the %s at depth %d (%s)", usage, selector, mtype,
		 selector ? "public key" : "certificate", depth, who);
}
