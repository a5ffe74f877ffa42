// SPDX-License-Identifier: GPL-2.0
/*
 * The web configuration, checked (stage 2: webcfg_raw -> struct webcfg). Where the exporters'
 * Go server and libmicrohttpd with GnuTLS differ, the value is mapped exactly or refused at
 * its place: TLS versions and groups map one to one; a list of cipher suites maps when the
 * GnuTLS priority built from it enables exactly those suites (GnuTLS combines key exchanges,
 * ciphers and MACs, Go lists suites); client certificates are verified, so the values that
 * accept unverified ones are refused; HTTP/2 is not served.
 */
#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include "lazy_gnutls.h"
#include "lazy_openssl.h"

#include "webcfg.h"
#include "webcfg_raw.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct wchk {
	struct diag *d;
	const struct webcfg_raw *raw;
	struct webcfg *out;
	const char *path; /* of the configuration: relative file names are relative to it */
};

static bool given(const struct wraw_str *s)
{
	return s->set && s->v[0];
}

/* ---- files -------------------------------------------------------------------------------- */

/* The file s names (relative to the configuration's directory) into *out. */
static int load_file(struct wchk *c, const struct wraw_str *s, const char *key, char **out)
{
	const char *slash = strrchr(c->path, '/');
	char path[PATH_MAX];
	size_t len;
	int err;

	if (s->v[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", s->v);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - c->path), c->path, s->v);
	err = webcfg_slurp(path, out, &len);
	if (err == -ENOMEM)
		return err;
	if (err)
		diag_error(c->d, &s->loc, "cannot read %s '%s': %s", key, path, strerror(-err));
	return 0;
}

/* The certificate and key must load together, as GnuTLS will load them for every handshake. */
static void check_keypair(struct wchk *c)
{
	struct webcfg *o = c->out;
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cert = { (unsigned char *)o->cert_pem, strlen(o->cert_pem) };
	gnutls_datum_t key = { (unsigned char *)o->key_pem, strlen(o->key_pem) };
	int ret;

	if (gnutls_certificate_allocate_credentials(&cred))
		return;
	ret = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0)
		diag_error(c->d, &c->raw->cert_file.loc,
			   "cannot use cert_file and key_file as a TLS certificate and its key: %s",
			   gnutls_strerror(ret));
	gnutls_certificate_free_credentials(cred);
}

static void check_ca(struct wchk *c)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t ca = { (unsigned char *)c->out->client_ca_pem,
			      strlen(c->out->client_ca_pem) };
	int n;

	if (gnutls_certificate_allocate_credentials(&cred))
		return;
	n = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
	if (n <= 0)
		diag_error(c->d, &c->raw->client_ca_file.loc,
			   "client_ca_file holds no PEM certificate%s%s", n < 0 ? ": " : "",
			   n < 0 ? gnutls_strerror(n) : "");
	gnutls_certificate_free_credentials(cred);
}

/* ---- client certificates ------------------------------------------------------------------ */

static void check_client_auth(struct wchk *c)
{
	static const char *const names[] = {
		"NoClientCert",	     "VerifyClientCertIfGiven", "RequireAndVerifyClientCert",
		"RequestClientCert", "RequireAnyClientCert",	"RequireClientCert"
	};
	const struct wraw_str *a = &c->raw->client_auth_type, *ca = &c->raw->client_ca_file;
	size_t i = 0;

	if (given(a)) {
		for (i = 0; i < ARRAY_SIZE(names) && strcmp(a->v, names[i]); i++)
			;
		if (i == ARRAY_SIZE(names)) {
			const char *hint = did_you_mean(a->v, names, 3);

			diag_error(
				c->d, &a->loc,
				"invalid client_auth_type '%s'%s%s%s; tlsfw supports NoClientCert, VerifyClientCertIfGiven and RequireAndVerifyClientCert",
				a->v, hint ? " (did you mean '" : "", hint ? hint : "",
				hint ? "'?)" : "");
			return;
		}
		if (i > 2) {
			diag_error(
				c->d, &a->loc,
				"client_auth_type %s is not supported: it accepts a client certificate without verifying it; use RequireAndVerifyClientCert with client_ca_file",
				a->v);
			return;
		}
	}
	c->out->client_auth = i;
	if (i == WEBCFG_NO_CLIENT_CERT && given(ca))
		diag_error(
			c->d, &ca->loc,
			"client_ca_file is set but client_auth_type is not: set client_auth_type: RequireAndVerifyClientCert (or VerifyClientCertIfGiven)");
	else if (i != WEBCFG_NO_CLIENT_CERT && !given(ca))
		diag_error(
			c->d, &a->loc,
			"client_auth_type %s needs client_ca_file: client certificates are verified against it (not against the system's store)",
			a->v);
}

