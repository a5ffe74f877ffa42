// SPDX-License-Identifier: GPL-2.0
/* The probes of a policy, read by stages 1 and 2 (never lowered: on_fail is not ours here). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "probe_policy.h"

static int one(struct probe_target *t, const struct pol_probe *pp, struct diag *d)
{
	char err[256];
	int v;

	if (probe_target_parse(t, pp->target, pp->starttls, err, sizeof(err))) {
		diag_error(d, pp->starttls && strstr(err, "STARTTLS protocol") ? &pp->starttls_loc :
									      &pp->target_loc,
			   "probe '%s': %s", pp->name, err);
		return -EINVAL;
	}
	if (pp->min_tls) {
		v = probe_min_tls_parse(pp->min_tls);
		if (v < 0) {
			diag_error(d, &pp->min_tls_loc,
				   "probe '%s': min_tls must be \"1.0\", \"1.1\", \"1.2\" or \"1.3\", not '%s'",
				   pp->name, pp->min_tls);
			return -EINVAL;
		}
		t->min_tls = v;
	}
	t->verify = pp->verify;
	snprintf(t->label, sizeof(t->label), "%s", pp->name ? pp->name : "");
	return 0;
}

int probe_policy_targets(const char *path, struct probe_target **out, size_t *n_out)
{
	struct probe_target *t = NULL;
	struct policy pol;
	struct diag d;
	int ret;

	diag_init(&d);
	ret = policy_read_file(&pol, path, &d);
	if (!ret)
		policy_check(&pol, &d);
	if (!ret && !d.errors && pol.n_probes) {
		t = calloc(pol.n_probes, sizeof(*t));
		if (!t)
			ret = -ENOMEM;
		for (size_t i = 0; t && i < pol.n_probes; i++)
			one(&t[i], &pol.probes[i], &d);
	}
	if (ret == -ENOMEM) {
		fprintf(stderr, "tlsfw: out of memory\n");
	} else if (ret || d.errors || d.truncated) {
		diag_print(&d, stderr);
		diag_print_summary(&d, stderr, "nothing probed");
		ret = -EINVAL;
	} else {
		diag_print(&d, stderr);
		*out = t;
		*n_out = pol.n_probes;
		t = NULL;
	}
	free(t);
	policy_free(&pol);
	diag_free(&d);
	return ret;
}
