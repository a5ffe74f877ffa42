// SPDX-License-Identifier: GPL-2.0
/*
 * Writing a plan into one generation of the data plane's maps, clearing a generation, and the
 * generation switch. Tables are written with batch updates (one system call per table) where
 * the map type has them; LPM tries fall back to one update per prefix.
 *
 * The fast path is decided here, per generation: which combination tables are direct-indexed
 * slices of the generation's tlsfw_direct value (an indexed load instead of a hash lookup per
 * packet) and whether B is a constant (no rule has addresses). tlsfw_cfg records the choice
 * for the data plane. The tlsfw_direct value is composed in memory and written with one
 * update.
 */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_fill.h"
#include "tlsfw.skel.h"

static const struct {
	const char *name;
	size_t off;
} map_names[] = {
	{ "tlsfw_state", offsetof(struct bpf_maps, state) },
	{ "tlsfw_cfg", offsetof(struct bpf_maps, cfg) },
	{ "tlsfw_ctx", offsetof(struct bpf_maps, ctx) },
	{ "tlsfw_proto", offsetof(struct bpf_maps, proto) },
	{ "tlsfw_sport", offsetof(struct bpf_maps, sport) },
	{ "tlsfw_dport", offsetof(struct bpf_maps, dport) },
	{ "tlsfw_src", offsetof(struct bpf_maps, src) },
	{ "tlsfw_dst", offsetof(struct bpf_maps, dst) },
	{ "tlsfw_comb1", offsetof(struct bpf_maps, comb1) },
	{ "tlsfw_comb2", offsetof(struct bpf_maps, comb2) },
	{ "tlsfw_comb3", offsetof(struct bpf_maps, comb3) },
	{ "tlsfw_frags", offsetof(struct bpf_maps, frags) },
	{ "tlsfw_counters", offsetof(struct bpf_maps, counters) },
	{ "tlsfw_rules", offsetof(struct bpf_maps, rules) },
	{ "tlsfw_ifaces", offsetof(struct bpf_maps, ifaces) },
	{ "tlsfw_meta", offsetof(struct bpf_maps, meta) },
	{ "tlsfw_direct", offsetof(struct bpf_maps, direct) },
};

#define N_MAPS (sizeof(map_names) / sizeof(map_names[0]))

static int *map_slot(struct bpf_maps *m, size_t i)
{
	return (int *)((char *)m + map_names[i].off);
}

static void maps_reset(struct bpf_maps *m)
{
	for (size_t i = 0; i < N_MAPS; i++)
		*map_slot(m, i) = -1;
}

int bpf_maps_from_skel(struct bpf_maps *m, const struct tlsfw *skel)
{
	struct bpf_maps r;
	struct bpf_map *maps[N_MAPS] = {
		skel->maps.tlsfw_state,	   skel->maps.tlsfw_cfg,    skel->maps.tlsfw_ctx,
		skel->maps.tlsfw_proto,	   skel->maps.tlsfw_sport,  skel->maps.tlsfw_dport,
		skel->maps.tlsfw_src,	   skel->maps.tlsfw_dst,    skel->maps.tlsfw_comb1,
		skel->maps.tlsfw_comb2,	   skel->maps.tlsfw_comb3,  skel->maps.tlsfw_frags,
		skel->maps.tlsfw_counters, skel->maps.tlsfw_rules,  skel->maps.tlsfw_ifaces,
		skel->maps.tlsfw_meta,	   skel->maps.tlsfw_direct,
	};

	for (size_t i = 0; i < N_MAPS; i++) {
		int fd = bpf_map__fd(maps[i]);

		if (fd < 0)
			return -EBADF; /* the skeleton is not loaded */
		*map_slot(&r, i) = fd;
	}
	*m = r;
	return 0;
}

int bpf_maps_from_prog_fd(struct bpf_maps *m, int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), n, *ids = NULL;
	struct bpf_maps r;
	int err = 0;

	maps_reset(&r);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	n = info.nr_map_ids;
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	if (info.nr_map_ids < n)
		n = info.nr_map_ids;
	for (__u32 i = 0; i < n; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		size_t j;

		if (fd < 0) {
			err = -errno;
			goto out;
		}
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			err = -errno;
			close(fd);
			goto out;
		}
		for (j = 0; j < N_MAPS; j++)
			if (!strcmp(mi.name, map_names[j].name) && *map_slot(&r, j) < 0)
				break;
		if (j == N_MAPS) {
			close(fd); /* .rodata and the like */
			continue;
		}
		*map_slot(&r, j) = fd;
	}
	for (size_t j = 0; j < N_MAPS; j++)
		if (*map_slot(&r, j) < 0)
			err = -ENOENT;
