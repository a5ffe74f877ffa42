// SPDX-License-Identifier: GPL-2.0
/*
 * `state:` in the nftables ruleset: `ct state` in the rule. The inet ingress hook runs before
 * conntrack, where every packet's state reads invalid, so a policy with state rules gets its
 * interfaces' ingress chains on the prerouting hook instead (after conntrack, priority
 * filter), named "<if>_pre", each beginning with `iifname != "<if>" accept`. Prerouting sees
 * reassembled datagrams (conntrack reassembles) and addresses after DNAT: see tlsfw.conf(5).
 */
#include <stdio.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>

#include "lower_nft_priv.h"

/* NF_CT_STATE_* bit of each POL_ST_* bit, in pol_state_names order */
static const uint16_t ct_bits[POL_ST_COUNT] = {
	NF_CT_STATE_BIT(IP_CT_NEW),
	NF_CT_STATE_BIT(IP_CT_ESTABLISHED),
	NF_CT_STATE_BIT(IP_CT_RELATED),
	NF_CT_STATE_INVALID_BIT,
};

void nl_ct_state(struct nctx *c, struct nft_rs_rule *nr, const struct plan_rule *r)
{
	struct nft_rs_item *it;
	uint16_t bits = 0;

	if (!r->state)
		return;
	for (unsigned int i = 0; i < POL_ST_COUNT; i++)
		if (r->state & (1u << i))
			bits |= ct_bits[i];
	it = nl_item(c, nr, NFT_I_CT_STATE);
	if (it)
		it->lo = bits;
}

void nl_ct_chain_name(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "%s_pre", ifname);
}

void nl_ct_ingress(struct nctx *c, struct nft_rs_chain *ch, int chain, const char *ifname)
{
	struct nft_rs_rule *nr;
	struct nft_rs_item *it;

	ch->hook = NF_INET_PRE_ROUTING;
	ch->dev[0] = 0;
	nr = nl_rule_new(c, chain, -1, NULL, "state: this chain is for one interface");
	it = nl_item(c, nr, NFT_I_IIFNAME_NE);
	if (!it)
		return;
	memset(it->addr, 0, sizeof(it->addr));
	memcpy(it->addr, ifname, strnlen(ifname, sizeof(it->addr) - 1));
	nl_item(c, nr, NFT_I_ACCEPT);
}
