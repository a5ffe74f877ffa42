/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Finding what tlsfw enforces in the current network namespace, from the kernel alone: walk
 * the interfaces, ask each for its XDP program and for the tc filter at tlsfw's handle and
 * priority, keep those whose program is a tlsfw program, and open their maps. No file system
 * state (see Documentation/architecture.md, "BPF backend: apply and state").
 */
#ifndef TLSFW_STATE_H
#define TLSFW_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "../bpf/tlsfw_abi.h"
#include "bpf_fill.h"
#include "diag.h"

/* tlsfw's tc filter: a fixed handle and priority, so that it finds and replaces exactly its own
 * filter and never another one. Priority 0x7f5 runs before filters added with tc's default
 * priority (49152). */
#define TLSFW_TC_HANDLE 0x7f5
#define TLSFW_TC_PRIO 0x7f5

/* Kernel program names (15 characters at most: "tlsfw_tc_ingress" is cut to "tlsfw_tc_ingres"). */
#define TLSFW_PROG_XDP "tlsfw_xdp"
#define TLSFW_PROG_TC_PREFIX "tlsfw_tc_"
/* On tc ingress next to tlsfw_xdp: builds the replies XDP hands over (tlsfw_xdp_meta). */
#define TLSFW_PROG_TC_REPLY "tlsfw_tc_reply"

/* What tlsfw installed on one interface. fds are open program descriptors (-1: none); they
 * let apply restore exactly these programs on rollback and detach remove only them. */
struct state_iface {
	char name[IF_NAMESIZE];
	unsigned int ifindex;
	int xdp_fd; /* our XDP program, or -1 */
	uint32_t xdp_id;
	uint8_t xdp_attached;	/* XDP_ATTACHED_DRV or XDP_ATTACHED_SKB */
	int tc_in_fd, tc_eg_fd; /* our tc filters' programs, or -1 */
	uint32_t tc_in_id, tc_eg_id;
	bool tc_in_reply; /* the tc ingress program is tlsfw_tc_reply, XDP's helper: the
			   * ingress hook is XDP (xdp_fd) and packets are decided there */
};

struct state {
	struct state_iface *ifaces; /* interfaces with at least one tlsfw program */
	size_t n_ifaces;
	/* Interfaces whose tlsfw programs serve another network namespace's policy: a device
	 * moved here after apply keeps its XDP program (tlsfw_meta.netns_cookie). Not part of
	 * what is enforced here; only detach touches them, and never their maps. */
	struct state_iface *foreign;
	size_t n_foreign;
	bool have_maps;	       /* maps found (false: nothing enforced) */
	struct bpf_maps maps;  /* opened from one of the programs */
	uint32_t state_map_id; /* identity of this tlsfw instance's maps */
};

/* Fill st (zeroed first). Returns 0 (also when nothing is enforced), -EPERM without
 * privilege, -EUCLEAN when tlsfw programs on two interfaces use different maps, or another
 * -errno; d says why. */
int state_find(struct state *st, struct diag *d);
/* Only the programs, without opening maps. */
int state_find_programs(struct state *st, struct diag *d);
/* Open the maps of the programs state_find_programs found. Programs that do not share their
 * maps are an error in d, or with lenient a warning (detach still removes them, interface by
 * interface); -EUCLEAN either way, st then without maps. */
int state_open_maps(struct state *st, struct diag *d, bool lenient);
void state_free(struct state *st);
struct state_iface *state_iface_find(const struct state *st, const char *name);
struct state_iface *state_foreign_find(const struct state *st, const char *name);

/* This network namespace's cookie (SO_NETNS_COOKIE), 0 when the kernel cannot say. */
uint64_t netns_cookie(void);

/* The metadata maps, read whole. Arrays allocated by the callee; free with state_meta_free. */
struct state_meta {
	unsigned int gen; /* active generation */
	struct tlsfw_meta meta;
	struct tlsfw_rule_info *rules; /* TLSFW_MAX_RULES */
	uint32_t rule_end;	       /* rules[rule_end...] are all zero: read only up to it */
	struct tlsfw_ctx_info *ctxs;   /* TLSFW_MAX_CTX */
};

/* sm with zeroed records (nothing enforced); state_meta_read fills them from the maps. */
int state_meta_alloc(struct state_meta *sm);
int state_meta_read(const struct bpf_maps *m, struct state_meta *sm);
void state_meta_free(struct state_meta *sm);

#endif
