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

int bpf_log_rules_read(int fd, struct tlsfw_log_rule *out)
{
	static uint32_t keys[TLSFW_MAX_RULES];
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t n = TLSFW_MAX_RULES, next;

	/* one batch: 8,192 single lookups cost an apply tens of ms (bench_xdp, fill ms) */
	if (!bpf_map_lookup_batch(fd, NULL, &next, keys, out, &n, &opts) ||
	    (errno == ENOENT && n == TLSFW_MAX_RULES))
		return 0;
	for (uint32_t k = 0; k < TLSFW_MAX_RULES; k++)
		if (bpf_map_lookup_elem(fd, &k, &out[k]))
			return -errno;
	return 0;
}

/* The bucket of plan rule r, b holding what the map holds (fresh: a slot newly taken). */
static void log_bucket(const struct plan_rule *r, bool fresh, struct tlsfw_log_rule *b)
{
	uint32_t rate = r->log_rate;

	if (!rate) {
		if (fresh)
			memset(b, 0, sizeof(*b));
		b->burst = 0;
		return;
	}
	if (fresh || !b->burst)
		memset(b, 0, sizeof(*b));
	b->interval_ns = 1000000000ull / rate;
	/* a second's worth: what a burst of connection attempts needs to be seen whole */
	b->burst = rate;
}

int bpf_fill_log(const struct bpf_maps *m, const struct plan *pl, const struct fill_ids *ids,
		 struct diag *d)
{
	struct tlsfw_log_rule *cur = calloc(TLSFW_MAX_RULES, sizeof(*cur));
	struct tlsfw_log_rule *want = calloc(TLSFW_MAX_RULES, sizeof(*want));
	int err = -ENOMEM;

	if (!cur || !want)
		goto out;
	err = bpf_log_rules_read(m->log_rules, cur);
	if (err)
		goto out;
	memcpy(want, cur, TLSFW_MAX_RULES * sizeof(*cur));
	for (size_t r = 0; r < pl->n_rules; r++) {
		uint32_t slot = ids->rule_slot[r];

		if (slot >= TLSFW_MAX_RULES)
			continue;
		log_bucket(&pl->rules[r], ids->rule_new && ids->rule_new[r], &want[slot]);
	}
	err = bpf_array_write_changed(m->log_rules, want, cur, sizeof(*want), TLSFW_MAX_RULES);
out:
	if (err && d)
		diag_error(d, NULL, "map tlsfw_log_rules: cannot write the log rate limits: %s",
			   strerror(-err));
	free(cur);
	free(want);
	return err;
}

int stats_log_read(struct stats_snap *s, int fd)
{
	for (size_t r = 0; r < s->n_rules; r++) {
		struct stats_rule *ru = &s->rules[r];
		struct tlsfw_log_rule lr;

		if (bpf_map_lookup_elem(fd, &ru->slot, &lr))
			return -errno;
		if (!lr.burst || !lr.interval_ns)
			continue;
		ru->log_rate = lr.burst; /* a second's worth: the rate */
		ru->log_events = lr.events;
		ru->log_suppressed = lr.suppressed;
		ru->log_ring_full = lr.ring_full;
		s->log = true;
	}
	return 0;
}
