// SPDX-License-Identifier: GPL-2.0
/*
 * The checks for one target, and the workers that run targets concurrently (target parsing
 * is in probe_target.c, the certificate checks in probe_cert.c).
 *
 * A target is probed over several connections: the main one (greeting, capabilities,
 * STARTTLS, handshake, certificate), then, only when that one reached TLS, one handshake
 * offering only weak suites, one capped below --min-tls, one with a command pipelined after
 * STARTTLS, and (SMTP) one that begins a transaction in plaintext. When STARTTLS is refused
 * or was stripped, nothing more is sent: the probe fails closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lazy_openssl.h"

#include "probe_engine.h"
#include "names.h"
#include "probe_proto.h"

/* ---- TLS contexts ----------------------------------------------------------------------- */

enum ctx_kind { CTX_MAIN, CTX_WEAK, CTX_OLD, CTX_LEGACY };

static SSL_CTX *make_ctx(const struct probe_opts *o, const struct probe_target *t,
			 enum ctx_kind kind, char *why, size_t whylen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	static const unsigned char alpn_http[] = "\x02h2\x08http/1.1";

	if (!ctx) {
		snprintf(why, whylen, "SSL_CTX_new failed");
		return NULL;
	}
	/* Verification is reported, not enforced: the handshake must complete to be examined. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Expiry is its own check; the chain check should not fail for it too. */
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
	if (o->ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
			snprintf(why, whylen, "cannot load CA file %s", o->ca_file);
			goto err;
		}
	} else {
		SSL_CTX_set_default_verify_paths(ctx);
	}
	if (t->port == 443 || t->port == 8443)
		SSL_CTX_set_alpn_protos(ctx, alpn_http, sizeof(alpn_http) - 1);
	switch (kind) {
	case CTX_MAIN:
		break;
	case CTX_WEAK:
		/* Only suites a compliant server must refuse; weak suites need TLS <= 1.2 and
		 * security level 0 to be offered at all. */
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
		if (SSL_CTX_set_cipher_list(ctx, "aNULL:eNULL:EXPORT:RC4:3DES:@SECLEVEL=0") != 1) {
			snprintf(why, whylen, "this OpenSSL has none of the weak suites to offer");
			goto err;
		}
		break;
	case CTX_OLD:
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(ctx, t->min_tls - 1);
		SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
		break;
	case CTX_LEGACY:
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
		SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
		break;
	}
	return ctx;
err:
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---- one target ------------------------------------------------------------------------- */

void probe_set(struct probe_result *r, enum probe_check_id id, enum probe_status st,
	       const char *fmt, ...)
{
	va_list ap;

	r->checks[id].st = st;
	va_start(ap, fmt);
	vsnprintf(r->checks[id].evidence, sizeof(r->checks[id].evidence), fmt, ap);
	va_end(ap);
}

static void set_address(struct probe_ctx *p)
{
	const struct sockaddr *sa = (const struct sockaddr *)&p->sa[0];
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof(a));
		snprintf(p->r->address, sizeof(p->r->address), "[%s]:%u", a, p->t->port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof(a));
		snprintf(p->r->address, sizeof(p->r->address), "%s:%u", a, p->t->port);
	}
}

/* One asynchronous look-up; heap-held because a request the resolver will not cancel keeps
 * using it after we gave up. */
struct lookup {
	struct gaicb cb;
	struct addrinfo hints;
	char port[8];
	char host[];
};

/*
 * getaddrinfo under the probe's deadline: the system resolver's own retries can take far
 * longer than --timeout, and "every step under the timeout" includes this one.
 */
