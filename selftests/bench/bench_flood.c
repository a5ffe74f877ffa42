// SPDX-License-Identifier: GPL-2.0
/*
 * A UDP flood for selftests/bench/bench_nft.sh: minimum-size datagrams (18 bytes of payload,
 * 64-byte Ethernet frames over IPv4) to ADDR:PORT with sendmmsg, 64 per call, for SECONDS
 * seconds. Prints the number of datagrams the kernel accepted. Bounded in time by design; run
 * it only inside a test namespace.
 *
 *   bench_flood ADDR PORT SECONDS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct mmsghdr m[BATCH];
	struct iovec iov;
	char payload[18] = "tlsfw-bench-flood";
	unsigned long long sent = 0;
	double end, seconds;
	int s;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: bench_flood ADDR PORT SECONDS\n");
		return 1;
	}
	to.sin_port = htons(atoi(argv[2]));
	seconds = atof(argv[3]);
	if (seconds <= 0 || seconds > 60) {
		fprintf(stderr, "bench_flood: SECONDS must be in (0, 60]\n");
		return 1;
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof(to))) {
		perror("bench_flood: socket");
		return 1;
	}
	iov.iov_base = payload;
	iov.iov_len = sizeof(payload);
	memset(m, 0, sizeof(m));
	for (int i = 0; i < BATCH; i++) {
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	end = now() + seconds;
	while (now() < end) {
		int n = sendmmsg(s, m, BATCH, 0);

		if (n > 0)
			sent += n;
		else if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) {
			perror("bench_flood: sendmmsg");
			return 1;
		}
	}
	printf("%llu\n", sent);
	return 0;
}
