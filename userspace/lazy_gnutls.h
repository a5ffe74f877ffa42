/* SPDX-License-Identifier: GPL-2.0 */
/* GnuTLS, opened on first use (lazylib.h). Include after <gnutls/gnutls.h>. */
#ifndef TLSFW_LAZY_GNUTLS_H
#define TLSFW_LAZY_GNUTLS_H

#include "lazylib.h"

#define LAZY_GNUTLS_FNS(X)                         \
	X(gnutls_certificate_allocate_credentials) \
	X(gnutls_certificate_free_credentials)     \
	X(gnutls_certificate_set_x509_key_mem2)    \
	X(gnutls_certificate_set_x509_trust_mem)   \
	X(gnutls_certificate_get_peers)            \
	X(gnutls_certificate_verify_peers)         \
	X(gnutls_cipher_suite_info)                \
	X(gnutls_priority_init)                    \
	X(gnutls_priority_deinit)                  \
	X(gnutls_priority_get_cipher_suite_index)  \
	X(gnutls_strerror)

struct lazy_gnutls {
	LAZY_GNUTLS_FNS(LAZYLIB_MEMBER)
};

const struct lazy_gnutls *lazy_gnutls(void);

#ifndef LAZYLIB_TABLES
#define gnutls_certificate_allocate_credentials \
	(lazy_gnutls()->gnutls_certificate_allocate_credentials)
#define gnutls_certificate_free_credentials (lazy_gnutls()->gnutls_certificate_free_credentials)
#define gnutls_certificate_set_x509_key_mem2 (lazy_gnutls()->gnutls_certificate_set_x509_key_mem2)
#define gnutls_certificate_set_x509_trust_mem (lazy_gnutls()->gnutls_certificate_set_x509_trust_mem)
#define gnutls_certificate_get_peers (lazy_gnutls()->gnutls_certificate_get_peers)
#define gnutls_certificate_verify_peers (lazy_gnutls()->gnutls_certificate_verify_peers)
#define gnutls_cipher_suite_info (lazy_gnutls()->gnutls_cipher_suite_info)
#define gnutls_priority_init (lazy_gnutls()->gnutls_priority_init)
#define gnutls_priority_deinit (lazy_gnutls()->gnutls_priority_deinit)
#define gnutls_priority_get_cipher_suite_index \
	(lazy_gnutls()->gnutls_priority_get_cipher_suite_index)
#define gnutls_strerror (lazy_gnutls()->gnutls_strerror)
#endif

#endif
