/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters across a replacement (issue 17 item 5), the same rule for both backends: a
 * verdict total or the (default) line is shown only under the verdict it was counted with.
 * A rule's own line counts on by name (a rule moved from monitor to enforce counts on); of
 * an interface and direction the policy keeps, apply zeroes (default) when the default action
 * changed (its packets got the old default), the reject total (with the replies sent and
 * failed, where the backend counts them) when no rule of the new policy rejects, and the
 * monitor total when no rule is in monitor mode, and says so. The backends zero them their
 * own way: slots.c in the BPF counters, nft_encode.c in the switch's nftables transaction.
 */
#ifndef TLSFW_RELABEL_H
#define TLSFW_RELABEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plan.h"

#define RELABEL_DEFAULT 1u    /* (default) */
#define RELABEL_REJECT 2u     /* the reject total, replies sent and failed */
#define RELABEL_MONITOR 4u    /* the monitor total */
#define RELABEL_SAY_REJECT 8u /* and the previous policy had a reject rule: say so */

/* The policy in force, as the backend recorded it. */
struct relabel_old {
	uint8_t default_action; /* enum tlsfw_action */
	bool rejects;		/* a rule in enforce mode rejects */
};

/* Does a rule of pl in enforce mode reject? */
bool relabel_rejects(const struct plan *pl);
/* Which counters of a kept (interface, direction) the new policy pl relabels: RELABEL_* bits.
 * old NULL: no policy in force, nothing to relabel. */
unsigned int relabel_counters(const struct plan *pl, const struct relabel_old *old);
/* One line on out for each reset worth saying (nothing when out is NULL or reset says none). */
void relabel_say(FILE *out, unsigned int reset, uint8_t old_default, uint8_t new_default);

#endif
