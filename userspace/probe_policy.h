/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probes a policy declares: as probe targets (`tlsfw probe --policy`), and as drop rules
 * for the failing ones with `on_fail: block` (`tlsfw apply`, `tlsfw check --probe`).
 */
#ifndef TLSFW_PROBE_POLICY_H
#define TLSFW_PROBE_POLICY_H

#include "policy.h"
#include "probe.h"

/* "1.0".."1.3" to an OpenSSL version; -EINVAL otherwise. */
int probe_min_tls_parse(const char *s);
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

/* Read and check the policy into *out (free with policy_probes_free). -EINVAL: the policy
 * has errors (printed to stderr); other -errno: a system error. */
int probe_policy_targets(const char *path, struct policy_probes *out);
void policy_probes_free(struct policy_probes *pp);

#define PROBE_BLOCK_MAX_ADDRS 16 /* addresses of one probed host that its drop rule covers */

/* The drop rule of one failing `on_fail: block` probe. */
struct probe_block {
	size_t probe;				      /* index into policy.probes */
	uint16_t port;				      /* the probed port (tcp) */
	struct pol_prefix dst[PROBE_BLOCK_MAX_ADDRS]; /* /32 or /128, v4-mapped for IPv4 */
	size_t n_dst;				      /* at least 1 */
};

/*
 * The drop rule of an `on_fail: block` probe is named after the probe: a rule of the same name
 * is an error at the probe. No network. Returns 0 or -EINVAL (reported in d).
 */
int probe_policy_check_blocks(const struct policy *p, struct diag *d);

/*
 * Put the drop rules of b[0..n) FIRST in p's rule order (in b's order, ahead of every rule of
 * the file), each named after its probe with rule.probe set and the probe's locations, and
 * derive the terms again (policy_check runs once more; only its new messages reach d).
 * p must have passed policy_check. Returns 0, -EINVAL (an error in d, or a bad b), -ENOMEM.
 */
int probe_policy_add_blocks(struct policy *p, struct diag *d, const struct probe_block *b,
			    size_t n);

/*
 * Run every probe of the checked policy p (o NULL: default timeout, concurrency and the
 * system's CA store). A failing probe (not compliant, or unreachable: fail closed) is a
 * warning in d, with a note per failed check; with `on_fail: block` its drop rule is added
 * by probe_policy_add_blocks(). Between stage 2 and stage 3: apply calls it always, check
 * only with --probe. Returns 0, -EINVAL (policy errors in d: do not go on), or -errno when the
 * probes could not run at all.
 */
int probe_policy_apply_blocks(struct policy *p, struct diag *d, const struct probe_opts *o);

/*
 * The domain probes of p (probe_domain.c), as probe_policy_apply_blocks runs them: each
 * failing one is a warning in d with a note per failing check, and with on_fail: block gets
 * a drop rule in b[*nb] (tcp/25 to the MX addresses its failures concern; all of them when
 * a failure concerns the whole domain). b has room for every probe of p.
 */
int probe_policy_domains(const struct policy *p, struct diag *d, const struct probe_opts *o,
			 struct probe_block *b, size_t *nb);

#endif