static int lookup_bounded(struct probe_ctx *p, struct addrinfo **out, int *gai)
{
	size_t hl = strlen(p->t->host) + 1;
	struct lookup *l = calloc(1, sizeof(*l) + hl);
	struct gaicb *list[1];
	const struct gaicb *wait[1];
	uint64_t now, left;
	int ret;

	if (!l)
		return -ENOMEM;
	memcpy(l->host, p->t->host, hl);
	snprintf(l->port, sizeof(l->port), "%u", p->t->port);
	l->hints.ai_socktype = SOCK_STREAM;
	l->hints.ai_flags = AI_NUMERICSERV;
	l->cb.ar_name = l->host;
	l->cb.ar_service = l->port;
	l->cb.ar_request = &l->hints;
	list[0] = &l->cb;
	wait[0] = &l->cb;
	ret = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (ret) {
		free(l);
		*gai = ret;
		return -ENOENT;
	}
	for (;;) {
		now = pio_now_ms();
		left = now < p->deadline ? p->deadline - now : 0;
		if (left > (uint64_t)p->o->timeout_ms)
			left = (uint64_t)p->o->timeout_ms;
		struct timespec ts = { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000 };

		ret = gai_suspend(wait, 1, &ts);
		if (ret != EAI_INTR)
			break;
	}
	ret = gai_error(&l->cb);
	if (ret == EAI_INPROGRESS) {
		/* Not cancelled: the resolver thread still owns l, so it is left to it. */
		if (gai_cancel(&l->cb) != EAI_CANCELED)
			return -ETIMEDOUT;
		free(l);
		return -ETIMEDOUT;
	}
	*out = l->cb.ar_result;
	free(l);
	*gai = ret;
	return ret ? -ENOENT : 0;
}

static int resolve(struct probe_ctx *p)
{
	struct addrinfo *ai = NULL;
	int ret, gai = 0;

	ret = lookup_bounded(p, &ai, &gai);
	if (ret == -ETIMEDOUT) {
		snprintf(p->r->error, sizeof(p->r->error),
			 "cannot resolve %.200s: no answer within %d ms", p->t->host,
			 p->o->timeout_ms);
		return ret;
	}
	if (ret) {
		snprintf(p->r->error, sizeof(p->r->error), "cannot resolve %.200s: %s", p->t->host,
			 ret == -ENOMEM ? strerror(ENOMEM) : gai_strerror(gai));
		return ret == -ENOMEM ? ret : -ENOENT;
	}
	for (struct addrinfo *a = ai; a && p->n_sa < PROBE_MAX_ADDRS; a = a->ai_next) {
		if (a->ai_addrlen > sizeof(p->sa[0]))
			continue;
		memcpy(&p->sa[p->n_sa], a->ai_addr, a->ai_addrlen);
		p->salen[p->n_sa++] = a->ai_addrlen;
	}
	freeaddrinfo(ai);
	if (!p->n_sa) {
		snprintf(p->r->error, sizeof(p->r->error), "no address for %.200s", p->t->host);
		return -ENOENT;
	}
	set_address(p);
	return 0;
}

/*
 * Connect to the first address that answers (in getaddrinfo's order, RFC 6724), and keep it
 * first so that every later connection of this target goes to the same server.
 */
static int connect_any(struct probe_ctx *p, struct pio *c)
{
	int ret = -ENOENT;

	for (size_t i = 0; i < p->n_sa; i++) {
		if (i) { /* a fresh socket for the next address */
			pio_close(c);
			ret = pio_init(c, p->deadline, p->o->timeout_ms);
			if (ret)
				return ret;
		}
		ret = pio_connect(c, (struct sockaddr *)&p->sa[i], p->salen[i]);
		if (!ret) {
			if (i) {
				p->sa[0] = p->sa[i];
				p->salen[0] = p->salen[i];
				set_address(p);
			}
			p->n_sa = 1;
			return 0;
		}
		if (ret == -ETIMEDOUT && pio_now_ms() >= p->deadline)
			break;
	}
	return ret;
}

/* Connect and run the plaintext greeting; one retry after a "try later". */
static int open_plain(struct probe_ctx *p, struct pio *c, struct pdlg *d)
{
	for (int attempt = 0;; attempt++) {
		int ret;

		memset(d, 0, sizeof(*d));
		d->c = c;
		d->t = p->t;
		ret = pio_init(c, p->deadline, p->o->timeout_ms);
		if (ret)
			return ret;
		ret = connect_any(p, c);
		if (ret || p->t->proto == PROTO_IMPLICIT)
			return ret;
		ret = dlg_greet(d);
		if (ret != -EAGAIN || attempt)
			return ret;
		pio_close(c);
		/* "try later": once, after a pause that fits the timeout */
		usleep(1000 * (p->o->timeout_ms < 2000 ? p->o->timeout_ms / 2 : 1000));
	}
}

