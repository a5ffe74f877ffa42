/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The nftables half of the plan: table inet tlsfw as data. lower_nft.c makes it from the rule
 * list; nft_encode.c turns it into libnftnl messages; plan_print_nft.c prints it as `nft list
 * table inet tlsfw` shows it. Every object carries the location of the policy element it
 * comes from, so that a message the kernel refuses points at a line of the policy. No
 * libnftnl type here: this is what the table holds, not how it is sent.
 */
#ifndef TLSFW_NFT_RULESET_H
#define TLSFW_NFT_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "diag.h"

/* nftables data types (nftables' datatype.h): what `nft list` prints the keys as */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_INET_PROTOCOL 12
#define NFT_TYPE_INET_SERVICE 13
#define NFT_TYPE_IFNAME 41
#define NFT_TYPE_BITS 6 /* a concatenation's type: one type per 6 bits */

struct nft_rs_elem {
	uint8_t key[16], key_end[16];
	bool has_end;	   /* concatenated intervals: key_end is the inclusive end */
	bool interval_end; /* plain intervals: this key is one past the previous element's end */
	int chain;	   /* verdict map: index of the chain to jump to; else -1 */
	struct loc loc;	   /* the value it comes from */
};

struct nft_rs_set {
	char name[80]; /* as in the policy: "web_pd"; staged sets get ".a" or ".b" added */
	bool staged;   /* made in the first transaction, under the new generation's name */
	uint32_t key_type, key_len;
	uint32_t flags;	   /* NFT_SET_* */
	uint8_t fields[2]; /* concatenation field lengths, or 0 */
	uint32_t size;	   /* declared size (the element count), 0: none */
	bool key_host;	   /* key in host byte order (strings), for nft's printing */
	bool map;	   /* a verdict map */
	struct nft_rs_elem *e;
	size_t n;
	int rule; /* index into plan.rules of the rule it serves, -1: the policy's */
	struct loc loc;
};

enum nft_item_kind {
	NFT_I_NFPROTO,	   /* meta nfproto == fam */
	NFT_I_L4PROTO,	   /* meta l4proto == proto */
	NFT_I_L4PROTO_SET, /* meta l4proto @set */
	NFT_I_PORT,	   /* meta l4proto == proto, th sport|dport == lo, or in lo..hi */
	NFT_I_PORT_SET,	   /* meta l4proto . th sport|dport @set */
	NFT_I_PORT_VMAP,   /* meta l4proto == proto, th dport vmap @set: a run (lower_nft.c) */
	NFT_I_ADDR,	   /* ip|ip6 saddr|daddr & mask == network */
	NFT_I_ADDR_SET,	   /* ip|ip6 saddr|daddr @set */
	NFT_I_FRAG4,	   /* ip frag-off & mask != 0 */
	NFT_I_FRAG6,	   /* exthdr frag exists */
	NFT_I_FRAG6_OFF,   /* exthdr frag frag-off & 0xfff8 != 0 (not the first fragment) */
	NFT_I_OIFNAME,	   /* oifname vmap @set */
	NFT_I_COUNTER,	   /* counter name "..." */
	NFT_I_ACCEPT,
	NFT_I_DROP,
	NFT_I_GOTO,	    /* goto chain */
	NFT_I_REJECT_TCP,   /* reject with tcp reset */
	NFT_I_REJECT_ICMPX, /* reject with icmpx admin-prohibited */
	NFT_I_ICMP_TYPE,    /* meta l4proto == proto, icmp|icmpv6 type == lo, or in lo..hi */
	NFT_I_HOPLIMIT,	    /* ip6 hoplimit == lo */
	NFT_I_CT_STATE,	    /* ct state { lo: NF_CT_STATE_* bits } */
	NFT_I_IIFNAME_NE,   /* iifname != addr (the name, NUL-padded to IFNAMSIZ) */
};

struct nft_rs_item {
	enum nft_item_kind kind;
	uint8_t fam;	  /* POL_FAM_V4 | POL_FAM_V6: nfproto, addresses */
	uint8_t proto;	  /* l4proto, port */
	bool src;	  /* port, address: the source one */
	uint16_t lo, hi;  /* port: one port (lo == hi) or a range; FRAG4: the mask */
	uint8_t addr[16]; /* address: the network, 4 or 16 bytes */
	uint8_t plen;	  /* address: prefix length in the family's bits */
	int ref;	  /* set, counter or chain index */
};

struct nft_rs_rule {
	int chain; /* index into chains */
	struct nft_rs_item *items;
	size_t n;
	char comment[128]; /* what `nft list` prints after it */
	int counter;	   /* the rule counter whose records it carries (stats), or -1 */
	char info[64];	   /* those records: "action=drop mode=enforce line=12" */
	int rule;	   /* index into plan.rules, -1: the policy's (fragments, default, ...) */
	struct loc loc;
};

struct nft_rs_chain {
	char name[160]; /* staged chains get ".a" or ".b" added, as staged sets */
	bool staged;	/* a rule chain of a run: made in the first transaction, empty */
	int hook;	/* NF_INET_*, -1: a regular chain */
	int prio;
	char dev[IFNAMSIZ]; /* ingress hook: the device */
	bool records;	    /* the policy chain: holds the records of the policy in force */
	int iface;	    /* index into plan.ifaces, -1: the policy's */
	struct loc loc;
};

struct nft_rs_counter {
	char name[160];	      /* "<rule>/<if>/<in|out>", "<if>/<in|out>/<stat>" */
	char comment[128];    /* "rule=R iface=I dir=D": only what the name says */
	int rule;	      /* index into plan.rules, -1: the interface's own */
	unsigned int relabel; /* the RELABEL_* bit that zeroes it across apply (relabel.h), or 0 */
	struct loc loc;
};

struct nft_ruleset {
	char comment[64];	     /* the policy chain's: "tlsfw: <file name>" */
	struct nft_rs_chain *chains; /* the records chain first, then in the order they are made;
				      * the rule chains of runs last */
	size_t n_chains;
	struct nft_rs_set *sets; /* the rules' sets in rule order, then the egress map */
	size_t n_sets;
	struct nft_rs_counter *counters;
	size_t n_counters;
	struct nft_rs_rule *rules; /* chain by chain, in the chains' order */
	size_t n_rules;
	uint32_t n_policy_rules; /* records: the policy's rule count */
	uint8_t default_action;	 /* records */
	bool rejects;		 /* records: a rule in enforce mode rejects */
};

void nft_ruleset_free(struct nft_ruleset *rs);

#endif
