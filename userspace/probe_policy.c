// SPDX-License-Identifier: GPL-2.0
/* `tlsfw probe --policy`: compile() reads and checks the policy, its probes become targets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "compile.h"
#include "probe_block.h"
#include "probe_policy.h"

int probe_policy_targets(const char *path, struct probe_target **out, size_t *n_out)
{
	struct compile_opts co = { .path = path, .no_lower = true };
	struct probe_target *t = NULL;
	struct compiled c;
	struct diag d;
	int ret;

	diag_init(&d);
	ret = compile(&co, &c, &d);
	if (!ret && c.pol.n_probes) {
		t = calloc(c.pol.n_probes, sizeof(*t));
		if (!t)
			ret = -ENOMEM;
		for (size_t i = 0; t && i < c.pol.n_probes; i++)
			probe_target_of(&t[i], &c.pol.probes[i], &d);
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
		*n_out = c.pol.n_probes;
		t = NULL;
	}
	free(t);
	compiled_free(&c);
	diag_free(&d);
	return ret;
}