/* A complete upgrade on a new connection with ctx: 0 TLS up, 1 STARTTLS refused, 2 handshake
 * failed, <0 another error. Messages in c->err. */
static int open_tls(struct probe_ctx *p, struct pio *c, struct pdlg *d, SSL_CTX *ctx, bool inject)
{
	struct pp_reply r;
	int ret = open_plain(p, c, d);

	if (ret)
		return ret;
	if (p->t->proto != PROTO_IMPLICIT) {
		ret = dlg_starttls(d, inject, &r);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			dlg_first_line(&r, c->err, sizeof(c->err));
			return 1;
		}
	}
	ret = pio_handshake(c, ctx, p->t->name);
	/* a server may refuse by closing instead of sending an alert (Dovecot does) */
	return ret == -EPROTO || ret == -ECONNRESET ? 2 : ret;
}

/* What the plaintext greeting told: greeting, plaintext logins, XMPP's <required/>. */
static void greeting_checks(struct probe_ctx *p, const struct pdlg *d)
{
	struct probe_result *r = p->r;
	const struct probe_target *t = p->t;
	char l[128];

	dlg_first_line(&d->greet, l, sizeof(l));
	if (t->proto == PROTO_LDAP || t->proto == PROTO_POSTGRES)
		probe_set(r, PC_GREETING, PS_NA, "%s; the upgrade is not advertised", l);
	else
		probe_set(r, PC_GREETING, PS_PASS, "'%s'; STARTTLS %s", l,
			  d->advertised ? "offered" : "not offered");
	probe_set(r, PC_PLAIN_AUTH, d->plain_auth, "%s", d->plain_auth_ev);
	if (t->proto == PROTO_XMPP && d->advertised)
		probe_set(r, PC_TLS_REQUIRED,
			  d->tls_required_adv ? PS_PASS : (t->require_tls ? PS_FAIL : PS_NA), "%s",
			  d->tls_required_adv ? "<starttls> carries <required/>" :
						"<starttls> without <required/>");
}

/*
 * STARTTLS on the main connection, sent even when not offered: that is how a stripped offer
 * shows. Returns true when TLS is up on an offer that was not tampered with. Whatever else
 * happens, the caller closes the connection: nothing more is said in plaintext.
 */
