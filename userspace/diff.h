/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `tlsfw diff`: what a policy changes against the enforced one. Both sides are reduced to the
 * same view (diff_side): the rules by name in policy order, the interfaces with their hooks,
 * the default. The enforced side comes from its recorded policy file when that still hashes
 * as it did at apply (every field known), else from the rule records in the maps (name,
 * action, mode, line only). Counters follow apply's rule: a name kept keeps its counter slot,
 * a new name starts at zero, a removed name's counters are released.
 */
#ifndef TLSFW_DIFF_H
#define TLSFW_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"
#include "state.h"

struct diff_rule {
	char name[TLSFW_NAME_MAX];
	uint32_t line;
	uint8_t action, monitor;
	const struct pol_rule *r; /* every field; NULL when only the record is known */
};

struct diff_iface {
	char name[IFNAMSIZ];
	unsigned int hooks; /* POL_HOOK_* */
};

struct diff_side {
	const char *file;
	const char *backend;	 /* "bpf" | "nft" */
	struct diff_rule *rules; /* in policy order */
	size_t n_rules;
	struct diff_iface ifaces[TLSFW_MAX_IFACES];
	size_t n_ifaces;
	uint8_t default_action;
	const char *note; /* why only the records are known, or NULL */
};

/* A side from a read policy (p must outlive s). 0 or -ENOMEM. */
int diff_side_policy(struct diff_side *s, const struct policy *p);
/* The enforced side from the BPF maps' records of the active generation. 0 or -ENOMEM. */
int diff_side_records(struct diff_side *s, const struct state_meta *sm);
void diff_side_free(struct diff_side *s);

/* The changes from old to new, as text or as one JSON document. 0 or -ENOMEM. */
int diff_print(const struct diff_side *old, const struct diff_side *new, bool json, FILE *out);

#endif
