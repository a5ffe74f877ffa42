// SPDX-License-Identifier: GPL-2.0
/*
 * The nftables backend's counters (apply_nft.h: one named counter per rule, interface and
 * direction, plus "(default)") turned into the same snapshot the BPF backend gives, so the
 * table, JSON, Prometheus text, --watch and --listen work for both backends alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_nft.h"
#include "stats.h"

static uint8_t action_of(const char *a)
{
	if (!strcmp(a, "drop"))
		return TLSFW_ACT_DROP;
	if (!strcmp(a, "reject"))
		return TLSFW_ACT_REJECT;
	return TLSFW_ACT_ALLOW;
}

static long rule_index(const struct stats_snap *s, const char *name)
{
	for (size_t r = 0; r < s->n_rules; r++)
		if (!strcmp(s->rules[r].name, name))
			return r;
	return -1;
}

static struct stats_block *block_of(struct stats_snap *s, const struct nft_counter *k)
{
	uint8_t dir = strcmp(k->direction, "egress") ? TLSFW_DIR_INGRESS : TLSFW_DIR_EGRESS;

	for (size_t b = 0; b < s->n_blocks; b++)
		if (s->blocks[b].dir == dir && !strcmp(s->blocks[b].ifname, k->ifname))
			return &s->blocks[b];
	return NULL;
}

static void add(struct tlsfw_counter *c, const struct nft_counter *k)
{
	c->packets += k->packets;
	c->bytes += k->bytes;
}

/* The interface's own counters, "(name)" with a name of stats.c: their slot in stat[]. */
static int own_stat(const char *rule)
{
	char name[64];
	size_t n = strlen(rule);

	if (n < 3 || rule[0] != '(' || rule[n - 1] != ')' || n - 2 >= sizeof(name))
		return -1;
	memcpy(name, rule + 1, n - 2);
	name[n - 2] = 0;
	if (!strcmp(name, "default"))
		return TLSFW_STAT_DEFAULT;
	for (unsigned int i = 0; i < TLSFW_STAT_MAX; i++)
		if ((stats_verdict_name(i) && !strcmp(stats_verdict_name(i), name)) ||
		    (stats_reason_name(i) && !strcmp(stats_reason_name(i), name)))
			return i;
	return -1;
}

static int fill(struct stats_snap *s, const struct nft_counter *k, size_t n)
{
	s->rules = calloc(n + 1, sizeof(*s->rules));
	s->blocks = calloc(n + 1, sizeof(*s->blocks));
	if (!s->rules || !s->blocks)
		return -ENOMEM;
	/* Rules in first-seen order (the reader lists them in policy order), blocks likewise. */
	for (size_t i = 0; i < n; i++) {
		struct stats_rule *r;

		if (!nft_own_counter(k[i].rule) && rule_index(s, k[i].rule) < 0) {
			r = &s->rules[s->n_rules];
			snprintf(r->name, sizeof(r->name), "%s", k[i].rule);
			r->order = s->n_rules++;
			r->line = k[i].line;
			r->action = action_of(k[i].action);
			r->monitor = !strcmp(k[i].mode, "monitor");
		}
		if (!block_of(s, &k[i])) {
			struct stats_block *b = &s->blocks[s->n_blocks++];

			snprintf(b->ifname, sizeof(b->ifname), "%s", k[i].ifname);
			b->dir = strcmp(k[i].direction, "egress") ? TLSFW_DIR_INGRESS :
								    TLSFW_DIR_EGRESS;
		}
	}
	for (size_t b = 0; b < s->n_blocks; b++) {
		s->blocks[b].rule = calloc(s->n_rules + 1, sizeof(*s->blocks[b].rule));
		if (!s->blocks[b].rule)
			return -ENOMEM;
	}
	/* The verdict totals are nftables counters of their own, kept across apply like the
	 * BPF backend's, not sums of the rule counters (which start again when a rule is
	 * renamed). */
	for (size_t i = 0; i < n; i++) {
		struct stats_block *b = block_of(s, &k[i]);
		long r = rule_index(s, k[i].rule);
		int st = own_stat(k[i].rule);

		if (r >= 0)
			add(&b->rule[r], &k[i]);
		else if (st >= 0)
			add(&b->stat[st], &k[i]);
	}
	return 0;
}

int stats_collect_nft(struct stats_snap *s, bool reset, char *msg, size_t len)
{
	struct nft_counter *k = NULL;
	struct nft_status st;
	size_t n = 0;
	int err;

	memset(s, 0, sizeof(*s));
	err = nft_status_read(&st, msg, len);
	if (err)
		return err;
	if (!st.present) {
		nft_status_free(&st);
		return -ENOENT;
	}
	s->enforced = true;
	s->nft = true;
	snprintf(s->policy_file, sizeof(s->policy_file), "%s", st.policy_file);
	strcpy(s->policy_hash, "sha256:");
	for (int i = 0; i < 32; i++)
		snprintf(s->policy_hash + 7 + 2 * i, 3, "%02x", st.sha256[i]);
	s->applied_at = st.applied_at;
	s->default_action = action_of(st.default_action);
	nft_status_free(&st);
	err = nft_counters_read(&k, &n, reset, msg, len);
	if (!err) {
		err = fill(s, k, n);
		if (err)
			snprintf(msg, len, "out of memory");
	}
	clock_gettime(CLOCK_MONOTONIC, &s->taken);
	free(k);
	if (err)
		stats_snap_free(s);
	return err;
}