/* ---- versions, cipher suites, groups: the GnuTLS priority string -------------------------- */

static const char *const go_versions[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
static const char *const gnutls_versions[] = { "VERS-TLS1.0", "VERS-TLS1.1", "VERS-TLS1.2",
					       "VERS-TLS1.3" };

/* Go's crypto/tls CipherSuites() (what the exporters accept), as GnuTLS names the parts.
 * kx NULL: a TLS 1.3 suite, which Go does not let a configuration change. */
static const struct suite {
	const char *go;
	uint8_t id[2];
	const char *kx, *cipher, *mac;
} suites[] = {
	{ "TLS_RSA_WITH_AES_128_CBC_SHA", { 0x00, 0x2f }, "RSA", "AES-128-CBC", "SHA1" },
	{ "TLS_RSA_WITH_AES_256_CBC_SHA", { 0x00, 0x35 }, "RSA", "AES-256-CBC", "SHA1" },
	{ "TLS_RSA_WITH_AES_128_GCM_SHA256", { 0x00, 0x9c }, "RSA", "AES-128-GCM", "AEAD" },
	{ "TLS_RSA_WITH_AES_256_GCM_SHA384", { 0x00, 0x9d }, "RSA", "AES-256-GCM", "AEAD" },
	{ "TLS_AES_128_GCM_SHA256", { 0x13, 0x01 } },
	{ "TLS_AES_256_GCM_SHA384", { 0x13, 0x02 } },
	{ "TLS_CHACHA20_POLY1305_SHA256", { 0x13, 0x03 } },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	  { 0xc0, 0x09 },
	  "ECDHE-ECDSA",
	  "AES-128-CBC",
	  "SHA1" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	  { 0xc0, 0x0a },
	  "ECDHE-ECDSA",
	  "AES-256-CBC",
	  "SHA1" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", { 0xc0, 0x13 }, "ECDHE-RSA", "AES-128-CBC", "SHA1" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", { 0xc0, 0x14 }, "ECDHE-RSA", "AES-256-CBC", "SHA1" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	  { 0xc0, 0x2b },
	  "ECDHE-ECDSA",
	  "AES-128-GCM",
	  "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	  { 0xc0, 0x2c },
	  "ECDHE-ECDSA",
	  "AES-256-GCM",
	  "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	  { 0xc0, 0x2f },
	  "ECDHE-RSA",
	  "AES-128-GCM",
	  "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	  { 0xc0, 0x30 },
	  "ECDHE-RSA",
	  "AES-256-GCM",
	  "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	  { 0xcc, 0xa8 },
	  "ECDHE-RSA",
	  "CHACHA20-POLY1305",
	  "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	  { 0xcc, 0xa9 },
	  "ECDHE-ECDSA",
	  "CHACHA20-POLY1305",
	  "AEAD" },
};

/* What TLS 1.3 needs in the lists whatever TLS 1.2 suites are chosen: Go keeps its three
 * TLS 1.3 suites on. */
static const char *const tls13_words[] = { "+AES-128-GCM", "+AES-256-GCM", "+CHACHA20-POLY1305",
					   "+AEAD" };