out:
	free(ids);
	if (err) {
		bpf_maps_close(&r);
		return err;
	}
	*m = r;
	return 0;
}

int bpf_maps_fd_by_name(const struct bpf_maps *m, const char *name)
{
	for (size_t i = 0; i < N_MAPS; i++)
		if (!strcmp(map_names[i].name, name))
			return *(const int *)((const char *)m + map_names[i].off);
	return -1;
}

void bpf_maps_close(struct bpf_maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < N_MAPS; i++) {
		int *fd = map_slot(m, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

/* Map errors point at the policy file when one was read (the plan keeps rule lines). */
static void fill_error(struct diag *d, uint32_t line, const char *fmt, const char *map,
		       const char *what, int err)
{
	struct loc loc = { .line = line, .col = 1, .len = 1 };

	if (!d)
		return;
	if (line && d->n_files)
		loc.file = d->files[d->n_files - 1];
	else
		loc.line = 0;
	diag_error(d, &loc, fmt, map, what, strerror(-err));
}

/*
 * One batch update; falls back to single updates where the kernel has no batch operation
 * for the map type. On failure *failed is the index of the entry that failed (or count).
 */
static int update_many(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz,
		       size_t count, size_t *failed)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 n = count;
	int err;

	*failed = count;
	if (!count)
		return 0;
	err = bpf_map_update_batch(fd, keys, vals, &n, &opts);
	if (!err)
		return 0;
	err = -errno;
	if (err != -EINVAL && err != -ENOTSUP && err != -EOPNOTSUPP) {
		*failed = n;
		return err;
	}
	for (size_t i = 0; i < count; i++) {
		if (bpf_map_update_elem(fd, (const char *)keys + i * ksz,
					(const char *)vals + i * vsz, BPF_ANY)) {
			*failed = i;
			return -errno;
		}
	}
	return 0;
}

static int fill_array(int fd, uint32_t first, const uint32_t *vals, size_t count)
{
	uint32_t *keys = calloc(count, sizeof(*keys));
	uint32_t *zeros = NULL;
	size_t failed;
	int err;

	if (!keys)
		return -ENOMEM;
	if (!vals) {
		vals = zeros = calloc(count, sizeof(*zeros));
		if (!zeros) {
			free(keys);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < count; i++)
		keys[i] = first + i;
	err = update_many(fd, keys, sizeof(*keys), vals, sizeof(*vals), count, &failed);
	free(keys);
	free(zeros);
	return err;
}

static int fill_trie(int fd, const struct plan_prefix *pp, size_t n, unsigned int gen)
{
	struct tlsfw_lpm_key *keys = calloc(n ? n : 1, sizeof(*keys));
	uint32_t *vals = calloc(n ? n : 1, sizeof(*vals));
	size_t failed;
	int err = -ENOMEM;

	if (!keys || !vals)
		goto out;
	for (size_t i = 0; i < n; i++) {
		keys[i].prefixlen = 8 + pp[i].plen;
		keys[i].gen = gen;
		memcpy(keys[i].addr, pp[i].addr, 16);
		vals[i] = pp[i].cls;
	}
	err = update_many(fd, keys, sizeof(*keys), vals, sizeof(*vals), n, &failed);
out:
	free(keys);
	free(vals);
	return err;
}

static int fill_comb(int fd, const struct plan_comb *c, size_t n, unsigned int gen)
{
	struct tlsfw_comb_key *keys = calloc(n ? n : 1, sizeof(*keys));
	uint32_t *vals = calloc(n ? n : 1, sizeof(*vals));
	size_t failed;
	int err = -ENOMEM;

	if (!keys || !vals)
		goto out;
	for (size_t i = 0; i < n; i++) {
		keys[i] = (struct tlsfw_comb_key){ c[i].a, c[i].b, c[i].c, gen };
		vals[i] = c[i].out;
	}
	err = update_many(fd, keys, sizeof(*keys), vals, sizeof(*vals), n, &failed);
out:
	free(keys);
	free(vals);
	return err;
}

/* Where a direct-indexed table goes and how it is indexed; len 0: the hash form. */
struct direct_tab {
	uint32_t base, len;  /* first word in the generation's value, words */
	uint32_t n1, n2, n3; /* class counts: index = (x * n2 + y) * n3 + z */
};

/* The slice for a table of entries v (classes below n1, n2, n3), taken from words [*next,
 * end); len 0 when the product is too large or an entry is out of its class range (the hash
 * form serves then). */
static struct direct_tab place(const struct plan_comb *v, size_t n, uint32_t n1, uint32_t n2,
			       uint32_t n3, uint32_t limit, uint32_t *next, uint32_t end)
{
	struct direct_tab t = { .n1 = n1, .n2 = n2, .n3 = n3 };
	uint64_t prod = (uint64_t)n1 * n2 * n3;

	if (!prod || prod > limit || prod > end - *next)
		return t;
	for (size_t i = 0; i < n; i++)
		if (v[i].a >= n1 || v[i].b >= n2 || v[i].c >= n3)
			return t;
	t.base = *next;
	t.len = prod;
	*next += prod;
	return t;
}

/* A direct table into the generation's words: vals[i] for entry i, the rest stays 0 (none). */
static void fill_direct(uint32_t *words, const struct direct_tab *t, const struct plan_comb *v,
			size_t n, const uint32_t *vals)
{
	for (size_t i = 0; i < n; i++)
		words[t->base + ((uint64_t)v[i].a * t->n2 + v[i].b) * t->n3 + v[i].c] = vals[i];
}

/* comb1 in its chosen form. */
static int fill_comb1(const struct bpf_maps *m, const struct plan *pl, unsigned int gen,
		      const struct direct_tab *t, uint32_t *words)
{
	uint32_t *vals;

	if (!t->len)
		return fill_comb(m->comb1, pl->comb1, pl->n_comb1, gen);
	vals = calloc(pl->n_comb1 ? pl->n_comb1 : 1, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n_comb1; i++)
		vals[i] = pl->comb1[i].out + 1; /* 0 is "no entry" */
	fill_direct(words, t, pl->comb1, pl->n_comb1, vals);
	free(vals);
	return 0;
}

/* The packed rule word (tlsfw_abi.h, TLSFW_DW_*) of plan rule r. */
static int rule_word_of(const struct plan *pl, const struct fill_ids *ids, uint32_t r, uint32_t *w)
{
	if (r >= pl->n_rules || ids->rule_slot[r] >= TLSFW_MAX_RULES)
		return -EINVAL;
	*w = TLSFW_DW_VALID | (pl->rules[r].monitor ? TLSFW_DW_MONITOR : 0) |
	     (uint32_t)(pl->rules[r].action & 3) << TLSFW_DW_ACTION_SHIFT | ids->rule_slot[r];
	return 0;
}

/* comb3 entries name rules: a failure can be traced to the rule (its line). */
static int fill_comb3(const struct bpf_maps *m, const struct plan *pl, unsigned int gen,
		      const struct fill_ids *ids, const struct direct_tab *t, uint32_t *dwords,
		      struct diag *d)
{
	size_t n = pl->n_comb3, failed = n;
	struct tlsfw_comb_key *keys = calloc(n ? n : 1, sizeof(*keys));
	struct tlsfw_rule_val *vals = calloc(n ? n : 1, sizeof(*vals));
	uint32_t *words = calloc(n ? n : 1, sizeof(*words));
	int err = -ENOMEM;

	if (!keys || !vals || !words)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct plan_comb *c = &pl->comb3[i];
		uint32_t r = c->out;

		if (rule_word_of(pl, ids, r, &words[i])) {
			err = -EINVAL;
			fill_error(d, 0, "map %s: %s: %s", "tlsfw_comb3",
				   "entry names a rule or rule slot out of range", err);
			goto out;
		}
		keys[i] = (struct tlsfw_comb_key){ c->a, c->b, c->c, gen };
		vals[i] = (struct tlsfw_rule_val){
			.rule_slot = ids->rule_slot[r],
			.action = pl->rules[r].action,
			.monitor = pl->rules[r].monitor,
		};
	}
	if (t->len) {
		fill_direct(dwords, t, pl->comb3, n, words);
		err = 0;
		goto out;
	}
	err = update_many(m->comb3, keys, sizeof(*keys), vals, sizeof(*vals), n, &failed);
	if (err && failed < n) {
		const struct plan_rule *r = &pl->rules[pl->comb3[failed].out];
		char what[128];

		snprintf(what, sizeof(what), "cannot store rule '%s'", r->name ? r->name : "?");
		fill_error(d, r->line, "map %s: %s: %s", "tlsfw_comb3", what, err);
	} else if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_comb3", "update failed", err);
	}
out:
	free(keys);
	free(vals);
	free(words);
	return err;
}

