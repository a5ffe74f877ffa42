/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between the two halves of webcfg: the reader (webcfg_read.c: YAML events -> these values,
 * each with its place) and the checker (webcfg.c: values -> struct webcfg). Private to them.
 */
#ifndef TLSFW_WEBCFG_RAW_H
#define TLSFW_WEBCFG_RAW_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

struct wraw_str {
	char *v; /* "" for a null value */
	struct loc loc;
	bool set;
};

struct wraw_bool {
	bool v, set;
	struct loc loc;
};

/* A list of strings, or a mapping of strings to strings (keys in key, values in v). */
struct wraw_list {
	struct wraw_str *key, *v;
	size_t n;
	struct loc loc;
	bool set;
};

struct webcfg_raw {
	const char *file; /* interned in the diag context */
	/* tls_server_config */
	struct wraw_str cert_file, key_file, client_auth_type, client_ca_file;
	struct wraw_str min_version, max_version;
	struct wraw_list cipher_suites, curve_preferences;
	struct wraw_bool prefer_server_cipher_suites;
	/* http_server_config */
	struct wraw_bool http2;
	struct wraw_list headers;
	/* basic_auth_users */
	struct wraw_list users;
};

#define WEBCFG_FILE_MAX (1u << 20) /* the configuration, a certificate, a CA bundle */

/* A whole file (at most WEBCFG_FILE_MAX bytes) into *buf, NUL-terminated; -errno. */
int webcfg_slurp(const char *path, char **buf, size_t *len);

/* Stage 1: the file's YAML into raw (zeroed first). 0 (also when d holds errors of single
 * values), -EINVAL when the YAML itself is broken (in d), another -errno. */
int webcfg_read_raw(struct webcfg_raw *raw, const char *path, struct diag *d);
void webcfg_raw_free(struct webcfg_raw *raw);

#endif
