/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage 1, first half (yaml_tree.c): the policy file's bytes -> a small tree of YAML nodes,
 * each with the location libyaml recorded for it. Composing our own tree (rather than using
 * libyaml's document API) keeps every mark and lets aliases and tags be refused where they
 * are written. policy_read.c walks the tree into the policy model.
 */
#ifndef TLSFW_YAML_TREE_H
#define TLSFW_YAML_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define POLICY_MAX_BYTES (256u << 20) /* 100,000 prefixes take about 3 MiB */

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

/* 56 bytes, and a scalar's text right after it: a policy of 4,096 rules of 200 ports is
 * 820,000 of them, and the tree is the peak of reading it. */
struct ynode {
	char *val;	     /* scalar text, NUL-terminated */
	struct ynode **kids; /* mapping: key, value, key, value, ... (exactly n) */
	struct loc loc;
	uint32_t len; /* of val (a policy is at most POLICY_MAX_BYTES) */
	uint32_t n;
	uint8_t type;	   /* enum ytype */
	uint8_t plain;	   /* a plain (unquoted) scalar: may be null */
	uint8_t diagnosed; /* an alias or a tag: already reported, skip quietly */
};

struct yarena; /* every node and text of a tree, freed at once */

struct ytree {
	struct ynode *root; /* NULL: no document */
	struct yarena *arena;
};

/*
 * The bytes of the policy file path ("-": standard input), at most POLICY_MAX_BYTES. A path
 * that is not a regular file (a FIFO would block, a device never end) is refused before it
 * is opened. Returns 0 with *buf malloc'd, or -errno with why[] saying it in words.
 */
int policy_file_bytes(const char *path, char **buf, size_t *len, char *why, size_t why_len);

/* Compose the tree of buf (one YAML document); syntax errors, aliases and tags go to d with
 * their location in file. Returns 0, -EINVAL (reported) or -ENOMEM. t is safe to free. */
int ytree_load(struct ytree *t, const char *file, const char *buf, size_t len, struct diag *d);
void ytree_free(struct ytree *t);

/* A plain scalar YAML reads as null (empty, ~, null). */
int ynode_is_null(const struct ynode *n);

#endif
