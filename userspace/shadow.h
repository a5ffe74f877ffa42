/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rules that can never match (check_shadow.c, stage 2): a rule is shadowed when every packet
 * it matches is matched first by one earlier rule, or by the union of earlier rules that each
 * cover it in every field but one. The analysis works on views: a term of a rule restricted
 * to one address family and to the protocols with ports or without, so that "family: ipv4"
 * then "family: ipv6" is seen to cover everything, and "proto: tcp" then "proto: icmp" to
 * cover "proto: [tcp, icmp]".
 */
#ifndef TLSFW_SHADOW_H
#define TLSFW_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intervals.h"
#include "rules.h"

enum { SH_PROTO, SH_SPORT, SH_DPORT, SH_SRC, SH_DST, SH_CTX, SH_FIELDS };

struct shadow_view {
	struct protoset protos;
	const struct ivls *field[4]; /* sport, dport (IVL_PORT_NONE: no ports), src, dst */
	uint32_t ctx;
	uint32_t rule;
	unsigned int fam; /* POL_FAM_V4 or POL_FAM_V6 */
};

struct shadow_in {
	const struct plan_rule *rules;
	size_t n_rules;
	const uint32_t *ctx;  /* per rule: the (interface, direction) pairs it can see */
	const uint8_t *bad;   /* per rule: holds an error, so it is neither judged nor a shadower */
	unsigned long budget; /* work units before the analysis stops quietly */
};

/* The views of every rule, in rule order (v4 ported, v6 ported, v4 unported, v6 unported per
 * term). *views is malloc'd. 0 or -ENOMEM. */
int shadow_views(const struct shadow_in *in, struct shadow_view **views, size_t *n);

/* Called for each rule that can never match, with by[j] set for every earlier rule j that
 * matches first (at least one). */
typedef void (*shadow_report)(void *arg, size_t rule, const uint8_t *by);

/* The analysis, indexed (check_shadow.c). 0 or -ENOMEM. */
int shadow_analyse(const struct shadow_in *in, shadow_report report, void *arg);

/* One view against another, as the analysis judges them (the pairwise reference in
 * selftests/lib/shadow_ref.c walks with the same judgement). */
/* No packet in common: family, contexts, protocols, and each interval field (the port
 * bounds first). A view that shares none is never named as matching first. */
bool shadow_disjoint(const struct shadow_view *t, const struct shadow_view *u);
/* Holds no packet at all. */
bool shadow_view_empty(const struct shadow_view *v);
/* The fields (1 << SH_*) in which u does not cover t; exact when at most one. */
unsigned int shadow_uncovered(const struct shadow_view *t, const struct shadow_view *u);
/* Does the union of group's field f cover t's? */
bool shadow_union_covers(const struct shadow_view *t, const struct shadow_view **group, size_t n,
			 int f);

#endif
