// SPDX-License-Identifier: GPL-2.0
/* The pairwise shadowing walk (shadow_ref.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shadow_ref.h"

/* group[f]: room for every view, for the earlier views that cover t in all fields but f */
static bool view_covered(const struct shadow_in *in, const struct shadow_view *views,
			 size_t first_of_rule, size_t ti, uint8_t *by,
			 const struct shadow_view ***group)
{
	const struct shadow_view *t = &views[ti];
	size_t n_group[SH_FIELDS] = { 0 };

	for (size_t ui = 0; ui < first_of_rule; ui++) {
		const struct shadow_view *u = &views[ui];
		unsigned int miss;

		if (in->bad[u->rule] || shadow_disjoint(t, u))
			continue;
		miss = shadow_uncovered(t, u);
		if (!miss) {
			by[u->rule] = 1;
			return true;
		}
		if (__builtin_popcount(miss) == 1)
			group[__builtin_ctz(miss)][n_group[__builtin_ctz(miss)]++] = u;
	}
	for (int f = 0; f < SH_FIELDS; f++) {
		if (n_group[f] < 2 || !shadow_union_covers(t, group[f], n_group[f], f))
			continue;
		for (size_t g = 0; g < n_group[f]; g++)
			by[group[f][g]->rule] = 1;
		return true;
	}
	return false;
}

int shadow_ref_analyse(const struct shadow_in *in, shadow_report report, void *arg)
{
	const struct shadow_view **group[SH_FIELDS] = { 0 };
	struct shadow_view *views = NULL;
	uint8_t *by = calloc(in->n_rules ? in->n_rules : 1, 1);
	size_t n = 0, vi = 0;
	int err = shadow_views(in, &views, &n);

	for (int f = 0; !err && f < SH_FIELDS; f++) {
		group[f] = calloc(n ? n : 1, sizeof(**group));
		if (!group[f])
			err = -ENOMEM;
	}
	if (!by)
		err = -ENOMEM;
	while (!err && vi < n) {
		size_t first = vi, end = vi;
		uint32_t ri = views[vi].rule;
		bool all;

		while (end < n && views[end].rule == ri)
			end++;
		memset(by, 0, in->n_rules);
		all = !in->bad[ri];
		for (size_t k = first; k < end && all; k++)
			all = shadow_view_empty(&views[k]) ||
			      view_covered(in, views, first, k, by, group);
		if (all && first > 0 && memchr(by, 1, ri))
			report(arg, ri, by);
		vi = end;
	}
	for (int f = 0; f < SH_FIELDS; f++)
		free(group[f]);
	free(views);
	free(by);
	return err;
}
