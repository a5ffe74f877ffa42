/* SPDX-License-Identifier: GPL-2.0 */
/* Reading a tlsfw counter the way a test wants it: every CPU's slot summed. */
#ifndef TLSFW_SELFTEST_PERCPU_H
#define TLSFW_SELFTEST_PERCPU_H

#include <stdint.h>

/* Sum counter `key` of the counters map fd over its CPUs into *packets and *bytes (ncpu is
 * unused: the map says how many copies it holds). Returns 0 or -errno. */
int percpu_counter_sum(int fd, uint32_t key, int ncpu, uint64_t *packets, uint64_t *bytes);
/* The same for the n counters from key first on, into packets[0..n) and bytes[0..n). */
int percpu_counters_sum(int fd, uint32_t first, uint32_t n, int ncpu, uint64_t *packets,
			uint64_t *bytes);

#endif
