// SPDX-License-Identifier: GPL-2.0
/*
 * Writing a plan into one generation of the data plane's maps, clearing a generation, and the
 * generation switch. The arrays (proto, ports, tlsfw_direct) are written through their memory
 * mapping, with no system call per element; the tables sized by the policy (tries, hash forms
 * of the combination tables) are new maps per generation, filled with one batch update (LPM
 * tries: one update per prefix, the kernel has no batch for them) and put in place with one
 * update of their array of maps; only the tables the generation uses exist.
 *
 * The fast path is decided here, per generation: which combination tables are direct-indexed
 * slices of the generation's tlsfw_direct value (an indexed load instead of a hash lookup per
 * packet) and whether B is a constant (no rule has addresses). tlsfw_cfg records the choice
 * for the data plane.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_fill.h"

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
 * count values (NULL: zeros) into the u32 array fd from element first, through its memory.
 * Only elements that differ are stored: the first store to each page of a fresh mapping
 * costs a fault-like trap (6-30 us here), a read does not, and a generation's arrays mostly
 * hold what the policy before the last wrote (performance.md, "Where a 1-rule replacement
 * spends its time": 5 ms of a 1-rule replacement went to storing 327,682 words unchanged).
 */
static int fill_array(int fd, uint32_t first, const uint32_t *vals, size_t count)
{
	/* u32 elements take 8 bytes; only the pages of these elements are mapped, all at once
	 * (MAP_POPULATE: one call instead of a fault per page) */
	size_t page = sysconf(_SC_PAGESIZE), from = (size_t)first * 8 / page * page;
	size_t len = ((size_t)(first + count) * 8 - from + page - 1) / page * page;
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, from);
	volatile uint32_t *elem;

	if (mem == MAP_FAILED)
		return -errno;
	elem = (volatile uint32_t *)(mem + (size_t)first * 8 - from);
	for (size_t i = 0; i < count; i++) {
		uint32_t v = vals ? vals[i] : 0;

		if (elem[2 * i] != v)
			elem[2 * i] = v;
	}
	munmap(mem, len);
	return 0;
}

/* Drop generation gen's map from an array of maps, if it has one (an update of an array of
 * maps waits for the programs running: not done needlessly). */
static int drop_table(int outer, unsigned int gen)
{
	uint32_t key = gen, id;

	if (bpf_map_lookup_elem(outer, &key, &id))
		return errno == ENOENT ? 0 : -errno;
	return bpf_map_delete_elem(outer, &key) && errno != ENOENT ? -errno : 0;
}

/*
 * A table of generation gen sized by the policy: a new map of n entries (none: no map) filled
 * with the n keys and values, in place of what the generation had in outer. On failure
 * *failed is the index of the entry that failed (or n).
 */