/*
 * Interface contexts: every one into the tlsfw_ctx hash (the fallback, and what detach
 * edits), and those with a small ifindex into the generation's context words.
 */
static int fill_ctx(const struct bpf_maps *m, const struct plan *pl, unsigned int gen,
		    const struct fill_ids *ids, uint32_t *words, struct diag *d)
{
	for (size_t i = 0; i < pl->n_ctx; i++) {
		struct tlsfw_ctx_key k = {
			.ifindex = ids->ifindex[i],
			.gen = gen,
			.dir = pl->ctx[i].dir,
		};
		uint32_t slot = ids->ctx_slot[i], cls = pl->ctx[i].cls;
		uint32_t flags = ids->ctx_flags ? ids->ctx_flags[i] & TLSFW_DW_HANDOFF : 0;
		struct tlsfw_ctx_val v = {
			.word = TLSFW_DW_VALID | flags | slot << TLSFW_DW_SLOT_SHIFT | cls,
		};
		char what[64];

		if (slot >= TLSFW_MAX_CTX || cls > TLSFW_DW_LOW || k.dir > 1) {
			snprintf(what, sizeof(what), "interface %s: counter block out of range",
				 pl->ctx[i].ifname);
			fill_error(d, 0, "map %s: %s: %s", "tlsfw_ctx", what, -EINVAL);
			return -EINVAL;
		}
		if (bpf_map_update_elem(m->ctx, &k, &v, BPF_ANY)) {
			int err = -errno;

			snprintf(what, sizeof(what), "interface %s", pl->ctx[i].ifname);
			fill_error(d, 0, "map %s: %s: %s", "tlsfw_ctx", what, err);
			return err;
		}
		if (k.ifindex < TLSFW_IFX_DIRECT)
			words[k.dir * TLSFW_IFX_DIRECT + k.ifindex] = v.word;
	}
	return 0;
}

