/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which counters a new generation uses (stage 4a, before the fill). A rule keeps its counter
 * slot while its name stays, so its counters survive a replacement; a new name takes a slot
 * the active generation does not use. Counter blocks of (interface, direction) are kept the
 * same way. What a new slot held long ago is zeroed by apply (rule_new, ctx_new).
 */
#ifndef TLSFW_SLOTS_H
#define TLSFW_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "plan.h"
#include "relabel.h"
#include "state.h"

struct slots {
	uint32_t *rule_slot;		  /* per plan rule: its slot (< TLSFW_MAX_RULES) */
	bool *rule_new;			  /* per plan rule: slot newly taken */
	uint32_t *ctx_slot, *ctx_ifindex; /* per plan ctx: its block (< TLSFW_MAX_CTX), ifindex */
	bool *ctx_new;			  /* per plan ctx: block newly taken */
};

/* Whether the plan's contexts find counter blocks while the old generation's are in use: each
 * new (interface, direction) takes a block of its own until the flip. */
bool slots_ctx_fit(const struct plan *pl, const struct state_meta *old, unsigned int old_gen);
/* Slots for pl next to the generation old_gen that old describes (zeroed arrays when nothing
 * is enforced). Returns 0 or -errno (d says why: no free slot, an interface gone). */
int slots_assign(struct slots *s, const struct plan *pl, const struct state_meta *old,
		 unsigned int old_gen, struct diag *d);
void slots_free(struct slots *s);

/* The counters of a kept (interface, direction) block that pl relabels (relabel.h), from
 * the rules of the generation old describes; had_policy: old describes a policy in force.
 * Returns RELABEL_* bits. A rule's own line keeps counting by name (slots_assign). */
unsigned int slots_relabel(const struct plan *pl, const struct state_meta *old, bool had_policy);
struct bpf_counters;
/* Zero the relabelled statistics of the counter block at base. */
void slots_zero_relabeled(const struct bpf_counters *ctr, uint32_t base, unsigned int reset);

#endif
