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

/* The process grace_start began (clone(CLONE_VM), not a thread: a second thread turns
 * glibc's malloc to its locked path for good, which cost the compiler of a 4,096-rule policy
 * 10 ms of CPU, measured). It runs one system call on a stack of its own and exits. */
#define EARLY_STACK (64 * 1024)

static struct {
	pid_t pid;	/* 0: none running */
	uint32_t flips; /* the counter, read before the wait began */
	void *stack;
} early;

/* The lock file, opened with FLAGS: a descriptor or -errno. */
static int counter_open(int flags)
{
	char path[LOCK_PATH_LEN];
	int fd;

	if (ns_lock_path(path, sizeof(path)))
		return -errno;
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

static int flips_write(uint32_t flips)
{
	int fd = counter_open(O_WRONLY), err;
	ssize_t n;

	if (fd < 0)
		return fd;
	n = pwrite(fd, &flips, sizeof(flips), 0);
	err = n == sizeof(flips) ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
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

void grace_start(void)
{
	long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (early.pid || cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL))
		return;
	/* The counter first: a flip after this read is seen under the lock, one before it is
	 * covered by the wait that follows. */
	if (flips_read(&early.flips))
		return;
	early.stack = mmap(NULL, EARLY_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (early.stack == MAP_FAILED) {
		early.stack = NULL;
		return;
	}
	/* No exit signal: collected with __WCLONE. A stopping signal sent to the process group
	 * may end it early, which grace_since_flip sees in its status. */
	early.pid = clone(early_wait, (char *)early.stack + EARLY_STACK, CLONE_VM, NULL);
	if (early.pid < 0) {
		early.pid = 0;
		munmap(early.stack, EARLY_STACK);
		early.stack = NULL;
	}
}

void grace_since_flip(void)
{
	uint32_t now;
	bool covered = false;

	if (early.pid) {
		int status;
		pid_t r;

		while ((r = waitpid(early.pid, &status, __WCLONE)) < 0 && errno == EINTR)
			;
		covered = r == early.pid && WIFEXITED(status) && !WEXITSTATUS(status) &&
			  !(early.flips & 1) && !flips_read(&now) && now == early.flips;
		early.pid = 0;
		munmap(early.stack, EARLY_STACK);
		early.stack = NULL;
	}
	if (!covered)
		grace_period();
}

int grace_flip_begin(void)
{
	uint32_t flips;
	int err = flips_read(&flips);

	return err ? err : flips_write((flips | 1) + 2);
}

void grace_flip_end(void)
{
	uint32_t flips;

	if (!flips_read(&flips) && (flips & 1))
		flips_write(flips + 1);
}