static bool upgrade(struct probe_ctx *p, struct pio *c, struct pdlg *d, SSL_CTX *ctx)
{
	struct probe_result *r = p->r;
	const struct probe_target *t = p->t;
	bool hidden = d->adv_known && !d->advertised;
	struct pp_reply *rep = malloc(sizeof(*rep));
	char l[128];
	int ret;

	if (!rep) {
		probe_set(r, PC_STARTTLS, PS_FAIL, "out of memory");
		return false;
	}
	ret = dlg_starttls(d, false, rep);
	if (ret < 0) {
		r->starttls = hidden ? ST_NOT_ADVERTISED : ST_REFUSED;
		probe_set(r, PC_STARTTLS, PS_FAIL, "%s STARTTLS: %s", hidden ? "sent" : "offered",
			  c->err);
	} else if (ret == 0) {
		dlg_first_line(rep, l, sizeof(l));
		r->starttls = hidden ? ST_NOT_ADVERTISED : ST_REFUSED;
		if (hidden)
			probe_set(r, PC_STARTTLS, PS_FAIL,
				  "STARTTLS not offered (and refused when sent anyway: '%s')", l);
		else if (t->proto == PROTO_LDAP)
			probe_set(r, PC_STARTTLS, PS_FAIL, "StartTLS refused: resultCode %d %s",
				  rep->code, l);
		else
			probe_set(r, PC_STARTTLS, PS_FAIL, "STARTTLS offered but refused: '%s'", l);
	} else if (pio_handshake(c, ctx, t->name)) {
		p->tls_refused = !hidden;
		r->starttls = hidden ? ST_NOT_ADVERTISED : ST_HANDSHAKE_FAILED;
		probe_set(
			r, PC_STARTTLS, PS_FAIL, "%s",
			hidden ?
				"STARTTLS not offered (sent anyway, accepted, then the handshake failed)" :
				"STARTTLS accepted but the handshake failed");
		probe_set(r, PC_HANDSHAKE, PS_FAIL, "%s", c->err);
	} else if (hidden) {
		/* It works, so someone removed the offer: the path is hostile. */
		r->starttls = ST_STRIPPED;
		probe_set(
			r, PC_STARTTLS, PS_FAIL,
			"STARTTLS not offered, yet accepted when sent anyway: the offer was stripped on the way (fail closed)");
		probe_tls_info(r, c->ssl);
		probe_set(r, PC_HANDSHAKE, PS_PASS, "%s, %s (after a stripped offer)",
			  r->tls_version, r->cipher);
	} else {
		r->starttls = ST_OK;
		dlg_first_line(rep, l, sizeof(l));
		if (t->proto == PROTO_LDAP)
			probe_set(r, PC_STARTTLS, PS_PASS,
				  "StartTLS extended operation accepted (resultCode 0)");
		else if (t->proto == PROTO_POSTGRES)
			probe_set(r, PC_STARTTLS, PS_PASS, "SSLRequest accepted ('S')");
		else
			probe_set(r, PC_STARTTLS, PS_PASS, "offered and accepted: '%s'", l);
	}
	free(rep);
	return r->starttls == ST_OK;
}

/* Implicit TLS: a server that answers in plaintext is named, not a generic failure. */
static bool implicit_handshake(struct probe_ctx *p, struct pio *c, SSL_CTX *ctx)
{
	const char *kind;
	size_t n = 0;

	if (!pio_handshake(c, ctx, p->t->name))
		return true;
	kind = pp_plaintext_kind(c->raw1, c->raw1_len);
	if (!kind) {
		p->tls_refused = true;
		probe_set(p->r, PC_HANDSHAKE, PS_FAIL, "%s", c->err);
		return false;
	}
	while (n < c->raw1_len && n < 60 && c->raw1[n] >= 0x20 && c->raw1[n] < 0x7f)
		n++;
	probe_set(p->r, PC_HANDSHAKE, PS_FAIL,
		  "port %u promises implicit TLS but the server speaks plaintext (%s: '%.*s')",
		  p->t->port, kind, (int)n, (const char *)c->raw1);
	return false;
}

/* The main connection. Returns true when TLS came up and the other checks may run. */
static bool main_session(struct probe_ctx *p, SSL_CTX *ctx)
{
	struct probe_result *r = p->r;
	const struct probe_target *t = p->t;
	struct pdlg *d = calloc(1, sizeof(*d));
	char l[128];
	bool up = false;
	struct pio c;
	int ret;

	if (!d) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return false;
	}
	ret = open_plain(p, &c, d);
	if (ret && d->busy) {
		dlg_first_line(&d->greet, l, sizeof(l));
		snprintf(r->error, sizeof(r->error), "server busy, try later: %d %s", d->greet.code,
			 l);
	} else if (ret && !c.connected) {
		snprintf(r->error, sizeof(r->error), "%s",
			 ret == -ENOMEM ? "out of memory" : c.err);
	} else if (ret) {
		r->reachable = true;
		probe_set(r, PC_GREETING, PS_FAIL, "%s", c.err);
	} else {
		r->reachable = true;
		if (t->proto == PROTO_IMPLICIT) {
			up = implicit_handshake(p, &c, ctx);
		} else {
			greeting_checks(p, d);
			up = upgrade(p, &c, d, ctx);
		}
	}
	if (up) {
		probe_tls_info(r, c.ssl);
		probe_set(r, PC_HANDSHAKE, PS_PASS, "%s, %s, group %s, ALPN %s", r->tls_version,
			  r->cipher, r->group, r->alpn);
		probe_cert_checks(p, c.ssl);
		if (SSL_version(c.ssl) < t->min_tls)
			probe_set(r, PC_MIN_TLS, PS_FAIL, "negotiated %s, below the minimum %s",
				  r->tls_version, tls_version_name(t->min_tls));
	}
	pio_close(&c);
	free(d);
	return up;
}

