/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probes compile() runs (`tlsfw apply`, `tlsfw check --probe`): a failing probe with
 * `on_fail: block` becomes a drop rule for the destination and port it probed, handed to the
 * lowering as an extra rule ahead of the policy's (lower_opts.extra). The policy is not
 * changed.
 */
#ifndef TLSFW_PROBE_BLOCK_H
#define TLSFW_PROBE_BLOCK_H

#include "policy.h"
#include "probe.h"

#define PROBE_BLOCK_MAX_ADDRS 16 /* addresses of one probed host that its drop rule covers */

/* The drop rule of one failing `on_fail: block` probe. */
struct probe_block {
	size_t probe;				      /* index into policy.probes */
	uint16_t port;				      /* the probed port (tcp) */
	struct pol_prefix dst[PROBE_BLOCK_MAX_ADDRS]; /* /32 or /128, v4-mapped for IPv4 */
	size_t n_dst;				      /* at least 1 */
};

/* min_tls: of the probe, as an OpenSSL version (1.2 when absent); -EINVAL after an error. */
int probe_min_tls_of(const struct pol_probe *pp, struct diag *d);
/* The probe target of pp (its min_tls and verify included); -EINVAL after an error in d. */
int probe_target_of(struct probe_target *t, const struct pol_probe *pp, struct diag *d);

/*
 * The drop rule of an `on_fail: block` probe is named after the probe: a rule of the same name
 * is an error at the probe. No network. Returns 0 or -EINVAL (reported in d).
 */
int probe_policy_check_blocks(const struct policy *p, struct diag *d);

/*
 * The drop rules of b[0..n), in b's order: tcp to the probed port and addresses, each named
 * after its probe (rule.probe set) and located at it. *out is an array of n rules to free
 * with probe_rules_free(). Returns 0, -EINVAL (a bad b) or -ENOMEM.
 */
int probe_block_rules(const struct policy *p, const struct probe_block *b, size_t n,
		      struct pol_rule **out);
void probe_rules_free(struct pol_rule *rules, size_t n);

/*
 * Run every probe of the checked policy p (o NULL: default timeout, concurrency and the
 * system's CA store): servers (target:) together, then mail domains (domain:, probe_domain.c;
 * their drop rule is tcp/25 to the MX addresses their failures concern). A failing probe (not compliant, or unreachable: fail closed) is a
 * warning in d, with a note per failed check; with `on_fail: block` its drop rule is added
 * to *rules (*n_rules of them, in probe order; free with probe_rules_free()). Returns 0,
 * -EINVAL (policy errors in d: do not go on), or -errno when the probes could not run at all.
 */
int probe_policy_run(const struct policy *p, struct diag *d, const struct probe_opts *o,
		     struct pol_rule **rules, size_t *n_rules);

#endif
