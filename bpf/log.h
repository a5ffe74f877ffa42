/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-rule packet events (`log:`): tlsfw_abi.h, "Logging". Only packets decided by a rule
 * whose word has TLSFW_DW_LOG come here; every other packet pays one AND and a branch on the
 * rule word it already holds.
 */
#ifndef TLSFW_LOG_H
#define TLSFW_LOG_H

#include "tlsfw_abi.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TLSFW_LOG_RING_BYTES);
} tlsfw_log_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLSFW_MAX_RULES);
	__type(key, __u32);
	__type(value, struct tlsfw_log_rule);
} tlsfw_log_rules SEC(".maps");

/* What the event needs besides the packet: scalars only (a global function's argument). */
struct log_in {
	__u32 ifindex, rule, gen;
	__u8 dir, hook, verdict, pad;
};

/* GCRA (tlsfw_abi.h): 1 when the rule may emit an event now. Under the rule's lock, which
 * no helper call may hold: now is read before. */
static __always_inline int log_admit(struct tlsfw_log_rule *lr, __u64 now)
{
	__u64 tat, iv;
	int ok = 0;

	bpf_spin_lock(&lr->lock);
	iv = lr->interval_ns;
	tat = lr->tat > now ? lr->tat : now;
	if (lr->burst && tat - now <= iv * (lr->burst - 1)) {
		lr->tat = tat + iv;
		ok = 1;
	}
	bpf_spin_unlock(&lr->lock);
	return ok;
}

static __always_inline void log_fill(struct tlsfw_log_event *e, const struct parsed *p,
				     const struct log_in *in, __u64 now)
{
	__builtin_memcpy(e->src, p->src, 16);
	__builtin_memcpy(e->dst, p->dst, 16);
	e->time_ns = now;
	e->ifindex = in->ifindex;
	e->rule_slot = in->rule & TLSFW_DW_LOW;
	e->sport = p->has_ports ? p->sport : 0;
	e->dport = p->has_ports ? p->dport : 0;
	e->dir = in->dir;
	e->hook = in->hook;
	e->family = p->family;
	e->proto = p->proto;
	e->icmp_type = !p->has_ports && p->has_dkey ? p->dport & 0xff : 0;
	e->verdict = in->verdict;
	e->monitor = !!(in->rule & TLSFW_DW_MONITOR);
	e->gen = in->gen;
}

/*
 * One event for a packet that a logging rule decided: rate-limited per rule, counted in
 * tlsfw_log_rules (atomic adds: the rule logs, so it pays). A global function: verified once.
 */
__noinline int tlsfw_log(const struct parsed *p, const struct log_in *in)
{
	struct tlsfw_log_event *e;
	struct tlsfw_log_rule *lr;
	__u32 slot;
	__u64 now;

	if (!p || !in)
		return 0;
	slot = in->rule & TLSFW_DW_LOW;
	lr = bpf_map_lookup_elem(&tlsfw_log_rules, &slot);
	if (!lr)
		return 0;
	now = bpf_ktime_get_ns();
	if (!log_admit(lr, now)) {
		__sync_fetch_and_add(&lr->suppressed, 1);
		return 0;
	}
	e = bpf_ringbuf_reserve(&tlsfw_log_ring, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lr->ring_full, 1);
		return 0;
	}
	log_fill(e, p, in, now);
	bpf_ringbuf_submit(e, 0);
	__sync_fetch_and_add(&lr->events, 1);
	return 1;
}

#endif /* TLSFW_LOG_H */
