// SPDX-License-Identifier: GPL-2.0
/* Reading the content-inspection counters (see content_stats.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "content_stats.h"

#define FLOW_BATCH 4096

/* Entries of the flow table: batch lookups, or one key at a time where the kernel has none. */
static int count_flows(int fd, uint64_t *n)
{
	struct tlsfw_flow_key *keys = calloc(FLOW_BATCH, sizeof(*keys)), cur, next;
	struct tlsfw_flow *vals = calloc(FLOW_BATCH, sizeof(*vals));
	uint64_t in = 0, total = 0;
	int err, first = 1;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		__u32 count = FLOW_BATCH;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &in, keys, vals, &count, &o);
		first = 0;
		total += count;
		if (err) {
			err = -errno;
			break;
		}
	}
	if (err != -ENOENT) /* not the end: a kernel without batch lookups (ENOTSUPP, 524) */
		for (total = 0; !bpf_map_get_next_key(fd, total ? &cur : NULL, &next); total++)
			cur = next;
	err = 0;
	free(keys);
	free(vals);
	*n = total;
	return err;
}

int content_stats_read(int stats_fd, int flows_fd, struct content_stats *out)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	uint64_t *v;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (__u32 i = 0; i < TLSFW_CSTAT_MAX && !err; i++) {
		if (bpf_map_lookup_elem(stats_fd, &i, v)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			out->stat[i] += v[c];
	}
	free(v);
	if (!err)
		err = count_flows(flows_fd, &out->flows);
	if (!err)
		out->evicted = out->stat[TLSFW_CSTAT_FLOW_NEW] > out->flows ?
				       out->stat[TLSFW_CSTAT_FLOW_NEW] - out->flows :
				       0;
	return err;
}
