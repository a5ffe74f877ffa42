// SPDX-License-Identifier: GPL-2.0
/* PLACEHOLDER for stage 3: replaced by the lowering work. */
#include <errno.h>
#include <string.h>

#include "plan.h"

int policy_lower(const struct policy *p, struct plan *out, struct diag *d)
{
	memset(out, 0, sizeof(*out));
	return -ENOSYS;
}

void plan_free(struct plan *pl)
{
}

void plan_print(const struct plan *pl, FILE *out)
{
}