static const char *const go_curves[] = { "CurveP256", "CurveP384", "CurveP521", "X25519" };
static const char *const gnutls_groups[] = { "GROUP-SECP256R1", "GROUP-SECP384R1",
					     "GROUP-SECP521R1", "GROUP-X25519" };

/* A priority string under construction. */
struct prio {
	char s[1024];
	size_t n;
};

static void prio_add(struct prio *p, const char *w)
{
	p->n += snprintf(p->s + p->n, sizeof(p->s) - p->n, ":%s", w);
	if (p->n >= sizeof(p->s))
		p->n = sizeof(p->s) - 1;
}

/* Add "+W" for each distinct word W of the listed suites' field at offset off (kx, cipher
 * or MAC). Their order does not matter: Go, whose format this is, ignores it too. */
static void prio_suite_words(struct prio *p, const bool *listed, size_t off)
{
	const char *done[ARRAY_SIZE(suites)];
	char word[32];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(suites); i++) {
		const char *w = *(const char *const *)((const char *)&suites[i] + off);
		size_t j;

		if (!listed[i] || !suites[i].kx)
			continue;
		for (j = 0; j < n && strcmp(done[j], w); j++)
			;
		if (j < n)
			continue;
		done[n++] = w;
		snprintf(word, sizeof(word), "+%s", w);
		prio_add(p, word);
	}
}

static int lookup(struct wchk *c, const struct wraw_str *s, const char *what,
		  const char *const *names, size_t n)
{
	const char *hint;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(s->v, names[i]))
			return (int)i;
	hint = did_you_mean(s->v, names, n);
	diag_error(c->d, &s->loc, "unknown %s '%s'%s%s%s", what, s->v,
		   hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
	return -1;
}

static int version(struct wchk *c, const struct wraw_str *s, int def)
{
	return given(s) ? lookup(c, s, "TLS version", go_versions, ARRAY_SIZE(go_versions)) : def;
}

/* The suites cipher_suites names into listed[]; false after an error. */
static bool listed_suites(struct wchk *c, bool *listed)
{
	const struct wraw_list *l = &c->raw->cipher_suites;
	const char *names[ARRAY_SIZE(suites)];
	bool ok = true;

	for (size_t k = 0; k < ARRAY_SIZE(suites); k++)
		names[k] = suites[k].go;
	for (size_t i = 0; i < l->n; i++) {
		int k = lookup(c, &l->v[i], "cipher", names, ARRAY_SIZE(names));

		if (k < 0)
			ok = false;
		else
			listed[k] = true;
	}
	return ok;
}

static const char *suite_name(const unsigned char id[2], const char *gnutls_name)
{
	for (size_t k = 0; k < ARRAY_SIZE(suites); k++)
		if (!memcmp(suites[k].id, id, 2))
			return suites[k].go;
	return gnutls_name;
}

/* Whether the TLS 1.2 suites prio enables are exactly the listed ones; if not, an error that
 * names the difference. */
static void check_exact(struct wchk *c, gnutls_priority_t prio, const bool *listed, int max)
{
	bool seen[ARRAY_SIZE(suites)] = { false };
	char extra[512] = "";
	unsigned int idx;

	for (unsigned int i = 0;; i++) {
		unsigned char id[2];
		gnutls_kx_algorithm_t kx;
		gnutls_cipher_algorithm_t ci;
		gnutls_mac_algorithm_t mac;
		gnutls_protocol_t min;
		const char *name;
		int ret = gnutls_priority_get_cipher_suite_index(prio, i, &idx);
		size_t k;

		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		name = ret ? NULL : gnutls_cipher_suite_info(idx, id, &kx, &ci, &mac, &min);
		if (!name || min == GNUTLS_TLS1_3)
			continue;
		for (k = 0; k < ARRAY_SIZE(suites) && memcmp(suites[k].id, id, 2); k++)
			;
		if (k < ARRAY_SIZE(suites) && listed[k])
			seen[k] = true;
		else
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%s%s",
				 extra[0] ? ", " : "", suite_name(id, name));
	}
	if (extra[0])
		diag_error(
			c->d, &c->raw->cipher_suites.loc,
			"cipher_suites: GnuTLS cannot enable exactly these suites (it combines key exchanges, ciphers and MACs): it would also enable %s; add them to the list%s",
			extra,
			max == 3 ?
				", or set max_version: TLS12 (TLS 1.3 needs the AEAD ciphers, which enable their TLS 1.2 suites too)" :
				"");
	for (size_t k = 0; k < ARRAY_SIZE(suites); k++)
		if (listed[k] && suites[k].kx && !seen[k])
			diag_error(c->d, &c->raw->cipher_suites.loc,
				   "cipher_suites: this GnuTLS does not provide %s", suites[k].go);
}

