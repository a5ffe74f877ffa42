// SPDX-License-Identifier: GPL-2.0
/* `tlsfw probe --policy`: compile() reads and checks the policy, its probes become targets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "probe_block.h"
#include "probe_policy.h"

/* A domain probe as `probe --policy` runs it. */
static int domain_of(struct policy_domain *pd, const struct pol_probe *pp, struct diag *d)
{
	pd->min_tls = probe_min_tls_of(pp, d);
	snprintf(pd->domain, sizeof(pd->domain), "%s", pp->domain);
	snprintf(pd->label, sizeof(pd->label), "%s", pp->name ? pp->name : "");
	if (pp->trust_anchor && strlen(pp->trust_anchor) >= sizeof(pd->trust_anchor)) {
		diag_error(d, &pp->trust_anchor_loc, "probe '%s': trust_anchor path too long",
			   pp->name);
		return -EINVAL;
	}
	snprintf(pd->trust_anchor, sizeof(pd->trust_anchor), "%s",
		 pp->trust_anchor ? pp->trust_anchor : "");
	return pd->min_tls < 0 ? -EINVAL : 0;
}

static int split_probes(const struct policy *pol, struct policy_probes *out, struct diag *d)
{
	out->t = calloc(pol->n_probes, sizeof(*out->t));
	out->d = calloc(pol->n_probes, sizeof(*out->d));
	if (!out->t || !out->d)
		return -ENOMEM;
	for (size_t i = 0; i < pol->n_probes; i++) {
		const struct pol_probe *pp = &pol->probes[i];

		if (pp->domain && !domain_of(&out->d[out->n_d], pp, d))
			out->n_d++;
		else if (!pp->domain && !probe_target_of(&out->t[out->n_t], pp, d))
			out->n_t++;
	}
	return 0;
}

int probe_policy_targets(const char *path, struct policy_probes *out)
{
	struct compile_opts co = { .path = path, .no_lower = true };
	struct compiled c;
	struct diag d;
	int ret;

	memset(out, 0, sizeof(*out));
	diag_init(&d);
	ret = compile(&co, &c, &d);
	if (!ret && c.pol.n_probes)
		ret = split_probes(&c.pol, out, &d);
	if (ret == -ENOMEM) {
		fprintf(stderr, "tlsfw: out of memory\n");
	} else if (ret || d.errors || d.truncated) {
		diag_print(&d, stderr);
		diag_print_summary(&d, stderr, "nothing probed");
		ret = -EINVAL;
	} else {
		diag_print(&d, stderr);
	}
	if (ret)
		policy_probes_free(out);
	compiled_free(&c);
	diag_free(&d);
	return ret;
}

void policy_probes_free(struct policy_probes *pp)
{
	free(pp->t);
	free(pp->d);
	memset(pp, 0, sizeof(*pp));
}
