/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a real client sends first: listen on loopback, start the client (in a process group of
 * its own, so that everything it forks is ended with it), read its first ClientHello (TCP) or
 * datagram (UDP), end the group. For tests that want ClientHellos, QUIC Initials, DTLS, DNS
 * and OpenVPN packets from the software that really sends them.
 */
#ifndef TLSFW_CAPTURE_H
#define TLSFW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct capture {
	int fd;
	int type;      /* SOCK_STREAM or SOCK_DGRAM */
	uint16_t port; /* where the client must connect (127.0.0.1 or ::1) */
};

/* A listening socket on a free port of 127.0.0.1 (family 4) or ::1 (6). Returns 0 or -errno. */
int capture_listen(struct capture *c, int type, int family);

/*
 * Run argv (PATH searched; stdin, stdout and stderr on /dev/null) and read into buf: for TCP
 * until a whole first handshake message has arrived in TLS records (or the bytes cannot be
 * TLS), for UDP one datagram. Closes the socket. Returns the bytes read, or -ETIMEDOUT,
 * -errno.
 */
ssize_t capture_run(struct capture *c, char *const argv[], uint8_t *buf, size_t cap,
		    int timeout_ms);

#endif
