/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `tlsfw apply --wait SECONDS`: at boot the interfaces a policy names may not exist yet (a
 * driver still loading, udev about to rename eth0 to lan0). Wait for them on the kernel's
 * own link notifications (rtnetlink, through libmnl): subscribe, then list the links once,
 * then follow every new, renamed and deleted link until all names exist or time runs out.
 * No polling, no sleeps.
 */
#ifndef TLSFW_IFWAIT_H
#define TLSFW_IFWAIT_H

#include <stddef.h>

#include "diag.h"
#include "policy.h"

#define IFWAIT_MAX_SECONDS 3600

/*
 * Wait until every interface named in names[0..n) exists in this network namespace, at most
 * timeout_ms. 0 when they all do; -ETIMEDOUT with an error in d naming the ones still missing;
 * another -errno with the reason in d.
 */
int ifwait_names(const char *const *names, size_t n, unsigned int timeout_ms, struct diag *d);

/* The same for the interfaces of a policy. */
int ifwait_policy(const struct policy *pol, unsigned int timeout_ms, struct diag *d);

#endif
