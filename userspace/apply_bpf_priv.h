/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What apply_bpf.c (the steps, the undo log, rollback and commit) and apply_hooks.c (the
 * program attachments of one apply) share: the apply's context and its undo records.
 */
#ifndef TLSFW_APPLY_BPF_PRIV_H
#define TLSFW_APPLY_BPF_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "apply_bpf.h"
#include "apply_progs.h"
#include "bpf_fill.h"
#include "slots.h"
#include "state.h"

enum undo_kind {
	U_FILLED,	/* generation gen was filled: clear it */
	U_XDP_NEW,	/* attached new_fd: detach it */
	U_XDP_REPLACED, /* old_fd replaced by new_fd: put old_fd back */
	U_XDP_REMOVED,	/* old_fd detached: attach it again */
	U_TC_NEW,	/* filter attached (hook_created: clsact too): remove */
	U_TC_REPLACED,	/* filter's old_fd replaced by new_fd: put old_fd back */
	U_TC_REMOVED,	/* filter with old_fd removed: attach it again */
	U_NAMES,	/* rule and interface records written: restore the snapshot */
	U_FLIP,		/* generation switched: switch back */
	U_META,		/* tlsfw_meta written: restore the snapshot */
};

struct undo {
	enum undo_kind kind;
	const char *ifname;
	unsigned int ifindex;
	uint32_t xdp_flags; /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
	bool egress;	    /* tc: which side */
	bool hook_created;
	int old_fd, new_fd;
};

/* What one interface of the plan needs, and what it has. */
struct apply_iface {
	const struct plan_iface *pi;
	unsigned int ifindex;
	struct state_iface *old; /* what tlsfw had installed there, or NULL */
	uint8_t hook;		 /* enum tlsfw_hook chosen for ingress (NONE: no ingress) */
	bool mode_change;	 /* ingress hook kind changes: done after the flip */
	bool handoff;		 /* XDP hands rejects to tlsfw_tc_reply (apply_reply.h) */
	char native_why[128];	 /* xdp_mode auto: why native XDP was refused ("": it was not) */
	char generic_why[128];	 /* and generic XDP, when tc ingress took its place */
};

struct apply_ctx {
	const struct plan *pl;
	const struct apply_opts *o;
	struct diag *d;
	bool rollback_failed; /* an undo failed too: d says what is left */
	bool flip_counted;    /* grace_flip_begin made the counter odd: grace_flip_end at the end */
	bool blocks_full;     /* counter blocks would not fit next to the old ones: new maps */
	const char *step;

	struct state st;       /* what was enforced before */
	struct state_meta old; /* its metadata (zeroed arrays when nothing was) */
	struct progs progs;    /* the programs attached by this apply */
	struct bpf_maps maps;  /* the maps in use (st's), or those loaded by this apply */
	unsigned int old_gen, new_gen;

	struct apply_iface *ifs; /* per plan interface */
	struct slots slots;	 /* counter slots of the plan's rules and contexts */
	uint32_t *ctx_flags;	 /* per plan ctx: context word flags */

	struct tlsfw_rule_info *rules; /* records for the new generation, rule_end of them */
	uint32_t rule_end;	       /* old.rules[] is all zero from this slot on */
	struct tlsfw_meta meta;	       /* as write_meta wrote it */
	struct tlsfw_ctx_info *ctxs;   /* TLSFW_MAX_CTX */

	struct undo *undo;
	size_t n_undo, cap_undo;
};

/* A failure is an error in d: at the interface of the policy it concerns (apply_fail_at),
 * else without a location. Return err (-EIO when err is not negative). */
__attribute__((format(printf, 3, 4))) int apply_fail(struct apply_ctx *c, int err, const char *fmt,
						     ...);
__attribute__((format(printf, 4, 5))) int
apply_fail_at(struct apply_ctx *c, const struct apply_iface *ai, int err, const char *fmt, ...);
/* Record a change made to the kernel, for rollback. */
int apply_undo_push(struct apply_ctx *c, struct undo u);

static inline bool wants(const struct apply_iface *ai, unsigned int hook)
{
	return ai->pi->hooks & hook;
}

/* tc decides the interface's ingress: its tc ingress program is not just XDP's reply helper
 * (which stays behind when another tool removes XDP, and then decides nothing). */
static inline bool tc_decides(const struct state_iface *old)
{
	return old && old->tc_in_fd >= 0 && !old->tc_in_reply;
}

static inline const struct apply_iface *plan_iface(const struct apply_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->pl->n_ifaces; i++)
		if (!strcmp(c->ifs[i].pi->name, name))
			return &c->ifs[i];
	return NULL;
}

/* apply_hooks.c */
unsigned int hook_role(uint8_t hook, bool egress);
uint8_t hook_of_attached(unsigned int attached);
/* The reply helper next to XDP on tc ingress (apply_reply.h): wanted where XDP decides
 * ingress and hands its rejects over. */
bool wants_reply(const struct apply_iface *ai);
/* replace: hooks that stay get this apply's programs (nothing to do for reused ones). */
int hooks_replace(struct apply_ctx *c);
/* Interfaces and hooks new to tlsfw, attached before the flip. */
int hooks_attach_new(struct apply_ctx *c);
/* Ingress that changes kind (xdp_mode changed), after the flip. */
int hooks_post_flip_attach(struct apply_ctx *c);
/* Hooks the new policy does not use, after the flip. */
int hooks_detach_old(struct apply_ctx *c);

#endif