/*
 * The main handshake failed. A server that speaks nothing newer than TLS 1.1 fails it too,
 * since the main handshake offers what this OpenSSL allows by default (TLS 1.2 and up on
 * most systems): try once more offering only TLS 1.0 and 1.1, so that the report says "only
 * TLS 1.0" instead of a bare handshake error. The certificate is then examined on that
 * session; the other checks are not run.
 */
static void legacy_session(struct probe_ctx *p)
{
	struct probe_result *r = p->r;
	const struct probe_target *t = p->t;
	struct pdlg *d = calloc(1, sizeof(*d));
	char why[128];
	SSL_CTX *ctx = make_ctx(p->o, t, CTX_LEGACY, why, sizeof(why));
	char main_err[sizeof(r->checks[0].evidence)], only[40];
	struct pio c;
	int v;

	if (!d || !ctx)
		goto out;
	if (open_tls(p, &c, d, ctx, false)) {
		pio_close(&c);
		goto out;
	}
	v = SSL_version(c.ssl);
	snprintf(main_err, sizeof(main_err), "%s", r->checks[PC_HANDSHAKE].evidence);
	snprintf(only, sizeof(only), v == TLS1_VERSION ? "only TLS 1.0" : "TLS 1.1 at most");
	probe_tls_info(r, c.ssl);
	probe_set(r, PC_HANDSHAKE, v < t->min_tls ? PS_FAIL : PS_PASS,
		  "the server speaks %s (%s, %s); the default handshake failed: %s", only,
		  r->tls_version, r->cipher, main_err);
	probe_set(r, PC_MIN_TLS, v < t->min_tls ? PS_FAIL : PS_PASS,
		  "%s: negotiated %s; the minimum is %s", only, r->tls_version,
		  tls_version_name(t->min_tls));
	if (t->proto != PROTO_IMPLICIT && r->starttls == ST_HANDSHAKE_FAILED) {
		r->starttls = ST_OK;
		probe_set(r, PC_STARTTLS, PS_PASS, "offered and accepted (%s)", only);
	}
	probe_cert_checks(p, c.ssl);
	for (int i = 0; i < PC__N; i++)
		if (r->checks[i].st == PS_NA && !strcmp(r->checks[i].evidence, "not run"))
			snprintf(r->checks[i].evidence, sizeof(r->checks[i].evidence),
				 "not run: the server speaks %s", only);
	pio_close(&c);
out:
	free(d);
	SSL_CTX_free(ctx);
}

/* Which weak classes this OpenSSL could offer, for honest evidence ("aNULL, eNULL, 3DES"). */
static void weak_classes(SSL_CTX *ctx, char *out, size_t len)
{
	static const struct {
		const char *tag, *name;
	} cls[] = {
		{ "ADH", "anonymous" }, { "AECDH", "anonymous" }, { "NULL", "NULL" },
		{ "EXP", "export" },	{ "RC4", "RC4" },	  { "DES-CBC3", "3DES" },
	};
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
	bool seen[sizeof(cls) / sizeof(cls[0])] = { 0 };
	size_t off = 0;

	out[0] = '\0';
	for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk); i++) {
		const char *n = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, i));

		for (size_t k = 0; k < sizeof(cls) / sizeof(cls[0]); k++)
			if (strstr(n, cls[k].tag))
				seen[k] = true;
	}
	for (size_t k = 0; k < sizeof(cls) / sizeof(cls[0]); k++) {
		if (!seen[k] || (k == 1 && seen[0]) || strstr(out, cls[k].name))
			continue;
		off += snprintf(out + off, len - off, "%s%s", off ? ", " : "", cls[k].name);
		if (off >= len)
			break;
	}
}

