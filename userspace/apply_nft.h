/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage 4b: enforce a checked policy with nftables alone (`backend: nft`). The whole policy
 * becomes one table, inet tlsfw, that tlsfw alone owns; one libnftnl batch sent with libmnl
 * replaces its contents atomically (the kernel commits all of the batch or none of it). The
 * table itself stays: the batch flushes its rules, deletes its sets and chains and the
 * counters the new policy no longer names, and creates the new ones, so counters that keep
 * their name go on counting through the commit (but for the interface totals whose label the
 * new policy changes, relabel.h: made again at zero, and said on out). See "nftables backend"
 * in Documentation/architecture.md for the ruleset's shape.
 *
 * Every function works in the caller's network namespace and never runs `nft`.
 */
#ifndef TLSFW_APPLY_NFT_H
#define TLSFW_APPLY_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>

#include "diag.h"
#include "nft_encode.h"
#include "plan.h"

struct nft_apply_opts {
	const char *policy_file; /* absolute path, recorded in the table for status */
	const uint8_t *sha256;	 /* 32 bytes: the policy file's hash */
	bool dry_run;		 /* send the batch without its end: the kernel checks every
				   * message, then aborts the transaction; nothing changes */
	FILE *out;		 /* progress ("lan0: ingress nft hook ingress"), or NULL */
	/* What the table holds now (apply_nft reads it; NULL: no table). Counters named again
	 * by the new policy (same rule, interface and direction) are left in place, so counts
	 * continue across apply exactly, as in the BPF backend; the others are deleted. */
	const struct nft_existing *old;
};

/*
 * Encode the plan's nftables half (nft_encode.c), send and check the batch. On a kernel
 * refusal d receives an error at the policy line whose rule (or interface) produced the
 * refused message. The caller holds the namespace lock and has blocked the stopping signals
 * (one pending before either transaction ends the apply). Returns 0, -EPERM without privilege, or the kernel's -errno;
 * nothing changed on failure.
 */
int apply_nft(const struct plan *pl, const struct nft_apply_opts *o, struct diag *d);

/* What table inet tlsfw says about itself. */
struct nft_status {
	bool present;
	bool foreign; /* table inet tlsfw exists without chain tlsfw_policy: not made by tlsfw */
	char policy_file[256]; /* as recorded (a long path keeps its tail, "...") */
	uint8_t sha256[32];
	uint64_t applied_at; /* seconds since the epoch */
	uint32_t n_rules;
	char default_action[8]; /* "allow" | "drop" */
	char tag;		/* generation of the sets in force: 'a', 'b' (0: unknown) */
	struct nft_status_hook {
		char ifname[IFNAMSIZ];
		bool ingress, egress;
	} * hooks;
	size_t n_hooks;
};

/* Returns 0 (present false when there is no table, also when the kernel has no nf_tables),
 * or -errno with the reason in d. */
int nft_status_read(struct nft_status *st, struct diag *d);
/* Returns 0 (old->table false when no table), or -errno with the reason in d. */
int nft_existing_read(struct nft_existing *old, struct diag *d);
void nft_existing_free(struct nft_existing *old);
void nft_status_free(struct nft_status *st);

/* One named counter of the table. rule is a policy rule's name, or for the interface's own
 * counters "(stat)" with stat a name of stats.c: "(default)" (the default verdict decided),
 * "(pass)", "(drop)", "(reject)", "(monitor)" (totals by verdict, as the BPF backend keeps
 * them), "(fragment-dropped)", "(fragment-allowed)". */
struct nft_counter {
	char name[128]; /* the counter object's name, "r_block-quic/lan0/in" */
	char rule[64];
	char action[8]; /* allow | drop | reject */
	char mode[8];	/* enforce | monitor */
	char ifname[IFNAMSIZ];
	char direction[8]; /* ingress | egress */
	unsigned int line; /* policy line of the rule, 0 for default/fragments */
	uint64_t packets, bytes;
};

/* An interface's own counter ("(default)", "(pass)", ...), not a rule's. The implicit
 * rule "(essentials)" (rules.h) is written like them but is a rule. */
static inline bool nft_own_counter(const char *rule)
{
	return rule[0] == '(' && strcmp(rule, RULE_ESSENTIALS_NAME);
}

/* Every counter of table inet tlsfw: rule counters in policy order per chain (their action,
 * mode and line from the rules that count into them), then the interfaces' own counters.
 * reset: read and zero atomically. *out is NULL and *n 0 when there is no table. Returns 0
 * or -errno. */
int nft_counters_read(struct nft_counter **out, size_t *n, bool reset, struct diag *d);

/*
 * Remove what tlsfw installed: with n == 0 the whole table inet tlsfw; otherwise those
 * interfaces' chains, dispatch entries and counters (and the table when none of the policy's
 * is left). ifnames are distinct interfaces the table holds. -ENOENT: nothing of ours there.
 */
int nft_detach(const char *const *ifnames, size_t n, struct diag *d);

#endif
