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

/* nftables keeps no verdict totals: derive them as the data plane counts them. */
static void count_verdict(struct stats_block *b, uint8_t action, bool monitor,
			  const struct nft_counter *k)
{
	if (monitor) {
		add(&b->stat[TLSFW_STAT_MONITOR], k);
		action = TLSFW_ACT_ALLOW;
	}
	add(&b->stat[action == TLSFW_ACT_DROP ? TLSFW_STAT_DROP :
		     action == TLSFW_ACT_REJECT ? TLSFW_STAT_REJECT : TLSFW_STAT_PASS], k);
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

		if (k[i].rule[0] != '(' && rule_index(s, k[i].rule) < 0) {
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
	for (size_t i = 0; i < n; i++) {
		struct stats_block *b = block_of(s, &k[i]);
		long r = rule_index(s, k[i].rule);

		if (!strcmp(k[i].rule, "(default)")) {
			add(&b->stat[TLSFW_STAT_DEFAULT], &k[i]);
			count_verdict(b, s->default_action, false, &k[i]);
		} else if (r >= 0) {
			add(&b->rule[r], &k[i]);
			count_verdict(b, s->rules[r].action, s->rules[r].monitor, &k[i]);
		} else if (!strcmp(k[i].rule, "(fragments)")) {
			/* the fragment rule of fragments: drop or allow */
			bool drop = !strcmp(k[i].action, "drop");

			add(&b->stat[drop ? TLSFW_STAT_FRAG_DROPPED : TLSFW_STAT_FRAG_ALLOWED], &k[i]);
			count_verdict(b, drop ? TLSFW_ACT_DROP : TLSFW_ACT_ALLOW, false, &k[i]);
		}
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