/* A check run on a connection of its own. */
static void extra_weak(struct probe_ctx *p)
{
	struct probe_result *r = p->r;
	char why[128], offered[96];
	SSL_CTX *ctx = make_ctx(p->o, p->t, CTX_WEAK, why, sizeof(why));
	struct pdlg *d = calloc(1, sizeof(*d));
	struct pio c;
	int ret;

	if (!ctx || !d) {
		probe_set(r, PC_WEAK_CIPHERS, PS_NA, "%s", ctx ? "out of memory" : why);
		goto out_free;
	}
	weak_classes(ctx, offered, sizeof(offered));
	ret = open_tls(p, &c, d, ctx, false);
	if (ret == 0)
		probe_set(r, PC_WEAK_CIPHERS, PS_FAIL,
			  "accepted %s (%s) when offered only weak suites (%s)",
			  SSL_get_cipher_name(c.ssl), SSL_get_version(c.ssl), offered);
	else if (ret == 2)
		probe_set(r, PC_WEAK_CIPHERS, PS_PASS, "refused weak suites (%s): %s", offered,
			  c.err);
	else
		probe_set(r, PC_WEAK_CIPHERS, PS_NA, "could not test: %s", c.err);
	pio_close(&c);
out_free:
	free(d);
	SSL_CTX_free(ctx);
}

static void extra_old(struct probe_ctx *p)
{
	struct probe_result *r = p->r;
	char why[128];
	SSL_CTX *ctx;
	struct pdlg *d;
	struct pio c;
	int ret;

	if (r->checks[PC_MIN_TLS].st == PS_FAIL)
		return; /* the main handshake already went below the minimum */
	if (p->t->min_tls <= TLS1_VERSION) {
		probe_set(r, PC_MIN_TLS, PS_NA, "minimum is TLSv1: nothing older to try");
		return;
	}
	ctx = make_ctx(p->o, p->t, CTX_OLD, why, sizeof(why));
	d = calloc(1, sizeof(*d));
	if (!ctx || !d) {
		probe_set(r, PC_MIN_TLS, PS_NA, "%s", ctx ? "out of memory" : why);
		goto out_free;
	}
	ret = open_tls(p, &c, d, ctx, false);
	if (ret == 0)
		probe_set(r, PC_MIN_TLS, PS_FAIL, "accepted %s (%s); the minimum is %s",
			  SSL_get_version(c.ssl), SSL_get_cipher_name(c.ssl),
			  tls_version_name(p->t->min_tls));
	else if (ret == 2)
		probe_set(r, PC_MIN_TLS, PS_PASS, "refused versions below %s; negotiated %s",
			  tls_version_name(p->t->min_tls), r->tls_version);
	else
		probe_set(r, PC_MIN_TLS, PS_NA, "could not test: %s", c.err);
	pio_close(&c);
out_free:
	free(d);
	SSL_CTX_free(ctx);
}

static void extra_inject(struct probe_ctx *p, SSL_CTX *ctx)
{
	struct probe_result *r = p->r;
	struct pdlg *d = calloc(1, sizeof(*d));
	char ev[200];
	struct pio c;
	int ret;

	if (!d) {
		probe_set(r, PC_INJECTION, PS_NA, "out of memory");
		return;
	}
	if (!dlg_can_inject(p->t->proto)) {
		probe_set(r, PC_INJECTION, PS_NA, "no injection test for %s",
			  probe_proto_names[p->t->proto]);
		free(d);
		return;
	}
	ret = open_tls(p, &c, d, ctx, true);
	if (ret == 0) {
		ret = dlg_injection_answered(d, ev, sizeof(ev));
		if (ret == 1)
			probe_set(r, PC_INJECTION, PS_FAIL, "%s (CVE-2011-0411)", ev);
		else if (ret == 0)
			probe_set(r, PC_INJECTION, PS_PASS, "%s", ev);
		else
			probe_set(r, PC_INJECTION, PS_NA, "could not test: %s", c.err);
	} else if (ret == 1 || ret == 2) {
		/* refusing STARTTLS followed by pipelined data is a safe reaction */
		probe_set(r, PC_INJECTION, PS_PASS,
			  "STARTTLS with a pipelined command was not carried into TLS (%s)", c.err);
	} else {
		probe_set(r, PC_INJECTION, PS_NA, "could not test: %s", c.err);
	}
	pio_close(&c);
	free(d);
}

