/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference decision: a linear first-match scan over a checked policy's rules, sharing
 * nothing with the lowering (it reads rules, not terms, and expands services from the
 * catalog itself). Obviously correct rather than fast; tests compare the plan and the data
 * plane against it.
 */
#ifndef TLSFW_REF_DECIDE_H
#define TLSFW_REF_DECIDE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

#define REF_NAME_MAX 255 /* TLSFW_SNI_MAX */

struct ref_pkt {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	bool has_ports; /* TCP or UDP with a readable transport header */
	bool has_type;	/* ICMP or ICMPv6 with a readable type */
	uint8_t icmp_type;
	uint8_t hop_limit; /* IPv6 (IPv4: ignored) */
	uint16_t sport, dport;
	uint8_t src[16], dst[16]; /* v4-mapped for IPv4 */
	const char *ifname;
	uint8_t dir; /* enum tlsfw_dir */
	/* What content rules read (issue 12; zero: nothing known, no content rule matches):
	 * enum tlsfw_quic of a UDP datagram; enum tlsfw_tls of the TCP flow once this segment
	 * is taken (MIDSTREAM: no flow state); a TCP RST (no stream data, no content class). */
	uint8_t quic, tls;
	bool rst;
	/* This segment decided the flow's TLS start (tls became YES or NO): the flows passed or
	 * cut of a require: tls rule count the flow once (decide.h, count_tls). */
	bool tls_fresh;
	/* What name rules read (issue 13), for a TCP segment of a flow the data plane parses:
	 * enum tlsfw_hello after this segment, the encrypted_client_hello extension, the server
	 * name (lower case, with NAME), and whether this segment completed the ClientHello (it
	 * counts the flow as matched by the name rule that decides it). */
	uint8_t hello, ech;
	bool hello_fresh;
	char name[REF_NAME_MAX + 1];
	/* What state rules read (issue 17): enum tlsfw_ct, the packet's connection state as
	 * the test made it (NEW .. INVALID); UNKNOWN (zero): not known, no state rule matches. */
	uint8_t ct;
};

/* ref_verdict.rule of the implicit rule of `essentials: allow`, which comes first */
#define REF_ESSENTIALS (-2)

struct ref_verdict {
	int rule;	/* index into the policy's rules; -1: default; REF_ESSENTIALS */
	uint8_t action; /* enum tlsfw_action */
	uint8_t monitor;
};

struct ref_verdict ref_decide(const struct policy *p, const struct ref_pkt *pkt);
/* What happens to the packet: a monitor-mode rule lets it pass. */
uint8_t ref_effective(const struct ref_verdict *v);
/* Does the essentials rule match pkt (whatever the policy says of essentials)? */
bool ref_essential(const struct ref_pkt *pkt);
/* Where rule (of a ref_verdict) is in the plan's rule list of p, without probe rules: the
 * essentials rule first, then p's rules; -1 stays -1. */
int ref_plan_index(const struct policy *p, int rule);
/* Does rule r match pkt by its fields, content aside? (exported for tests that want to
 * explain a verdict) */
bool ref_rule_matches(const struct pol_rule *r, const struct ref_pkt *pkt);
/* Does rule r admit pkt's connection state (a rule without state: admits every state)? */
bool ref_state_matches(const struct pol_rule *r, const struct ref_pkt *pkt);
/* Does the data plane read pkt's content: is the first rule whose fields match it a content
 * rule (payload:, require:, or a name rule)? Only then does a TCP segment update its flow's
 * state. A rule with state: alone that does not list pkt's state is passed over (the data
 * plane asks conntrack first); one with content and state: reads the content first. */
bool ref_inspects(const struct policy *p, const struct ref_pkt *pkt);
/* Has p a name rule: does the data plane parse ClientHellos under it? */
bool ref_has_names(const struct policy *p);
/* Is r a name rule (sni:, ech:, or a service with server names such as doh)? (ref_names.c) */
bool ref_rule_has_names(const struct pol_rule *r);
/* Does name rule r match pkt by its ClientHello facts (its fields aside)? */
bool ref_names_match(const struct policy *p, const struct pol_rule *r, const struct ref_pkt *pkt);
/* One line describing pkt, for failure messages. */
void ref_pkt_print(const struct ref_pkt *pkt, FILE *out);
/* Are a and b segments of one TCP connection (either direction)? */
bool ref_same_flow(const struct ref_pkt *a, const struct ref_pkt *b);

#endif
