/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OpenSSL (libssl and libcrypto), opened on first use (lazylib.h): only `tlsfw probe` and the
 * metrics endpoint's password checks call it. Linked as usual, the two libraries cost every
 * tlsfw process 3.5 ms before main() on the AMD VM of 2026-12-07, most of it libcrypto's
 * relocations (Documentation/performance.md, "Process start"). Include this header instead of
 * OpenSSL's: it includes every OpenSSL header tlsfw uses first, so that none is read after
 * the names below became calls through the tables. A function added to a call site that is
 * missing here fails the link of build/tlsfw, which does not link OpenSSL.
 */
#ifndef TLSFW_LAZY_OPENSSL_H
#define TLSFW_LAZY_OPENSSL_H

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lazylib.h"

#define LAZY_SSL_FNS(X)                     \
	X(SSL_CIPHER_get_name)              \
	X(SSL_CTX_ctrl)                     \
	X(SSL_CTX_dane_enable)              \
	X(SSL_CTX_dane_set_flags)           \
	X(SSL_CTX_free)                     \
	X(SSL_CTX_get0_param)               \
	X(SSL_CTX_get_ciphers)              \
	X(SSL_CTX_get_ex_data)              \
	X(SSL_CTX_load_verify_locations)    \
	X(SSL_CTX_new)                      \
	X(SSL_CTX_set_alpn_protos)          \
	X(SSL_CTX_set_cipher_list)          \
	X(SSL_CTX_set_default_verify_paths) \
	X(SSL_CTX_set_ex_data)              \
	X(SSL_CTX_set_verify)               \
	X(SSL_add1_host)                    \
	X(SSL_ctrl)                         \
	X(SSL_dane_enable)                  \
	X(SSL_dane_tlsa_add)                \
	X(SSL_do_handshake)                 \
	X(SSL_free)                         \
	X(SSL_get0_alpn_selected)           \
	X(SSL_get0_dane_authority)          \
	X(SSL_get0_dane_tlsa)               \
	X(SSL_get0_peer_certificate)        \
	X(SSL_get0_verified_chain)          \
	X(SSL_get1_peer_certificate)        \
	X(SSL_get_current_cipher)           \
	X(SSL_get_error)                    \
	X(SSL_get_peer_cert_chain)          \
	X(SSL_get_verify_result)            \
	X(SSL_get_version)                  \
	X(SSL_group_to_name)                \
	X(SSL_new)                          \
	X(SSL_read)                         \
	X(SSL_set_bio)                      \
	X(SSL_set_connect_state)            \
	X(SSL_set_hostflags)                \
	X(SSL_version)                      \
	X(SSL_write)                        \
	X(TLS_client_method)

#define LAZY_CRYPTO_FNS(X)             \
	X(ASN1_STRING_get0_data)       \
	X(ASN1_STRING_length)          \
	X(ASN1_TIME_diff)              \
	X(BIO_free)                    \
	X(BIO_new)                     \
	X(BIO_read)                    \
	X(BIO_s_mem)                   \
	X(BIO_write)                   \
	X(CRYPTO_free)                 \
	X(CRYPTO_malloc)               \
	X(CRYPTO_memcmp)               \
	X(ERR_clear_error)             \
	X(ERR_peek_last_error)         \
	X(ERR_reason_error_string)     \
	X(EVP_DigestFinal_ex)          \
	X(EVP_DigestInit_ex)           \
	X(EVP_DigestUpdate)            \
	X(EVP_MD_CTX_free)             \
	X(EVP_MD_CTX_new)              \
	X(EVP_sha256)                  \
	X(GENERAL_NAMES_free)          \
	X(OPENSSL_cleanse)             \
	X(OPENSSL_sk_num)              \
	X(OPENSSL_sk_value)            \
	X(X509_NAME_get_text_by_NID)   \
	X(X509_NAME_oneline)           \
	X(X509_VERIFY_PARAM_set_flags) \
	X(X509_check_host)             \
	X(X509_check_ip_asc)           \
	X(X509_free)                   \
	X(X509_get0_notAfter)          \
	X(X509_get0_notBefore)         \
	X(X509_get_ext_d2i)            \
	X(X509_get_issuer_name)        \
	X(X509_get_subject_name)       \
	X(X509_verify_cert_error_string)

struct lazy_ssl {
	LAZY_SSL_FNS(LAZYLIB_MEMBER)
};

struct lazy_crypto {
	LAZY_CRYPTO_FNS(LAZYLIB_MEMBER)
};

const struct lazy_ssl *lazy_ssl(void);
const struct lazy_crypto *lazy_crypto(void);

