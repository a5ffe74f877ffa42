/* SPDX-License-Identifier: GPL-2.0 */
/* Inside stage 1: what policy_read.c and policy_read_rule.c share. */
#ifndef TLSFW_POLICY_READ_H
#define TLSFW_POLICY_READ_H

#include <stddef.h>

#include "diag.h"
#include "policy.h"
#include "yaml_tree.h"

struct reader {
	struct diag *d;
	struct policy *p;
	const char *file;
};

typedef void (*key_fn)(struct reader *rd, void *obj, const struct ynode *key,
		       const struct ynode *val);

struct keydef {
	const char *name;
	key_fn fn;
};

/* "a list", "a mapping" or "a single value" */
const char *rd_type_name(const struct ynode *n);
/* A single value is expected: say so for a list or a mapping. 1 when it is one. */
int rd_want_scalar(struct reader *rd, const char *key, const struct ynode *v);
/* One of names[]; -1 after a diagnostic. what names the thing in the message: "action",
 * or "key:what" when the key and the thing differ ("default:default verdict"). */
int rd_enum(struct reader *rd, const char *what, const struct ynode *v, const char *const *names,
	    size_t n);
char *rd_strdup(struct reader *rd, const char *s);
/* Call fn for a single value or for each item of a list of single values; 0 if one failed. */
int rd_for_each_item(struct reader *rd, const char *key, const struct ynode *v,
		     int (*fn)(struct reader *rd, void *obj, const struct ynode *item), void *obj);
/* A decimal number of at most 9 digits (LONG_MAX when longer); -1 when the text is anything
 * else. */
long rd_num(const char *s, size_t len);
/* Room for element n of a list that grows geometrically; the array, or NULL. */
void *rd_room_for(void *v, size_t n, size_t size);
/* A list of words (services, interfaces), each with its location. */
void rd_names(struct reader *rd, const char *key, const struct ynode *v, struct pol_names *nn);

/* sni: @FILE: the names of FILE (relative to the policy file's directory) into nn, each
 * located at its line in FILE; the file's bytes join the policy hash. */
void rd_sni_file(struct reader *rd, const struct ynode *v, struct pol_names *nn);
/* Add one name (a scalar item) to nn; 0 when out of memory. */
int rd_sni_add(struct reader *rd, struct pol_names *nn, const struct ynode *item);

extern const struct keydef rule_keys[]; /* the keys of a rule */
extern const size_t n_rule_keys;

#endif