/* One generation being written: the plan, where it goes, and the forms chosen. */
struct fill_job {
	const struct bpf_maps *m;
	const struct plan *pl;
	unsigned int gen;
	const struct fill_ids *ids;
	struct diag *d;
	struct tlsfw_cfg cfg;
	struct direct_tab t1, t3;
	uint32_t *words; /* the generation's tlsfw_direct value, TLSFW_DIRECT_WORDS */
};

/* B of every packet when no rule has addresses: the entry (0, 0, 0) of comb2, if any. */
static void choose_b(struct fill_job *j)
{
	const struct plan *pl = j->pl;

	if (pl->fields & (TLSFW_F_SRC | TLSFW_F_DST))
		return;
	j->cfg.flags |= TLSFW_CFG_B_CONST | TLSFW_CFG_NO_MATCH;
	for (size_t i = 0; i < pl->n_comb2; i++) {
		if (!pl->comb2[i].a && !pl->comb2[i].b && !pl->comb2[i].c) {
			j->cfg.b_const = pl->comb2[i].out;
			j->cfg.flags &= ~TLSFW_CFG_NO_MATCH;
		}
	}
}

/*
 * B constant: comb1 and comb3 as one table of n_ctx x (comb1 size) rule words, when it fits,
 * every context class is in range and every comb3 entry is (ctx, A, B) within its ranges.
 */
