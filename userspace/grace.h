/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The RCU grace period between a flip and the next write into the generation it retired.
 *
 * A program reads the active generation once per packet, then looks up that generation's
 * entries; one that read it just before a flip may still run after the flip returns (an
 * interrupt, a descheduled vCPU: milliseconds). The generation the flip retired is therefore
 * written again (cleared, then filled) only after an RCU grace period that began after the
 * flip: every XDP and tc program runs inside an RCU read-side section, and
 * membarrier(MEMBARRIER_CMD_GLOBAL) is synchronize_rcu() in the kernel.
 *
 * That wait (8 to 20 ms on a 250 Hz kernel) is not spent by the apply that flipped: the
 * generation it retired stays as it is (no packet reads it), and the next apply clears it.
 * A counter in the namespace's lock file (/run/tlsfw/netns-<inode>.lock, four bytes) tells
 * that apply whether it must wait first: its two low bits say FLIPPING (from just before a
 * flip until that apply ends; left by a rollback or a killed apply), FLIPPED (done; a grace
 * period may not have passed) or QUIET (one has). An apply that flipped leaves behind a
 * detached process that waits for a grace period and then marks QUIET; an apply that reads a
 * BPF policy starts its own wait at once in a child (grace_start), which covers a FLIPPED it
 * read before that wait began. Anything else (a flip after its wait began, FLIPPING): it
 * waits again under the lock.
 */
#ifndef TLSFW_GRACE_H
#define TLSFW_GRACE_H

#include <stdbool.h>

/* Start waiting for a grace period in a child process that shares this one's memory. Once
 * per process; a failure only means that grace_since_flip waits itself. */
void grace_start(void);

/* Under the namespace lock, before the inactive generation is written: returns once a grace
 * period has passed since the last flip of any apply in this namespace. */
void grace_since_flip(void);

/* Under the lock: a flip is about to happen (FLIPPING); -errno when the counter cannot be
 * written, and then the apply must not flip. */
int grace_flip_begin(void);
/* Under the lock: the apply that called grace_flip_begin is over. Committed: FLIPPED, and
 * grace_detach will leave a waiter behind. */
void grace_flip_end(bool committed);
/* At the end of the command, every lock and descriptor released: start the waiter that marks
 * QUIET after a grace period (it closes every descriptor it inherited, and takes the address
 * space over when this process exits). */
void grace_detach(void);

/* The wait itself, synchronously. */
void grace_period(void);

#endif
