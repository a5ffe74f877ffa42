// SPDX-License-Identifier: GPL-2.0
/* What the certificates a server presented say: chain, name and validity period. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lazy_openssl.h"

#include "names.h"
#include "probe_engine.h"

void probe_tls_info(struct probe_result *r, SSL *ssl)
{
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	int nid = SSL_get_negotiated_group(ssl);
	const char *g = nid ? SSL_group_to_name(ssl, nid) : NULL;

	snprintf(r->tls_version, sizeof(r->tls_version), "%s", SSL_get_version(ssl));
	snprintf(r->cipher, sizeof(r->cipher), "%s", SSL_get_cipher_name(ssl));
	snprintf(r->group, sizeof(r->group), "%s", g ? g : "none");
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	if (alpn_len)
		snprintf(r->alpn, sizeof(r->alpn), "%.*s", (int)alpn_len, alpn);
	else
		snprintf(r->alpn, sizeof(r->alpn), "none");
}

/* Subject alternative names for evidence: "DNS:a, IP:b", or "no SAN; CN=...". Returns whether
 * there was a DNS or IP SAN. */
static bool san_list(X509 *cert, char *out, size_t len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	size_t off = 0;

	out[0] = '\0';
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && off + 1 < len; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		char ip[INET6_ADDRSTRLEN];
		int n;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			n = snprintf(out + off, len - off, "%sDNS:%.*s", off ? ", " : "",
				     ASN1_STRING_length(g->d.dNSName) > 64 ?
					     64 :
					     ASN1_STRING_length(g->d.dNSName),
				     d);
		} else if (g->type == GEN_IPADD) {
			int l = ASN1_STRING_length(g->d.iPAddress);

			d = ASN1_STRING_get0_data(g->d.iPAddress);
			if (!inet_ntop(l == 16 ? AF_INET6 : AF_INET, d, ip, sizeof(ip)) ||
			    (l != 4 && l != 16))
				continue;
			n = snprintf(out + off, len - off, "%sIP:%s", off ? ", " : "", ip);
		} else {
			continue;
		}
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += n;
	}
	GENERAL_NAMES_free(gens);
	if (!off) {
		X509_NAME *s = X509_get_subject_name(cert);

		snprintf(out, len, "no SAN; CN=");
		X509_NAME_get_text_by_NID(s, NID_commonName, out + strlen(out), len - strlen(out));
	}
	return off != 0;
}

struct period {
	bool readable;
	int before, after; /* whole days from now to notBefore and to notAfter */
};

static struct period period(X509 *x)
{
	struct period v = { 0 };
	int s1, s2;

	v.readable = ASN1_TIME_diff(&v.before, &s1, NULL, X509_get0_notBefore(x)) &&
		     ASN1_TIME_diff(&v.after, &s2, NULL, X509_get0_notAfter(x));
	/* a part of a day counts: valid from in 3 hours is not valid now */
	if (v.readable && !v.before && s1 > 0)
		v.before = 1;
	if (v.readable && !v.after && s2 < 0)
		v.after = -1;
	return v;
}

/*
 * Every certificate a client relies on must be within its validity period, not the leaf
 * alone: a server whose intermediate expired fails every client that checks time. The
 * chain is the one verification built (up to the trust anchor), or the one the server sent
 * when none was built. The chain check runs with X509_V_FLAG_NO_CHECK_TIME, so time is
 * reported here, once, naming the certificate at fault.
 */
static X509 *chain_cert(STACK_OF(X509) * chain, X509 *leaf, int depth)
{
	return depth ? sk_X509_value(chain, depth) : leaf;
}