static bool choose_fused(struct fill_job *j, uint32_t limit)
{
	const struct plan *pl = j->pl;
	uint32_t next = 2 * TLSFW_IFX_DIRECT;
	uint64_t size;
	struct direct_tab t;

	if ((j->cfg.flags & (TLSFW_CFG_B_CONST | TLSFW_CFG_NO_MATCH)) != TLSFW_CFG_B_CONST)
		return false;
	for (size_t i = 0; i < pl->n_ctx; i++)
		if (pl->ctx[i].cls >= pl->n_ctx_cls)
			return false;
	for (size_t i = 0; i < pl->n_comb3; i++)
		if (pl->comb3[i].a >= pl->n_ctx_cls || pl->comb3[i].b >= pl->n_a_cls)
			return false;
	for (size_t i = 0; i < pl->n_comb1; i++)
		if (pl->comb1[i].out >= pl->n_a_cls)
			return false;
	t = place(pl->comb1, pl->n_comb1, pl->n_proto_cls, pl->n_sport_cls, pl->n_dport_cls, limit,
		  &next, TLSFW_DIRECT_WORDS);
	size = (uint64_t)pl->n_ctx_cls * t.len;
	if (!size || size > limit || size > TLSFW_DIRECT_WORDS - t.base)
		return false;
	j->t1 = t;
	j->cfg.flags |= TLSFW_CFG_COMB1_DIRECT | TLSFW_CFG_FUSED;
	j->cfg.comb1_base = t.base;
	j->cfg.comb1_len = t.len;
	j->cfg.n_sport = t.n2;
	j->cfg.n_dport = t.n3;
	return true;
}

/* Direct forms where they fit, after the context words: fused when B is constant, else comb1
 * first (both are read by every classified packet, and comb1 is usually the larger). */
static void choose_direct(struct fill_job *j)
{
	const struct plan *pl = j->pl;
	uint32_t next = 2 * TLSFW_IFX_DIRECT, limit = j->ids->direct_max;
	struct tlsfw_cfg *cfg = &j->cfg;

	if (!limit)
		limit = TLSFW_DIRECT_WORDS;
	if (choose_fused(j, limit))
		return;
	j->t1 = place(pl->comb1, pl->n_comb1, pl->n_proto_cls, pl->n_sport_cls, pl->n_dport_cls,
		      limit, &next, TLSFW_DIRECT_WORDS);
	j->t3 = place(pl->comb3, pl->n_comb3, pl->n_ctx_cls, pl->n_a_cls, pl->n_b_cls, limit, &next,
		      TLSFW_DIRECT_WORDS);
	if (j->t1.len) {
		cfg->flags |= TLSFW_CFG_COMB1_DIRECT;
		cfg->comb1_base = j->t1.base;
		cfg->comb1_len = j->t1.len;
		cfg->n_sport = j->t1.n2;
		cfg->n_dport = j->t1.n3;
	}
	if (j->t3.len) {
		cfg->flags |= TLSFW_CFG_COMB3_DIRECT;
		cfg->comb3_base = j->t3.base;
		cfg->comb3_len = j->t3.len;
		cfg->n_a = j->t3.n2;
		cfg->n_b = j->t3.n3;
	}
}

/* Phase-0 tables: arrays and tries. */
static int fill_phase0(const struct fill_job *j)
{
	const struct bpf_maps *m = j->m;
	const struct plan *pl = j->pl;
	unsigned int gen = j->gen;
	struct diag *d = j->d;
	int err;

	err = fill_array(m->proto, gen * TLSFW_PROTO_SLOTS, pl->proto_cls, TLSFW_PROTO_SLOTS);
	if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_proto", "update failed", err);
		return err;
	}
	err = fill_array(m->sport, gen * TLSFW_PORT_SLOTS, pl->sport_cls, TLSFW_PORT_SLOTS);
	if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_sport", "update failed", err);
		return err;
	}
	err = fill_array(m->dport, gen * TLSFW_PORT_SLOTS, pl->dport_cls, TLSFW_PORT_SLOTS);
	if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_dport", "update failed", err);
		return err;
	}
	err = fill_trie(m->src, pl->src, pl->n_src, gen);
	if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_src", "cannot store the source prefixes",
			   err);
		return err;
	}
	err = fill_trie(m->dst, pl->dst, pl->n_dst, gen);
	if (err)
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_dst",
			   "cannot store the destination prefixes", err);
	return err;
}

