/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage 4a: enforce a plan with the BPF data plane, atomically. Loads new programs that share
 * the maps of what is enforced now, fills the inactive generation, swaps the programs in
 * place, flips the generation, then attaches and detaches what the interface list changed.
 * Any failure undoes every step taken, in reverse order (see "Apply and state" in
 * Documentation/architecture.md).
 */
#ifndef TLSFW_APPLY_BPF_H
#define TLSFW_APPLY_BPF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plan.h"
#include "diag.h"

struct apply_opts {
	const char *policy_file; /* absolute path, recorded for status and stats */
	const uint8_t *sha256;	 /* 32 bytes: the policy file's hash */
	uint8_t backend;	 /* enum pol_backend, recorded */
	bool dry_run;		 /* load and fill, then roll back: nothing changes */
	FILE *out;		 /* progress for the user ("lan0: ingress XDP native") */
};

/*
 * Steps, in order, each a fault-injection point (env TLSFW_FAULT=<step> makes that step fail
 * as if the kernel had refused it): see tlsfw(8).
 */
extern const char *const apply_steps[];

/* Result of a failed apply. */
struct apply_err {
	char step[32];	      /* the step that failed */
	char msg[512];	      /* "lan0: cannot attach XDP: Operation not supported" */
	bool had_policy;      /* a previous policy exists (and is still enforced) */
	bool rollback_failed; /* undoing failed too: msg says what is left */
};

/*
 * Enforce pl in the current network namespace. The caller holds the namespace lock and has
 * blocked SIGINT, SIGTERM, SIGHUP and SIGQUIT: a pending one aborts before the switch (and
 * rolls back). Returns 0 or -errno with e filled; map-filling errors may also be in d.
 */
int apply_bpf(const struct plan *pl, const struct apply_opts *o, struct diag *d,
	      struct apply_err *e);

/* Remove tlsfw's XDP program fd from ifindex (attached in mode XDP_ATTACHED_DRV/SKB), only
 * if it is still the attached one. */
int hook_xdp_detach(unsigned int ifindex, unsigned int attached, int fd);
/* Remove tlsfw's tc filter (our handle and priority) from ingress or egress. */
int hook_tc_detach(unsigned int ifindex, bool egress);

#endif
