// SPDX-License-Identifier: GPL-2.0
/* The name table of a generation (issue 13): tlsfw_names entries and tlsfw_content_cfg. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <bpf/bpf.h>

#include "bpf_fill.h"
#include "plan.h"

static int set_content_cfg(const struct bpf_maps *m, unsigned int gen,
			   const struct tlsfw_content_cfg *c)
{
	uint32_t key = gen;

	return bpf_map_update_elem(m->content_cfg, &key, c, BPF_ANY) ? -errno : 0;
}

int bpf_fill_names(const struct bpf_maps *m, const struct plan *pl, unsigned int gen,
		   struct diag *d)
{
	const struct name_table *t = &pl->names;
	struct tlsfw_content_cfg c = { .seed = t->seed, .wild_mask = t->wild_mask };
	struct tlsfw_name_key *keys;
	size_t failed = 0;
	int err;

	/* A new epoch for every fill: flows compute their name class again (a fixed value is
	 * still correct when random bytes are missing: it only costs a stale class once). */
	if (getrandom(&c.epoch, sizeof(c.epoch), 0) != sizeof(c.epoch))
		c.epoch = 0x5ca1ab1e ^ gen;
	c.epoch |= 1;
	if (!pl->has_names || !t->n)
		return set_content_cfg(m, gen, &c);
	keys = malloc(t->n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	memcpy(keys, t->keys, t->n * sizeof(*keys));
	for (size_t i = 0; i < t->n; i++)
		keys[i].gen = gen;
	err = bpf_update_many(m->names, keys, sizeof(*keys), t->vals, sizeof(*t->vals), t->n,
			      &failed);
	free(keys);
	if (err) {
		struct loc l = { 0 };

		diag_error(d, &l, "map tlsfw_names: update failed: %s", strerror(-err));
		return err;
	}
	return set_content_cfg(m, gen, &c);
}

int bpf_clear_names(const struct bpf_maps *m, unsigned int gen)
{
	return set_content_cfg(m, gen, &(struct tlsfw_content_cfg){ 0 });
}