static int put_table(int outer, unsigned int gen, enum bpf_map_type type, const void *keys,
		     size_t ksz, const void *vals, size_t vsz, size_t n, size_t *failed)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	uint32_t key = gen;
	int fd, err;

	*failed = n;
	if (!n)
		return drop_table(outer, gen);
	fd = bpf_map_create(type, "tlsfw_gen_table", ksz, vsz, n, &o);
	if (fd < 0)
		return -errno;
	err = bpf_update_many(fd, keys, ksz, vals, vsz, n, failed);
	if (!err && bpf_map_update_elem(outer, &key, &fd, BPF_ANY))
		err = -errno;
	close(fd); /* the array of maps holds it now */
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
		keys[i].prefixlen = pp[i].plen;
		memcpy(keys[i].addr, pp[i].addr, 16);
		vals[i] = pp[i].cls;
	}
	err = put_table(fd, gen, BPF_MAP_TYPE_LPM_TRIE, keys, sizeof(*keys), vals, sizeof(*vals), n,
			&failed);
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
		keys[i] = (struct tlsfw_comb_key){ c[i].a, c[i].b, c[i].c };
		vals[i] = c[i].out;
	}
	err = put_table(fd, gen, BPF_MAP_TYPE_HASH, keys, sizeof(*keys), vals, sizeof(*vals), n,
			&failed);
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
	if (rule_is_content(&pl->rules[r]))
		*w |= TLSFW_DW_INSPECT;
	if (pl->rules[r].require_tls)
		*w |= TLSFW_DW_REQUIRE;
	if (pl->rules[r].names)
		*w |= TLSFW_DW_NAME;
	if (rule_is_state(&pl->rules[r]))
		*w |= TLSFW_DW_STATE;
	if (pl->rules[r].log_rate)
		*w |= TLSFW_DW_LOG;
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
		keys[i] = (struct tlsfw_comb_key){ c->a, c->b, c->c };
		vals[i] = (struct tlsfw_rule_val){
			.rule_slot = ids->rule_slot[r],
			.action = pl->rules[r].action,
			.monitor = pl->rules[r].monitor,
			.content = (rule_is_content(&pl->rules[r]) ? TLSFW_RV_INSPECT : 0) |
				   (pl->rules[r].require_tls ? TLSFW_RV_REQUIRE : 0) |
				   (pl->rules[r].names ? TLSFW_RV_NAME : 0) |
				   (rule_is_state(&pl->rules[r]) ? TLSFW_RV_STATE : 0) |
				   (pl->rules[r].log_rate ? TLSFW_RV_LOG : 0),
		};
	}
	if (t->len) {
		fill_direct(dwords, t, pl->comb3, n, words);
		err = 0;
		goto out;
	}
	err = put_table(m->comb3, gen, BPF_MAP_TYPE_HASH, keys, sizeof(*keys), vals, sizeof(*vals),
			n, &failed);
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
	uint32_t *words; /* the generation's tlsfw_direct value, TLSFW_DIRECT_WORDS (mapped) */
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
	j->cfg.words_end = t.base + size;
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
	cfg->words_end = next;
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

/*
 * Phase-0 tables: arrays and tries. Only what the generation's packets can read is written
 * (and read, to store only the words that differ: 8 bytes an element, 2.5 MB for the three
 * arrays): the protocol slots in use (plan_proto_slots), a port array only when some rule
 * has that field (cfg.fields gates the data plane's lookup). Words left out keep what an
 * older policy wrote there, unread; a later fill that needs them compares and rewrites
 * every one of them. `tlsfw explain` reads the maps as the data plane does (explain_maps.c).
 */
static int fill_phase0(const struct fill_job *j)
{
	const struct bpf_maps *m = j->m;
	const struct plan *pl = j->pl;
	unsigned int gen = j->gen;
	struct diag *d = j->d;
	int err;

	err = fill_array(m->proto, gen * TLSFW_PROTO_SLOTS, pl->proto_cls, plan_proto_slots(pl));
	if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_proto", "update failed", err);
		return err;
	}
	if (pl->fields & TLSFW_F_SPORT)
		err = fill_array(m->sport, gen * TLSFW_PORT_SLOTS, pl->sport_cls, TLSFW_PORT_SLOTS);
	if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_sport", "update failed", err);
		return err;
	}
	if (pl->fields & TLSFW_F_DPORT)
		err = fill_array(m->dport, gen * TLSFW_PORT_SLOTS, pl->dport_cls, TLSFW_PORT_SLOTS);
	if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_dport", "update failed", err);
		return err;
	}
	/* tries only for the fields some rule uses: the data plane reads no other */
	err = fill_trie(m->src, pl->src, pl->fields & TLSFW_F_SRC ? pl->n_src : 0, gen);
	if (err) {
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_src", "cannot store the source prefixes",
			   err);
		return err;
	}
	err = fill_trie(m->dst, pl->dst, pl->fields & TLSFW_F_DST ? pl->n_dst : 0, gen);
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
	return err;
}

/*
 * The positions of generation gen's require: tls and name rules (tlsfw_rule_order), in one
 * batch; nothing unless it has both, the only case where the data plane compares them.
 */
