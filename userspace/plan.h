/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage 3 output: the plan. The exact contents the data plane reads, minus the two things
 * only apply knows (the generation being written and interface indexes), plus the nftables
 * operations. bpf_fill.c writes a plan into the maps of bpf/tlsfw_abi.h for one generation;
 * plan_print() is the stable text form of `tlsfw check --print-plan` and the golden format.
 */
#ifndef TLSFW_PLAN_H
#define TLSFW_PLAN_H

#include <stdint.h>
#include <stdio.h>
#include <net/if.h>

#include "../bpf/tlsfw_abi.h"
#include "policy.h"

struct plan_rule {	  /* one per policy rule, in policy order */
	const char *name; /* points into the policy */
	uint8_t action;	  /* enum tlsfw_action */
	uint8_t monitor;
	uint32_t line;
};

struct plan_prefix {
	uint8_t addr[16]; /* v4-mapped for IPv4 */
	uint8_t plen;	  /* 0..128, IPv6 bits */
	uint32_t cls;
};

struct plan_ctx { /* (interface, direction) -> phase-0 class */
	char ifname[IFNAMSIZ];
	uint8_t dir; /* enum tlsfw_dir */
	uint32_t cls;
};

struct plan_comb { /* one entry of a combination table */
	uint32_t a, b, c;
	uint32_t out; /* comb1/comb2: next class; comb3: rule index into plan.rules */
};

struct plan_iface {
	char name[IFNAMSIZ];
	unsigned int hooks; /* POL_HOOK_* */
	enum pol_xdp_mode xdp_mode;
};

enum plan_nft_op_kind { PLAN_NFT_NONE = 0 }; /* filled in by the nftables issue */

struct plan {
	uint32_t fields;	/* TLSFW_F_* */
	uint8_t default_action; /* enum tlsfw_action */
	uint8_t malformed_action;
	uint8_t frag_mode;

	uint32_t proto_cls[TLSFW_PROTO_SLOTS]; /* [family * 256 + proto] */
	uint32_t *sport_cls;		       /* TLSFW_PORT_SLOTS entries */
	uint32_t *dport_cls;		       /* TLSFW_PORT_SLOTS entries */
	struct plan_prefix *src, *dst;	       /* always hold ::/0 so every lookup hits */
	size_t n_src, n_dst;
	struct plan_ctx *ctx;
	size_t n_ctx;
	struct plan_comb *comb1, *comb2, *comb3;
	size_t n_comb1, n_comb2, n_comb3;

	/* class counts per field, for printing and benchmarks */
	uint32_t n_proto_cls, n_sport_cls, n_dport_cls, n_src_cls, n_dst_cls, n_ctx_cls;
	uint32_t n_a_cls, n_b_cls;

	struct plan_rule *rules;
	size_t n_rules;
	struct plan_iface *ifaces;
	size_t n_ifaces;
};

/* Stage 3. p must have passed policy_check. Returns 0 or -ENOMEM / -E2BIG (a table would
 * exceed its map; d then names the rule line). */
int policy_lower(const struct policy *p, struct plan *out, struct diag *d);
void plan_free(struct plan *pl);
/* Stable text form. */
void plan_print(const struct plan *pl, FILE *out);

#endif