/* The fused table: for each comb1 entry and context class, the rule of (ctx, A, b_const). */
static int fill_fused(struct fill_job *j)
{
	const struct plan *pl = j->pl;
	const struct direct_tab *t = &j->t1;
	uint32_t n_a = pl->n_a_cls, *rule = calloc((size_t)pl->n_ctx_cls * n_a, sizeof(*rule));

	if (!rule)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n_comb3; i++) {
		const struct plan_comb *c = &pl->comb3[i];

		if (c->c != j->cfg.b_const)
			continue;
		if (rule_word_of(pl, j->ids, c->out, &rule[(size_t)c->a * n_a + c->b])) {
			free(rule);
			fill_error(j->d, 0, "map %s: %s: %s", "tlsfw_direct",
				   "entry names a rule or rule slot out of range", -EINVAL);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < pl->n_comb1; i++) {
		const struct plan_comb *c = &pl->comb1[i];
		uint64_t idx = ((uint64_t)c->a * t->n2 + c->b) * t->n3 + c->c;

		for (uint32_t x = 0; x < pl->n_ctx_cls; x++)
			j->words[t->base + (uint64_t)x * t->len + idx] =
				rule[(size_t)x * n_a + c->out];
	}
	free(rule);
	return 0;
}

/* Combination tables in their chosen forms, then the tlsfw_direct value. */
static int fill_combs(struct fill_job *j)
{
	const struct bpf_maps *m = j->m;
	const struct plan *pl = j->pl;
	struct diag *d = j->d;
	uint32_t key = j->gen;
	int err;

	if (j->cfg.flags & TLSFW_CFG_FUSED) {
		err = fill_fused(j);
		goto store;
	}
	err = fill_comb1(m, pl, j->gen, &j->t1, j->words);
	if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_comb1",
			   "cannot store the protocol and port combinations", err);
		return err;
	}
	/* With B constant, comb2 is never read. */
	if (!(j->cfg.flags & TLSFW_CFG_B_CONST)) {
		err = fill_comb(m->comb2, pl->comb2, pl->n_comb2, j->gen);
		if (err) {
			fill_error(d, 0, "map %s: %s: %s", "tlsfw_comb2",
				   "cannot store the address combinations", err);
			return err;
		}
	}
	err = fill_comb3(m, pl, j->gen, j->ids, &j->t3, j->words, d);
store:
	if (err)
		return err;
	if (bpf_map_update_elem(m->direct, &key, j->words, BPF_ANY)) {
		err = -errno;
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_direct",
			   "cannot store the direct-indexed tables", err);
	}
	return err;
}

int bpf_fill_gen(const struct bpf_maps *m, const struct plan *pl, unsigned int gen,
		 const struct fill_ids *ids, struct diag *d)
{
	struct fill_job j = {
		.m = m, .pl = pl, .gen = gen, .ids = ids, .d = d,
		.cfg = {
			.fields = pl->fields,
			.default_action = pl->default_action,
			.malformed_action = pl->malformed_action,
			.frag_mode = pl->frag_mode,
		},
	};
	uint32_t key = gen;
	int err;

	if (gen > 1 || !ids || (pl->n_rules && !ids->rule_slot) ||
	    (pl->n_ctx && (!ids->ifindex || !ids->ctx_slot)))
		return -EINVAL;
	j.words = calloc(TLSFW_DIRECT_WORDS, sizeof(*j.words));
	if (!j.words)
		return -ENOMEM;
	choose_b(&j);
	choose_direct(&j);
	err = fill_ctx(m, pl, gen, ids, j.words, d);
	if (!err)
		err = fill_phase0(&j);
	if (!err)
		err = fill_combs(&j);
	free(j.words);
	if (err)
		return err;
	/* Last: until the configuration is there the generation has no meaning. */
	if (bpf_map_update_elem(m->cfg, &key, &j.cfg, BPF_ANY)) {
		err = -errno;
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_cfg", "update failed", err);
		return err;
	}
	return 0;
}

int bpf_get_cfg(const struct bpf_maps *m, unsigned int gen, struct tlsfw_cfg *cfg)
{
	uint32_t key = gen;

	if (gen > 1)
		return -EINVAL;
	if (bpf_map_lookup_elem(m->cfg, &key, cfg))
		return -errno;
	return 0;
}