static void extra_required(struct probe_ctx *p)
{
	struct probe_result *r = p->r;
	struct pdlg *d = calloc(1, sizeof(*d));
	struct pp_reply *rep = malloc(sizeof(*rep));
	enum probe_status notreq = p->t->require_tls ? PS_FAIL : PS_NA;
	char l[128];
	struct pio c;
	int ret;

	if (!d || !rep) {
		probe_set(r, PC_TLS_REQUIRED, PS_NA, "out of memory");
		goto out_free;
	}
	ret = open_plain(p, &c, d);
	if (!ret)
		ret = dlg_plain_transaction(d, rep);
	if (ret < 0) {
		probe_set(r, PC_TLS_REQUIRED, PS_NA, "could not test: %s", c.err);
	} else {
		dlg_first_line(rep, l, sizeof(l));
		if (ret == 1)
			probe_set(r, PC_TLS_REQUIRED, PS_PASS, "plaintext MAIL FROM refused: %d %s",
				  rep->code, l);
		else
			probe_set(r, PC_TLS_REQUIRED, notreq,
				  "plaintext MAIL FROM answered %d %s: TLS is not enforced%s",
				  rep->code, l,
				  p->t->require_tls ? "" : " (not required for this target)");
	}
	pio_close(&c);
out_free:
	free(d);
	free(rep);
}

