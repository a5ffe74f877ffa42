/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference for content inspection (bpf/quic.h, tls.h, names.h, flow.h), in plain C and
 * sharing no code with them: the facts are computed from whole buffers, the client's stream
 * is reassembled and parsed again from its first byte after every segment, names are matched
 * by a walk over the patterns. Outcomes use the enums of bpf/tlsfw_content_abi.h (the
 * contract), so the two can be compared field by field.
 */
#ifndef TLSFW_REF_CONTENT_H
#define TLSFW_REF_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "tlsfw_content_abi.h"

/* enum tlsfw_quic of a UDP datagram (its payload, len bytes). */
int ref_quic(const uint8_t *d, size_t len);

/* The facts of a client stream prefix (the bytes seen in order from the first on). */
struct ref_hello {
	int tls;   /* TLSFW_TLS_UNDECIDED, _YES, _NO */
	int hello; /* TLSFW_HELLO_UNDECIDED, _NAME, _NO_NAME, _MALFORMED, _NOT_TLS */
	int why;   /* enum tlsfw_why with MALFORMED */
	int ech;
	char name[TLSFW_SNI_MAX + 1]; /* with NAME: lower case */
	size_t name_len;
};

void ref_stream(const uint8_t *s, size_t len, struct ref_hello *out);

/* A flow as content_tcp() follows it: segments in arrival order. */
struct ref_flow {
	uint8_t *stream; /* the bytes seen in order */
	size_t next, cap;
	int conflict; /* a retransmission changed the first bytes */
	int want;     /* TLSFW_WANT_HELLO from the first segment on */
};

/* Facts of one segment: tls / hello also UNORDERED for a segment beyond a gap. */
struct ref_facts {
	int tls, hello, why, ech;
	char name[TLSFW_SNI_MAX + 1];
	size_t name_len;
};

void ref_flow_init(struct ref_flow *f, int want);
void ref_flow_free(struct ref_flow *f);
/* A segment of the client: len payload bytes at stream offset off (from ISN + 1); `placed` 0
 * for a payload that cannot be placed (an IP fragment). Returns -ENOMEM or 0. */
int ref_flow_segment(struct ref_flow *f, uint64_t off, const uint8_t *data, size_t len, int placed,
		     struct ref_facts *out);

/* Name lists: patterns "name" or "*.suffix", each in list `list` (0..63). */
struct ref_pattern {
	const char *pattern;
	unsigned int list;
};

/* The lists (bit per list) whose patterns match host name `name` (case-insensitive). */
uint64_t ref_name_lists(const struct ref_pattern *p, size_t n, const char *name);

#endif
