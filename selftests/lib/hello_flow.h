/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client's TCP flow that starts with a ClientHello (content_gen.c), as a list of segments
 * for the differential test: with or without server_name and ECH, names from randpol's
 * pool and outside it, in mixed case, 16 KiB ClientHellos in several records, a length field
 * broken now and then; cut at a given byte of the first 64 (the byte-split matrix) or at
 * random points; out-of-order segments and their retransmissions; then an ACK, data after
 * the ClientHello and a FIN or a RST. Seeded by randpol's generator.
 */
#ifndef TLSFW_HELLO_FLOW_H
#define TLSFW_HELLO_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content_gen.h"
#include "randpol.h"

#define HF_SEG_MAX 1400 /* payload bytes of one segment */
#define HF_SEGS 64	/* segments of one flow at most */
#define HF_SPLIT 64	/* the byte-split matrix cuts the first segment at 1 .. HF_SPLIT - 1 */
#define HF_AFTER 48	/* data bytes after the ClientHello */

struct hf_seg {
	uint32_t off; /* stream offset of the payload (0: the first byte after the SYN) */
	uint32_t len;
	uint8_t flags; /* TCP flags */
	const char *kind;
};

struct hello_flow {
	uint8_t *buf; /* the client's stream: HELLO_MAX bytes, owned by the caller */
	struct hello_out h;
	size_t len;	/* stream bytes: the ClientHello and HF_AFTER more */
	char what[160]; /* the ClientHello and its segments, for failure messages */
	bool syn;	/* from the SYN (else mid-stream: no flow state) */
	bool broken;	/* a length field was changed */
	bool unordered; /* a segment came beyond a gap */
	struct hf_seg seg[HF_SEGS];
	int n;
};

/* A new flow in f (f->buf set by the caller). split: 1 .. HF_SPLIT - 1, the first segment's
 * length (in order, from the SYN); 0: random cuts and orders. Returns 0 or -E2BIG. */
int hello_flow_new(struct hello_flow *f, struct rp_rng *r, unsigned int split);

#endif