/* The low byte of tlsfw_comb_key.gen (a 32-bit word holding 0 or 1). */
static size_t gen_byte_off(void)
{
	const uint32_t one = 1;

	return offsetof(struct tlsfw_comb_key, gen) +
	       (*(const unsigned char *)&one ? 0 : sizeof(uint32_t) - 1);
}

/* Delete every key of a hash or trie whose generation byte (at gen_off) is gen. */
static int clear_hash(int fd, size_t ksz, size_t gen_off, unsigned int gen)
{
	unsigned char *keys = NULL, cur[64], next[64];
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	if (ksz > sizeof(cur))
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (next[gen_off] == gen) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 1024;
				unsigned char *k = realloc(keys, ncap * ksz);

				if (!k) {
					err = -ENOMEM;
					goto out;
				}
				keys = k;
				cap = ncap;
			}
			memcpy(keys + n * ksz, next, ksz);
			n++;
		}
		memcpy(cur, next, ksz);
		prev = cur;
	}
	if (errno != ENOENT) {
		err = -errno;
		goto out;
	}
	if (n) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 cnt = n;

		if (bpf_map_delete_batch(fd, keys, &cnt, &opts)) {
			/* tries have no batch delete */
			for (size_t i = 0; i < n; i++) {
				if (bpf_map_delete_elem(fd, keys + i * ksz) && errno != ENOENT) {
					err = -errno;
					goto out;
				}
			}
		}
	}
out:
	free(keys);
	return err;
}

int bpf_clear_gen(const struct bpf_maps *m, unsigned int gen)
{
	struct tlsfw_cfg cfg = {};
	uint32_t key = gen, *zeros;
	int err = 0;

	if (gen > 1)
		return -EINVAL;
	zeros = calloc(TLSFW_DIRECT_WORDS, sizeof(*zeros));
	if (!zeros)
		return -ENOMEM;
	/* The configuration first: a generation being cleared decides nothing. */
	if (bpf_map_update_elem(m->cfg, &key, &cfg, BPF_ANY) ||
	    bpf_map_update_elem(m->direct, &key, zeros, BPF_ANY))
		err = -errno;
	free(zeros);
	if (!err)
		err = clear_hash(m->ctx, sizeof(struct tlsfw_ctx_key),
				 offsetof(struct tlsfw_ctx_key, gen), gen);
	if (!err)
		err = fill_array(m->proto, gen * TLSFW_PROTO_SLOTS, NULL, TLSFW_PROTO_SLOTS);
	if (!err)
		err = fill_array(m->sport, gen * TLSFW_PORT_SLOTS, NULL, TLSFW_PORT_SLOTS);
	if (!err)
		err = fill_array(m->dport, gen * TLSFW_PORT_SLOTS, NULL, TLSFW_PORT_SLOTS);
	if (!err)
		err = clear_hash(m->src, sizeof(struct tlsfw_lpm_key),
				 offsetof(struct tlsfw_lpm_key, gen), gen);
	if (!err)
		err = clear_hash(m->dst, sizeof(struct tlsfw_lpm_key),
				 offsetof(struct tlsfw_lpm_key, gen), gen);
	if (!err)
		err = clear_hash(m->comb1, sizeof(struct tlsfw_comb_key), gen_byte_off(), gen);
	if (!err)
		err = clear_hash(m->comb2, sizeof(struct tlsfw_comb_key), gen_byte_off(), gen);
	if (!err)
		err = clear_hash(m->comb3, sizeof(struct tlsfw_comb_key), gen_byte_off(), gen);
	if (!err)
		err = clear_hash(m->frags, sizeof(struct tlsfw_frag_key),
				 offsetof(struct tlsfw_frag_key, gen), gen);
	return err;
}

int bpf_get_gen(const struct bpf_maps *m, unsigned int *gen)
{
	struct tlsfw_state st;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(m->state, &zero, &st))
		return -errno;
	*gen = st.gen & 1;
	return 0;
}

int bpf_set_gen(const struct bpf_maps *m, unsigned int gen)
{
	struct tlsfw_state st = { .gen = gen };
	uint32_t zero = 0;

	if (gen > 1)
		return -EINVAL;
	if (bpf_map_update_elem(m->state, &zero, &st, BPF_ANY))
		return -errno;
	return 0;
}
