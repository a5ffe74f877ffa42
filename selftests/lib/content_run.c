// SPDX-License-Identifier: GPL-2.0
/* Driving the content test program (see content_run.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "content_run.h"

int crun_frame(struct crun *r, int hook, const struct pkt *p, struct tlsfw_facts *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = p->len, .repeat = 1);

	memset(r->res, 0, sizeof(*r->res));
	r->res->parse_rc = -1;
	if (bpf_prog_test_run_opts(r->prog[hook], &o))
		return -errno;
	if (r->res->parse_rc != 1) /* PARSE_OK */
		return -EINVAL;
	*out = r->res->facts;
	return 0;
}

/* Delete the keys of `fd` for which keep() says no (NULL: all). Returns how many. */
static long delete_keys(int fd, size_t ksize, int (*keep)(const void *key, void *arg), void *arg)
{
	uint8_t *keys = NULL, cur[512], next[512];
	size_t n = 0, cap = 0;
	int first = 1;

	while (!bpf_map_get_next_key(fd, first ? NULL : cur, next)) {
		first = 0;
		memcpy(cur, next, ksize);
		if (keep && keep(cur, arg))
			continue;
		if (n == cap) {
			uint8_t *k = realloc(keys, (cap = cap ? cap * 2 : 256) * ksize);

			if (!k) {
				free(keys);
				return -ENOMEM;
			}
			keys = k;
		}
		memcpy(keys + n++ * ksize, cur, ksize);
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * ksize);
	free(keys);
	return n;
}

static int other_gen(const void *key, void *arg)
{
	return ((const struct tlsfw_name_key *)key)->gen != *(uint8_t *)arg;
}

int crun_names(struct crun *r, uint8_t gen, uint32_t epoch, const struct name_table *t)
{
	struct tlsfw_content_cfg c = { .epoch = epoch };
	uint32_t key = gen;
	long err = delete_keys(r->names, sizeof(struct tlsfw_name_key), other_gen, &gen);

	if (err < 0)
		return err;
	if (t) {
		uint32_t count = t->n;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		if (count && bpf_map_update_batch(r->names, t->keys, t->vals, &count, &bo))
			return -errno;
		c.seed = t->seed;
		c.wild_mask = t->wild_mask;
	}
	return bpf_map_update_elem(r->cfg, &key, &c, BPF_ANY) ? -errno : 0;
}

long crun_flows_clear(struct crun *r)
{
	return delete_keys(r->flows, sizeof(struct tlsfw_flow_key), NULL, NULL);
}

long crun_flows_count(struct crun *r)
{
	struct tlsfw_flow_key cur, next;
	long n = 0;

	while (!bpf_map_get_next_key(r->flows, n ? &cur : NULL, &next)) {
		cur = next;
		n++;
	}
	return n;
}

uint64_t crun_stat(struct crun *r, uint32_t idx)
{
	uint64_t *v = calloc(r->ncpu, sizeof(*v)), sum = 0;

	if (v && !bpf_map_lookup_elem(r->stats, &idx, v))
		for (int i = 0; i < r->ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}
