// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3 for server-name rules (issue 13): the name table of the plan's sni: lists, and
 * which content classes (TLSFW_PL_NAME0 + slot * 2 + ech, HELLO_BAD, UNORDERED) each name
 * rule admits. A list is one class bit; a name class is the set of lists naming it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "plan.h"
#include "policy_sni.h"

/* The patterns of every name rule's list, each rule's list index set. */
static int collect(struct plan *pl, struct name_pattern **out, size_t *n_out)
{
	struct name_pattern *v = NULL;
	size_t n = 0, cap = 0;
	uint32_t list = 0;

	for (size_t i = 0; i < pl->n_rules; i++) {
		struct plan_rule *r = &pl->rules[i];
		size_t k = r->sni ? r->sni->n : 0;
		size_t nb = 0;

		while (r->builtin_sni && r->builtin_sni[nb])
			nb++;
		if (!k && !nb)
			continue;
		if (n + k + nb > cap) {
			struct name_pattern *nv;

			cap = (n + k + nb) * 2;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		for (size_t j = 0; j < k; j++)
			v[n++] = (struct name_pattern){ r->sni->v[j], list };
		for (size_t j = 0; j < nb; j++)
			v[n++] = (struct name_pattern){ r->builtin_sni[j], list };
		r->sni_list = list++;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static const struct plan_rule *rule_of_list(const struct plan *pl, uint32_t list)
{
	for (size_t i = 0; i < pl->n_rules; i++)
		if ((pl->rules[i].sni || pl->rules[i].builtin_sni) && pl->rules[i].sni_list == list)
			return &pl->rules[i];
	return NULL;
}

int lower_names(struct plan *pl, struct diag *d)
{
	struct name_pattern *v = NULL;
	const struct plan_rule *r;
	size_t n = 0, bad = 0;
	uint64_t seed = 0;
	int err;

	for (size_t i = 0; i < pl->n_rules; i++)
		pl->has_names |= pl->rules[i].names;
	if (!pl->has_names)
		return 0;
	err = collect(pl, &v, &n);
	if (err)
		return err;
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = 0x243f6a8885a308d3ull; /* a fixed seed is correct too: names are compared */
	err = name_table_build(&pl->names, v, n, 0, seed, &bad);
	if (err == -EINVAL && bad < n) {
		r = rule_of_list(pl, v[bad].list);
		diag_error(d, r ? &r->names_loc : NULL, "sni: '%s' is not a server name",
			   v[bad].pattern);
	} else if (err == -E2BIG) {
		r = rule_of_list(pl, 0);
		diag_error(d, r ? &r->names_loc : NULL,
			   "sni: the lists hold more than %u distinct names and wildcards",
			   TLSFW_NAMES_MAX);
	} else if (!err && pl->names.n_classes + 2 > TLSFW_PL_NAME_SLOTS) {
		r = rule_of_list(pl, 0);
		diag_error(
			d, r ? &r->names_loc : NULL,
			"sni: the lists overlap in %zu ways (names in different sets of lists); the data plane holds %u: merge lists",
			pl->names.n_classes, TLSFW_PL_NAME_SLOTS - 2);
		err = -E2BIG;
	}
	free(v);
	return err;
}

/* Does name rule r admit content class c (c not UNKNOWN)? */
bool rule_admits_name_pl(const struct plan *pl, const struct plan_rule *r, unsigned int c)
{
	unsigned int slot, ech;
	bool in;

	if (c == TLSFW_PL_HELLO_BAD || c == TLSFW_PL_CONFLICT)
		return true; /* a malformed ClientHello: fail closed, the rule's action */
	if (c == TLSFW_PL_UNORDERED || c == TLSFW_PL_HELLO_UNORDERED)
		return pl->sni_unordered != TLSFW_ACT_ALLOW;
	if (c < TLSFW_PL_NAME0 || c >= TLSFW_PL_VALUES)
		return false;
	slot = (c - TLSFW_PL_NAME0) / 2;
	ech = (c - TLSFW_PL_NAME0) % 2;
	if ((r->ech == POL_ECH_PRESENT && !ech) || (r->ech == POL_ECH_ABSENT && ech))
		return false;
	if (r->sni_none)
		in = slot == 0;
	else if (r->sni || r->builtin_sni)
		in = slot >= 2 && name_table_has(&pl->names, slot - 1, r->sni_list);
	else
		return true; /* ech: alone */
	return in != r->sni_not;
}

bool rule_admits_content(const struct plan *pl, const struct plan_rule *r, unsigned int c)
{
	if (r->names && c != TLSFW_PL_UNKNOWN)
		return rule_admits_name_pl(pl, r, c);
	return rule_admits_pl(r, c);
}
