// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>

#include "../../bpf/tlsfw_abi.h"
#include "bpf_fill.h"
#include "percpu.h"

int percpu_counter_sum(int fd, uint32_t key, int ncpu, uint64_t *packets, uint64_t *bytes)
{
	return percpu_counters_sum(fd, key, 1, ncpu, packets, bytes);
}

int percpu_counters_sum(int fd, uint32_t first, uint32_t n, int ncpu, uint64_t *packets,
			uint64_t *bytes)
{
	struct bpf_counters c;
	int err = bpf_counters_map(&c, fd);

	if (err)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		struct tlsfw_counter v;

		bpf_counter_sum(&c, first + i, &v);
		packets[i] = v.packets;
		bytes[i] = v.bytes;
	}
	bpf_counters_unmap(&c);
	return 0;
}
