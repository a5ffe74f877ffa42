/* SPDX-License-Identifier: GPL-2.0 */
/* What the C benchmarks share: the ns per packet of a program from BPF_PROG_TEST_RUN. */
#ifndef TLSFW_LIB_BENCH_H
#define TLSFW_LIB_BENCH_H

#include <stdint.h>

#include "pkt.h"

/* Median over `runs` (at most 16) of the mean ns per packet of `repeat` test runs of prog_fd
 * on p. Exits on a failed test run: a benchmark without its figure is no benchmark. */
uint32_t bench_ns(int prog_fd, const struct pkt *p, unsigned int repeat, unsigned int runs);

/* BENCH_REPEAT and BENCH_RUNS from the environment (a quick look), else 1,000,000 and 5. */
void bench_env(unsigned int *repeat, unsigned int *runs);

/* CLOCK_MONOTONIC in milliseconds. */
double bench_now_ms(void);

/* The median of v[0..n-1] (n > 0), which it sorts. */
uint32_t bench_median_u32(uint32_t *v, unsigned int n);

#endif
