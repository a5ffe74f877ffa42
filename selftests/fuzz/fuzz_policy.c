// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: arbitrary bytes through stages 1 to 3 (read, check, lower) and the
 * diagnostic printer, as `tlsfw check --print-plan` would run them. Any crash, leak or
 * undefined behaviour is a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "policy.h"

/* One sink for every run: opening /dev/null per input would dominate the cost. */
static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	sink = fopen("/dev/null", "w");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy pol;
	struct plan plan;
	struct diag d;

	if (size > 1 << 20)
		return 0; /* the reader handles it, but slowly; not what we are looking for */
	diag_init(&d);
	memset(&plan, 0, sizeof(plan));
	if (!policy_read_mem(&pol, "fuzz.conf", (const char *)data, size, &d) &&
	    !policy_check(&pol, &d) && !d.errors) {
		if (!policy_lower(&pol, NULL, &plan, &d))
			plan_print(&plan, sink);
		else
			policy_print_table(&pol, sink);
	}
	diag_print(&d, sink);
	diag_print_summary(&d, sink, "nothing applied");
	plan_free(&plan);
	policy_free(&pol);
	diag_free(&d);
	return 0;
}
