// SPDX-License-Identifier: GPL-2.0
/* Where a reject's answer is built: see apply_reply.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>

#include "apply_reply.h"

bool reply_xdp_tx_reaches(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	bool bus = false;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	ifr.ifr_data = (void *)&info;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		bus = info.bus_info[0] != 0;
	close(fd);
	return bus;
}

bool *reply_rejecting_classes(const struct plan *pl)
{
	bool *rej = calloc(pl->n_ctx_cls + 1, sizeof(*rej));

	if (!rej)
		return NULL;
	/* comb3 holds every (ctx, A, B) a rule decides, whatever form the fill picks */
	for (size_t i = 0; i < pl->n_comb3; i++) {
		const struct plan_comb *c = &pl->comb3[i];
		const struct plan_rule *r = &pl->rules[c->out];

		if (c->a < pl->n_ctx_cls && r->action == TLSFW_ACT_REJECT && !r->monitor)
			rej[c->a] = true;
	}
	return rej;
}
