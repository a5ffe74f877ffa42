// SPDX-License-Identifier: GPL-2.0
/* What the C benchmarks share (see lib_bench.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "lib_bench.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t bench_median_u32(uint32_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

uint32_t bench_ns(int prog_fd, const struct pkt *p, unsigned int repeat, unsigned int runs)
{
	uint32_t v[16];
	unsigned int n = runs < 16 ? runs : 16;

	for (unsigned int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = p->len,
			    .repeat = repeat);

		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			fprintf(stderr, "test run: %s\n", strerror(errno));
			exit(1);
		}
		v[i] = o.duration;
	}
	return bench_median_u32(v, n);
}

void bench_env(unsigned int *repeat, unsigned int *runs)
{
	*repeat = getenv("BENCH_REPEAT") ? strtoul(getenv("BENCH_REPEAT"), NULL, 10) : 1000000;
	*runs = getenv("BENCH_RUNS") ? strtoul(getenv("BENCH_RUNS"), NULL, 10) : 5;
	if (!*runs || *runs > 16)
		*runs = 5;
}

double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
