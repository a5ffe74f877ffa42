/* SPDX-License-Identifier: GPL-2.0 */
/* The expressions of a rule (nft_expr.c), for nft_encode.c and the plan's printer: what each
 * item of the ruleset's rules (nft_ruleset.h) is in nf_tables' terms. */
#ifndef TLSFW_NFT_EXPR_H
#define TLSFW_NFT_EXPR_H

#include <stddef.h>
#include <libnftnl/rule.h>

#include "nft_ruleset.h"

struct nft_expr_ctx {
	const struct nft_ruleset *rs; /* the sets, counters and chains items refer to */
	char tag;		      /* the generation the staged sets are named after */
	int err;		      /* first error (-ENOMEM), kept */
};

/* The name a set or chain has in the kernel: staged ones get ".<tag>" after their name. */
void nft_set_fullname(const struct nft_rs_set *s, char tag, char *buf, size_t len);
void nft_chain_fullname(const struct nft_rs_chain *ch, char tag, char *buf, size_t len);
/* The set (index into rs->sets) item it looks into, or -1. */
int nft_item_set(const struct nft_rs_item *it);
/* Append the expressions of item it to r. */
void nft_item_exprs(struct nft_expr_ctx *c, struct nftnl_rule *r, const struct nft_rs_item *it);

#endif
