// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3: checked policy -> plan. First the backend-neutral rule list (lower_rules.c), then
 * from it the half the policy's backend installs: the BPF tables (lower_bpf.c) or the
 * nftables ruleset (lower_nft.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "plan.h"
#include "policy_sni.h"

static int lower_ifaces(const struct policy *p, struct plan *pl)
{
	pl->ifaces = calloc(p->n_ifaces ? p->n_ifaces : 1, sizeof(*pl->ifaces));
	if (!pl->ifaces)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_ifaces; i++) {
		snprintf(pl->ifaces[i].name, sizeof(pl->ifaces[i].name), "%s", p->ifaces[i].name);
		pl->ifaces[i].hooks = p->ifaces[i].hooks;
		pl->ifaces[i].xdp_mode = p->ifaces[i].xdp_mode;
		pl->ifaces[i].loc = p->ifaces[i].loc;
	}
	pl->n_ifaces = p->n_ifaces;
	return 0;
}

/* The extra rules first (failing probes' drop rules), then the implicit essentials rule
 * (unless `essentials: drop`), then the policy's, in order: taken over from the checker's
 * list when it comes with one, in its own array, moved up for the rules in front (a second
 * array and a copy were 2.5 MB of fresh memory each at 4,096 rules). */
static int lower_rule_list(const struct policy *p, const struct lower_opts *o, struct plan *pl)
{
	size_t ess = p->essentials == POL_ALLOW, front = o->n_extra + ess, n = front + p->n_rules;
	struct rule_list *given = o->rules && o->rules->n == p->n_rules ? o->rules : NULL;
	int err = 0;

	if (given) {
		struct plan_rule *v = realloc(given->v, (n ? n : 1) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memmove(v + front, v, p->n_rules * sizeof(*v));
		memset(v, 0, front * sizeof(*v)); /* safe to free until built */
		given->v = NULL;
		given->n = 0;
		pl->rules = v;
		pl->n_rules = n;
	} else {
		pl->rules = calloc(n ? n : 1, sizeof(*pl->rules));
		if (!pl->rules)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n && !err; i++) {
		if (i < o->n_extra)
			err = rule_build(p, &o->extra[i], &pl->rules[i], NULL, NULL);
		else if (ess && i == o->n_extra)
			err = rule_essentials(p, &pl->rules[i]);
		else if (!given)
			err = rule_build(p, &p->rules[i - front], &pl->rules[i], NULL, NULL);
		if (!given)
			pl->n_rules = i + 1;
		/* both backends shape their tables by it (lower_proto, lower_nft_ct.c) */
		pl->has_state |= !err && rule_is_state(&pl->rules[i]);
	}
	pl->n_probe_rules = o->n_extra;
	return err;
}

int policy_lower(const struct policy *p, const struct lower_opts *o, struct plan *out,
		 struct diag *d)
{
	static const struct lower_opts none;
	int err;

	memset(out, 0, sizeof(*out));
	if (!o)
		o = &none;
	out->file = p->file;
	out->backend = p->backend;
	out->default_action = p->default_action;
	out->malformed_action = p->malformed;
	out->frag_mode = p->fragments;
	out->midstream_action = p->midstream;
	out->sni_unordered = p->sni_unordered;
	err = lower_ifaces(p, out);
	if (!err)
		err = lower_rule_list(p, o, out);
	if (!err)
		out->flows = p->flows		     ? p->flows :
			     plan_follows_flows(out) ? TLSFW_FLOWS_DEFAULT :
						       0;
	if (!err)
		err = lower_names(out, d);
	if (!err && (o->bpf || (!o->nft && p->backend == POL_BACKEND_BPF)))
		err = lower_bpf(out, d);
	if (!err && (o->nft || (!o->bpf && p->backend == POL_BACKEND_NFT)))
		err = lower_nft(out, d);
	return err;
}

void plan_free(struct plan *pl)
{
	if (!pl)
		return;
	plan_bpf_free(pl);
	nft_ruleset_free(&pl->nft);
	for (size_t i = 0; i < pl->n_rules; i++)
		rule_free(&pl->rules[i]);
	free(pl->rules);
	free(pl->ifaces);
	name_table_free(&pl->names);
	memset(pl, 0, sizeof(*pl));
}
