// SPDX-License-Identifier: GPL-2.0
/* ICMP and ICMPv6 type names (icmp_types.h). */
#include <string.h>

#include "icmp_types.h"

/* nftables' names first (what `nft list` prints back), then the aliases. */
const struct icmp_type_name icmp_type_names[] = {
	{ "echo-reply", 0, 129 },
	{ "destination-unreachable", 3, 1 },
	{ "source-quench", 4, -1 },
	{ "redirect", 5, 137 },
	{ "echo-request", 8, 128 },
	{ "router-advertisement", 9, 134 },
	{ "router-solicitation", 10, 133 },
	{ "time-exceeded", 11, 3 },
	{ "parameter-problem", 12, 4 },
	{ "timestamp-request", 13, -1 },
	{ "timestamp-reply", 14, -1 },
	{ "info-request", 15, -1 },
	{ "info-reply", 16, -1 },
	{ "address-mask-request", 17, -1 },
	{ "address-mask-reply", 18, -1 },
	{ "packet-too-big", -1, 2 },
	{ "mld-listener-query", -1, 130 },
	{ "mld-listener-report", -1, 131 },
	{ "mld-listener-done", -1, 132 },
	{ "nd-router-solicit", -1, 133 },
	{ "nd-router-advert", -1, 134 },
	{ "nd-neighbor-solicit", -1, 135 },
	{ "nd-neighbor-advert", -1, 136 },
	{ "nd-redirect", -1, 137 },
	{ "router-renumbering", -1, 138 },
	{ "ind-neighbor-solicit", -1, 141 },
	{ "ind-neighbor-advert", -1, 142 },
	{ "mld2-listener-report", -1, 143 },
	/* aliases */
	{ "mld-listener-reduction", -1, 132 },
	{ "neighbor-solicitation", -1, 135 },
	{ "neighbour-solicitation", -1, 135 },
	{ "neighbor-advertisement", -1, 136 },
	{ "neighbour-advertisement", -1, 136 },
};

const size_t n_icmp_type_names = sizeof(icmp_type_names) / sizeof(icmp_type_names[0]);

const struct icmp_type_name *icmp_type_find(const char *name)
{
	for (size_t i = 0; i < n_icmp_type_names; i++)
		if (!strcmp(icmp_type_names[i].name, name))
			return &icmp_type_names[i];
	return NULL;
}

const char *icmp_type_name(unsigned int t, bool v6)
{
	for (size_t i = 0; i < n_icmp_type_names; i++)
		if ((v6 ? icmp_type_names[i].v6 : icmp_type_names[i].v4) == (int)t)
			return icmp_type_names[i].name;
	return NULL;
}
