/* SPDX-License-Identifier: GPL-2.0 */
/* ICMP and ICMPv6 message type names, as nftables spells them (`nft describe icmp type`,
 * `nft describe icmpv6 type`), plus the plain English names of the neighbour discovery
 * messages, which mean the same message in both families where both have one. */
#ifndef TLSFW_ICMP_TYPES_H
#define TLSFW_ICMP_TYPES_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct icmp_type_name {
	const char *name;
	int16_t v4, v6; /* -1: not a message of that family */
};

extern const struct icmp_type_name icmp_type_names[];
extern const size_t n_icmp_type_names;

/* The entry for name, or NULL. */
const struct icmp_type_name *icmp_type_find(const char *name);
/* The name nftables prints for type t of the family (v6 false: ICMP), or NULL. */
const char *icmp_type_name(unsigned int t, bool v6);

#endif
