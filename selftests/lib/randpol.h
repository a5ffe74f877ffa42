/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policies for tests, built in memory (no reader, no checker needed) or written out as YAML
 * text for the real reader: random ones for differential tests, and small builder helpers for
 * hand-written ones. Memory of a policy built here is released with randpol_free(), never
 * policy_free().
 */
#ifndef TLSFW_RANDPOL_H
#define TLSFW_RANDPOL_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "ref_decide.h"

/* A small, seedable generator (splitmix64): the same seed gives the same policy. */
struct rp_rng {
	uint64_t s;
};

void rp_seed(struct rp_rng *r, uint64_t seed);
uint64_t rp_next(struct rp_rng *r);
uint32_t rp_below(struct rp_rng *r, uint32_t n); /* 0 .. n-1; n > 0 */

struct randpol_opts {
	unsigned int max_rules; /* 1 .. max_rules rules */
	bool services;		/* may use `service:` */
	bool monitor;		/* may use `mode: monitor` */
	bool valid;		/* only what policy_check accepts (else also contradictions
				  * that the checker refuses but the lowering must survive) */
	bool content;		/* may use `payload: quic`, `require: tls`, `midstream:` */
	bool names;		/* may use `sni:`, `sni_match:`, `ech:`, `service: doh`,
				 * `sni_unordered:` (always valid: TCP only) */
	bool state;		/* may use `state:` (one value or a list) on any rule */
};

/* Builder helpers. Names are copied. Return 0 or -ENOMEM (-EINVAL for a bad CIDR). */
void randpol_init(struct policy *p);
int randpol_add_iface(struct policy *p, const char *name, unsigned int hooks);
/* Appends a rule with no matches (action given, enforce mode); *out stays valid until the
 * next randpol_add_rule. */
int randpol_add_rule(struct policy *p, const char *name, enum pol_action action,
		     struct pol_rule **out);
void randpol_add_proto(struct pol_rule *r, uint8_t proto);
int randpol_add_range(struct pol_ports *pp, uint16_t lo, uint16_t hi);
int randpol_add_cidr(struct pol_prefixes *ps, const char *cidr);
int randpol_add_name(struct pol_names *nn, const char *name);
void randpol_free(struct policy *p);

/* Server names (randpol_names.c): make rule a name rule (TCP, sni: list from a small pool, not,
 * none, ech:, or service: doh); a host name for traffic, from the pool's names, the names
 * its wildcards cover and names outside it, in mixed case now and then. */
int randpol_names_rule(struct rp_rng *r, struct pol_rule *rule);
void randpol_host_name(struct rp_rng *r, char *buf, size_t len);

/* A random valid policy. */
int randpol_new(struct policy *p, struct rp_rng *r, const struct randpol_opts *o);
/* The policy as a YAML policy file (malloc'd, NUL-terminated), or NULL. */
char *randpol_yaml(const struct policy *p);

/* A random packet seen on one of the policy's hooked (interface, direction) pairs, biased
 * towards the policy's ports and prefixes so that rules match often. Never an IPv6 address
 * inside ::ffff:0:0/96. ifname points into p. Under a policy with content rules, random
 * content facts too (quic, tls, rst); under one with state rules, a random state (ct). */
void randpol_packet(const struct policy *p, struct rp_rng *r, struct ref_pkt *pkt);

#endif
