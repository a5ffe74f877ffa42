// SPDX-License-Identifier: GPL-2.0
/*
 * SHA-256 from Nettle, not OpenSSL: every tlsfw process that hashes a policy (apply, check,
 * diff, confirm) would otherwise map libcrypto and libssl at start, 3.5 ms of each process
 * on the AMD VM of 2026-12-07 (Documentation/performance.md, "Process start"). Nettle is
 * GnuTLS's crypto library, small enough to cost well under a millisecond; OpenSSL is now
 * opened only by the commands that speak TLS (lazy_openssl.h).
 */
#include <nettle/sha2.h>

#include "policy_hash.h"

_Static_assert(SHA256_DIGEST_SIZE == 32, "the policy hash is 32 bytes");

void policy_hash(const void *buf, size_t len, uint8_t out[32])
{
	policy_hash_parts(&(struct hash_part){ buf, len }, 1, out);
}

void policy_hash_parts(const struct hash_part *parts, size_t n, uint8_t out[32])
{
	struct sha256_ctx c;

	sha256_init(&c);
	for (size_t i = 0; i < n; i++)
		sha256_update(&c, parts[i].len, parts[i].buf);
	sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}
