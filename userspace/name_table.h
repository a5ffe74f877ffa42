/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The server-name table of one generation (map tlsfw_names, bpf/tlsfw_content_abi.h): from
 * patterns ("name" or "*.suffix") and the list each belongs to, the entries with their name
 * classes, wildcards covering a name folded in, and the configuration words the data plane
 * needs (seed, wild_mask). A name class is a set of lists; class ids are dense, from 1.
 */
#ifndef TLSFW_NAME_TABLE_H
#define TLSFW_NAME_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "tlsfw_content_abi.h"

struct name_pattern {
	const char *pattern;
	uint32_t list;
};

struct name_table {
	struct tlsfw_name_key *keys; /* n entries, for a batch update */
	struct tlsfw_name_val *vals;
	size_t n;
	uint64_t seed;	    /* tlsfw_content_cfg.seed */
	uint32_t wild_mask; /* tlsfw_content_cfg.wild_mask */
	size_t n_classes;   /* ids 1..n_classes */
	size_t words;	    /* 64-bit words per class set */
	uint64_t *sets;	    /* class c's lists: words [(c - 1) * words, c * words) */
};

/*
 * Build the entries of generation gen. seed: the first hash seed tried (random per
 * generation); another is tried when two entries would share a key. Returns 0; -EINVAL with
 * *bad set to the index of a pattern that is not a host name or "*." and one (at most
 * TLSFW_WILD_MAX_LABELS labels); -E2BIG above TLSFW_NAMES_MAX entries; -ENOMEM.
 */
int name_table_build(struct name_table *t, const struct name_pattern *in, size_t n, uint8_t gen,
		     uint64_t seed, size_t *bad);
void name_table_free(struct name_table *t);

/* Class cls holds list `list`. */
int name_table_has(const struct name_table *t, uint32_t cls, uint32_t list);

/* A pattern in the table's form: lower case; 0 for a name, 1 for a wildcard (out: its
 * suffix), -EINVAL. out has room for TLSFW_SNI_MAX + 1 bytes. */
int name_normalize(const char *pattern, char *out, size_t *len);

/* The hash of s[0..len) as the data plane computes it (from the last byte to the first). */
uint64_t name_hash(uint64_t seed, const char *s, size_t len);

/* An entry look-up: 0 and *v filled when a table has key k, else nonzero. */
typedef int (*name_find_fn)(void *arg, const struct tlsfw_name_key *k, struct tlsfw_name_val *v);

/*
 * The name class of host name s (in name_normalize's form) as bpf/names.h computes it under
 * (seed, wild_mask, gen): the exact entry, else the longest suffix after a label whose label
 * count is in wild_mask and which has a wildcard entry; a hit counts only when the stored name
 * is s's. 0: in no entry. For `tlsfw explain --sni` on a plan's table and on the maps.
 */
uint32_t name_class_of(const char *s, uint64_t seed, uint32_t wild_mask, uint8_t gen,
		       name_find_fn find, void *arg);
/* name_find_fn over a struct name_table (arg), whatever generation its keys were built for. */
int name_table_find(void *table, const struct tlsfw_name_key *k, struct tlsfw_name_val *v);

#endif
