// SPDX-License-Identifier: GPL-2.0
/* read -> check -> probes (when asked) -> lower, once for every command (compile.h). */
#include <errno.h>
#include <string.h>

#include "compile.h"
#include "probe_policy.h"

static bool failed(const struct diag *d)
{
	return d->errors || d->truncated;
}

int compile(const struct compile_opts *o, struct compiled *out, struct diag *d)
{
	int err;

	memset(out, 0, sizeof(*out));
	err = policy_read_file(&out->pol, o->path, d);
	if (err)
		return failed(d) ? -EINVAL : err;
	policy_check(&out->pol, d);
	if (failed(d))
		return -EINVAL;
	if (o->probes) {
		/* -EINVAL: an error in d; anything else: the probes could not run at all */
		err = probe_policy_apply_blocks(&out->pol, d, o->probe_opts);
		if (err)
			return err;
	}
	if (o->no_lower || out->pol.backend != POL_BACKEND_BPF)
		return 0;
	err = policy_lower(&out->pol, &out->plan, d);
	if (err)
		return d->errors ? -EINVAL : err;
	return 0;
}

void compiled_free(struct compiled *c)
{
	plan_free(&c->plan);
	policy_free(&c->pol);
}
