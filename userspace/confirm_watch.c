// SPDX-License-Identifier: GPL-2.0
/*
 * The watchdog of `apply --confirm` (confirm.h): a process of its own, in a session of its
 * own, that outlives apply, the shell and the SSH session, and at the deadline restores the
 * policy it holds compiled in memory (or detaches) unless SIGTERM (`tlsfw confirm`) came
 * first. Its outcome goes to syslog: nobody waits for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "backend.h"
#include "confirm_priv.h"
#include "lock.h"

/* Every descriptor but stdio (now /dev/null) and keep: the caller's (a captured stdout, the
 * namespace lock, an SSH channel) must not be held open by a process that outlives it. */
static void detach_fds(int keep_a, int keep_b)
{
	int lo = keep_a < keep_b ? keep_a : keep_b, hi = keep_a < keep_b ? keep_b : keep_a;
	int null = open("/dev/null", O_RDWR);

	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	if (null > 2 && null != lo && null != hi)
		close(null);
	if (lo > 3)
		close_range(3, lo - 1, 0);
	if (hi > lo + 1)
		close_range(lo + 1, hi - 1, 0);
	close_range(hi + 1, ~0U, 0);
}

/* Until the deadline, or a stopping signal (the confirmation): 1 when confirmed. */
static int wait_deadline(int64_t deadline_ms)
{
	sigset_t stop;

	stop_signals(&stop);
	for (;;) {
		int64_t left = deadline_ms - confirm_now_ms();
		struct timespec ts;

		if (left <= 0)
			return 0;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		if (sigtimedwait(&stop, NULL, &ts) > 0)
			return 1;
	}
}

/* Under the namespace lock: still the watchdog the record names (a `tlsfw confirm`, a
 * detach or a newer apply --confirm did not end it while it waited for the lock), then the
 * rollback (*done). */
static int rollback(struct confirm_arm *ca, bool *done, struct diag *d)
{
	struct backend_apply a = { .c = ca->prev,
				   .policy_file = ca->rec.restore_file,
				   .out = stdout };
	struct confirm_pending cur;
	struct backend_result r;
	bool found;
	int lock = ns_lock(d), err;

	*done = false;
	if (lock < 0)
		return lock;
	err = confirm_read(&cur, &found, d);
	if (err || !found || cur.pid != getpid() || stop_signal_pending()) {
		close(lock);
		return err;
	}
	*done = true;
	if (ca->rec.restore)
		err = backend_apply_locked(&a, &r, d);
	else
		err = backend_detach_locked(NULL, 0, stdout, d);
	confirm_record_remove();
	close(lock);
	return err;
}

static void watchdog_log(const struct confirm_arm *ca, int err, const struct diag *d)
{
	char what[TLSFW_PATH_MAX + 64];

	confirm_rollback_text(&ca->rec, what, sizeof(what));
	openlog("tlsfw", LOG_PID, LOG_DAEMON);
	if (err)
		syslog(LOG_ERR, "%s was not confirmed; tlsfw %s: failed (%s)", ca->rec.policy, what,
		       strerror(-err));
	else
		syslog(LOG_WARNING, "%s was not confirmed in time; tlsfw %s", ca->rec.policy, what);
	for (size_t i = 0; err && i < d->n; i++)
		syslog(LOG_ERR, "%s", d->recs[i].msg);
	closelog();
}

/* The watchdog's life; never returns. */
static void watchdog(struct confirm_arm *ca, int cmd_fd, int pid_fd)
{
	int64_t deadline = ca->rec.deadline_ms, msg;
	pid_t me = getpid();
	bool done;
	struct diag d;
	int err;

	signal(SIGHUP, SIG_IGN);
	stop_signals_block();
	detach_fds(cmd_fd, pid_fd);
	if (chdir("/"))
		_exit(2);
	if (write(pid_fd, &me, sizeof(me)) != sizeof(me))
		_exit(2);
	close(pid_fd);
	/* apply's outcome: the deadline from its end, or 0 when nothing was applied. End of
	 * file (apply died, by SIGKILL too) keeps the provisional deadline: roll back anyway. */
	if (read(cmd_fd, &msg, sizeof(msg)) == sizeof(msg))
		deadline = msg;
	close(cmd_fd);
	if (!deadline || wait_deadline(deadline))
		_exit(0);
	diag_init(&d);
	err = rollback(ca, &done, &d);
	if (done || err)
		watchdog_log(ca, err, &d);
	/* _exit: the memory goes with the process; nothing of the caller's atexit must run */
	_exit(err ? 2 : 0);
}

int confirm_watchdog_start(struct confirm_arm *ca, struct diag *d)
{
	int cmd[2], pid[2], status;
	pid_t child, wd = 0;

	if (pipe2(cmd, O_CLOEXEC))
		return diag_sys_error(d, -errno, "cannot start the confirmation watchdog");
	if (pipe2(pid, O_CLOEXEC)) {
		close(cmd[0]);
		close(cmd[1]);
		return diag_sys_error(d, -errno, "cannot start the confirmation watchdog");
	}
	fflush(NULL);
	child = fork();
	if (child == 0) {
		/* the middle process: a new session, then gone, so the watchdog has no
		 * controlling terminal and no parent that a hangup or a kill of the group reaches */
		close(cmd[1]);
		close(pid[0]);
		if (setsid() < 0)
			_exit(2);
		if (fork() == 0)
			watchdog(ca, cmd[0], pid[1]);
		_exit(0);
	}
	close(cmd[0]);
	close(pid[1]);
	if (child > 0)
		waitpid(child, &status, 0);
	if (child < 0 || read(pid[0], &wd, sizeof(wd)) != sizeof(wd) ||
	    confirm_proc_start(wd, &ca->rec.start)) {
		close(cmd[1]);
		close(pid[0]);
		return diag_sys_error(d, child < 0 ? -errno : -ECHILD,
				      "cannot start the confirmation watchdog");
	}
	close(pid[0]);
	ca->rec.pid = wd;
	ca->pipe_fd = cmd[1];
	return 0;
}
