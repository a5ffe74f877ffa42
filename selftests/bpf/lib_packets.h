/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data-plane packet tests' harness (test_packets_*.c): policies read, checked and lowered
 * by the real stages and filled by bpf_fill, built packets run through tlsfw_xdp,
 * tlsfw_tc_ingress and tlsfw_tc_egress with BPF_PROG_TEST_RUN, the counters each case must
 * move, the reply frames checked field by field; and the cases both tests run (block-quic
 * verdicts, rejects, fragments), once per table form.
 */
#ifndef TLSFW_LIB_PACKETS_H
#define TLSFW_LIB_PACKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf_fill.h"
#include "pkt.h"
#include "plan.h"
#include "policy.h"
#include "tlsfw.skel.h"

#define TC_ACT_UNSPEC (-1) /* tlsfw passes to the next filter */
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

enum { V_PASS, V_DROP, V_REPLY };
enum { H_XDP, H_TC_IN, H_TC_OUT, N_HOOKS };
extern const char *const hook_names[N_HOOKS];

/* ctx slots: ingress block 0, egress block 1 (the hook's direction) */
#define BLOCK(h) ((h) == H_TC_OUT ? 1 : 0)
#define N_WATCH (TLSFW_STAT_RULE0 + 256)

struct loaded { /* a policy and its plan: the plan points into the policy */
	struct policy pol;
	struct plan plan;
	struct diag d;
	uint32_t slot0; /* rule slots used: slot0 + rule index */
};

struct env {
	struct tlsfw *skel;
	struct bpf_maps m;
	int prog[N_HOOKS];
	int ncpu;
	const struct loaded *cur; /* policy of the active generation, for rule names */
	unsigned int failures, checks;
	uint32_t direct_max;   /* fill: fill_ids.direct_max (1: every table in its hash form) */
	uint32_t fill_ifindex; /* fill: the contexts' ifindex (0: 1, where test runs put packets) */
	uint32_t run_ifindex;  /* run: the packet's ifindex (0: the test run's default, 1) */
	uint32_t in_flags;     /* fill: context word flags of the ingress contexts */
};

#define STATS(...) ((const long[]){ __VA_ARGS__, -1 })

struct snap {
	uint64_t pk[2][N_WATCH], by[2][N_WATCH];
};

/* The skeleton loaded, its maps and programs in e (needs root); 0 or an exit status. */
int env_open(struct env *e);
/* Destroy the skeleton, print the counts; the exit status. */
int env_close(struct env *e);

void fail(struct env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A policy from its text, read, checked and lowered by the real stages. */
int load_text(struct loaded *l, const char *file, const char *text, uint32_t slot0);
/* A shipped policy, with extra top-level keys appended (fragments: drop, ...). */
int load_policy(struct loaded *l, const char *file, const char *extra, uint32_t slot0);
void free_policy(struct loaded *l);
/* Fill generation gen with l and make it the active one. */
int use(struct env *e, const struct loaded *l, unsigned int gen);
int snapshot(struct env *e, struct snap *s);
/* The counter index of a rule of the active policy (exits when there is none). */
long rule_stat(struct env *e, const char *name);
/*
 * Run one frame through a hook. want: the verdict; stats: the counters (indexes in the
 * hook's block) expected to move by exactly one packet, -1 terminated; every other watched
 * counter must stay. out/out_len receive the frame after the program (for replies).
 */
void run(struct env *e, int hook, const char *what, const struct pkt *p, int want,
	 const long *stats, uint8_t *out, uint32_t *out_len);
void build(struct env *e, struct pkt *p, const struct pkt_opts *o, const char *what);
/* An IPv4 TCP segment from sport to dport 443 (frame_build's addresses) through hook, as run()
 * checks it; exits when the frame cannot be built. */
void tcp_segment(struct env *e, int hook, const char *what, uint16_t sport, uint32_t seq,
		 uint8_t flags, const uint8_t *data, size_t len, int want, const long *stats);
/* The same, of family 4 or 6 (frame_build's addresses: 10.0.0.1, fd00::1 to .2, ::2). */
void tcp_segment_of(struct env *e, int hook, const char *what, int family, uint16_t sport,
		    uint32_t seq, uint8_t flags, const uint8_t *data, size_t len, int want,
		    const long *stats);
/* The same case on every hook (fragment ids kept apart per hook by the caller). */
void all_hooks(struct env *e, const char *what, const struct pkt_opts *o, int want,
	       const long *stats);
/* A rejected packet on every hook: the counters and the reply, RST or ICMP, field by field. */
void reject_case(struct env *e, const char *what, const struct pkt_opts *o, const char *rule,
		 size_t payload);

/* The cases of block-quic-port.conf (rules block-quic and allow-https). */
void block_quic(struct env *e);
void rejects(struct env *e);
/* Fragments under the plan's mode; id_base keeps the datagrams of each call apart. */
void fragments(struct env *e, uint32_t id_base);

#endif
