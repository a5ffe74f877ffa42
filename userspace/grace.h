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
 * That wait (8 to 20 ms on a 250 Hz kernel) is not spent after the flip, where the caller
 * would wait for it: the retired generation stays as it is until the next apply, which
 * starts waiting in a child process as soon as it has read a BPF policy (grace_start), so that the
 * wait runs while it compiles. A flip counter in the namespace's lock file
 * (/run/tlsfw/netns-<inode>.lock, four bytes) says whether an apply flipped after that wait
 * began (another apply that ran while this one compiled): then it waits again, under the
 * lock. The counter is odd from just before a flip until that apply has finished, so an
 * apply killed in between leaves it odd, and the next one waits under the lock too.
 */
#ifndef TLSFW_GRACE_H
#define TLSFW_GRACE_H

/* Start waiting for a grace period in a child process that shares this one's memory. Once
 * per process; a failure only means that grace_since_flip waits itself. */
void grace_start(void);

/* Under the namespace lock, before the inactive generation is written: returns once a grace
 * period has passed since the last flip of any apply in this namespace. */
void grace_since_flip(void);

/* Under the lock: a flip is about to happen (the counter made odd); -errno when the counter
 * cannot be written, and then the apply must not flip. */
int grace_flip_begin(void);
/* Under the lock: the apply is over, committed or rolled back (the counter made even). */
void grace_flip_end(void);

/* The wait itself, synchronously. */
void grace_period(void);

#endif