/* cipher_suites into the priority (TLS 1.2 and older only, as in Go); false after an error.
 * listed[] receives the suites. */
static bool prio_suites(struct wchk *c, struct prio *p, bool *listed, int max)
{
	bool any = false;

	if (!listed_suites(c, listed))
		return false;
	for (size_t k = 0; k < ARRAY_SIZE(suites); k++)
		any |= listed[k] && suites[k].kx;
	if (!any) {
		diag_error(
			c->d, &c->raw->cipher_suites.loc,
			"cipher_suites names no TLS 1.2 suite (TLS 1.3 suites cannot be chosen); set min_version: TLS13 instead");
		return false;
	}
	prio_add(p, "-CIPHER-ALL");
	prio_suite_words(p, listed, offsetof(struct suite, cipher));
	for (size_t i = 0; max == 3 && i < 3; i++)
		prio_add(p, tls13_words[i]);
	prio_add(p, "-MAC-ALL");
	prio_suite_words(p, listed, offsetof(struct suite, mac));
	if (max == 3)
		prio_add(p, tls13_words[3]);
	prio_add(p, "-KX-ALL");
	prio_suite_words(p, listed, offsetof(struct suite, kx));
	return true;
}

static bool prio_groups(struct wchk *c, struct prio *p)
{
	const struct wraw_list *l = &c->raw->curve_preferences;
	bool ok = true;

	if (!l->n)
		return true;
	prio_add(p, "-GROUP-ALL");
	for (size_t i = 0; i < l->n; i++) {
		int k = lookup(c, &l->v[i], "curve", go_curves, ARRAY_SIZE(go_curves));
		char word[32];

		ok &= k >= 0;
		if (k >= 0) {
			snprintf(word, sizeof(word), "+%s", gnutls_groups[k]);
			prio_add(p, word);
		}
	}
	return ok;
}

static int tls_priorities(struct wchk *c)
{
	const struct webcfg_raw *r = c->raw;
	int min = version(c, &r->min_version, 2), max = version(c, &r->max_version, 3);
	bool listed[ARRAY_SIZE(suites)] = { false }, ok = true;
	struct prio p = { .s = "NORMAL:-VERS-ALL", .n = 16 };
	gnutls_priority_t prio;
	const char *where;

	if (min < 0 || max < 0) {
		/* Still check the names of the lists: one run shows every error. */
		if (r->cipher_suites.n)
			listed_suites(c, listed);
		prio_groups(c, &p);
		return 0;
	}
	if (min > max) {
		diag_error(c->d, &r->min_version.loc, "min_version %s is above max_version %s",
			   go_versions[min], go_versions[max]);
		return 0;
	}
	for (int v = max; v >= min; v--) {
		char word[32];

		snprintf(word, sizeof(word), "+%s", gnutls_versions[v]);
		prio_add(&p, word);
	}
	/* With min_version TLS13 the list is unused (as in Go), but its names are still Go's. */
	if (r->cipher_suites.n && min < 3)
		ok &= prio_suites(c, &p, listed, max);
	else if (r->cipher_suites.n)
		ok &= listed_suites(c, listed);
	ok &= prio_groups(c, &p);
	if (!r->prefer_server_cipher_suites.set || r->prefer_server_cipher_suites.v)
		prio_add(&p, "%SERVER_PRECEDENCE");
	if (!ok)
		return 0;
	if (gnutls_priority_init(&prio, p.s, &where)) {
		diag_error(c->d, &r->cert_file.loc,
			   "GnuTLS refuses the priority string '%s' at '%s'", p.s,
			   where ? where : "?");
		return 0;
	}
	if (r->cipher_suites.n && min < 3)
		check_exact(c, prio, listed, max);
	gnutls_priority_deinit(prio);
	c->out->priorities = strdup(p.s);
	return c->out->priorities ? 0 : -ENOMEM;
}