static void expiry_check(struct probe_ctx *p, SSL *ssl, X509 *leaf)
{
	STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
	struct probe_result *r = p->r;
	struct period v = { 0 };
	int n, at, first = 0, show;
	char who[160], where[200] = "";

	if (!chain || !sk_X509_num(chain))
		chain = SSL_get_peer_cert_chain(ssl);
	n = chain && sk_X509_num(chain) ? sk_X509_num(chain) : 1;
	r->days_left = r->chain_days_left = period(leaf).after;
	for (at = 0; at < n; at++) {
		v = period(chain_cert(chain, leaf, at));
		if (v.readable && v.after < r->chain_days_left) {
			r->chain_days_left = v.after;
			first = at;
		}
		if (!v.readable || v.before > 0 || v.after < 0)
			break;
	}
	show = at < n ? at : first;
	if (show) {
		X509_NAME_oneline(X509_get_subject_name(chain_cert(chain, leaf, show)), who,
				  sizeof(who));
		snprintf(where, sizeof(where), "certificate at depth %d (%s) ", show, who);
	}
	if (at < n && !v.readable)
		probe_set(r, PC_EXPIRY, PS_FAIL, "%sunreadable validity period", where);
	else if (at < n && v.before > 0)
		probe_set(r, PC_EXPIRY, PS_FAIL, "%snot valid for another %d day%s", where,
			  v.before, plural(v.before));
	else if (at < n)
		probe_set(r, PC_EXPIRY, PS_FAIL, "%sexpired %d day%s ago", where, -v.after,
			  plural(-v.after));
	else if (r->chain_days_left < p->o->warn_days)
		probe_set(r, PC_EXPIRY, PS_WARN, "%sexpires in %ld days (warning from %d days)",
			  where, r->chain_days_left, p->o->warn_days);
	else if (first)
		probe_set(r, PC_EXPIRY, PS_PASS,
			  "%ld days until expiry; the chain expires first: %sin %ld days",
			  r->days_left, where, r->chain_days_left);
	else
		probe_set(r, PC_EXPIRY, PS_PASS, "%ld days until expiry", r->days_left);
}

void probe_cert_checks(struct probe_ctx *p, SSL *ssl)
{
	struct probe_result *r = p->r;
	const struct probe_target *t = p->t;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	enum probe_status bad = t->verify ? PS_FAIL : PS_NA;
	long vr = SSL_get_verify_result(ssl);
	char sans[200];
	bool has_san;

	if (!cert) {
		probe_set(r, PC_CHAIN, bad, "no certificate (anonymous suite)");
		probe_set(r, PC_NAME, bad, "no certificate");
		probe_set(r, PC_EXPIRY, bad, "no certificate");
		return;
	}
	r->have_cert = true;
	X509_NAME_oneline(X509_get_subject_name(cert), r->subject, sizeof(r->subject));
	X509_NAME_oneline(X509_get_issuer_name(cert), r->issuer, sizeof(r->issuer));
	if (vr == X509_V_OK)
		probe_set(r, PC_CHAIN, PS_PASS, "verified against %s (issuer %s)",
			  p->o->ca_file ? p->o->ca_file : "the system store", r->issuer);
	else if (vr == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
		 vr == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
		probe_set(r, PC_CHAIN, bad, "self-signed: %s", X509_verify_cert_error_string(vr));
	else
		probe_set(r, PC_CHAIN, bad, "does not verify against %s: %s",
			  p->o->ca_file ? p->o->ca_file : "the system store",
			  X509_verify_cert_error_string(vr));

	has_san = san_list(cert, sans, sizeof(sans));
	if (t->name[0]) {
		unsigned int strict =
			X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;

		if (X509_check_host(cert, t->name, 0, t->san_only ? strict : 0, NULL) == 1)
			probe_set(r, PC_NAME, PS_PASS, "matches %s (%s)", t->name, sans);
		else if (t->san_only && !has_san)
			probe_set(r, PC_NAME, bad,
				  "%s: a subject CN does not name %s (RFC 8461 4.2)", sans,
				  t->name);
		else
			probe_set(r, PC_NAME, bad, "certificate is for %s, not %s", sans, t->name);
	} else {
		if (X509_check_ip_asc(cert, t->host, 0) == 1)
			probe_set(r, PC_NAME, PS_PASS, "IP SAN matches %s", t->host);
		else
			probe_set(r, PC_NAME, bad,
				  "no IP SAN for %s (%s); give --name NAME when probing an address",
				  t->host, sans);
	}

	expiry_check(p, ssl, cert);
	X509_free(cert);
}
