/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `tlsfw stats --listen ... --web-config FILE`: the web configuration file of the Prometheus
 * exporters (exporter-toolkit's format: tls_server_config, http_server_config,
 * basic_auth_users), read with libyaml into what the HTTP server needs. Every value the
 * server cannot honour exactly is an error at its file:line:column, as in a policy; what
 * `promtool check web-config` rejects is rejected too (docs: tlsfw.8, --web-config).
 */
#ifndef TLSFW_WEBCFG_H
#define TLSFW_WEBCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

enum webcfg_client_auth {
	WEBCFG_NO_CLIENT_CERT,	   /* NoClientCert (the default) */
	WEBCFG_VERIFY_IF_GIVEN,	   /* VerifyClientCertIfGiven */
	WEBCFG_REQUIRE_AND_VERIFY, /* RequireAndVerifyClientCert */
};

struct webcfg_user {
	char *name;
	char *hash;	      /* bcrypt: $2a$, $2b$ or $2y$ */
	unsigned char ok[32]; /* SHA-256 of the last password that matched (see below) */
	bool have_ok;
};

struct webcfg_header {
	char *name, *value;
};

struct webcfg {
	bool tls;		  /* tls_server_config has a certificate */
	char *cert_pem, *key_pem; /* the files' contents */
	char *client_ca_pem;	  /* NULL without client certificates */
	enum webcfg_client_auth client_auth;
	char *priorities;	   /* GnuTLS priority string (versions, suites, groups) */
	struct webcfg_user *users; /* basic_auth_users; none: no basic authentication */
	size_t n_users;
	struct webcfg_header *headers; /* http_server_config.headers, added to every answer */
	size_t n_headers;
};

/*
 * Read and check FILE (relative paths in it are relative to its directory, as the exporters
 * have it). Returns 0; -EINVAL when d holds errors (exit 1); another -errno when the file
 * cannot be read at all (also in d). out is safe to free after any return.
 */
int webcfg_read(struct webcfg *out, const char *path, struct diag *d);
void webcfg_free(struct webcfg *c);

/*
 * Whether user and password match basic_auth_users (bcrypt through libxcrypt). A password
 * that matched once is remembered by its SHA-256, so a scraper pays bcrypt's cost once, not
 * per scrape; an unknown user costs a bcrypt run too, so timing does not tell users apart.
 */
bool webcfg_password_ok(struct webcfg *c, const char *user, const char *pass);

#endif
