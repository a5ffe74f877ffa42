/* SPDX-License-Identifier: GPL-2.0 */
/* Inside `apply --confirm`: what confirm.c (the record) and confirm_watch.c (the watchdog)
 * share. */
#ifndef TLSFW_CONFIRM_PRIV_H
#define TLSFW_CONFIRM_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "confirm.h"

/* /run/tlsfw/netns-<inode of this network namespace>.EXT */
int confirm_path(char *buf, size_t len, const char *ext);
/* A process's start time, clock ticks since boot; -ESRCH when it is a zombie. */
int confirm_proc_start(pid_t pid, unsigned long long *start);
int confirm_record_write(const struct confirm_pending *p, struct diag *d);
/* The record and the rollback target's text. */
void confirm_record_remove(void);
/* path replaced by len bytes of buf (mode 0600), through a rename. */
int confirm_file_write(const char *path, const char *buf, size_t len, struct diag *d);

/* Fork the watchdog (ca->rec says what it restores and the provisional deadline); sets
 * ca->rec.pid, ca->rec.start and ca->pipe_fd. */
int confirm_watchdog_start(struct confirm_arm *ca, struct diag *d);

#endif
