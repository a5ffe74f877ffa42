/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by lower_nft.c and lower_nft_run.c: the lowering's context and its builders. */
#ifndef TLSFW_LOWER_NFT_PRIV_H
#define TLSFW_LOWER_NFT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lower.h"
#include "plan.h"

extern const uint8_t nl_ported[2]; /* [0] tcp, [1] udp: the protocols with ports */

/* Shorter runs keep one nft rule per policy rule, which reads like the policy in `nft list`
 * and needs no set for rules of one port each. */
#define NFT_RUN_MIN 8

/* A run of rules in a chain, looked up in a verdict map per protocol (lower_nft_run.c). */
struct run {
	size_t start, end; /* rules [start, end) of the plan; the members: those applying here */
	int set[2];	   /* the verdict maps of tcp and udp ports, or -1 */
	int chain;	   /* the chain it is in */
	int first_counter; /* of its first member; the others follow */
	int reject, own;   /* the chain's reject chain and first own counter */
	unsigned int ii;   /* the interface */
	bool egress;
};

struct nctx {
	const struct plan *pl;
	struct nft_ruleset *rs;
	int *counters; /* per (interface, direction): index of its first counter, or -1 */
	bool *in_run;  /* per rule: in a run in every chain it applies to (needs no set) */
	struct run *runs;
	size_t n_runs, cap_runs;
	size_t cap_chains, cap_sets, cap_counters, cap_rules;
	int err;
};

/* How a rule of the list is matched: what is inline, what in which set. */
struct shape {
	int port_set[2];		    /* [0] dport, [1] sport: set index, or -1 */
	bool one[2];			    /* a single protocol and port (range), inline */
	struct nft_rs_item port1[2];	    /* that comparison */
	bool any[2];			    /* the rule has ports there */
	int one_proto;			    /* a single protocol without ports, or -1 */
	int proto_set;			    /* set of protocols, or -1 */
	int addr_set[2][2];		    /* [src, dst][v4, v6]: set, or -1 */
	const struct rule_pfx *addr1[2][2]; /* a single prefix, inline */
	bool split;			    /* one nft rule per family */
	bool never;			    /* no term: the rule matches nothing */
	bool per_term;			    /* ICMP types, hop limits: one nft rule per value */
};

struct chain_ctx {
	int chain;
	const char *ifname;
	bool egress;
	int reject;	  /* the reject chain */
	int next_counter; /* the counter of the next rule that applies here */
	int own;	  /* the first of the interface's own counters */
};

/* ---- builders (lower_nft.c): append to the ruleset; on failure set c->err, return NULL/-1 */

void *nl_grow(struct nctx *c, void *v, size_t n, size_t *cap, size_t size);
struct nft_rs_chain *nl_chain_new(struct nctx *c, const char *name, int iface,
				  const struct loc *loc);
struct nft_rs_set *nl_set_new(struct nctx *c, const char *name, int rule, const struct loc *loc);
struct nft_rs_elem *nl_elem_new(struct nctx *c, struct nft_rs_set *s, const struct loc *loc);
struct nft_rs_rule *nl_rule_new(struct nctx *c, int chain, int owner, const struct loc *loc,
				const char *comment);
struct nft_rs_item *nl_item(struct nctx *c, struct nft_rs_rule *r, enum nft_item_kind kind);
void nl_item_ref(struct nctx *c, struct nft_rs_rule *r, enum nft_item_kind kind, int ref);
/* Where the port value at lo of protocol proto comes from: the first term holding it. */
const struct loc *nl_port_loc(const struct plan_rule *r, bool sport, uint8_t proto, ivl_key lo);
bool nl_rule_applies(const struct plan_rule *r, size_t ii, bool egress);
/* Rule ri of the plan in chain cc->chain, matching what sh says, counting into the next
 * counter of cc. */
void nl_rule_in_chain(struct nctx *c, size_t ri, const struct shape *sh, struct chain_ctx *cc);

/* ---- state: (lower_nft_ct.c) ---------------------------------------------------------------- */

/* `ct state` of rule r in nr, when r has state: */
void nl_ct_state(struct nctx *c, struct nft_rs_rule *nr, const struct plan_rule *r);
/* With state rules, the ingress chain of ifname is "<if>_pre" on the prerouting hook (after
 * conntrack), chain ch at index chain, which it makes so and gives its first rule. */
void nl_ct_chain_name(char *buf, size_t len, const char *ifname);
void nl_ct_ingress(struct nctx *c, struct nft_rs_chain *ch, int chain, const char *ifname);

/* ---- runs (lower_nft_run.c) ---------------------------------------------------------------- */

/* c->in_run for every rule, before the rules' sets are made. */
void nl_runs_mark(struct nctx *c);
/* The run of chain (ii, egress) from rule start: its members are the rules of [start, *end)
 * that apply there. Returns their number. */
size_t nl_run_at(const struct plan *pl, size_t ii, bool egress, size_t start, size_t *end);
/* The run's lookup in chain cc (n members from rule start); its counters are the next n. */
void nl_run_lookup(struct nctx *c, struct chain_ctx *cc, size_t start, size_t end, size_t n);
/* The rule chains of every run and its maps' elements, once all other chains are made. */
void nl_run_chains(struct nctx *c);

#endif
