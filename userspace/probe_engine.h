/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the files of the engine (probe_engine.c, probe_cert.c): one target's context. */
#ifndef TLSFW_PROBE_ENGINE_H
#define TLSFW_PROBE_ENGINE_H

#include <sys/socket.h>

#include "lazy_openssl.h"

#include "probe.h"

struct probe_ctx {
	const struct probe_opts *o;
	const struct probe_target *t;
	struct probe_result *r;
	struct sockaddr_storage sa[PROBE_MAX_ADDRS]; /* resolved; sa[0] once one answered */
	socklen_t salen[PROBE_MAX_ADDRS];
	size_t n_sa;
	uint64_t deadline;
	bool tls_refused; /* the main handshake failed on a server that speaks TLS */
};

/* Record the outcome of check id with its evidence. */
void probe_set(struct probe_result *r, enum probe_check_id id, enum probe_status st,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* DANE: a context that verifies against t's TLSA records (probe_dane.c); its verdict on a
 * session's chain, in r->dane and r->dane_evidence. */
SSL_CTX *probe_dane_ctx(const struct probe_target *t, char *why, size_t whylen);
void probe_dane_ctx_free(SSL_CTX *ctx);
void probe_dane_verdict(struct probe_result *r, SSL *ssl);

/* Version, cipher, group and ALPN of an established session. */
void probe_tls_info(struct probe_result *r, SSL *ssl);
/* chain, name and expiry from the certificates the server presented on ssl. */
void probe_cert_checks(struct probe_ctx *p, SSL *ssl);

#endif
