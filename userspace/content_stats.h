/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading the content-inspection counters of the kernel (bpf/tlsfw_content_abi.h,
 * tlsfw_content_stats and tlsfw_flows) for `tlsfw stats`: the per-CPU statistics summed, the
 * flows present, and the flows the LRU evicted.
 */
#ifndef TLSFW_CONTENT_STATS_H
#define TLSFW_CONTENT_STATS_H

#include <stdint.h>

#include "tlsfw_content_abi.h"

struct content_stats {
	uint64_t stat[TLSFW_CSTAT_MAX]; /* summed over the CPUs */
	uint64_t flows;			/* entries present in tlsfw_flows */
	uint64_t evicted;		/* flows created minus present: tlsfw never deletes one */
};

/* From the fds of tlsfw_content_stats and tlsfw_flows. Returns 0 or -errno. */
int content_stats_read(int stats_fd, int flows_fd, struct content_stats *out);

#endif
