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
/* Read and check the policy; on success *t holds *n targets (free with free()). -EINVAL: the
 * policy has errors (printed to stderr); other -errno: a system error. */
int probe_policy_targets(const char *path, struct probe_target **t, size_t *n);

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

#endif
