/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The programs an apply attaches (Documentation/architecture.md, "Replacement without
 * loading"): those already in use when they are this build's, else loaded from the embedded
 * object, only the roles the policy needs, sharing the maps in use.
 *
 * A build is the SHA-256 of the BPF object embedded in this binary. tlsfw_meta records it with
 * the kernel's tag of each program loaded from it; the enforced programs are this build's when
 * the ABI version and build match and every tlsfw program attached in the namespace carries
 * the tag recorded for its role.
 */
#ifndef TLSFW_APPLY_PROGS_H
#define TLSFW_APPLY_PROGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf_fill.h"
#include "diag.h"
#include "state.h"

struct progs {
	int fd[TLSFW_ROLES];	     /* -1: not available (not loaded, not in use) */
	uint32_t id[TLSFW_ROLES];    /* kernel program ids */
	uint8_t tag[TLSFW_ROLES][8]; /* kernel tags */
	unsigned int loaded;	     /* roles loaded by this apply (bit per role) */
	bool reused;		     /* the programs in use are this build's: kept */
	uint8_t build[32];	     /* this binary's build */
	struct tlsfw **skels;	     /* loaded objects (their programs and maps) */
	size_t n_skels;
	/* The tables a policy may not need, sized by need (progs_fit_tables): tlsfw_flows entries
	 * of a new map (0: TLSFW_FLOWS_MIN), and whether a new tlsfw_names is whole */
	uint32_t flows;
	bool names;
};

void progs_init(struct progs *p);
/* Close what progs holds (attached programs stay attached). */
void progs_free(struct progs *p);

/*
 * Whether the maps in use (st) fit a policy: a flow table of `flows` entries (0: any), and a
 * name table of TLSFW_NAMES_MAX per generation when it has names. A policy without such
 * rules makes them small (progs_load) and takes whatever is in force. A map's size is fixed
 * when it is made, so when they do not fit, they are let go (closed, st->have_maps false):
 * the apply takes the cold path, new maps and programs loaded for every hook. Returns 1 when
 * they were let go, 0 when they fit (or there are none), -errno when the kernel could not be
 * asked.
 */
int progs_fit_tables(struct state *st, uint32_t flows, bool names);

/* Let the maps in use go (closed, st->have_maps false): the apply takes the cold path. */
void progs_let_go(struct state *st);

/* Kernel program name (at most 15 characters) of a role. */
const char *progs_kernel_name(unsigned int role);

/*
 * Whether the enforced programs (st, m) are this build's; if so, take every role in use into
 * p (p->reused). Returns 0 either way, -errno when the kernel could not be asked.
 */
int progs_reuse(struct progs *p, const struct state *st, const struct tlsfw_meta *m);

/*
 * Load the roles in `roles` (bits of enum tlsfw_role) that p does not hold, sharing the maps
 * of `share` (every map; none: fresh maps, returned in *maps). Only those programs are
 * verified. Returns 0 or -errno with the reason in d.
 */
int progs_load(struct progs *p, unsigned int roles, const struct bpf_maps *share,
	       struct bpf_maps *maps, struct diag *d);

/* Record the build and the tags of the programs in p into m. */
void progs_record(const struct progs *p, const struct tlsfw_meta *old, struct tlsfw_meta *m);

#endif
