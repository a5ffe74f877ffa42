/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data plane's classification, done in C over a plan: array index, longest prefix by
 * scanning the prefix list, combination look-ups. What the BPF programs do with maps, minus
 * the maps, so that the lowering can be checked against ref_decide() without a kernel.
 */
#ifndef TLSFW_PLAN_SIM_H
#define TLSFW_PLAN_SIM_H

#include "plan.h"
#include "ref_decide.h"

/* The class of addr in a prefix table (longest match), or -1 if nothing matches. */
long plan_sim_lpm(const struct plan_prefix *v, size_t n, const uint8_t *addr);
/* A comb entry's output, or -1 when absent (the default verdict). */
long plan_sim_comb(const struct plan_comb *v, size_t n, uint32_t a, uint32_t b, uint32_t c);
/* The verdict the plan gives pkt. Returns 0, or -ENOENT when the plan has no context for
 * pkt's (interface, direction) or a prefix table misses (both are plan bugs). */
int plan_sim_decide(const struct plan *pl, const struct ref_pkt *pkt, struct ref_verdict *v);
/* The plan as `tlsfw check --print-plan` shows it, in a string to free(); NULL on failure. */
char *plan_text(const struct plan *pl);

#endif