static void dane_set(struct probe_result *r, enum probe_dane st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void dane_set(struct probe_result *r, enum probe_dane st, const char *fmt, ...)
{
	va_list ap;

	r->dane = st;
	va_start(ap, fmt);
	vsnprintf(r->dane_evidence, sizeof(r->dane_evidence), fmt, ap);
	va_end(ap);
}

/* DANE: one more handshake, verified against the target's TLSA records (probe_dane.c). */
static void extra_dane(struct probe_ctx *p)
{
	struct probe_result *r = p->r;
	char why[128];
	SSL_CTX *ctx = probe_dane_ctx(p->t, why, sizeof(why));
	struct pdlg *d = calloc(1, sizeof(*d));
	struct pio c;
	int ret;

	if (!ctx || !d) {
		dane_set(r, DANE_INVALID, "could not test: %s", ctx ? "out of memory" : why);
		goto out_free;
	}
	ret = open_tls(p, &c, d, ctx, false);
	if (!ret)
		probe_dane_verdict(r, c.ssl);
	else if (ret == -ENODATA)
		dane_set(r, DANE_NOT_USABLE, "%s: TLS without authentication", c.err);
	else
		dane_set(r, DANE_INVALID, "the DANE handshake failed: %s", c.err);
	pio_close(&c);
out_free:
	free(d);
	probe_dane_ctx_free(ctx);
}

void probe_one(const struct probe_opts *o, const struct probe_target *t, struct probe_result *r)
{
	struct probe_ctx p = { .o = o, .t = t, .r = r };
	uint64_t start = pio_now_ms();
	char why[128];
	SSL_CTX *ctx;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < PC__N; i++)
		snprintf(r->checks[i].evidence, sizeof(r->checks[i].evidence), "not run");
	p.deadline = start + (uint64_t)o->timeout_ms * PROBE_STEPS_PER_TARGET;
	if (resolve(&p))
		goto out;
	ctx = make_ctx(o, t, CTX_MAIN, why, sizeof(why));
	if (!ctx) {
		snprintf(r->error, sizeof(r->error), "%s", why);
		goto out;
	}
	if (main_session(&p, ctx)) {
		extra_weak(&p);
		extra_old(&p);
		if (t->proto != PROTO_IMPLICIT)
			extra_inject(&p, ctx);
		if (t->proto == PROTO_SMTP)
			extra_required(&p);
		if (t->n_tlsa)
			extra_dane(&p);
	} else if (p.tls_refused) {
		legacy_session(&p);
	}
	if (t->n_tlsa && r->reachable && r->dane == DANE_NA)
		dane_set(
			r, DANE_INVALID, "TLSA records make TLS mandatory, and it failed: %s",
			r->checks[r->checks[PC_STARTTLS].st == PS_FAIL ? PC_STARTTLS : PC_HANDSHAKE]
				.evidence);
	if (t->proto != PROTO_SMTP && t->proto != PROTO_XMPP && t->proto != PROTO_IMPLICIT &&
	    r->starttls == ST_OK)
		probe_set(r, PC_TLS_REQUIRED, PS_NA, "no plaintext transaction to try in %s%s",
			  probe_proto_names[t->proto],
			  r->checks[PC_PLAIN_AUTH].st != PS_NA ? " (plaintext-auth covers logins)" :
								 "");
	if (t->proto == PROTO_IMPLICIT) {
		probe_set(r, PC_GREETING, PS_NA, "implicit TLS: no plaintext greeting");
		probe_set(r, PC_STARTTLS, PS_NA, "implicit TLS");
		probe_set(r, PC_PLAIN_AUTH, PS_NA, "implicit TLS: nothing is said in plaintext");
		probe_set(r, PC_INJECTION, PS_NA, "implicit TLS");
		probe_set(r, PC_TLS_REQUIRED, PS_NA,
			  "implicit TLS: every transaction is encrypted");
	}
	if (r->starttls == ST_STRIPPED || r->starttls == ST_REFUSED ||
	    r->starttls == ST_NOT_ADVERTISED)
		for (int i = 0; i < PC__N; i++)
			if (r->checks[i].st == PS_NA && !strcmp(r->checks[i].evidence, "not run"))
				snprintf(r->checks[i].evidence, sizeof(r->checks[i].evidence),
					 "not run: STARTTLS %s (fail closed)",
					 starttls_outcome_names[r->starttls]);
	SSL_CTX_free(ctx);
out:
	r->elapsed_ms = pio_now_ms() - start;
}

bool probe_compliant(const struct probe_result *r)
{
	if (!r->reachable)
		return false;
	for (int i = 0; i < PC__N; i++)
		if (r->checks[i].st == PS_FAIL)
			return false;
	return true;
}

/* ---- concurrency ------------------------------------------------------------------------ */

struct run_ctx {
	const struct probe_opts *o;
	const struct probe_target *t;
	struct probe_result *r;
	size_t n, next;
	pthread_mutex_t lock;
};

static void *worker(void *arg)
{
	struct run_ctx *rc = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&rc->lock);
		i = rc->next++;
		pthread_mutex_unlock(&rc->lock);
		if (i >= rc->n)
			return NULL;
		probe_one(rc->o, &rc->t[i], &rc->r[i]);
	}
}

int probe_run(const struct probe_opts *o, const struct probe_target *t, size_t n,
	      struct probe_result *r)
{
	struct run_ctx rc = { .o = o, .t = t, .r = r, .n = n };
	size_t nw = n < (size_t)o->concurrency ? n : (size_t)o->concurrency;
	pthread_t *th;
	size_t started = 0;
	int ret = 0;

	if (!n)
		return 0;
	th = calloc(nw, sizeof(*th));
	if (!th)
		return -ENOMEM;
	pthread_mutex_init(&rc.lock, NULL);
	for (; started < nw; started++) {
		ret = -pthread_create(&th[started], NULL, worker, &rc);
		if (ret)
			break;
	}
	if (!started) { /* no thread at all: probe here */
		worker(&rc);
		ret = 0;
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&rc.lock);
	free(th);
	return started || !ret ? 0 : ret;
}
