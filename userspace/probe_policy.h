/* SPDX-License-Identifier: GPL-2.0 */
/* `tlsfw probe --policy`: the probes a policy declares, as probe targets. */
#ifndef TLSFW_PROBE_POLICY_H
#define TLSFW_PROBE_POLICY_H

#include <stddef.h>

#include "probe.h"

/* "1.0".."1.3" to an OpenSSL version; -EINVAL otherwise. */
int probe_min_tls_parse(const char *s);
/* Read and check the policy (compile() without lowering); on success *t holds *n targets
 * (free with free()). -EINVAL: the policy has errors (printed to stderr); other -errno: a
 * system error. */
int probe_policy_targets(const char *path, struct probe_target **t, size_t *n);

#endif