#ifndef LAZYLIB_TABLES
#define SSL_CIPHER_get_name (lazy_ssl()->SSL_CIPHER_get_name)
#define SSL_CTX_ctrl (lazy_ssl()->SSL_CTX_ctrl)
#define SSL_CTX_dane_enable (lazy_ssl()->SSL_CTX_dane_enable)
#define SSL_CTX_dane_set_flags (lazy_ssl()->SSL_CTX_dane_set_flags)
#define SSL_CTX_free (lazy_ssl()->SSL_CTX_free)
#define SSL_CTX_get0_param (lazy_ssl()->SSL_CTX_get0_param)
#define SSL_CTX_get_ciphers (lazy_ssl()->SSL_CTX_get_ciphers)
#define SSL_CTX_get_ex_data (lazy_ssl()->SSL_CTX_get_ex_data)
#define SSL_CTX_load_verify_locations (lazy_ssl()->SSL_CTX_load_verify_locations)
#define SSL_CTX_new (lazy_ssl()->SSL_CTX_new)
#define SSL_CTX_set_alpn_protos (lazy_ssl()->SSL_CTX_set_alpn_protos)
#define SSL_CTX_set_cipher_list (lazy_ssl()->SSL_CTX_set_cipher_list)
#define SSL_CTX_set_default_verify_paths (lazy_ssl()->SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_ex_data (lazy_ssl()->SSL_CTX_set_ex_data)
#define SSL_CTX_set_verify (lazy_ssl()->SSL_CTX_set_verify)
#define SSL_add1_host (lazy_ssl()->SSL_add1_host)
#define SSL_ctrl (lazy_ssl()->SSL_ctrl)
#define SSL_dane_enable (lazy_ssl()->SSL_dane_enable)
#define SSL_dane_tlsa_add (lazy_ssl()->SSL_dane_tlsa_add)
#define SSL_do_handshake (lazy_ssl()->SSL_do_handshake)
#define SSL_free (lazy_ssl()->SSL_free)
#define SSL_get0_alpn_selected (lazy_ssl()->SSL_get0_alpn_selected)
#define SSL_get0_dane_authority (lazy_ssl()->SSL_get0_dane_authority)
#define SSL_get0_dane_tlsa (lazy_ssl()->SSL_get0_dane_tlsa)
#define SSL_get0_peer_certificate (lazy_ssl()->SSL_get0_peer_certificate)
#define SSL_get0_verified_chain (lazy_ssl()->SSL_get0_verified_chain)
#define SSL_get1_peer_certificate (lazy_ssl()->SSL_get1_peer_certificate)
#define SSL_get_current_cipher (lazy_ssl()->SSL_get_current_cipher)
#define SSL_get_error (lazy_ssl()->SSL_get_error)
#define SSL_get_peer_cert_chain (lazy_ssl()->SSL_get_peer_cert_chain)
#define SSL_get_verify_result (lazy_ssl()->SSL_get_verify_result)
#define SSL_get_version (lazy_ssl()->SSL_get_version)
#define SSL_group_to_name (lazy_ssl()->SSL_group_to_name)
#define SSL_new (lazy_ssl()->SSL_new)
#define SSL_read (lazy_ssl()->SSL_read)
#define SSL_set_bio (lazy_ssl()->SSL_set_bio)
#define SSL_set_connect_state (lazy_ssl()->SSL_set_connect_state)
#define SSL_set_hostflags (lazy_ssl()->SSL_set_hostflags)
#define SSL_version (lazy_ssl()->SSL_version)
#define SSL_write (lazy_ssl()->SSL_write)
#define TLS_client_method (lazy_ssl()->TLS_client_method)
#define ASN1_STRING_get0_data (lazy_crypto()->ASN1_STRING_get0_data)
#define ASN1_STRING_length (lazy_crypto()->ASN1_STRING_length)
#define ASN1_TIME_diff (lazy_crypto()->ASN1_TIME_diff)
#define BIO_free (lazy_crypto()->BIO_free)
#define BIO_new (lazy_crypto()->BIO_new)
#define BIO_read (lazy_crypto()->BIO_read)
#define BIO_s_mem (lazy_crypto()->BIO_s_mem)
#define BIO_write (lazy_crypto()->BIO_write)
#define CRYPTO_free (lazy_crypto()->CRYPTO_free)
#define CRYPTO_malloc (lazy_crypto()->CRYPTO_malloc)
#define CRYPTO_memcmp (lazy_crypto()->CRYPTO_memcmp)
#define ERR_clear_error (lazy_crypto()->ERR_clear_error)
#define ERR_peek_last_error (lazy_crypto()->ERR_peek_last_error)
#define ERR_reason_error_string (lazy_crypto()->ERR_reason_error_string)
#define EVP_DigestFinal_ex (lazy_crypto()->EVP_DigestFinal_ex)
#define EVP_DigestInit_ex (lazy_crypto()->EVP_DigestInit_ex)
#define EVP_DigestUpdate (lazy_crypto()->EVP_DigestUpdate)
#define EVP_MD_CTX_free (lazy_crypto()->EVP_MD_CTX_free)
#define EVP_MD_CTX_new (lazy_crypto()->EVP_MD_CTX_new)
#define EVP_sha256 (lazy_crypto()->EVP_sha256)
#define GENERAL_NAMES_free (lazy_crypto()->GENERAL_NAMES_free)
#define OPENSSL_cleanse (lazy_crypto()->OPENSSL_cleanse)
#define OPENSSL_sk_num (lazy_crypto()->OPENSSL_sk_num)
#define OPENSSL_sk_value (lazy_crypto()->OPENSSL_sk_value)
#define X509_NAME_get_text_by_NID (lazy_crypto()->X509_NAME_get_text_by_NID)
#define X509_NAME_oneline (lazy_crypto()->X509_NAME_oneline)
#define X509_VERIFY_PARAM_set_flags (lazy_crypto()->X509_VERIFY_PARAM_set_flags)
#define X509_check_host (lazy_crypto()->X509_check_host)
#define X509_check_ip_asc (lazy_crypto()->X509_check_ip_asc)
#define X509_free (lazy_crypto()->X509_free)
#define X509_get0_notAfter (lazy_crypto()->X509_get0_notAfter)
#define X509_get0_notBefore (lazy_crypto()->X509_get0_notBefore)
#define X509_get_ext_d2i (lazy_crypto()->X509_get_ext_d2i)
#define X509_get_issuer_name (lazy_crypto()->X509_get_issuer_name)
#define X509_get_subject_name (lazy_crypto()->X509_get_subject_name)
#define X509_verify_cert_error_string (lazy_crypto()->X509_verify_cert_error_string)
#endif

#endif
