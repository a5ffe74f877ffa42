// SPDX-License-Identifier: GPL-2.0
/*
 * Collecting the counters of the enforced policy into a snapshot (stats.h). The data plane
 * counts per CPU without atomics; here every slot is read once and summed over the CPUs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "content_stats.h"
#include "state.h"
#include "stats.h"

static const char *const reason_names[TLSFW_STAT_MAX] = {
	[TLSFW_STAT_MALFORMED_TRUNCATED] = "malformed-truncated",
	[TLSFW_STAT_MALFORMED_IHL] = "malformed-ihl",
	[TLSFW_STAT_MALFORMED_LENGTH] = "malformed-length",
	[TLSFW_STAT_MALFORMED_EXTHDR] = "malformed-exthdr",
	[TLSFW_STAT_MALFORMED_VLAN] = "malformed-vlan",
	[TLSFW_STAT_MALFORMED_VERSION] = "malformed-version",
	[TLSFW_STAT_FRAG_TINY] = "fragment-tiny",
	[TLSFW_STAT_FRAG_NO_FIRST] = "fragment-without-first",
	[TLSFW_STAT_FRAG_FOLLOWED] = "fragment-followed",
	[TLSFW_STAT_FRAG_DROPPED] = "fragment-dropped",
	[TLSFW_STAT_FRAG_ALLOWED] = "fragment-allowed",
	[TLSFW_STAT_REJECT_SENT] = "reject-sent",
	[TLSFW_STAT_REJECT_FAILED] = "reject-failed",
};

static const char *const verdict_names[TLSFW_STAT_MAX] = {
	[TLSFW_STAT_PASS] = "pass",
	[TLSFW_STAT_DROP] = "drop",
	[TLSFW_STAT_REJECT] = "reject",
	[TLSFW_STAT_MONITOR] = "monitor",
};

const char *stats_reason_name(unsigned int stat)
{
	return stat < TLSFW_STAT_MAX ? reason_names[stat] : NULL;
}

const char *stats_verdict_name(unsigned int stat)
{
	return stat < TLSFW_STAT_MAX ? verdict_names[stat] : NULL;
}

const char *stats_action_name(unsigned int action)
{
	static const char *const n[] = { "allow", "drop", "reject" };

	return action < 3 ? n[action] : "unknown";
}

const char *stats_block_hook(const struct stats_snap *s, const struct stats_block *b)
{
	return s->nft ? "nft" : stats_hook_id(b->hook);
}

const char *stats_dir_name(unsigned int dir)
{
	return dir == TLSFW_DIR_EGRESS ? "egress" : "ingress";
}

const char *stats_hook_id(unsigned int hook)
{
	switch (hook) {
	case TLSFW_HOOK_XDP_NATIVE:
		return "xdp-native";
	case TLSFW_HOOK_XDP_GENERIC:
		return "xdp-generic";
	case TLSFW_HOOK_TC:
		return "tc";
	default:
		return "none";
	}
}

void stats_human(uint64_t v, bool bytes, bool exact, char *buf, size_t len)
{
	static const char *const si[] = { "", "k", "M", "G", "T", "P", "E" };
	static const char *const iec[] = { " B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB" };
	unsigned int u = 0, base = bytes ? 1024 : 1000;
	double x = v;

	if (exact || v < base) {
		snprintf(buf, len, "%llu%s", (unsigned long long)v, bytes ? " B" : "");
		return;
	}
	while (x >= base && u < 6) {
		x /= base;
		u++;
	}
	/* 999.95 would print as "1000.0": move it to the next unit. */
	if (x >= base - 0.05 && u < 6) {
		x /= base;
		u++;
	}
	snprintf(buf, len, "%.1f%s", x, bytes ? iec[u] : si[u]);
}

void stats_time_str(uint64_t t, char *buf, size_t len)
{
	time_t tt = t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "unknown");
}

/* ---- collection ------------------------------------------------------------------------ */

struct reader {
	struct bpf_counters ctr; /* the counters, mapped (bpf_fill.h) */
};

static int read_counter(struct reader *rd, uint32_t block, uint32_t idx, struct tlsfw_counter *out)
{
	bpf_counter_sum(&rd->ctr, block * TLSFW_SLOTS_PER_CTX + idx, out);
	return 0;
}

static int reader_init(struct reader *rd, int fd)
{
	return bpf_counters_map(&rd->ctr, fd);
}

static int cmp_rule(const void *a, const void *b)
{
	const struct stats_rule *ra = a, *rb = b;

	return ra->order < rb->order ? -1 : ra->order > rb->order;
}

static int cmp_block(const void *a, const void *b)
{
	const struct stats_block *ba = a, *bb = b;
	int c = strcmp(ba->ifname, bb->ifname);

	return c ? c : ba->dir - bb->dir;
}

