/* SPDX-License-Identifier: GPL-2.0 */
/* What rtnetlink says about a link of the current network namespace. */
#ifndef TLSFW_LINKINFO_H
#define TLSFW_LINKINFO_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

/*
 * Is link `name` a port of a bridge? 1 with the bridge's name in master (IFNAMSIZ bytes),
 * 0 when it is not (no master, or a master of another kind: a bond, a VRF), or -errno.
 */
int link_bridge_master(const char *name, char master[IFNAMSIZ]);

/* Is link `name` a bridge (IFLA_INFO_KIND "bridge")? 1, 0 or -errno. */
int link_is_bridge(const char *name);

/* The link type of ifindex (ARPHRD_*, linux/if_arp.h), or -errno. */
int link_type(uint32_t ifindex);

#endif
