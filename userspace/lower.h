/* SPDX-License-Identifier: GPL-2.0 */
/* Inside stage 3: policy_lower.c builds the rule list, then calls each half's lowering. */
#ifndef TLSFW_LOWER_H
#define TLSFW_LOWER_H

#include "diag.h"
#include "plan.h"

/* The BPF half of pl from its rule list (lower_bpf.c). 0, -ENOMEM, -EINVAL or -E2BIG with
 * the rule to blame in d. */
int lower_bpf(struct plan *pl, struct diag *d);
void plan_bpf_free(struct plan *pl);
/* The nftables half of pl from its rule list (lower_nft.c). 0 or -ENOMEM. */
int lower_nft(struct plan *pl, struct diag *d);

#endif
