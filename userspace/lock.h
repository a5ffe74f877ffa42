/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every command that changes state shares, whichever backend it drives: the signals that
 * stop tlsfw, the per-namespace lock, and the policy path as the records name it.
 */
#ifndef TLSFW_LOCK_H
#define TLSFW_LOCK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* The signals that stop tlsfw: SIGINT, SIGTERM, SIGHUP and SIGQUIT. */
void stop_signals(sigset_t *set);
/* Hold them: apply blocks them so that one arriving half way is noticed between steps
 * (stop_signal_pending) and rolls back instead of killing; stats --watch and --listen wait
 * for them with sigtimedwait/sigwait. */
void stop_signals_block(void);
/* One of them is pending (they are blocked). */
bool stop_signal_pending(void);

/*
 * The per-namespace lock of every command that changes state: flock on
 * /run/tlsfw/netns-<inode of /proc/self/ns/net>.lock (/run is shared under `ip netns exec`),
 * waited for when another tlsfw command holds it. Returns the fd (close it to unlock), or
 * -errno with the reason in d.
 */
int ns_lock(struct diag *d);
/* That lock file's path (grace.h keeps a flip counter in it); 0 or -errno. */
int ns_lock_path(char *path, size_t len);

/* The policy file as the records name it: its absolute path, "<stdin>" for "-". */
void policy_abs_path(const char *path, char *abs, size_t len);

#endif
