/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Two backends behind one interface. A backend enforces a compiled policy in the current
 * network namespace (all of it or, after any failure, none of it), and reads back from the
 * kernel alone what it enforces (status), its counters (stats) and removes it (detach). The
 * BPF backend (backend_bpf.c: XDP and tc programs) and the nftables backend (backend_nft.c:
 * table inet tlsfw) implement it; neither includes the other.
 *
 * Commands never branch on the backend: apply takes the one the compiled policy names
 * (backend_for), status, stats and detach the one in force (backend_in_force). One backend
 * per network namespace: apply refuses while another is in force.
 */
#ifndef TLSFW_BACKEND_H
#define TLSFW_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>

#include "../bpf/tlsfw_abi.h"
#include "compile.h"
#include "confirm.h"
#include "diag.h"
#include "names.h"
#include "stats.h"

struct backend_apply {
	const struct compiled *c;
	const char *policy_file; /* absolute path, recorded for status and stats */
	bool dry_run;		 /* the kernel checks everything, nothing changes */
	FILE *out;		 /* progress: "lan0: ingress XDP native" */
};

struct backend_result {
	bool had_policy;      /* a policy of this backend was enforced before */
	bool rollback_failed; /* a failure could not be undone fully (d says what is left) */
};

/* What became of an interface the policy was applied to that carries nothing of tlsfw now.
 * bpf: the kernel removes XDP and tc programs with their device; the records stay (DELETED,
 * or RECREATED when an interface of that name exists again); REMOVED: the device is there,
 * another tool took tlsfw's programs off it. nft: chains are bound to the name; none exists
 * now (ABSENT: filtered again once one appears). */
enum iface_lost { IFACE_HELD = 0, IFACE_DELETED, IFACE_RECREATED, IFACE_REMOVED, IFACE_ABSENT };

/* What status shows, whatever the backend: the one model of `status` and `status --json`. */
struct status_iface {
	char name[IF_NAMESIZE];
	char applied_name[IF_NAMESIZE]; /* its name at apply, "" when the same (not renamed) */
	unsigned int ifindex;		/* 0: the interface is gone */
	uint8_t ingress, egress; /* enum hook_id; HOOK_NONE: that direction is not filtered */
	bool in_policy;		 /* false: left by an interrupted apply, not the policy's */
	bool foreign; /* its tlsfw programs serve another network namespace's policy (state.h) */
	enum iface_lost lost; /* not IFACE_HELD: the policy's, deleted since apply */
};

struct status_model {
	const struct backend *backend; /* NULL: nothing of tlsfw in this network namespace */
	bool have_policy;	       /* the policy's records were read */
	char file[TLSFW_PATH_MAX + 1];
	char hash[SHA256_TEXT_LEN];
	uint64_t applied_at; /* Unix seconds */
	uint32_t n_rules;
	uint8_t default_action; /* enum tlsfw_action */
	int generation;		/* the generation in force (0, 1), -1 unknown */
	const char *table;	/* the nftables table that holds it ("inet tlsfw"), or NULL */
	uint32_t flows;		/* entries of the flow table in force (BPF); 0: none */
	struct status_iface *ifaces;
	size_t n_ifaces;
	bool confirm_pending;		/* an `apply --confirm` waits (confirm.h) */
	struct confirm_pending confirm; /* filled by the caller of backend_status */
};

struct backend {
	const char *name; /* as the policy's `backend:` says: "bpf", "nft" */
	const char *what; /* what it installs: "XDP and tc programs", "table inet tlsfw" */
	/* Something of this backend is installed here (*yes); errors in d. */
	int (*in_force)(bool *yes, struct diag *d);
	/* Enforce a->c, replacing what this backend enforces; the caller holds the namespace
	 * lock and has blocked the stopping signals. r->had_policy is set by the caller. */
	int (*apply)(const struct backend_apply *a, struct backend_result *r, struct diag *d);
	/* Fill m (zeroed, m->backend set, by the caller). */
	int (*status)(struct status_model *m, struct diag *d);
	/* Fill s (zeroed by the caller); reset: zero the counters after reading them. */
	int (*counters)(struct stats_snap *s, bool reset, struct diag *d);
	/* Remove what this backend installed on ifnames (n == 0: everything); the names exist
	 * and are distinct. Prints what it removed to out. */
	int (*detach)(char *const *ifnames, size_t n, FILE *out, struct diag *d);
};

extern const struct backend backend_bpf, backend_nft;

/* The backend the compiled policy asks for. */
const struct backend *backend_for(const struct compiled *c);
/* The backend with state in this network namespace, or NULL for none. */
int backend_in_force(const struct backend **out, struct diag *d);

/* Enforce, under the namespace lock: every interface of the policy exists (else an error at
 * its line), no other backend is in force, then the backend's apply. r says what is in
 * force after a failure. */
int backend_apply(const struct backend_apply *a, struct backend_result *r, struct diag *d);
/* The same, for a caller that holds the namespace lock (ns_lock) already. */
int backend_apply_locked(const struct backend_apply *a, struct backend_result *r, struct diag *d);
/* The model of what is enforced here (m->backend NULL: nothing). */
int backend_status(struct status_model *m, struct diag *d);
void status_model_free(struct status_model *m);
/* The counters of what is enforced here (s->enforced false: nothing). */
int backend_counters(struct stats_snap *s, bool reset, struct diag *d);
/* Detach ifnames (n == 0: everything) under the namespace lock, whichever backend is in
 * force. Every name must be an interface here (else nothing is detached); names that
 * tlsfw holds nothing on are said so on out. */
int backend_detach(char *const *ifnames, size_t n, FILE *out, struct diag *d);
/* The same, for a caller that holds the namespace lock already. */
int backend_detach_locked(char *const *ifnames, size_t n, FILE *out, struct diag *d);

/* The policy's location of interface i of c (NULL when unknown): where errors about that
 * interface point. */
const struct loc *backend_iface_loc(const struct compiled *c, size_t i);

#endif
