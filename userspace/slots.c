// SPDX-License-Identifier: GPL-2.0
/* Counter slots of a new generation, kept by name across policies (slots.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "bpf_fill.h"
#include "slots.h"

struct slot_ctx {
	struct slots *s;
	const struct plan *pl;
	const struct state_meta *old;
	unsigned int old_gen;
	struct diag *d;
};

static int cmp_rule_name(const void *a, const void *b, void *arg)
{
	const struct plan *pl = arg;

	return strcmp(pl->rules[*(const uint32_t *)a].name, pl->rules[*(const uint32_t *)b].name);
}

struct name_key {
	const struct plan *pl;
	const char *name;
};

static int find_rule_name(const void *key, const void *elem)
{
	const struct name_key *k = key;

	return strcmp(k->name, k->pl->rules[*(const uint32_t *)elem].name);
}

/* A rule keeps its slot while its name stays, so its counters survive a replacement (a rule
 * switched from monitor to enforce counts on: tlsfw(8)); a new name takes a slot the active
 * generation does not use. Plan rules are sorted by name once,
 * so matching the old slots costs O((slots + rules) log rules), also at 4,096 rules. */
static int assign_rule_slots(struct slot_ctx *c, bool *taken)
{
	const struct plan *pl = c->pl;
	uint8_t old_bit = 1u << c->old_gen;
	uint32_t *by_name = calloc(pl->n_rules + 1, sizeof(uint32_t)), next = 0;

	if (!by_name)
		return diag_sys_error(c->d, -ENOMEM, "cannot assign counter slots");
	for (uint32_t i = 0; i < pl->n_rules; i++) {
		by_name[i] = i;
		c->s->rule_new[i] = true;
	}
	qsort_r(by_name, pl->n_rules, sizeof(uint32_t), cmp_rule_name, (void *)pl);
	for (uint32_t s = 0; s < c->old->rule_end; s++) {
		const struct tlsfw_rule_info *ri = &c->old->rules[s];
		char name[TLSFW_NAME_MAX + 1];
		struct name_key k = { .pl = pl, .name = name };
		uint32_t *hit;

		if (!(ri->in_use & old_bit))
			continue;
		snprintf(name, sizeof(name), "%.*s", TLSFW_NAME_MAX, ri->name);
		hit = bsearch(&k, by_name, pl->n_rules, sizeof(uint32_t), find_rule_name);
		if (hit && c->s->rule_new[*hit]) {
			c->s->rule_slot[*hit] = s;
			c->s->rule_new[*hit] = false;
			taken[s] = true;
		}
	}
	free(by_name);
	for (size_t i = 0; i < pl->n_rules; i++) {
		if (!c->s->rule_new[i])
			continue;
		while (next < TLSFW_MAX_RULES &&
		       (taken[next] || (c->old->rules[next].in_use & old_bit)))
			next++;
		if (next == TLSFW_MAX_RULES) {
			diag_error(c->d, NULL, "no free counter slot for rule '%s' (%d slots)",
				   pl->rules[i].name, TLSFW_MAX_RULES);
			return -E2BIG;
		}
		c->s->rule_slot[i] = next;
		taken[next] = true;
	}
	return 0;
}

/* Whether the old generation's block ci is the one context pc keeps. */
static bool ctx_kept(const struct tlsfw_ctx_info *ci, uint8_t old_bit, const struct plan_ctx *pc,
		     unsigned int ifindex)
{
	return (ci->in_use & old_bit) && ci->dir == pc->dir && ci->ifindex == ifindex &&
	       !strncmp(ci->ifname, pc->ifname, sizeof(ci->ifname));
}

bool slots_ctx_fit(const struct plan *pl, const struct state_meta *old, unsigned int old_gen)
{
	uint8_t old_bit = 1u << old_gen;
	size_t used = 0, fresh = 0;

	for (uint32_t s = 0; s < TLSFW_MAX_CTX; s++)
		used += !!(old->ctxs[s].in_use & old_bit);
	for (size_t i = 0; i < pl->n_ctx; i++) {
		unsigned int ifindex = if_nametoindex(pl->ctx[i].ifname);
		uint32_t s = 0;

		while (s < TLSFW_MAX_CTX && !ctx_kept(&old->ctxs[s], old_bit, &pl->ctx[i], ifindex))
			s++;
		fresh += s == TLSFW_MAX_CTX;
	}
	return used + fresh <= TLSFW_MAX_CTX;
}

