/* SPDX-License-Identifier: GPL-2.0 */
/* `tlsfw probe --policy`: the probes a policy declares, as probe targets. */
#ifndef TLSFW_PROBE_POLICY_H
#define TLSFW_PROBE_POLICY_H

#include <stddef.h>

#include "probe.h"

/* A domain: probe of a policy. */
struct policy_domain {
	char domain[PROBE_NAME_MAX];
	char label[PROBE_NAME_MAX]; /* the probe's name */
	int min_tls;
	char trust_anchor[1024]; /* "": none */
};

/* The probes of a policy: servers (target:) and mail domains (domain:), in policy order. */
struct policy_probes {
	struct probe_target *t;
	size_t n_t;
	struct policy_domain *d;
	size_t n_d;
};

/* Read and check the policy (compile() without lowering) into *out (free with
 * policy_probes_free). -EINVAL: the policy has errors (printed to stderr); other -errno: a
 * system error. */
int probe_policy_targets(const char *path, struct policy_probes *out);
void policy_probes_free(struct policy_probes *pp);

#endif
