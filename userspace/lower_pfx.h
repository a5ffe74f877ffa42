/* SPDX-License-Identifier: GPL-2.0 */
/* The distinct prefixes the BPF lowering (lower_bpf.c) puts in its tries: a set hashed by
 * (address, length), each prefix with the rules naming it. */
#ifndef TLSFW_LOWER_PFX_H
#define TLSFW_LOWER_PFX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A distinct prefix named by some rule, and the rules naming it (ascending, no repeats). */
struct pfx {
	uint8_t addr[16];
	uint8_t plen;
	uint8_t family; /* POL_FAM_V4 or POL_FAM_V6 */
	uint32_t *rules;
	size_t n_rules, cap_rules;
};

struct pfxset {
	struct pfx *v;
	size_t n, cap;
	uint32_t *slots; /* index + 1 */
	size_t hcap;
	bool plens[129]; /* lengths in use, to walk only real ancestors */
};

/* out = in masked to plen bits. */
void pfx_mask(uint8_t *out, const uint8_t *in, unsigned int plen);
/* The entry of (addr, plen), or NULL. */
struct pfx *pfx_find(const struct pfxset *s, const uint8_t *addr, uint8_t plen);
/* Rebuild the hash with hcap slots (a power of two), after the entries moved. 0 or -ENOMEM. */
int pfx_rehash(struct pfxset *s, size_t hcap);
/* Add raw/plen (masked here) named by rule (UINT32_MAX: by none). 0 or -ENOMEM. */
int pfx_add(struct pfxset *s, const uint8_t *raw, uint8_t plen, uint8_t family, uint32_t rule);
void pfxset_free(struct pfxset *s);
/* qsort order: IPv4 first, then IPv6; by address, then length. */
int pfx_cmp(const void *a, const void *b);

#endif
