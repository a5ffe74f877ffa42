// SPDX-License-Identifier: GPL-2.0
/* The BPF lowering's working state, shared by lower_bpf.c and lower_ports.c. */
#ifndef TLSFW_LOWER_BPF_PRIV_H
#define TLSFW_LOWER_BPF_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "termsets.h"

struct lower {
	struct diag *d;
	struct plan *pl; /* its rule list is the input, its BPF tables the output */
	size_t n_rules;	 /* rules taken into account: a prefix of the list */
	size_t n_terms;
	size_t w;
	uint32_t *rule_first, *rule_nterms; /* terms of each rule */
	const struct rule_term **term;	    /* all terms, in rule order */
	uint32_t *term_rule;		    /* the rule of each */
	struct bsset proto, sport, dport, src, dst, ctx, a, b;
	uint64_t *tmp, *tmp2, *tmp3;
	uint8_t *src_fam, *dst_fam; /* per src/dst class: families of its entries (bit 0 v4) */
	const char *overflow;	    /* which table went over its map, for the message */
};

/* Phase 0 for a port field (sport, or dport with ICMP types): pl->sport_cls or dport_cls. */
int lower_ports(struct lower *l, bool dport);

#endif