/* Counter blocks per (interface, direction), kept like rule slots. */
static int assign_ctx_slots(struct slot_ctx *c)
{
	const struct plan *pl = c->pl;
	uint8_t old_bit = 1u << c->old_gen;
	bool taken[TLSFW_MAX_CTX] = {};

	for (size_t i = 0; i < pl->n_ctx; i++) {
		const struct plan_ctx *pc = &pl->ctx[i];
		unsigned int ifindex = if_nametoindex(pc->ifname);

		if (!ifindex) {
			diag_error(c->d, NULL,
				   "interface '%s' does not exist in this network namespace",
				   pc->ifname);
			return -ENODEV;
		}
		c->s->ctx_ifindex[i] = ifindex;
		c->s->ctx_new[i] = true;
		for (uint32_t s = 0; s < TLSFW_MAX_CTX; s++) {
			const struct tlsfw_ctx_info *ci = &c->old->ctxs[s];

			if (!taken[s] && ctx_kept(ci, old_bit, pc, ifindex)) {
				c->s->ctx_slot[i] = s;
				c->s->ctx_new[i] = false;
				taken[s] = true;
				break;
			}
		}
	}
	for (size_t i = 0; i < pl->n_ctx; i++) {
		uint32_t s = 0;

		if (!c->s->ctx_new[i])
			continue;
		while (s < TLSFW_MAX_CTX && (taken[s] || (c->old->ctxs[s].in_use & old_bit)))
			s++;
		if (s == TLSFW_MAX_CTX) {
			diag_error(c->d, NULL, "%s: no free counter block (%d)", pl->ctx[i].ifname,
				   TLSFW_MAX_CTX);
			return -E2BIG;
		}
		c->s->ctx_slot[i] = s;
		taken[s] = true;
	}
	return 0;
}

int slots_assign(struct slots *s, const struct plan *pl, const struct state_meta *old,
		 unsigned int old_gen, struct diag *d)
{
	struct slot_ctx c = { .s = s, .pl = pl, .old = old, .old_gen = old_gen, .d = d };
	bool *taken = calloc(TLSFW_MAX_RULES, sizeof(bool));
	int err;

	s->rule_slot = calloc(pl->n_rules + 1, sizeof(uint32_t));
	s->rule_new = calloc(pl->n_rules + 1, sizeof(bool));
	s->ctx_slot = calloc(pl->n_ctx + 1, sizeof(uint32_t));
	s->ctx_ifindex = calloc(pl->n_ctx + 1, sizeof(uint32_t));
	s->ctx_new = calloc(pl->n_ctx + 1, sizeof(bool));
	if (!taken || !s->rule_slot || !s->rule_new || !s->ctx_slot || !s->ctx_ifindex ||
	    !s->ctx_new)
		err = diag_sys_error(d, -ENOMEM, "cannot assign counter slots");
	else
		err = assign_rule_slots(&c, taken);
	free(taken);
	return err ? err : assign_ctx_slots(&c);
}

unsigned int slots_relabel(const struct plan *pl, const struct state_meta *old, bool had_policy)
{
	struct relabel_old ro = { .default_action = old->meta.default_action };

	for (uint32_t s = 0; had_policy && !ro.rejects && s < old->rule_end; s++) {
		const struct tlsfw_rule_info *ri = &old->rules[s];

		ro.rejects = (ri->in_use & (1u << old->gen)) && !ri->monitor &&
			     ri->action == TLSFW_ACT_REJECT;
	}
	return relabel_counters(pl, had_policy ? &ro : NULL);
}

void slots_zero_relabeled(const struct bpf_counters *ctr, uint32_t base, unsigned int reset)
{
	if (reset & RELABEL_DEFAULT)
		bpf_counter_zero(ctr, base + TLSFW_STAT_DEFAULT);
	if (reset & RELABEL_REJECT) {
		bpf_counter_zero(ctr, base + TLSFW_STAT_REJECT);
		bpf_counter_zero(ctr, base + TLSFW_STAT_REJECT_SENT);
		bpf_counter_zero(ctr, base + TLSFW_STAT_REJECT_FAILED);
	}
	if (reset & RELABEL_MONITOR)
		bpf_counter_zero(ctr, base + TLSFW_STAT_MONITOR);
}

void slots_free(struct slots *s)
{
	free(s->rule_slot);
	free(s->rule_new);
	free(s->ctx_slot);
	free(s->ctx_ifindex);
	free(s->ctx_new);
	memset(s, 0, sizeof(*s));
}