/* Rules and blocks of the active generation, named from the metadata maps. */
static int snap_layout(struct stats_snap *s, const struct state_meta *sm)
{
	uint8_t bit = 1u << sm->gen;

	s->rules = calloc(TLSFW_MAX_RULES, sizeof(*s->rules));
	s->blocks = calloc(TLSFW_MAX_CTX, sizeof(*s->blocks));
	if (!s->rules || !s->blocks)
		return -ENOMEM;
	for (uint32_t i = 0; i < TLSFW_MAX_RULES; i++) {
		const struct tlsfw_rule_info *ri = &sm->rules[i];
		struct stats_rule *r;

		if (!(ri->in_use & bit))
			continue;
		r = &s->rules[s->n_rules++];
		snprintf(r->name, sizeof(r->name), "%.*s", TLSFW_NAME_MAX, ri->name);
		r->slot = i;
		r->order = ri->order;
		r->line = ri->line;
		r->action = ri->action;
		r->monitor = ri->monitor;
		r->require = !!(ri->content & TLSFW_RV_REQUIRE);
		s->content |= !!ri->content;
	}
	for (uint32_t i = 0; i < TLSFW_MAX_CTX; i++) {
		const struct tlsfw_ctx_info *ci = &sm->ctxs[i];
		struct stats_block *b;

		if (!(ci->in_use & bit))
			continue;
		b = &s->blocks[s->n_blocks++];
		snprintf(b->ifname, sizeof(b->ifname), "%.16s", ci->ifname);
		b->ifindex = ci->ifindex;
		b->slot = i;
		b->dir = ci->dir;
		b->hook = ci->hook;
	}
	qsort(s->rules, s->n_rules, sizeof(*s->rules), cmp_rule);
	qsort(s->blocks, s->n_blocks, sizeof(*s->blocks), cmp_block);
	return 0;
}

static int snap_counters(struct stats_snap *s, struct reader *rd)
{
	int err = 0;

	for (size_t k = 0; !err && k < s->n_blocks; k++) {
		struct stats_block *b = &s->blocks[k];

		b->rule = calloc(s->n_rules + 1, sizeof(*b->rule));
		if (!b->rule)
			return -ENOMEM;
		for (uint32_t i = 0; !err && i < TLSFW_STAT_MAX; i++)
			err = read_counter(rd, b->slot, i, &b->stat[i]);
		for (size_t r = 0; !err && r < s->n_rules; r++)
			err = read_counter(rd, b->slot, TLSFW_STAT_RULE0 + s->rules[r].slot,
					   &b->rule[r]);
	}
	return err;
}

/* Flows passed and cut per require: tls rule; the flow table's entries and evictions. */
static int snap_content(struct stats_snap *s, const struct bpf_maps *m)
{
	struct content_stats cs;
	int err;

	for (size_t r = 0; r < s->n_rules; r++) {
		struct tlsfw_rule_flows f;

		if (!s->rules[r].require)
			continue;
		if (bpf_map_lookup_elem(m->rule_flows, &s->rules[r].slot, &f))
			return -errno;
		s->rules[r].flows_passed = f.passed;
		s->rules[r].flows_cut = f.cut;
	}
	err = content_stats_read(m->content_stats, m->flows, &cs);
	if (err)
		return err;
	s->flows = cs.flows;
	s->flows_evicted = cs.evicted;
	s->midstream = cs.stat[TLSFW_CSTAT_MIDSTREAM];
	return 0;
}

/* No BPF state: the policy may be enforced by the nftables backend. A kernel without
 * nf_tables has nothing enforced that way, which is not an error of `stats`. */
static int collect_nft(struct stats_snap *s, bool reset, char *msg, size_t len)
{
	int err = stats_collect_nft(s, reset, msg, len);

	if (err == -ENOENT || err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT) {
		memset(s, 0, sizeof(*s));
		clock_gettime(CLOCK_MONOTONIC, &s->taken);
		msg[0] = 0;
		return 0;
	}
	return err;
}

int stats_collect(struct stats_snap *s, char *msg, size_t len)
{
	struct state st;
	struct state_meta sm = {};
	struct reader rd = {};
	int err;

	memset(s, 0, sizeof(*s));
	msg[0] = 0;
	err = state_find(&st, msg, len);
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &s->taken);
	if (!st.have_maps) {
		state_free(&st);
		return collect_nft(s, false, msg, len);
	}
	err = reader_init(&rd, st.maps.counters);
	if (!err)
		err = state_meta_read(&st.maps, &sm);
	if (err) {
		snprintf(msg, len, "cannot read tlsfw's metadata maps: %s", strerror(-err));
		goto out;
	}
	s->enforced = true;
	snprintf(s->policy_file, sizeof(s->policy_file), "%.*s", TLSFW_PATH_MAX,
		 sm.meta.policy_file);
	snprintf(s->policy_hash, sizeof(s->policy_hash), "%.*s", (int)sizeof(sm.meta.policy_hash),
		 sm.meta.policy_hash);
	s->applied_at = sm.meta.applied_at;
	s->default_action = sm.meta.default_action;
	err = snap_layout(s, &sm);
	if (!err)
		err = snap_counters(s, &rd);
	if (!err && s->content)
		err = snap_content(s, &st.maps);
	/* Taken after the read: the interval a rate divides by ends when the counters were read. */
	clock_gettime(CLOCK_MONOTONIC, &s->taken);
	if (err)
		snprintf(msg, len, "cannot read the counters: %s", strerror(-err));