/* A key of tls_server_config that only matters with TLS on (its place and name), or NULL. */
static const struct loc *tls_setting(const struct webcfg_raw *r, const char **key)
{
	const struct wraw_list *lists[] = { &r->cipher_suites, &r->curve_preferences };
	const char *list_keys[] = { "cipher_suites", "curve_preferences" };

	*key = given(&r->min_version) ? "min_version" : "max_version";
	if (given(&r->min_version) || given(&r->max_version))
		return given(&r->min_version) ? &r->min_version.loc : &r->max_version.loc;
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		*key = list_keys[i];
		if (lists[i]->n)
			return &lists[i]->loc;
	}
	*key = "prefer_server_cipher_suites";
	return r->prefer_server_cipher_suites.set ? &r->prefer_server_cipher_suites.loc : NULL;
}

/* tls_server_config. As in the exporters, TLS is on when any of the certificate keys is
 * given, and then cert_file and key_file are both needed. Without them the exporters ignore
 * the other keys and serve plain HTTP; here a setting is never ignored: it is checked, and
 * its presence without a certificate is an error at its place. */
static int check_tls(struct wchk *c)
{
	const struct webcfg_raw *r = c->raw;
	struct webcfg *o = c->out;
	const struct wraw_str *any = given(&r->cert_file)	 ? &r->cert_file :
				     given(&r->key_file)	 ? &r->key_file :
				     given(&r->client_auth_type) ? &r->client_auth_type :
				     given(&r->client_ca_file)	 ? &r->client_ca_file :
								   NULL;
	const struct loc *set;
	const char *key;
	int err;

	if (!any) {
		set = tls_setting(r, &key);
		if (!set)
			return 0;
		diag_error(
			c->d, set,
			"%s is set but TLS is off: it needs cert_file and key_file in tls_server_config (without them the exporters serve plain HTTP and ignore it); add them, or remove %s",
			key, key);
		return tls_priorities(c);
	}
	o->tls = true;
	if (!given(&r->cert_file) || !given(&r->key_file)) {
		diag_error(c->d, &any->loc, "missing %s: TLS needs both cert_file and key_file",
			   given(&r->cert_file) ? "key_file" : "cert_file");
		return 0;
	}
	if ((err = load_file(c, &r->cert_file, "cert_file", &o->cert_pem)) ||
	    (err = load_file(c, &r->key_file, "key_file", &o->key_pem)))
		return err;
	if (o->cert_pem && o->key_pem)
		check_keypair(c);
	check_client_auth(c);
	if (given(&r->client_ca_file)) {
		err = load_file(c, &r->client_ca_file, "client_ca_file", &o->client_ca_pem);
		if (err)
			return err;
		if (o->client_ca_pem)
			check_ca(c);
	}
	return tls_priorities(c);
}

/* ---- http_server_config, basic_auth_users ------------------------------------------------- */

