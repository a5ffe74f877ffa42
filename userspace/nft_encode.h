/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The nftables ruleset of a plan (nft_ruleset.h) as libnftnl messages: one batch of two
 * transactions that replaces what table inet tlsfw holds (nft_encode.c). Nothing here talks to
 * the kernel, so unit tests read the batch; apply_nft.c sends it.
 */
#ifndef TLSFW_NFT_ENCODE_H
#define TLSFW_NFT_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "plan.h"
#include "relabel.h"

#define NFT_TLSFW_TABLE "tlsfw" /* family inet */

/* The names of what table inet tlsfw holds now, which the next batch replaces. */
struct nft_existing {
	bool table;
	char tag;			   /* generation of the sets in force ('a', 'b', 0) */
	bool have_records;		   /* the policy chain's records were read: */
	struct relabel_old records;	   /* the default action, whether a rule rejects */
	char **chains, **sets, **counters; /* counters: sorted by strcmp */
	size_t n_chains, n_sets, n_counters;
};

struct nft_encode_opts {
	const char *policy_file; /* absolute path, recorded in the table for status */
	const uint8_t *sha256;	 /* 32 bytes: the policy file's hash */
	bool dry_run;		 /* no end message: the kernel checks every message, then
				  * aborts the transaction; nothing changes */
	/* What the table holds now (NULL: no table). Counters named again by the new policy
	 * (same rule, interface and direction) are left in place, so counts continue across
	 * apply exactly, as in the BPF backend; the others are deleted. */
	const struct nft_existing *old;
	/* RELABEL_* bits (relabel.h): the interfaces' own counters of these kinds that old
	 * holds are deleted and made again at zero, in the switch. */
	unsigned int relabel;
};

/* Which element of the plan produced message i of a batch (0 is the batch begin). */
enum nft_owner_kind { NFT_OWN_TABLE, NFT_OWN_IFACE, NFT_OWN_RULE, NFT_OWN_POLICY };

struct nft_owner {
	enum nft_owner_kind kind;
	int idx;	/* index into plan.rules or plan.ifaces; -1 for table/policy */
	struct loc loc; /* of the policy element (line 0: the whole file) */
	char what[80];	/* "set block-quic_pd.a", "chain lan0_in", ... */
};

/*
 * Two transactions when the policy has interval sets (or a run's chains) to stage, unless
 * dry_run. The first (buf[0, split)) only adds the new policy's interval sets with their
 * elements, under names of a new generation (".a"/".b"), which nothing uses yet; the second
 * (buf[split, len)) switches: flushes the rules, makes the new chains, hash sets, rules and
 * counters, and deletes the previous sets, chains and counters. The kernel's interval sets
 * (rbtree, pipapo) publish elements added in a transaction only after that transaction's
 * generation flip, so rules created with their sets in one transaction miss for a moment:
 * measured, about one packet per apply passed a drop rule under traffic (none with a hash
 * set, whose elements turn active at the flip). Made in a transaction of their own, the
 * interval sets are complete before any rule looks into them. The first transaction changes
 * no verdict; if the second fails, apply_nft deletes the staged sets (staged[]), and the next
 * apply deletes any it could not. Without anything to stage the whole batch is the switch,
 * one transaction (split 0).
 * A dry run sends both parts as one transaction without its end.
 */
struct nft_batch {
	char *buf;
	size_t len, cap;
	size_t split;  /* byte offset of the second transaction, or 0 */
	uint32_t seq0; /* sequence number of message 0 */
	struct nft_owner *owner;
	size_t n_msgs, cap_msgs;
	char **staged; /* names of the sets the first transaction adds */
	size_t n_staged;
	char **staged_chains; /* and of its (empty) chains, which those sets jump to */
	size_t n_staged_chains;
	unsigned int n_rules, n_sets, n_chains, n_counters, n_elems;
};

/* The batch replacing table inet tlsfw with the nftables half of pl. Returns 0, -EINVAL
 * (the plan has no nftables half) or -ENOMEM. */
int nft_encode(const struct plan *pl, const struct nft_encode_opts *o, struct nft_batch *b);
void nft_batch_free(struct nft_batch *b);

/* One deletion: NFT_MSG_DELTABLE (table inet tlsfw; name unused), NFT_MSG_DELCHAIN,
 * NFT_MSG_DELSET, NFT_MSG_DELOBJ (a counter) by name, or NFT_MSG_DELSETELEM (the egress map's
 * element of interface name). */
struct nft_del {
	uint16_t type;
	const char *name;
};

/* A batch of these deletions, in order, as one transaction (detach; the sets staged for a
 * refused switch). Returns 0 or -ENOMEM. */
int nft_batch_deletes(struct nft_batch *b, const struct nft_del *dels, size_t n);

#endif