static int fill_order(const struct bpf_maps *m, const struct plan *pl, unsigned int gen,
		      const struct fill_ids *ids, struct diag *d)
{
	uint32_t *keys, *pos;
	size_t n = 0, failed = 0;
	bool req = false;
	int err;

	for (size_t r = 0; r < pl->n_rules; r++)
		req |= pl->rules[r].require_tls;
	if (!req || !pl->has_names)
		return 0;
	keys = calloc(pl->n_rules, sizeof(*keys));
	pos = calloc(pl->n_rules, sizeof(*pos));
	err = keys && pos ? 0 : -ENOMEM;
	for (size_t r = 0; !err && r < pl->n_rules; r++) {
		if (!pl->rules[r].require_tls && !pl->rules[r].names)
			continue;
		keys[n] = gen * TLSFW_MAX_RULES + ids->rule_slot[r];
		pos[n++] = (uint32_t)r + 1;
	}
	if (!err)
		err = bpf_update_many(m->rule_order, keys, sizeof(*keys), pos, sizeof(*pos), n,
				      &failed);
	if (err)
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_rule_order", "update failed", err);
	free(keys);
	free(pos);
	return err;
}

static int set_cfg(const struct bpf_maps *m, unsigned int gen, const struct tlsfw_cfg *cfg)
{
	uint32_t key = gen;

	return bpf_map_update_elem(m->cfg, &key, cfg, BPF_ANY) ? -errno : 0;
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
	uint32_t *mem;
	size_t len;
	int err;

	if (gen > 1 || !ids || (pl->n_rules && !ids->rule_slot) ||
	    (pl->n_ctx && (!ids->ifindex || !ids->ctx_slot)))
		return -EINVAL;
	memcpy(j.cfg.fact_pl, pl->fact_pl, sizeof(j.cfg.fact_pl));
	choose_b(&j);
	choose_direct(&j);
	/* The generation's words are written where the data plane reads them: no packet reads
	 * this generation until the flip. Only the words this fill uses are mapped. */
	mem = bpf_map_window(m->direct, (size_t)gen * sizeof(struct tlsfw_words),
			     (size_t)j.cfg.words_end * sizeof(*mem), &len);
	if (!mem) {
		err = -errno;
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_direct", "cannot map it", err);
		return err;
	}
	j.words = mem; /* all 0: bpf_clear_gen */
	if (pl->has_names)
		j.cfg.flags |= TLSFW_CFG_NAMES;
	/* A payload: quic rule is found first for every datagram its other fields match, and
	 * most UDP is not QUIC: tell such datagrams apart before the classification. */
	for (size_t i = 0; i < pl->n_rules; i++)
		if (pl->rules[i].payload_quic)
			j.cfg.flags |= TLSFW_CFG_QUIC;
	/* Before any word: a configuration that decides nothing but bounds the words this fill
	 * writes, for a clear after a fill cut short (see bpf_clear_gen). */
	err = set_cfg(m, gen, &(struct tlsfw_cfg){ .words_end = j.cfg.words_end });
	if (!err)
		err = bpf_fill_log(m, pl, ids, d);
	if (!err)
		err = fill_ctx(m, pl, gen, ids, j.words, d);
	if (!err)
		err = fill_phase0(&j);
	if (!err)
		err = fill_combs(&j);
	if (!err)
		err = bpf_fill_names(m, pl, gen, d);
	if (!err)
		err = fill_order(m, pl, gen, ids, d);
	munmap(mem, len);
	if (err)
		return err;
	/* Last: until the configuration is there the generation has no meaning. */
	err = set_cfg(m, gen, &j.cfg);
	if (err)
		fill_error(d, 0, "map %s: %s: %s", "tlsfw_cfg", "update failed", err);
	return err;
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

/* Keys of generation gen (its byte at gen_off) in a hash: appended to *keys (n, cap). */
static int gen_keys(const unsigned char *batch, size_t cnt, size_t ksz, size_t gen_off,
		    unsigned int gen, unsigned char **keys, size_t *n, size_t *cap)
{
	for (size_t i = 0; i < cnt; i++) {
		const unsigned char *k = batch + i * ksz;

		if (k[gen_off] != gen)
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 1024;
			unsigned char *grown = realloc(*keys, ncap * ksz);

			if (!grown)
				return -ENOMEM;
			*keys = grown;
			*cap = ncap;
		}
		memcpy(*keys + *n * ksz, k, ksz);
		(*n)++;
	}
	return 0;
}

