// SPDX-License-Identifier: GPL-2.0
/* The grace period between a flip and the next write into the retired generation (grace.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/membarrier.h>

#include "grace.h"
#include "lock.h"

#define LOCK_PATH_LEN 64

/* The waiters are clone(CLONE_VM) processes, not threads (a second thread turns glibc's
 * malloc to its locked path for good, which cost the compiler of a 4,096-rule policy 10 ms
 * of CPU, measured), each making system calls on a stack of its own. */
#define WAITER_STACK (64 * 1024)

static struct {
	pid_t pid;	/* 0: none running */
	uint32_t flips; /* the counter, read before the wait began */
	void *stack;
} early;

/* The lock file's path, once the detached waiter is about to start: it then opens the file by
 * this path alone (it shares this process's memory, grace_detach). */
static char detached_path[LOCK_PATH_LEN];

/* The lock file, opened with FLAGS: a descriptor or -errno. */
static int counter_open(int flags)
{
	char buf[LOCK_PATH_LEN];
	const char *path = detached_path;
	int fd;

	if (!path[0]) {
		if (ns_lock_path(buf, sizeof(buf)))
			return -errno;
		path = buf;
	}
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The counter (0 when the file is missing or shorter: nothing has flipped since boot). */
static int flips_read(uint32_t *flips)
{
	int fd = counter_open(O_RDONLY), err;
	ssize_t n;

	*flips = 0;
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	n = pread(fd, flips, sizeof(*flips), 0);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (n != sizeof(*flips))
		*flips = 0;
	return err;
}

/* The counter's two low bits: the state since the last flip of epoch (counter & ~3). */
enum { QUIET = 0, FLIPPING = 1, FLIPPED = 2, STATE = 3 };

/* The epoch of this process's flip, from grace_flip_begin; whether a waiter must mark it. */
static uint32_t epoch;
static bool detach_pending;

/*
 * One step of the counter, read, changed and written under an OFD lock of its four bytes
 * (the detached waiter holds no flock; OFD and flock locks do not interact):
 *   FLIPPING: a new epoch, about to flip (unconditional);
 *   FLIPPED:  FLIPPING of this epoch -> its flip done and the apply over;
 *   QUIET:    FLIPPED of this epoch -> a grace period ended after its flip.
 * A step from a state the counter no longer has (a later apply moved it on) changes nothing.
 */
static int counter_step(unsigned int to)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = sizeof(uint32_t) };
	int fd = counter_open(O_RDWR), err = 0;
	uint32_t c = 0, want;

	if (fd < 0)
		return fd;
	if (fcntl(fd, F_OFD_SETLKW, &fl) || pread(fd, &c, sizeof(c), 0) < 0) {
		err = -errno;
		goto out;
	}
	if (to == FLIPPING) {
		epoch = (c & ~(uint32_t)STATE) + 4;
		want = epoch | FLIPPING;
	} else if (c == (epoch | (to == FLIPPED ? FLIPPING : FLIPPED))) {
		want = epoch | to;
	} else {
		goto out;
	}
	if (pwrite(fd, &want, sizeof(want), 0) != sizeof(want))
		err = errno ? -errno : -EIO;
out:
	close(fd); /* releases the OFD lock */
	return err;
}

