// SPDX-License-Identifier: GPL-2.0
/* Snapshots (stats.h): human units, freeing, and rates between two of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

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
