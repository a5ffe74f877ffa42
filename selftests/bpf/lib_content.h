/* SPDX-License-Identifier: GPL-2.0 */
/* The content tests' driver (test_content*.c): see lib_content.c. */
#ifndef TLSFW_LIB_CONTENT_H
#define TLSFW_LIB_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "content_run.h" /* before the skeleton: its types */
#include "content_prog.skel.h"
#include "content_gen.h"
#include "name_table.h"
#include "ref_content.h"

#define MAX_SEGS 512
#define SEG_MAX 1400 /* payload per frame (pkt.h) */
#define LOG_SIZE (1 << 20)

/* The name lists every flow is classified with (generation 0), lists 0..N_LISTS-1. */
#define N_PATTERNS 12
#define N_LISTS 9
extern const struct ref_pattern ct_patterns[N_PATTERNS];

struct ct_env_s {
	struct content_prog *skel;
	struct crun r;
	struct name_table t; /* generation 0: ct_patterns */
	char *log[CR_HOOKS]; /* the verifier's */
};

extern struct ct_env_s ct_env;
extern uint64_t ct_rng;
/* Flows and segments run; failed comparisons (each printed), for the test's report. */
extern unsigned long ct_segments, ct_flows, ct_failures;

struct seg {
	uint32_t off; /* stream offset (from ISN + 1) */
	size_t len;
	const uint8_t *data; /* NULL: the stream's bytes at off */
	int frag;	     /* sent as a first IP fragment */
};

struct fopts {
	int hook, family, vlans, want, tfo;
};

/* The table of ct_patterns for generation gen. */
int ct_table_of(struct name_table *t, const struct ref_pattern *p, size_t n, uint8_t gen);
/* Load the program (flows: its flow table size, 0 for the default) with generation 0 named. */
int ct_env_load(struct ct_env_s *e, uint32_t flows);
void ct_env_free(struct ct_env_s *e);
void ct_flow_key(struct tlsfw_flow_key *k, const struct fopts *fo, uint16_t sport);
/* One TCP segment of the client through fo's hook (flags: TCP flags). */
int ct_send_seg(const struct fopts *fo, uint16_t sport, uint32_t seq, uint8_t flags,
		const uint8_t *data, size_t len, int frag, struct tlsfw_facts *got);
/* A SYN, then segments s[0..n) of stream, through the hook and the reference; every
 * segment's facts must agree (CHECK). Returns 0 when they did. */
int ct_flow_run(const char *what, const uint8_t *stream, const struct seg *s, int n,
		const struct fopts *fo);
/* Segments of at most max bytes, the first `first` bytes long (0: max). */
int ct_plan_cut(struct seg *s, size_t len, size_t first, size_t max);
/* Segments of 1 to 7 bytes for the first `tiny` bytes, then of SEG_MAX. */
int ct_plan_tiny(struct seg *s, size_t len, size_t tiny);
/* Random cuts; with mess, also retransmissions, coalescing, reordering, fragments, bytes from
 * before the stream. */
int ct_plan_random(struct seg *s, size_t len, int mess);
/* stream through whole and random plans in 8 framings (hooks, families, VLAN tags, Fast
 * Open), with splits64 cut at each of the first 64 bytes, and once without asking for the
 * ClientHello. */
void ct_flow_plans(const char *what, const uint8_t *stream, size_t len, int splits64);

#endif