out:
	bpf_counters_unmap(&rd.ctr);
	state_meta_free(&sm);
	state_free(&st);
	if (err)
		stats_snap_free(s);
	return err;
}

void stats_snap_free(struct stats_snap *s)
{
	if (!s)
		return;
	for (size_t k = 0; s->blocks && k < s->n_blocks; k++)
		free(s->blocks[k].rule);
	free(s->blocks);
	free(s->rules);
	memset(s, 0, sizeof(*s));
}

/* ---- reset ----------------------------------------------------------------------------- */

int stats_reset(size_t *n_blocks, char *msg, size_t len)
{
	struct state st;
	struct state_meta sm = {};
	struct bpf_counters ctr = {};
	int err;

	*n_blocks = 0;
	msg[0] = 0;
	err = state_find(&st, msg, len);
	if (err)
		return err;
	if (!st.have_maps) {
		struct stats_snap nft;

		state_free(&st);
		err = collect_nft(&nft, true, msg, len);
		*n_blocks = err ? 0 : nft.n_blocks;
		stats_snap_free(&nft);
		return err;
	}
	err = bpf_counters_map(&ctr, st.maps.counters);
	if (!err)
		err = state_meta_read(&st.maps, &sm);
	/* Blocks and rule slots of either generation: an apply running now may be about to flip. */
	for (uint32_t c = 0; !err && c < TLSFW_MAX_CTX; c++) {
		uint32_t base = c * TLSFW_SLOTS_PER_CTX;

		if (!sm.ctxs[c].in_use)
			continue;
		for (uint32_t i = 0; i < TLSFW_STAT_RULE0; i++)
			bpf_counter_zero(&ctr, base + i);
		for (uint32_t r = 0; r < TLSFW_MAX_RULES; r++)
			if (sm.rules[r].in_use)
				bpf_counter_zero(&ctr, base + TLSFW_STAT_RULE0 + r);
		(*n_blocks)++;
	}
	if (err)
		snprintf(msg, len, "cannot reset the counters: %s", strerror(-err));
	bpf_counters_unmap(&ctr);
	state_meta_free(&sm);
	state_free(&st);
	return err;
}

/* ---- rates ----------------------------------------------------------------------------- */

static const struct stats_block *find_block(const struct stats_snap *s,
					    const struct stats_block *like)
{
	for (size_t k = 0; k < s->n_blocks; k++)
		if (s->blocks[k].dir == like->dir && !strcmp(s->blocks[k].ifname, like->ifname))
			return &s->blocks[k];
	return NULL;
}

static long find_rule(const struct stats_snap *s, const char *name)
{
	for (size_t r = 0; r < s->n_rules; r++)
		if (!strcmp(s->rules[r].name, name))
			return r;
	return -1;
}

/* A counter that went down was reset (or its rule was removed and re-added): count from 0. */
static double delta(uint64_t now, uint64_t before)
{
	return now >= before ? (double)(now - before) : (double)now;
}

bool stats_rate(const struct stats_snap *cur, const struct stats_snap *prev, size_t b, long r,
		struct stats_rate *out)
{
	const struct stats_block *cb, *pb;
	const struct tlsfw_counter *cc, *pc;
	double dt;
	long pr;

	if (!prev || !prev->enforced || !cur->enforced || b >= cur->n_blocks)
		return false;
	dt = (cur->taken.tv_sec - prev->taken.tv_sec) +
	     (cur->taken.tv_nsec - prev->taken.tv_nsec) / 1e9;
	if (dt <= 0)
		return false;
	cb = &cur->blocks[b];
	pb = find_block(prev, cb);
	if (!pb)
		return false;
	if (r < 0) {
		cc = &cb->stat[TLSFW_STAT_DEFAULT];
		pc = &pb->stat[TLSFW_STAT_DEFAULT];
	} else {
		if ((size_t)r >= cur->n_rules)
			return false;
		pr = find_rule(prev, cur->rules[r].name);
		if (pr < 0)
			return false;
		cc = &cb->rule[r];
		pc = &pb->rule[pr];
	}
	out->packets = delta(cc->packets, pc->packets) / dt;
	out->bytes = delta(cc->bytes, pc->bytes) / dt;
	return true;
}
