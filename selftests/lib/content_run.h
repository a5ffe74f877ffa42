/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Driving selftests/bpf/content_prog.bpf.c: frames through its XDP or tc program with
 * BPF_PROG_TEST_RUN, the facts it recorded, and its maps (flows, names, configuration,
 * statistics). Used by the content tests and the content benchmark.
 */
#ifndef TLSFW_CONTENT_RUN_H
#define TLSFW_CONTENT_RUN_H

#include <stdint.h>
#include <linux/types.h>

#include "../bpf/content_prog.h"
#include "name_table.h"
#include "pkt.h"

enum { CR_XDP, CR_TC, CR_HOOKS };

struct crun {
	int prog[CR_HOOKS];
	int flows, names, cfg, stats; /* map fds */
	uint32_t *gen, *want, *mode;  /* the program's globals */
	struct content_result *res;
	int ncpu;
};

/* The runner of a loaded skeleton s (struct content_prog *, content_prog.skel.h). */
#define CRUN_OF(s)                                                   \
	((struct crun){                                              \
		.prog = { bpf_program__fd((s)->progs.content_xdp),   \
			  bpf_program__fd((s)->progs.content_tc) },  \
		.flows = bpf_map__fd((s)->maps.tlsfw_flows),         \
		.names = bpf_map__fd((s)->maps.tlsfw_names),         \
		.cfg = bpf_map__fd((s)->maps.tlsfw_content_cfg),     \
		.stats = bpf_map__fd((s)->maps.tlsfw_content_stats), \
		.gen = &(s)->bss->gen,                               \
		.want = &(s)->bss->want,                             \
		.mode = &(s)->bss->mode,                             \
		.res = &(s)->bss->result,                            \
		.ncpu = libbpf_num_possible_cpus(),                  \
	})

/* One frame through hook h; the facts it got in *out. Returns 0 or -errno. */
int crun_frame(struct crun *r, int hook, const struct pkt *p, struct tlsfw_facts *out);

/* Generation gen's names (t may be NULL: none) and configuration, after removing the entries
 * that generation had. Returns 0 or -errno. */
int crun_names(struct crun *r, uint8_t gen, uint32_t epoch, const struct name_table *t);

/* Every flow gone. Returns the number removed. */
long crun_flows_clear(struct crun *r);
/* Flows present. */
long crun_flows_count(struct crun *r);
/* A per-CPU statistic (enum tlsfw_cstat), summed. */
uint64_t crun_stat(struct crun *r, uint32_t idx);

#endif