static int check_headers(struct wchk *c)
{
	/* The exporters' list: a header and the values it may take (NULL: any). */
	static const struct {
		const char *name, *values[3];
	} allowed[] = {
		{ "Strict-Transport-Security" },
		{ "X-Content-Type-Options", { "nosniff" } },
		{ "X-Frame-Options", { "deny", "sameorigin" } },
		{ "X-XSS-Protection" },
		{ "Content-Security-Policy" },
	};
	const struct wraw_list *h = &c->raw->headers;
	struct webcfg *o = c->out;

	if (c->raw->http2.set && c->raw->http2.v)
		diag_error(
			c->d, &c->raw->http2.loc,
			"http2: true is not supported: tlsfw serves HTTP/1.1, which every Prometheus client speaks; remove the key or set it to false");
	o->headers = calloc(h->n + 1, sizeof(*o->headers));
	if (!o->headers)
		return -ENOMEM;
	for (size_t i = 0; i < h->n; i++) {
		const char *v = h->v[i].v;
		size_t k, j = 0;

		for (k = 0; k < ARRAY_SIZE(allowed) && strcmp(allowed[k].name, h->key[i].v); k++)
			;
		if (k == ARRAY_SIZE(allowed)) {
			diag_error(
				c->d, &h->key[i].loc,
				"HTTP header '%s' cannot be configured (only Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options and X-XSS-Protection)",
				h->key[i].v);
			continue;
		}
		for (; allowed[k].values[j] && strcmp(allowed[k].values[j], v); j++)
			;
		if (allowed[k].values[0] && !allowed[k].values[j])
			diag_error(c->d, &h->v[i].loc,
				   "invalid value '%s' for %s (expected %s%s%s)", v, h->key[i].v,
				   allowed[k].values[0], allowed[k].values[1] ? " or " : "",
				   allowed[k].values[1] ? allowed[k].values[1] : "");
		else if (strpbrk(v, "\r\n"))
			diag_error(c->d, &h->v[i].loc, "the value of %s holds a line break",
				   h->key[i].v);
		else if (!(o->headers[o->n_headers].name = strdup(h->key[i].v)) ||
			 !(o->headers[o->n_headers++].value = strdup(v)))
			return -ENOMEM;
	}
	return 0;
}

/* "$2y$10$" and 53 characters of bcrypt's base64: what libxcrypt verifies and htpasswd -B
 * writes. ($2x$ is the variant with the old sign-extension bug: not accepted.) */
