/* SPDX-License-Identifier: GPL-2.0 */
/* The SHA-256 of a policy's bytes (status, diff, stats and --confirm show and compare it). */
#ifndef TLSFW_POLICY_HASH_H
#define TLSFW_POLICY_HASH_H

#include <stddef.h>
#include <stdint.h>

void policy_hash(const void *buf, size_t len, uint8_t out[32]);

/* One piece of the bytes policy_hash_parts() hashes, in order. */
struct hash_part {
	const void *buf;
	size_t len;
};

/* The SHA-256 of the n parts one after another (out may be the buffer of a part). */
void policy_hash_parts(const struct hash_part *parts, size_t n, uint8_t out[32]);

#endif
