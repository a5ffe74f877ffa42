/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage 3 output: the plan. A backend-neutral rule list (rules.h), and from it what each
 * backend installs, as data: the BPF tables (lower_bpf.c; bpf_fill.c writes them into the maps
 * of bpf/tlsfw_abi.h for one generation) and the nftables ruleset (lower_nft.c; nft_encode.c
 * turns it into netlink messages). Only what apply alone knows is missing: the generation,
 * interface indexes, the tables already in the kernel. plan_print() is the stable text form
 * of `tlsfw check --print-plan` and the golden format.
 */
#ifndef TLSFW_PLAN_H
#define TLSFW_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>

#include "../bpf/tlsfw_abi.h"
#include "../bpf/tlsfw_content_abi.h"
#include "name_table.h"
#include "nft_ruleset.h"
#include "policy.h"
#include "rules.h"

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
	struct loc loc; /* of the name: "interface missing" and refusals point here */
};

struct plan {
	const char *file; /* the policy file, as the diag context holds its name */
	enum pol_backend backend;
	uint8_t default_action; /* enum tlsfw_action */
	uint8_t malformed_action;
	uint8_t frag_mode;
	uint8_t midstream_action; /* enum tlsfw_action: require: tls on flows without state */
	/* flow table entries: the policy's flows:, else the default when a rule follows TCP flows
	 * (plan_follows_flows); 0: none, any table in force will do (a new one is
	 * TLSFW_FLOWS_MIN: preallocated, the default's costs 45 ms and 28 MiB, performance.md) */
	uint32_t flows;
	bool has_content;	 /* some rule is a content rule */
	bool has_names;		 /* some rule is a name rule (sni:, ech:): TLSFW_CFG_NAMES */
	uint8_t sni_unordered;	 /* enum tlsfw_action: segments beyond a gap before a name */
	struct name_table names; /* the name rules' lists (keys for generation 0) */
	bool has_state;		 /* some rule has state: */

	/* the rule list, in order: failing probes' drop rules first, then the policy's */
	struct plan_rule *rules;
	size_t n_rules;
	size_t n_probe_rules; /* how many of the first rules stand for failing probes */
	struct plan_iface *ifaces;
	size_t n_ifaces;

	/* ---- the BPF half (backend: bpf) ---- */
	bool has_bpf;
	uint32_t fields;	       /* TLSFW_F_* */
	uint32_t *proto_cls;	       /* TLSFW_PROTO_SLOTS, plan_proto_slots() of them used */
	uint32_t *sport_cls;	       /* TLSFW_PORT_SLOTS entries */
	uint32_t *dport_cls;	       /* TLSFW_PORT_SLOTS entries */
	struct plan_prefix *src, *dst; /* always hold ::/0 so every lookup hits */
	size_t n_src, n_dst;
	struct plan_ctx *ctx;
	size_t n_ctx;
	struct plan_comb *comb1, *comb2, *comb3;
	size_t n_comb1, n_comb2, n_comb3;
	/* class counts per field, for printing and benchmarks */
	uint32_t n_proto_cls, n_sport_cls, n_dport_cls, n_src_cls, n_dst_cls, n_ctx_cls;
	uint32_t n_a_cls, n_b_cls;
	/* content facts -> content class (tlsfw_cfg.fact_pl): TLSFW_PL_* at TLSFW_FACT_SLOTS */
	uint8_t fact_pl[TLSFW_FACT_SLOTS];

	/* ---- the nftables half (backend: nft) ---- */
	bool has_nft;
	struct nft_ruleset nft;
};

/*
 * The protocol slots of proto_cls that mean something: all, or only the first block of 512
 * (state and content class UNKNOWN: [family * 256 + proto]) when no rule has a state or
 * content condition. The data plane then never looks a packet up under its facts:
 * decide_rule() does so only after a first lookup found a rule word with TLSFW_DW_STATE or
 * TLSFW_DW_INSPECT (architecture.md, "Generations and filling"). The other slots are not
 * written: the 383 copies of the first block and their fill cost 3 ms of a 1-rule apply
 * (performance.md, "Eighth round").
 */
static inline size_t plan_proto_slots(const struct plan *pl)
{
	return pl->has_content || pl->has_state ? TLSFW_PROTO_SLOTS : 512;
}

/* Does a rule of pl keep state in the flow table (require: tls, sni:, ech:)? payload: quic
 * does not: a datagram is judged alone. */
static inline bool plan_follows_flows(const struct plan *pl)
{
	for (size_t i = 0; i < pl->n_rules; i++)
		if (pl->rules[i].require_tls || pl->rules[i].names)
			return true;
	return false;
}

/* What the lowering is given besides the checked policy. */
struct lower_opts {
	/* Rules put first in order, ahead of the policy's own: the drop rules of failing
	 * `on_fail: block` probes, located at their probe (probe_policy.c builds them). */
	const struct pol_rule *extra;
	size_t n_extra;
	bool bpf, nft; /* both false: the half that the policy's backend needs */
	/* policy_check_rules' rule list of the policy's rules, taken over (left empty); NULL
	 * or empty: the lowering builds it */
	struct rule_list *rules;
};

/*
 * Stage 3. p must have passed policy_check; o may be NULL. Returns 0, -ENOMEM, -E2BIG (a
 * table would exceed its map; d names the rule) or -EINVAL (a prefix the data plane cannot
 * hold; d names it). out is safe to free with plan_free() in every case.
 */
int policy_lower(const struct policy *p, const struct lower_opts *o, struct plan *out,
		 struct diag *d);
void plan_free(struct plan *pl);
/* Stable text form: the BPF tables, or the nftables ruleset as `nft list table inet tlsfw`
 * shows it, whichever halves the plan holds. */
void plan_print(const struct plan *pl, FILE *out);
/* The nftables half alone, as `nft list table inet tlsfw` shows it (plan_print_nft.c). */
void plan_print_nft(const struct plan *pl, FILE *out);

#endif
