/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow table as tlsfw.conf(5) and architecture.md ("Flow table") describe it, in plain C
 * for the differential test: flows keyed by the 5-tuple as the client sends it, created by
 * the client's SYN (a SYN with another ISN restarts one), bytes placed by sequence number,
 * the TLS start taken from ref_content.c's reference flow. Unbounded: a test keeps fewer
 * flows than the kernel's table holds, so nothing is evicted.
 */
#ifndef TLSFW_REF_FLOWTAB_H
#define TLSFW_REF_FLOWTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ref_content.h"
#include "ref_decide.h"

struct ref_flowtab_entry {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t isn;
	bool hello_done; /* the ClientHello was complete (or malformed) after an earlier segment */
	int tls;	 /* the TLS start after the last segment (enum tlsfw_tls) */
	struct ref_flow flow;
};

struct ref_flowtab {
	struct ref_flowtab_entry *v;
	size_t n, cap;
	int want; /* TLSFW_WANT_HELLO: the policy has name rules, ClientHellos are parsed */
};

/* One TCP segment of pkt's 5-tuple as the data plane reads it: flags, sequence number, the
 * payload the receiver takes (none for a RST), and whether it can be placed (not for an IP
 * fragment). */
struct ref_segment {
	uint8_t flags;
	uint32_t seq;
	const uint8_t *data;
	size_t len;
	bool fragment;
};

/* Take the segment; pkt->tls gets the flow's TLS start after it (MIDSTREAM without state),
 * pkt->rst the RST flag, pkt->tls_fresh whether the segment changed it to YES or NO, and with
 * `want` pkt->hello, ech, name and hello_fresh the flow's ClientHello. Returns 0 or -ENOMEM. */
int ref_flowtab_segment(struct ref_flowtab *t, struct ref_pkt *pkt, const struct ref_segment *s);
void ref_flowtab_clear(struct ref_flowtab *t);

#endif
