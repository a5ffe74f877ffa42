/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The BPF backend's `state:` and TCP content rules (require, sni, ech) read the kernel's
 * conntrack, which tracks a network namespace only while someone holds it there
 * (ct_track.c: table inet tlsfw_conntrack).
 */
#ifndef TLSFW_CT_TRACK_H
#define TLSFW_CT_TRACK_H

#include "diag.h"

/* Make conntrack track the current network namespace (again); 0 or -errno after a message
 * that begins with key (the policy key that needs it) and names the missing kernel feature. */
int ct_track_on(const char *key, struct diag *d);
/* Let it go (table inet tlsfw_conntrack deleted; none: 0). 0 or -errno. */
int ct_track_off(void);

#endif
