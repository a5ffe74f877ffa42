/* SPDX-License-Identifier: GPL-2.0 */
/* The SHA-256 of a policy's bytes (status, diff, stats and --confirm show and compare it). */
#ifndef TLSFW_POLICY_HASH_H
#define TLSFW_POLICY_HASH_H

#include <stddef.h>
#include <stdint.h>

void policy_hash(const void *buf, size_t len, uint8_t out[32]);

#endif
