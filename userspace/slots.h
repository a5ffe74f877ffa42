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
#include "state.h"

struct slots {
	uint32_t *rule_slot;		  /* per plan rule: its slot (< TLSFW_MAX_RULES) */
	bool *rule_new;			  /* per plan rule: slot newly taken */
	uint32_t *ctx_slot, *ctx_ifindex; /* per plan ctx: its block (< TLSFW_MAX_CTX), ifindex */
	bool *ctx_new;			  /* per plan ctx: block newly taken */
};

/* Slots for pl next to the generation old_gen that old describes (zeroed arrays when nothing
 * is enforced). Returns 0 or -errno (d says why: no free slot, an interface gone). */
int slots_assign(struct slots *s, const struct plan *pl, const struct state_meta *old,
		 unsigned int old_gen, struct diag *d);
void slots_free(struct slots *s);

/*
 * Counters of a kept (interface, direction) block whose label the new policy pl changes (item
 * 5 of issue 17): the (default) line when the default action changed (its packets got the
 * old default), the reject total (with the replies sent and failed) when no rule of pl can
 * reject, the monitor total when no rule is in monitor mode. apply zeroes them and says so.
 * A rule's own line keeps counting by name (slots_assign). had_policy: old
 * describes a policy in force. Returns SLOTS_RESET_* bits.
 */
#define SLOTS_RESET_DEFAULT 1u
#define SLOTS_RESET_REJECT 2u
#define SLOTS_RESET_MONITOR 4u
#define SLOTS_SAY_REJECT 8u /* and the previous policy had a reject rule: say so */
unsigned int slots_relabel(const struct plan *pl, const struct state_meta *old, bool had_policy);
struct bpf_counters;
/* Zero the reset statistics of the counter block at base. */
void slots_zero_relabeled(const struct bpf_counters *ctr, uint32_t base, unsigned int reset);
/* One line on out saying what was reset and why (nothing when reset is 0). */
void slots_say_relabeled(FILE *out, unsigned int reset, uint8_t old_default, uint8_t new_default);

#endif
