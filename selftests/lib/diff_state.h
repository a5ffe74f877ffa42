/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection state for the differential test (test_differential.c). The test moves into a
 * network namespace of its own (BPF_PROG_TEST_RUN looks conntrack up in the namespace of the
 * calling process, on its loopback device) and makes conntrack entries there through
 * ctnetlink (ctnl.c) for 5-tuples aimed at the policy: unreplied, replied, or expected by
 * another entry (related). Packets are sent on them in either direction, and ICMP errors
 * carry them. Each packet's state is what netfilter gives it, known from how the test made
 * the entries, never read back from the kernel.
 */
#ifndef TLSFW_DIFF_STATE_H
#define TLSFW_DIFF_STATE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctnl.h"
#include "pkt.h"
#include "plan.h"
#include "randpol.h"

#define DS_ENTRIES 24 /* entries made for each batch (one interface of a policy) */

enum ds_kind { DS_UNREPLIED, DS_REPLIED, DS_EXPECTED, DS_KINDS };

struct ds_entry {
	struct ctnl_tuple t; /* the original direction */
	enum ds_kind kind;
};

struct diff_state {
	struct ctnl nl;
	struct ds_entry v[DS_ENTRIES];
	size_t n;
	/* the packet being built by ds_packet(): an ICMP error carrying inner (embed) */
	bool embed;
	struct ctnl_tuple inner;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN]; /* its addresses for pkt_build */
	unsigned long made[DS_KINDS];			   /* entries made, by kind */
	unsigned long states[TLSFW_CT_VALUES]; /* packets decided by a state rule, by state */
	unsigned long icmp_related;	       /* of which ICMP errors */
	unsigned long batches, plan_checks;
};

/* of state rules, each state, for ds_thin(): a generator that stopped making one shows as
 * none; seeds 100-170 gave as few as 91 related (seed 165), so not 100 */
#define DS_MIN_VERDICTS 50

/* Into a network namespace of its own, and ctnetlink opened there. 0 or -errno. */
int ds_open(struct diff_state *d);
void ds_close(struct diff_state *d);
/* The entries of a new batch of packets on ifc: every earlier entry deleted, DS_ENTRIES made
 * from packets randpol aims at pol. 0 or -errno. */
int ds_batch(struct diff_state *d, const struct policy *pol, const struct pol_iface *ifc,
	     struct rp_rng *r);
/* Now and then put a TCP or UDP packet (ref, o: its builder options, TCP flags chosen) on an
 * entry, in either direction, or make an ICMP packet an error about an entry or about no
 * connection (whole: not a fragment); then set ref->ct. */
void ds_packet(struct diff_state *d, struct rp_rng *r, struct ref_pkt *ref, struct pkt_opts *o,
	       bool whole);
/* The state netfilter gives ref (TCP flags flags) with the entries made. */
uint8_t ds_expect(const struct diff_state *d, const struct ref_pkt *ref, uint8_t flags);
/* Writes the packet an ICMP error carries (ds_packet) into p; 0 or -EINVAL. */
int ds_embed(const struct diff_state *d, struct pkt *p);
/* The verdict v of ref (ref_decide) against the plan's (plan_sim; pl NULL: not compared),
 * counting state rules' verdicts. Returns 1 (and prints why) on a difference, else 0. */
int ds_verdict(struct diff_state *d, const struct policy *pol, const struct plan *pl,
	       const struct ref_pkt *ref, const struct ref_verdict *v);

/* One line of what was made and decided. */
void ds_print(const struct diff_state *d);
/* Too little coverage: too few entries of a kind, or state rules' verdicts of a state. */
bool ds_thin(const struct diff_state *d);

#endif
