/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The compiler's one entry point: read (stage 1), check (stage 2), the policy's probes when
 * asked (their failing `on_fail: block` probes become extra rules for the lowering), lower
 * (stage 3). Used by `tlsfw check`, `tlsfw apply` and `tlsfw probe --policy`; none of them
 * calls the stages one by one. Nothing here touches the kernel.
 */
#ifndef TLSFW_COMPILE_H
#define TLSFW_COMPILE_H

#include <stdbool.h>

#include "diag.h"
#include "plan.h"
#include "policy.h"
#include "probe.h"

struct compile_opts {
	const char *path;		     /* the policy file; "-" reads stdin */
	bool probes;			     /* run the policy's probes (apply; check --probe) */
	const struct probe_opts *probe_opts; /* NULL: defaults */
	bool no_lower;			     /* stop after check: probe --policy */
	bool bpf, nft;			     /* lower both halves when asked (tests); by default
					      * the one of the policy's backend */
	/* Called once the policy is read, before it is checked and lowered (apply starts the
	 * grace period's wait there, grace.h). */
	void (*on_read)(const struct policy *pol);
};

struct compiled {
	struct policy pol;	      /* read and checked; the lowering's input */
	struct pol_rule *probe_rules; /* drop rules of failing probes, the lowering's other input */
	size_t n_probe_rules;
	struct plan plan; /* the lowering's output (empty with no_lower) */
};

/*
 * Returns 0; -EINVAL when d holds errors of the policy (exit 1: nothing changed); another
 * -errno when the system failed (exit 2; d may say more). out is always safe to free with
 * compiled_free(), also after a failure.
 */
int compile(const struct compile_opts *o, struct compiled *out, struct diag *d);
void compiled_free(struct compiled *c);

#endif
