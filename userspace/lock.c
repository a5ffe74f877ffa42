// SPDX-License-Identifier: GPL-2.0
/* The stopping signals, the per-namespace lock and the policy path (lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "lock.h"

void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

void stop_signals_block(void)
{
	sigset_t set;

	stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

bool stop_signal_pending(void)
{
	sigset_t pending, stop;

	if (sigpending(&pending))
		return false;
	stop_signals(&stop);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&stop, sig) == 1 && sigismember(&pending, sig) == 1)
			return true;
	return false;
}

/*
 * Wait for the lock. apply blocks the stopping signals before it takes the lock, so that it
 * can roll back instead of dying half-way; while it only waits, nothing has changed yet, and
 * a user's Ctrl-C (or a service manager's SIGTERM) must end the wait instead of being held
 * until another apply finishes. So they are let through here.
 */
static int lock_wait(int fd)
{
	sigset_t stop, old;
	int err, saved;

	stop_signals(&stop);
	sigprocmask(SIG_UNBLOCK, &stop, &old);
	err = flock(fd, LOCK_EX);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return err;
}

static const char *root_hint(int err)
{
	return err == -EACCES || err == -EPERM ? " (tlsfw must run as root)" : "";
}

int ns_lock_path(char *path, size_t len)
{
	struct stat ns;

	if (stat("/proc/self/ns/net", &ns))
		return -errno;
	snprintf(path, len, "/run/tlsfw/netns-%lu.lock", (unsigned long)ns.st_ino);
	return 0;
}

static int lock_open(char *path, size_t len, struct diag *d)
{
	int fd;

	if (ns_lock_path(path, len))
		return diag_sys_error(d, -errno, "cannot identify the network namespace");
	if (mkdir("/run/tlsfw", 0755) && errno != EEXIST) {
		int err = -errno;

		return diag_sys_error(d, err, "cannot create /run/tlsfw%s", root_hint(err));
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int err = -errno;

		return diag_sys_error(d, err, "cannot open %s%s", path, root_hint(err));
	}
	return fd;
}

int ns_lock(struct diag *d)
{
	char path[64];
	int fd = lock_open(path, sizeof(path), d), err;

	if (fd < 0 || !flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	if (errno == EWOULDBLOCK) {
		fprintf(stderr,
			"tlsfw: waiting for another tlsfw command in this network namespace\n");
		if (!lock_wait(fd))
			return fd;
	}
	err = -errno;
	close(fd);
	return diag_sys_error(d, err, "cannot lock %s", path);
}

void policy_abs_path(const char *path, char *abs, size_t len)
{
	char real[PATH_MAX];

	if (!strcmp(path, "-"))
		snprintf(abs, len, "<stdin>");
	else if (realpath(path, real))
		snprintf(abs, len, "%s", real);
	else
		snprintf(abs, len, "%s", path);
}