static bool bcrypt_hash(const char *h)
{
	size_t n = strlen(h);

	if (n != 60 || strncmp(h, "$2", 2) || !strchr("aby", h[2]) || h[3] != '$' || h[6] != '$' ||
	    strspn(h + 4, "0123456789") != 2 || strncmp(h + 4, "04", 2) < 0 ||
	    strncmp(h + 4, "31", 2) > 0)
		return false;
	if (strspn(h + 7, "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != 53)
		return false;
	return crypt_checksalt(h) == CRYPT_SALT_OK;
}

static int check_users(struct wchk *c)
{
	const struct wraw_list *u = &c->raw->users;
	struct webcfg *o = c->out;

	o->users = calloc(u->n + 1, sizeof(*o->users));
	if (!o->users)
		return -ENOMEM;
	for (size_t i = 0; i < u->n; i++) {
		if (!bcrypt_hash(u->v[i].v)) {
			diag_error(
				c->d, &u->v[i].loc,
				"the password of '%s' is not a bcrypt hash ($2y$, $2b$ or $2a$, cost 04 to 31, 60 characters, as `htpasswd -nBC 10 \"\" | tr -d ':\\n'` prints)",
				u->key[i].v);
			continue;
		}
		if (!(o->users[o->n_users].name = strdup(u->key[i].v)) ||
		    !(o->users[o->n_users++].hash = strdup(u->v[i].v)))
			return -ENOMEM;
	}
	return 0;
}

int webcfg_read(struct webcfg *out, const char *path, struct diag *d)
{
	struct webcfg_raw raw;
	struct wchk c = { .d = d, .raw = &raw, .out = out, .path = path };
	int err;

	memset(out, 0, sizeof(*out));
	err = webcfg_read_raw(&raw, path, d);
	if (!err)
		err = check_tls(&c);
	if (!err)
		err = check_headers(&c);
	if (!err)
		err = check_users(&c);
	webcfg_raw_free(&raw);
	if (!err && d->errors)
		err = -EINVAL;
	return err;
}

void webcfg_free(struct webcfg *c)
{
	if (!c)
		return;
	free(c->cert_pem);
	if (c->key_pem)
		OPENSSL_cleanse(c->key_pem, strlen(c->key_pem));
	free(c->key_pem);
	free(c->client_ca_pem);
	free(c->priorities);
	for (size_t i = 0; i < c->n_users; i++) {
		free(c->users[i].name);
		free(c->users[i].hash);
	}
	free(c->users);
	for (size_t i = 0; i < c->n_headers; i++) {
		free(c->headers[i].name);
		free(c->headers[i].value);
	}
	free(c->headers);
	memset(c, 0, sizeof(*c));
}

/* ---- basic authentication ----------------------------------------------------------------- */

/* What an unknown user's password is checked against (htpasswd -nbBC 10 of a password nobody
 * sends), as exporter-toolkit does: its cost does not depend on the users configured. */
static const char dummy_hash[] = "$2y$10$.CWtMtnnRUr60Noatr1.FuemCi3r50/ALXSxdXL00oPpZBZF.JPnW";

bool webcfg_bcrypt(const char *pass, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	bool ok;

	if (!cd)
		return false;
	out = crypt_rn(pass, hash, cd, sizeof(*cd));
	ok = out && strlen(out) == strlen(hash) && !CRYPTO_memcmp(out, hash, strlen(hash));
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

static struct webcfg_user *find_user(struct webcfg *c, const char *user)
{
	for (size_t i = 0; i < c->n_users; i++)
		if (!strcmp(c->users[i].name, user))
			return &c->users[i];
	return NULL;
}

int webcfg_auth_cached(struct webcfg *c, const char *user, const char *pass,
		       struct webcfg_attempt *a)
{
	struct webcfg_user *u = find_user(c, user);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
		  EVP_DigestUpdate(md, user, strlen(user) + 1) &&
		  EVP_DigestUpdate(md, pass, strlen(pass)) && EVP_DigestFinal_ex(md, a->key, NULL);

	EVP_MD_CTX_free(md);
	if (!ok || !c->n_users)
		return 0;
	a->hash = u ? u->hash : dummy_hash;
	a->known = u != NULL;
	if (u && u->have_ok && !CRYPTO_memcmp(a->key, u->ok, sizeof(a->key)))
		return 1;
	for (size_t i = 0; i < WEBCFG_FAILED_MAX; i++)
		if (c->failed_n > i && !CRYPTO_memcmp(a->key, c->failed[i], sizeof(a->key)))
			return 0;
	return -EAGAIN;
}

void webcfg_auth_remember(struct webcfg *c, const char *user, const struct webcfg_attempt *a,
			  bool ok)
{
	struct webcfg_user *u = find_user(c, user);

	if (ok && u && a->known) {
		memcpy(u->ok, a->key, sizeof(u->ok));
		u->have_ok = true;
	} else if (!ok) {
		/* a ring: the newest failures are the ones an attacker repeats */
		memcpy(c->failed[c->failed_next], a->key, sizeof(a->key));
		c->failed_next = (c->failed_next + 1) % WEBCFG_FAILED_MAX;
		if (c->failed_n < WEBCFG_FAILED_MAX)
			c->failed_n++;
	}
}

bool webcfg_password_ok(struct webcfg *c, const char *user, const char *pass)
{
	struct webcfg_attempt a;
	int r = webcfg_auth_cached(c, user, pass, &a);
	bool ok;

	if (r != -EAGAIN)
		return r == 1;
	ok = webcfg_bcrypt(pass, a.hash) && a.known;
	webcfg_auth_remember(c, user, &a, ok);
	return ok;
}
