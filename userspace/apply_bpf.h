/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage 4a: enforce a plan with the BPF data plane, atomically. Loads new programs that share
 * the maps of what is enforced now, fills the inactive generation, swaps the programs in
 * place, flips the generation, then attaches and detaches what the interface list changed.
 * Any failure undoes every step taken, in reverse order (see "BPF backend: apply and state" in
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
	/* Per plan interface, where the policy names it: a failure that concerns an interface
	 * is an error there. NULL: without a location. */
	const struct loc *iface_loc;
	/* Set once the state is read: whether this namespace had a policy of its own (not only
	 * another namespace's programs on a device moved here, state.h). NULL: not asked. */
	bool *had_policy;
};

/*
 * Steps, in order, each a fault-injection point (env TLSFW_FAULT=<step> makes that step fail
 * as if the kernel had refused it): see tlsfw(8).
 */
extern const char *const apply_steps[];

/*
 * Enforce pl in the current network namespace. The caller holds the namespace lock and has
 * blocked the stopping signals (lock.h): a pending one aborts before the switch (and rolls
 * back). Returns 0, or -errno with the reasons in d; *rollback_failed says whether undoing
 * failed too (d then says what is left).
 */
int apply_bpf(const struct plan *pl, const struct apply_opts *o, bool *rollback_failed,
	      struct diag *d);

#endif
