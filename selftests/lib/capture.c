// SPDX-License-Identifier: GPL-2.0
/* What a real client sends first (see capture.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"

extern char **environ;

int capture_listen(struct capture *c, int type, int family)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1;

	c->type = type;
	c->fd = socket(family == 6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == 6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	if (bind(c->fd, (struct sockaddr *)&ss, len) || (type == SOCK_STREAM && listen(c->fd, 4)) ||
	    getsockname(c->fd, (struct sockaddr *)&ss, &len)) {
		int err = -errno;

		close(c->fd);
		return err;
	}
	c->port = ntohs(family == 6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
				      ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static long ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

static int wait_in(int fd, const struct timespec *end)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long left = ms_left(end);

	if (left <= 0)
		return -ETIMEDOUT;
	if (poll(&p, 1, left) <= 0)
		return -ETIMEDOUT;
	return 0;
}

/* The first handshake message is complete in buf[0..n) (or the bytes are not TLS). */
static int hello_complete(const uint8_t *b, size_t n)
{
	size_t at = 0, hs = 0, hn = 0;
	uint8_t h[4];

	if (n && b[0] != 22)
		return 1;
	while (at + 5 <= n) {
		size_t len = (size_t)b[at + 3] << 8 | b[at + 4], have = n - at - 5;

		if (b[at] != 22)
			return 1;
		if (have > len)
			have = len;
		for (size_t i = 0; i < have && hn < 4; i++) /* the header may span records */
			h[hn++] = b[at + 5 + i];
		hs += have;
		if (hn == 4 && hs >= 4 + ((size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3]))
			return 1;
		at += 5 + len;
	}
	return 0;
}

/* The first handshake message of the first connection that sends anything. A client may
 * close a connection unused: Chromium's backup connect job opens a second connection when
 * the first is slow to complete (a loaded machine) and closes whichever it does not use, so
 * a connection that ends with nothing read is skipped for the next one. */
static ssize_t read_tcp(int lfd, uint8_t *buf, size_t cap, const struct timespec *end)
{
	for (;;) {
		size_t n = 0;
		int fd, err;

		if ((err = wait_in(lfd, end)))
			return err;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return -errno;
		while (n < cap && !hello_complete(buf, n)) {
			ssize_t r;

			if ((err = wait_in(fd, end)))
				break;
			r = read(fd, buf + n, cap - n);
			if (r <= 0)
				break;
			n += r;
		}
		close(fd);
		if (n)
			return n;
		if (err)
			return err;
	}
}

ssize_t capture_run(struct capture *c, char *const argv[], uint8_t *buf, size_t cap, int timeout_ms)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct timespec end;
	ssize_t got;
	pid_t pid;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 3; i++)
		posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	err = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (err) {
		close(c->fd);
		return -err;
	}
	if (c->type == SOCK_STREAM) {
		got = read_tcp(c->fd, buf, cap, &end);
	} else {
		got = wait_in(c->fd, &end);
		if (!got)
			got = recv(c->fd, buf, cap, 0);
		if (got < 0 && got != -ETIMEDOUT)
			got = -errno;
	}
	kill(-pid, SIGKILL); /* the group this run started, and nothing else */
	waitpid(pid, NULL, 0);
	close(c->fd);
	return got;
}
