// SPDX-License-Identifier: GPL-2.0
/*
 * OpenSSL's low-level SHA-256 rather than EVP: the first EVP digest of a process (and, in
 * OpenSSL 3, the one-shot SHA256(), which goes through EVP) sets up OpenSSL's providers and
 * name maps, about 4 ms and 70 page faults, a tenth of a 1-rule `tlsfw apply`
 * (Documentation/performance.md, "Apply: where a 1-rule replacement spends its time").
 * SHA256_Init/Update/Final compute the same digest with no provider. OpenSSL 3.0 deprecates
 * them but keeps them; the deprecation is silenced for this file only.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "policy_hash.h"

void policy_hash(const void *buf, size_t len, uint8_t out[32])
{
	SHA256_CTX c;

	_Static_assert(SHA256_DIGEST_LENGTH == 32, "the policy hash is 32 bytes");
	SHA256_Init(&c);
	SHA256_Update(&c, buf, len);
	SHA256_Final(out, &c);
}
