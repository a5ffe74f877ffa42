/* SPDX-License-Identifier: GPL-2.0 */
/* Server-name rules (issue 13: sni:, sni_match:, ech:): checking and lowering helpers. */
#ifndef TLSFW_POLICY_SNI_H
#define TLSFW_POLICY_SNI_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "policy.h"

struct plan_rule;
struct plan;

/* A rule that matches on the ClientHello (sni:, ech:). */
static inline bool pol_rule_has_names(const struct pol_rule *r)
{
	return r->has_sni || r->ech != POL_ECH_ANY;
}

/*
 * Stage 2, the name rules of p: TCP only, backend bpf, each name a host name or "*." and one
 * (lower-cased by the lowering), duplicates a warning. rules: what each rule matches (the
 * checker's); skip[i] set for name rules (they match a subset: never shadow a later rule).
 */
void check_sni(const struct policy *p, const struct plan_rule *rules, struct diag *d,
	       uint8_t *skip);

/*
 * Stage 3: the name table of pl's rules (plan.names), each name rule's list index
 * (plan_rule.sni_list), and whether a content class admits the rule. 0, -ENOMEM, -E2BIG
 * (more name classes than the data plane has content classes for; d names a rule).
 */
int lower_names(struct plan *pl, struct diag *d);
bool rule_admits_name_pl(const struct plan *pl, const struct plan_rule *r, unsigned int c);
/* Does r, a rule of pl, admit content class c (TLSFW_PL_*)? rule_admits_pl, or for a name
 * rule rule_admits_name_pl: what the lowering fills and explain reads. */
bool rule_admits_content(const struct plan *pl, const struct plan_rule *r, unsigned int c);

#endif
