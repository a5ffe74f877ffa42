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

/* A class table of n words (the plan's proto_cls, sport_cls, dport_cls), of which the
 * lowering writes the first used: when that is all of them, its pages mapped and populated in
 * one call, not faulted in one at a time (a first touch cost 6 to 22 us a page on the VMs
 * measured, performance.md; the three tables are 320 pages); else only the pages touched
 * are. NULL when out of memory. */
uint32_t *cls_table_alloc(size_t n, size_t used);
void cls_table_free(uint32_t *t, size_t n);

/* Phase 0 for a port field (sport, or dport with ICMP types): pl->sport_cls or dport_cls. */
int lower_ports(struct lower *l, bool dport);

#endif
