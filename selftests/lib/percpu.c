// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>

#include "../../bpf/tlsfw_abi.h"
#include "percpu.h"

int percpu_counter_sum(int fd, uint32_t key, int ncpu, uint64_t *packets, uint64_t *bytes)
{
	struct tlsfw_counter *v = calloc(ncpu, sizeof(*v));
	int err = 0;

	if (!v)
		return -ENOMEM;
	*packets = *bytes = 0;
	if (bpf_map_lookup_elem(fd, &key, v)) {
		err = -errno;
	} else {
		for (int c = 0; c < ncpu; c++) {
			*packets += v[c].packets;
			*bytes += v[c].bytes;
		}
	}
	free(v);
	return err;
}

int percpu_counters_sum(int fd, uint32_t first, uint32_t n, int ncpu, uint64_t *packets,
			uint64_t *bytes)
{
	for (uint32_t i = 0; i < n; i++) {
		int err = percpu_counter_sum(fd, first + i, ncpu, &packets[i], &bytes[i]);

		if (err)
			return err;
	}
	return 0;
}
