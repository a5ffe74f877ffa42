/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `apply --confirm SECONDS` and `tlsfw confirm`: a change that rolls itself back unless it is
 * confirmed in time, even when the shell, the SSH session or apply itself dies.
 *
 * The rollback is done by a watchdog: a process apply forks before it enforces (double fork,
 * setsid, SIGHUP ignored, stdio on /dev/null), in the same network namespace, holding the
 * previous policy compiled in its memory. At the deadline it takes the namespace lock and
 * applies that policy again (or detaches, when nothing was enforced before). SIGTERM to it
 * is the confirmation: it exits and restores nothing.
 *
 * The pending confirmation is a record, /run/tlsfw/netns-<inode>.confirm (json, replaced by
 * rename under the namespace lock), naming the watchdog (PID and start time, so that a reused
 * PID is never signalled) and the deadline; /run/tlsfw/netns-<inode>.rollback holds the text
 * of the previous policy, checked against the SHA-256 the kernel records, for a second
 * `apply --confirm` whose new watchdog inherits the same rollback target.
 */
#ifndef TLSFW_CONFIRM_H
#define TLSFW_CONFIRM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../bpf/tlsfw_abi.h"
#include "compile.h"
#include "diag.h"
#include "names.h"

#define CONFIRM_MAX_SECONDS 86400

struct confirm_pending {
	pid_t pid;			 /* the watchdog */
	unsigned long long start;	 /* its start time (/proc/PID/stat), against a reused PID */
	int64_t deadline_ms;		 /* Unix milliseconds */
	char policy[TLSFW_PATH_MAX + 1]; /* the policy waiting for confirmation */
	bool restore;			 /* false: the rollback detaches */
	char restore_file[TLSFW_PATH_MAX + 1];
	char restore_hash[SHA256_TEXT_LEN]; /* "sha256:...", as the kernel records it */
};

/* The pending confirmation of this network namespace: *found false when there is none or
 * its watchdog is gone. 0 or -errno (d says why). No lock needed: the record is replaced
 * atomically. */
int confirm_read(struct confirm_pending *p, bool *found, struct diag *d);

/* `tlsfw confirm`, under the namespace lock (the caller's): stop the watchdog of p, remove
 * the record. */
int confirm_end(const struct confirm_pending *p, struct diag *d);

/* What apply --confirm keeps between its steps. */
struct confirm_arm {
	unsigned int seconds;
	bool inherited;		    /* a pending confirmation was replaced */
	struct confirm_pending old; /* that one */
	struct confirm_pending rec; /* the new record */
	/* the rollback target (rec.restore), allocated only then: a struct compiled is 790 KB,
	 * whose zeroing cost every apply 190 page faults (performance.md) */
	struct compiled *prev;
	struct diag prev_d; /* its file names and text (its locations point here) */
	int pipe_fd;	    /* to the new watchdog: the deadline, or 0 to cancel */
};

void confirm_arm_init(struct confirm_arm *ca, unsigned int seconds);
/* Free what the caller holds (the watchdog keeps its own copy). Called by confirm_after. */
void confirm_arm_free(struct confirm_arm *ca);

/*
 * Before enforcing, under the namespace lock: refuse (-EINVAL, d says why: exit 1, nothing
 * changed) an apply while a confirmation is pending unless seconds (> 0), or a rollback
 * target that cannot be restored; else (seconds > 0) find the target, start the watchdog and
 * write its record. seconds == 0 and nothing pending: nothing to do.
 */
int confirm_before(struct confirm_arm *ca, const char *policy, struct diag *d);
/* After enforcing (err: its result): arm the watchdog (from now) or cancel it, restoring the
 * replaced record when the apply failed. */
void confirm_after(struct confirm_arm *ca, int err, struct diag *d);

/* `detach` during the window: a full detach ends the pending confirmation (nothing is
 * restored later); a detach of some interfaces is refused (-EINVAL), since the rollback would
 * put them back. Under the caller's namespace lock. */
int confirm_detach(size_t n_ifaces, FILE *out, struct diag *d);

/* Now, in Unix milliseconds (the clock of the deadline). */
int64_t confirm_now_ms(void);

/* After apply --confirm: until when, and what happens then. */
void confirm_print(const struct confirm_pending *p, FILE *out);

/* "rolls back to FILE" or "detaches (...)", for messages. */
void confirm_rollback_text(const struct confirm_pending *p, char *buf, size_t len);

/* "in 12 s (2026-01-01 10:00:00 UTC)": for status and messages. */
void confirm_when(const struct confirm_pending *p, char *buf, size_t len);

#endif