/* Delete every key of a hash whose generation byte (at gen_off) is gen. The keys are read in
 * batches of CLEAR_BATCH (the fragment table can hold 65,536). */
#define CLEAR_BATCH 4096
static int clear_hash(int fd, size_t ksz, size_t vsz, size_t gen_off, unsigned int gen)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	unsigned char *batch = malloc(CLEAR_BATCH * ksz), *vals = malloc(CLEAR_BATCH * vsz);
	unsigned char *keys = NULL;
	size_t n = 0, cap = 0;
	uint64_t token = 0;
	bool first = true;
	int err = batch && vals ? 0 : -ENOMEM;

	while (!err) {
		__u32 cnt = CLEAR_BATCH;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, batch, vals, &cnt,
					      &opts);

		first = false;
		if (rc && errno != ENOENT) {
			err = -errno;
			break;
		}
		err = gen_keys(batch, cnt, ksz, gen_off, gen, &keys, &n, &cap);
		if (rc) /* ENOENT: the last batch */
			break;
	}
	if (!err && n) {
		__u32 cnt = n;

		if (bpf_map_delete_batch(fd, keys, &cnt, &opts))
			err = -errno;
	}
	free(batch);
	free(vals);
	free(keys);
	return err;
}

int bpf_clear_gen(const struct bpf_maps *m, unsigned int gen)
{
	const int tables[] = { m->src, m->dst, m->comb1, m->comb2, m->comb3 };
	struct tlsfw_cfg cfg = {};
	uint32_t key = gen, *mem, end = TLSFW_DIRECT_WORDS;
	size_t len;
	int err = 0;

	if (gen > 1)
		return -EINVAL;
	/*
	 * Direct words are zero from cfg.words_end on, in every generation: a fill announces its
	 * bound before it writes a word, a clear keeps it until every word is zero. So only
	 * those words are zeroed (each page touched through the mapping costs a fault; a small
	 * policy uses a few of 1,024). Unreadable: all of them.
	 */
	if (!bpf_map_lookup_elem(m->cfg, &key, &cfg) && cfg.words_end <= TLSFW_DIRECT_WORDS)
		end = cfg.words_end;
	/* The configuration first: a generation being cleared decides nothing. */
	err = set_cfg(m, gen, &(struct tlsfw_cfg){ .words_end = end });
	if (err)
		return err;
	if (end) {
		mem = bpf_map_window(m->direct, (size_t)gen * sizeof(struct tlsfw_words),
				     (size_t)end * sizeof(*mem), &len);
		if (!mem)
			return -errno;
		memset(mem, 0, (size_t)end * sizeof(*mem));
		munmap(mem, len);
	}
	if (!err)
		err = set_cfg(m, gen, &(struct tlsfw_cfg){ 0 });
	/* proto and port arrays are not cleared: a fill writes every word its generation can
	 * read (fill_phase0) before any packet reads it, and the other words are never read */
	if (!err)
		err = clear_hash(m->ctx, sizeof(struct tlsfw_ctx_key), sizeof(struct tlsfw_ctx_val),
				 offsetof(struct tlsfw_ctx_key, gen), gen);
	for (size_t i = 0; !err && i < sizeof(tables) / sizeof(tables[0]); i++)
		err = drop_table(tables[i], gen);
	if (!err)
		err = clear_hash(m->frags, sizeof(struct tlsfw_frag_key),
				 sizeof(struct tlsfw_frag_val),
				 offsetof(struct tlsfw_frag_key, gen), gen);
	if (!err)
		err = bpf_clear_names(m, gen);
	if (!err)
		err = clear_hash(m->names, sizeof(struct tlsfw_name_key),
				 sizeof(struct tlsfw_name_val),
				 offsetof(struct tlsfw_name_key, gen), gen);
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
