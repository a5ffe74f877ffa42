// SPDX-License-Identifier: GPL-2.0
/*
 * The rate limits of `log:` (tlsfw_abi.h, "Logging"): one token bucket per rule slot in
 * tlsfw_log_rules, written here when a policy is applied and read by `tlsfw stats`.
 * Buckets are per slot, not per generation: a rule keeps its slot across policies, and the
 * bucket of a rule whose rate changes takes the new rate at once (the old generation, still
 * in force until the flip, may see it for a moment).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "bpf_fill.h"
#include "stats.h"

/* The bucket of plan rule r (a rule with log:), b holding what the map holds. */
static void log_bucket(const struct plan_rule *r, struct tlsfw_log_rule *b)
{
	if (!b->burst)
		memset(b, 0, sizeof(*b)); /* it starts to log: counters from 0 */
	b->interval_ns = 1000000000ull / r->log_rate;
	/* a second's worth: what a burst of connection attempts needs to be seen whole */
	b->burst = r->log_rate;
}

/*
 * Only the rules with log: are touched: a policy without any costs no system call. A rule
 * that stops logging keeps its bucket (no rule word reaches it, stats skip it: its record
 * says it does not log); a slot newly taken starts from zero.
 */
int bpf_fill_log(const struct bpf_maps *m, const struct plan *pl, const struct fill_ids *ids,
		 struct diag *d)
{
	int err = 0;

	for (size_t r = 0; !err && r < pl->n_rules; r++) {
		uint32_t slot = ids->rule_slot[r];
		struct tlsfw_log_rule b = { 0 }, was;

		if (!pl->rules[r].log_rate || slot >= TLSFW_MAX_RULES)
			continue;
		if (!(ids->rule_new && ids->rule_new[r]) &&
		    bpf_map_lookup_elem(m->log_rules, &slot, &b))
			err = -errno;
		was = b;
		log_bucket(&pl->rules[r], &b);
		if (!err && memcmp(&was, &b, sizeof(b)) &&
		    bpf_map_update_elem(m->log_rules, &slot, &b, BPF_ANY))
			err = -errno;
	}
	if (err && d)
		diag_error(d, NULL, "map tlsfw_log_rules: cannot write the log rate limits: %s",
			   strerror(-err));
	return err;
}

int stats_log_read(struct stats_snap *s, int fd)
{
	for (size_t r = 0; r < s->n_rules; r++) {
		struct stats_rule *ru = &s->rules[r];
		struct tlsfw_log_rule lr;

		if (!ru->log)
			continue;
		if (bpf_map_lookup_elem(fd, &ru->slot, &lr))
			return -errno;
		if (!ru->log || !lr.burst)
			continue;
		ru->log_rate = lr.burst; /* a second's worth: the rate */
		ru->log_events = lr.events;
		ru->log_suppressed = lr.suppressed;
		ru->log_ring_full = lr.ring_full;
		s->log = true;
	}
	return 0;
}