void grace_period(void)
{
	if (!syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		return;
	/* nohz_full kernels refuse the command: wait far longer than any program runs. */
	usleep(50 * 1000);
}

/* The membarrier command is known to be supported (grace_start asked): the call cannot fail
 * and so writes no errno, which this process shares with its parent. */
static int early_wait(void *arg)
{
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	return 0;
}

/* Start fn in a clone(CLONE_VM | flags) child on a stack of its own, which *stack receives
 * (to unmap once the child has ended). Returns its pid, or 0 (and *stack NULL) when none
 * started. */
static pid_t waiter_start(int (*fn)(void *), int flags, void **stack)
{
	pid_t pid;

	*stack = mmap(NULL, WAITER_STACK, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (*stack == MAP_FAILED) {
		*stack = NULL;
		return 0;
	}
	pid = clone(fn, (char *)*stack + WAITER_STACK, CLONE_VM | flags, NULL);
	if (pid > 0)
		return pid;
	munmap(*stack, WAITER_STACK);
	*stack = NULL;
	return 0;
}

void grace_start(void)
{
	long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (early.pid || cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL))
		return;
	/* The counter first: a flip after this read is seen under the lock, one before it is
	 * covered by the wait that follows. */
	if (flips_read(&early.flips))
		return;
	/* No exit signal: collected with __WCLONE. A stopping signal sent to the process group
	 * may end it early, which grace_since_flip sees in its status. */
	early.pid = waiter_start(early_wait, 0, &early.stack);
}

/* Whether the early waiter has ended with its wait complete; once it has ended (either
 * way), early.pid is 0 and its stack released. Does not block. */
static bool early_reap(void)
{
	int status;
	pid_t r;

	while ((r = waitpid(early.pid, &status, __WCLONE | WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return false;
	early.pid = 0;
	munmap(early.stack, WAITER_STACK);
	early.stack = NULL;
	return r > 0 && WIFEXITED(status) && !WEXITSTATUS(status);
}

/*
 * FLIPPED, and the early waiter read this very value before its wait began: its wait covers
 * the flip. So does the detached waiter's of the apply that flipped, which began earlier (at
 * that apply's end) and marks the counter QUIET when it ends: whichever ends first. Polled
 * every half millisecond, for at most one grace period.
 */
static bool early_or_quiet(void)
{
	uint32_t now;

	for (;;) {
		if (!early.pid)
			return false;
		if (early_reap())
			return true;
		if (!early.pid)
			return false; /* it ended without its wait: a signal */
		if (!flips_read(&now) && (now & STATE) == QUIET)
			return true; /* the early waiter is left to end on its own */
		usleep(500);
	}
}

void grace_since_flip(void)
{
	uint32_t now;
	bool covered = false;

	if (!flips_read(&now)) {
		if ((now & STATE) == QUIET)
			covered = true;
		else if ((now & STATE) == FLIPPED && early.pid && early.flips == now)
			covered = early_or_quiet();
	}
	if (!covered)
		grace_period();
}

int grace_flip_begin(void)
{
	return counter_step(FLIPPING);
}

void grace_flip_end(bool committed)
{
	/* A rollback leaves FLIPPING: the next apply waits under the lock. */
	if (committed && !counter_step(FLIPPED))
		detach_pending = true;
}

/* The detached waiter. Nothing of the parent's: no terminal's signals, no pipe a caller reads
 * to its end, no lock or map kept (its descriptors are copies: CLONE_FILES is not given).
 * Only system calls, on a stack of its own: it shares the memory, and glibc's state, of a
 * parent that is exiting meanwhile. */
static int detached_wait(void *arg)
{
	setsid();
	close_range(0, ~0U, 0);
	grace_period();
	counter_step(QUIET);
	return 0;
}

/*
 * clone(CLONE_VM) rather than fork(): a fork copied the page tables of the whole process (the
 * compiler's heap, the mapped maps) and the parent then tore its own down at exit, both
 * while the caller waited (performance.md, "Tenth round"). This child takes the address
 * space over instead: the parent's exit leaves it to the child, which frees it after its
 * wait, when nobody waits for it.
 */
void grace_detach(void)
{
	void *stack;

	if (!detach_pending)
		return;
	detach_pending = false;
	if (ns_lock_path(detached_path, sizeof(detached_path))) {
		detached_path[0] = '\0';
		return; /* no waiter: the next apply waits itself */
	}
	/* SIGCHLD as fork's: the parent exits without waiting, and init collects it. The stack
	 * is never unmapped: it goes with the address space. */
	waiter_start(detached_wait, SIGCHLD, &stack);
}
