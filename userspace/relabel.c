// SPDX-License-Identifier: GPL-2.0
/* Which counters a replacement relabels, and what apply says about it (relabel.h). */
#include "names.h"
#include "relabel.h"

bool relabel_rejects(const struct plan *pl)
{
	for (size_t i = 0; i < pl->n_rules; i++)
		if (!pl->rules[i].monitor && pl->rules[i].action == TLSFW_ACT_REJECT)
			return true;
	return false;
}

unsigned int relabel_counters(const struct plan *pl, const struct relabel_old *old)
{
	unsigned int reset = 0;
	bool monitor = false;

	if (!old)
		return 0;
	for (size_t i = 0; i < pl->n_rules; i++)
		monitor |= pl->rules[i].monitor;
	if (old->default_action != pl->default_action)
		reset |= RELABEL_DEFAULT;
	if (!relabel_rejects(pl))
		reset |= RELABEL_REJECT | (old->rejects ? RELABEL_SAY_REJECT : 0);
	if (!monitor)
		reset |= RELABEL_MONITOR;
	return reset;
}

void relabel_say(FILE *out, unsigned int reset, uint8_t old_default, uint8_t new_default)
{
	if (!out)
		return;
	if (reset & RELABEL_DEFAULT)
		fprintf(out, "counters: (default) reset: the default changed from %s to %s\n",
			action_name(old_default), action_name(new_default));
	if (reset & RELABEL_SAY_REJECT)
		fprintf(out, "counters: reject totals reset: no rule of the new policy rejects\n");
}
