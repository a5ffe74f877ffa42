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

/*
 * A new epoch for generation gen: the other generation's (the policy in force) plus one
 * step: epochs count up across applies, so a flow's cached name class or decision is never
 * taken for a later policy's (2^26 fills before they wrap), and flows compute both again
 * (tlsfw_content_abi.h, TLSFW_EPOCH_STEP). When no generation has an epoch (new maps), the
 * count starts at a random value: a flow table kept from elsewhere then matches one of its
 * tags with odds of 2^-26 at most.
 */
static uint32_t next_epoch(const struct bpf_maps *m, unsigned int gen)
{
	struct tlsfw_content_cfg other = { 0 }, mine = { 0 };
	uint32_t key = gen ^ 1, e;

	bpf_map_lookup_elem(m->content_cfg, &key, &other);
	key = gen;
	bpf_map_lookup_elem(m->content_cfg, &key, &mine);
	e = other.epoch & ~(TLSFW_EPOCH_STEP - 1);
	if (e)
		e += TLSFW_EPOCH_STEP;
	else if (getrandom(&e, sizeof(e), 0) != sizeof(e))
		e = 0x5ca1ab00u ^ (gen << 16);
	e &= ~(TLSFW_EPOCH_STEP - 1);
	while (!e || e == (mine.epoch & ~(TLSFW_EPOCH_STEP - 1)))
		e += TLSFW_EPOCH_STEP;
	return e;
}

int bpf_fill_names(const struct bpf_maps *m, const struct plan *pl, unsigned int gen,
		   struct diag *d)
{
	const struct name_table *t = &pl->names;
	struct tlsfw_content_cfg c = { .seed = t->seed, .wild_mask = t->wild_mask };
	struct tlsfw_name_key *keys;
	size_t failed = 0;
	int err;

	c.epoch = next_epoch(m, gen);
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
