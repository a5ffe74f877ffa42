/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The backend-neutral rule list, stage 3's first step (lower_rules.c): each policy rule with
 * its services expanded and its matches merged into sets (intervals.h), in policy order. The
 * BPF tables (lower_bpf.c) and the nftables ruleset (lower_nft.c) are both built from it, and
 * the checker's shadowing analysis reads the same list, so what a rule matches is derived in
 * one place.
 */
#ifndef TLSFW_RULES_H
#define TLSFW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "intervals.h"
#include "policy.h"
#include "tlsfw_abi.h"

/*
 * One alternative of a rule: a rule is the OR of its terms. A rule without services has one;
 * `service: [dot, doq]` gives one per (protocols, ports) alternative of the services (tcp/853
 * and udp/853 merge into one), since a cross product of protocols and ports would match what
 * no service names.
 */
struct rule_term {
	struct protoset protos;	   /* tcp and udp only when the term has ports */
	bool has_sport, has_dport; /* false: any, packets without ports included */
	struct ivls sport, dport;  /* normalized */
	struct loc loc;		   /* where its ports come from: the service, or the rule's dport */
	/* icmp_type: the types per family ([RULE_V4] ICMP, [RULE_V6] ICMPv6), and the same as
	 * the values the data plane classifies in place of a dport (keys: TLSFW_ICMP6_*) */
	bool has_type;
	struct ivls types[2], keys[2];
	uint8_t hop;	   /* ICMPv6: the hop limit it needs (255 or 1), 0: any */
	unsigned int fams; /* POL_FAM_* its packets can have, 0: the rule's */
};

struct rule_pfx {
	uint8_t addr[16]; /* masked; IPv4 v4-mapped */
	uint8_t plen;	  /* IPv6 bits */
	struct loc loc;	  /* of the value as written */
};

struct rule_addrs {	    /* a rule's src or dst prefixes of one family */
	struct rule_pfx *v; /* sorted by address, then length; no duplicates */
	size_t n;
	struct ivls merged; /* their union as disjoint intervals */
};

struct plan_rule {
	const char *name;  /* points into the policy (or its probe) */
	uint8_t action;	   /* enum tlsfw_action */
	uint8_t monitor;   /* mode: monitor */
	uint32_t line;	   /* of the rule */
	const char *probe; /* the failing probe this drop rule stands for, or NULL */
	struct loc loc, name_loc, action_loc;

	struct rule_term *terms; /* in order; none: the rule matches nothing */
	size_t n_terms;
	struct protoset protos;		      /* union of the terms' protocols */
	bool any_sport, any_dport;	      /* some term has ports */
	struct ivls sport_by[2], dport_by[2]; /* [0] tcp, [1] udp: the terms' ports, merged */
	bool by_borrowed;		      /* they are terms[0]'s sets (one term): not freed */
	unsigned int fams;		      /* POL_FAM_* its packets can have */
	unsigned int family;		      /* as written, 0: any */
	bool has_src, has_dst;		      /* false: any address */
	struct rule_addrs src[2], dst[2];     /* [0] IPv4, [1] IPv6 */
	unsigned int direction;		      /* POL_DIR_* mask, 0: both */
	uint32_t ctx;			      /* RULE_CTX bits of the hooks it applies to */
	bool essentials;		      /* the implicit rule of `essentials: allow` */
	bool has_type;			      /* some term has ICMP types, hop limits or fams */
	/*
	 * Content matches: the rule matches a subset of the packets its other matches select,
	 * those whose content class (tlsfw_abi.h, TLSFW_PL_*) the rule admits. A content rule
	 * is inspected: its rule words carry TLSFW_DW_INSPECT. Still to come, each one member
	 * here with its location, derived in lower_rules.c and admitted in lower_bpf.c's
	 * content field: the ClientHello's server name and ECH (`sni:`, `ech:`, issue 13),
	 * connection state (`state:`, issue 17).
	 */
	bool payload_quic, require_tls;
	struct loc payload_loc, require_loc;
	/* sni:, sni_match:, ech: (issue 13): the ClientHello's name class and ECH */
	bool names;			/* some of them written: a content rule */
	bool sni_none, sni_not;		/* sni: none; sni_match: not */
	uint8_t ech;			/* enum pol_ech */
	const struct pol_names *sni;	/* the policy's list (NULL: no sni: list) */
	const char *const *builtin_sni; /* service: doh: the catalog's list, NULL-terminated */
	uint32_t sni_list;		/* the list's index in the plan's name table */
	struct loc names_loc;
	/* state: POL_ST_* mask, 0 = any state. The same two-step lookup as content, with its
	 * own phase-0 value (TLSFW_CT_*, rule_admits_ct) and rule word bit TLSFW_DW_STATE. */
	unsigned int state;
	struct loc state_loc;
	uint32_t log_rate; /* log: events per second (TLSFW_DW_LOG), 0: none */
	struct loc log_loc;
};

/* Bit of (interface i of the policy, direction) in plan_rule.ctx. */
#define RULE_CTX(i, egress) (1u << (2 * (i) + ((egress) ? 1 : 0)))

/* Family index of rule_addrs arrays. */
#define RULE_V4 0
#define RULE_V6 1

/* A content rule: it matches only packets whose content class it admits (rule_admits_pl).
 * Its rule word has TLSFW_DW_INSPECT, plus REQUIRE or NAME for the TCP kinds: the data plane
 * (decide.h, inspect) takes INSPECT alone for payload: quic. A new content kind needs a bit
 * of its own there. */
static inline bool rule_is_content(const struct plan_rule *r)
{
	return r->payload_quic || r->require_tls || r->names;
}

/* Does r admit content class pl (TLSFW_PL_*)? Every rule admits UNKNOWN (the first
 * classification); a content rule after that only its own classes. */
static inline bool rule_admits_pl(const struct plan_rule *r, unsigned int pl)
{
	if (pl == TLSFW_PL_UNKNOWN || !rule_is_content(r))
		return true;
	if (r->payload_quic)
		return pl == TLSFW_PL_QUIC;
	return pl == TLSFW_PL_NOT_TLS || pl == TLSFW_PL_CONFLICT || pl == TLSFW_PL_UNORDERED;
}

/* A state rule: it matches only packets whose conntrack state it admits (rule_admits_ct). */
static inline bool rule_is_state(const struct plan_rule *r)
{
	return r->state != 0;
}

/*
 * Build the rule list entry of r (a rule of p, or an extra rule placed ahead of p's; its
 * interfaces are looked up in p). excluded(arg, j) is told about every service j of r that
 * keeps nothing after r's proto and dport (the checker's error; NULL: nobody asks). Returns 0
 * or -ENOMEM; out is safe to free either way.
 */
int rule_build(const struct policy *p, const struct pol_rule *r, struct plan_rule *out,
	       void (*excluded)(void *arg, size_t service), void *arg);
void rule_free(struct plan_rule *r);

/* The rule list of a policy's own rules, one entry each, in order: stage 2's product (it
 * judges them), which stage 3 takes over instead of building it again. */
struct rule_list {
	struct plan_rule *v;
	size_t n;
};

void rule_list_free(struct rule_list *l);
/* The implicit rule "(essentials)" of p, which the lowering puts ahead of p's rules: IPv6
 * neighbour discovery and MLD, DHCPv4 and DHCPv6 on the link (lower_rules.c says exactly
 * what). 0 or -ENOMEM; out is safe to free either way. */
int rule_essentials(const struct policy *p, struct plan_rule *out);
/* Name of the implicit rule, in stats and status. */
#define RULE_ESSENTIALS_NAME "(essentials)"

#endif
