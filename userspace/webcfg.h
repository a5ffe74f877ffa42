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
	unsigned char ok[32]; /* key of the last password that matched (see below) */
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
	unsigned char failed[64][32]; /* the last WEBCFG_FAILED_MAX failed attempts (below) */
	unsigned int failed_n, failed_next;
};

/*
 * Read and check FILE (relative paths in it are relative to its directory, as the exporters
 * have it). Returns 0; -EINVAL when d holds errors (exit 1); another -errno when the file
 * cannot be read at all (also in d). out is safe to free after any return.
 */
int webcfg_read(struct webcfg *out, const char *path, struct diag *d);
void webcfg_free(struct webcfg *c);

/*
 * Basic authentication in two halves, so that bcrypt can run off the serving thread.
 * webcfg_auth_cached: 1 or 0 when the answer is known without bcrypt (a password that
 * matched before, remembered by the SHA-256 of user and password; one of the last
 * WEBCFG_FAILED_MAX failures, so that repeating a wrong password costs nothing), -EAGAIN
 * when a must be checked: webcfg_bcrypt(pass, a->hash) (thread-safe, touches no webcfg), its
 * result (false for an unknown user) then given to webcfg_auth_remember. An unknown user is
 * checked against a fixed hash of cost 10, whatever the users' costs.
 */
#define WEBCFG_FAILED_MAX 64

struct webcfg_attempt {
	unsigned char key[32]; /* SHA-256 of user, NUL, password */
	const char *hash;      /* to check the password against */
	bool known;	       /* the user exists */
};

int webcfg_auth_cached(struct webcfg *c, const char *user, const char *pass,
		       struct webcfg_attempt *a);
bool webcfg_bcrypt(const char *pass, const char *hash);
void webcfg_auth_remember(struct webcfg *c, const char *user, const struct webcfg_attempt *a,
			  bool ok);
/* All three in one, on the caller's thread. */
bool webcfg_password_ok(struct webcfg *c, const char *user, const char *pass);

#endif
