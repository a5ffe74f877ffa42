/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Classification and counting, shared by every hook. The policy lives in the maps below
 * (layout: tlsfw_abi.h); this code only looks up and counts. Cost per packet: up to three
 * inlined array lookups (proto, sport, dport), two trie lookups only when some rule has
 * addresses, four hash lookups (ctx, comb1, comb2, comb3) and two or three counter updates,
 * whatever the number of rules.
 */
#ifndef TLSFW_DECIDE_H
#define TLSFW_DECIDE_H

#include "tlsfw_abi.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tlsfw_state);
} tlsfw_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct tlsfw_cfg);
} tlsfw_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * TLSFW_MAX_CTX);
	__type(key, struct tlsfw_ctx_key);
	__type(value, struct tlsfw_ctx_val);
} tlsfw_ctx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * TLSFW_PROTO_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} tlsfw_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * TLSFW_PORT_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} tlsfw_sport SEC(".maps"), tlsfw_dport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TLSFW_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tlsfw_lpm_key);
	__type(value, __u32);
} tlsfw_src SEC(".maps"), tlsfw_dst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TLSFW_MAX_COMB);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tlsfw_comb_key);
	__type(value, __u32);
} tlsfw_comb1 SEC(".maps"), tlsfw_comb2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TLSFW_MAX_COMB);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tlsfw_comb_key);
	__type(value, struct tlsfw_rule_val);
} tlsfw_comb3 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TLSFW_FRAG_ENTRIES);
	__type(key, struct tlsfw_frag_key);
	__type(value, struct tlsfw_frag_val);
} tlsfw_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TLSFW_COUNTERS);
	__type(key, __u32);
	__type(value, struct tlsfw_counter);
} tlsfw_counters SEC(".maps");

/* Userspace-only metadata: referenced below so that they belong to the program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLSFW_MAX_RULES);
	__type(key, __u32);
	__type(value, struct tlsfw_rule_info);
} tlsfw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLSFW_MAX_CTX);
	__type(key, __u32);
	__type(value, struct tlsfw_ctx_info);
} tlsfw_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tlsfw_meta);
} tlsfw_meta SEC(".maps");

/*
 * Always 0. Read-only data is frozen before the verifier runs, so it removes the branch that
 * tests it; the map references inside still make the metadata maps part of the program, so
 * that `tlsfw stats` in another process finds them from the attached program alone.
 */
const volatile __u32 tlsfw_never = 0;

static __always_inline void touch_metadata(void)
{
	__u32 zero = 0;

	if (tlsfw_never) {
		bpf_map_lookup_elem(&tlsfw_rules, &zero);
		bpf_map_lookup_elem(&tlsfw_ifaces, &zero);
		bpf_map_lookup_elem(&tlsfw_meta, &zero);
	}
}

enum verdict {
	VERDICT_PASS = 0,
	VERDICT_DROP,
	VERDICT_REJECT,
};

/* What the hook needs after the decision: the verdict and where to count the reply. */
struct decision {
	__u32 base;     /* first counter of the (interface, direction) block */
	__u32 bytes;
	int verdict;    /* enum verdict */
};

static __always_inline void count(__u32 idx, __u32 bytes)
{
	struct tlsfw_counter *c = bpf_map_lookup_elem(&tlsfw_counters, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void count_stat(const struct decision *d, __u32 stat)
{
	count(d->base + stat, d->bytes);
}

/* Count the verdict total; monitor-mode matches are counted and passed. */
static __always_inline int finish(struct decision *d, int verdict)
{
	if (verdict == VERDICT_PASS)
		count_stat(d, TLSFW_STAT_PASS);
	else if (verdict == VERDICT_DROP)
		count_stat(d, TLSFW_STAT_DROP);
	else
		count_stat(d, TLSFW_STAT_REJECT);
	d->verdict = verdict;
	return verdict;
}

static __always_inline int action_verdict(__u8 action)
{
	if (action == TLSFW_ACT_DROP)
		return VERDICT_DROP;
	if (action == TLSFW_ACT_REJECT)
		return VERDICT_REJECT;
	return VERDICT_PASS;
}

/* A rule (or the default, rule == NULL) decided: count it and apply its mode. */
static __always_inline int apply_rule(struct decision *d, const struct tlsfw_cfg *cfg,
				      const struct tlsfw_rule_val *rule)
{
	__u32 slot;

	if (!rule) {
		count_stat(d, TLSFW_STAT_DEFAULT);
		return finish(d, action_verdict(cfg->default_action));
	}
	slot = rule->rule_slot;
	if (slot < TLSFW_MAX_RULES)
		count_stat(d, TLSFW_STAT_RULE0 + slot);
	if (rule->monitor) {
		count_stat(d, TLSFW_STAT_MONITOR);
		return finish(d, VERDICT_PASS);
	}
	return finish(d, action_verdict(rule->action));
}

/* Phases 0 to 2 (tlsfw_abi.h): NULL when a combination is missing, that is, no rule matches. */
static __always_inline const struct tlsfw_rule_val *
classify(const struct parsed *p, const struct tlsfw_cfg *cfg, __u32 gen, __u32 ctx_cls)
{
	struct tlsfw_comb_key k = { .gen = gen };
	struct tlsfw_lpm_key lk;
	__u32 idx, *v, a, b, fields = cfg->fields;

	idx = gen * TLSFW_PROTO_SLOTS + p->family * 256 + p->proto;
	v = bpf_map_lookup_elem(&tlsfw_proto, &idx);
	if (!v)
		return NULL;
	k.a = *v;
	if (fields & TLSFW_F_SPORT) {
		idx = gen * TLSFW_PORT_SLOTS + (p->has_ports ? p->sport : TLSFW_PORT_NONE);
		v = bpf_map_lookup_elem(&tlsfw_sport, &idx);
		if (!v)
			return NULL;
		k.b = *v;
	}
	if (fields & TLSFW_F_DPORT) {
		idx = gen * TLSFW_PORT_SLOTS + (p->has_ports ? p->dport : TLSFW_PORT_NONE);
		v = bpf_map_lookup_elem(&tlsfw_dport, &idx);
		if (!v)
			return NULL;
		k.c = *v;
	}
	v = bpf_map_lookup_elem(&tlsfw_comb1, &k);
	if (!v)
		return NULL;
	a = *v;

	k.a = 0;
	k.b = 0;
	k.c = 0;
	if (fields & (TLSFW_F_SRC | TLSFW_F_DST)) {
		lk.prefixlen = 8 + 128;
		lk.gen = gen;
		if (fields & TLSFW_F_SRC) {
			__builtin_memcpy(lk.addr, p->src, 16);
			v = bpf_map_lookup_elem(&tlsfw_src, &lk);
			if (!v)
				return NULL;
			k.a = *v;
		}
		if (fields & TLSFW_F_DST) {
			__builtin_memcpy(lk.addr, p->dst, 16);
			v = bpf_map_lookup_elem(&tlsfw_dst, &lk);
			if (!v)
				return NULL;
			k.b = *v;
		}
	}
	v = bpf_map_lookup_elem(&tlsfw_comb2, &k);
	if (!v)
		return NULL;
	b = *v;

	k.a = ctx_cls;
	k.b = a;
	k.c = b;
	return bpf_map_lookup_elem(&tlsfw_comb3, &k);
}

static __always_inline void frag_key(struct tlsfw_frag_key *fk, const struct parsed *p, __u32 gen)
{
	__builtin_memcpy(fk->src, p->src, 16);
	__builtin_memcpy(fk->dst, p->dst, 16);
	fk->id = p->frag_id;
	fk->proto = p->frag_proto;
	fk->gen = gen;
	fk->pad = 0;
}

/* A non-first fragment under `fragments: follow`: the verdict its first fragment got. */
static __always_inline int follow_fragment(struct decision *d, const struct parsed *p,
					   const struct tlsfw_cfg *cfg, __u32 gen)
{
	struct tlsfw_frag_key fk;
	struct tlsfw_frag_val *fv;

	frag_key(&fk, p, gen);
	fv = bpf_map_lookup_elem(&tlsfw_frags, &fk);
	if (!fv) {
		count_stat(d, TLSFW_STAT_FRAG_NO_FIRST);
		return finish(d, VERDICT_DROP);
	}
	count_stat(d, TLSFW_STAT_FRAG_FOLLOWED);
	return apply_rule(d, cfg, fv->rule.rule_slot == ~0u ? NULL : &fv->rule);
}

static __always_inline void remember_first(const struct parsed *p, __u32 gen, __u32 ctx_slot,
					   const struct tlsfw_rule_val *rule)
{
	struct tlsfw_frag_key fk;
	struct tlsfw_frag_val fv = { .ctx_slot = ctx_slot };

	frag_key(&fk, p, gen);
	if (rule)
		fv.rule = *rule;
	else
		fv.rule.rule_slot = ~0u;
	bpf_map_update_elem(&tlsfw_frags, &fk, &fv, BPF_ANY);
}

/*
 * The decision for one parsed packet (rc from tlsfw_parse, not PARSE_NOT_IP). Returns the
 * verdict (also in d->verdict); packets of an interface and direction that the policy does not
 * name pass uncounted.
 */
static __always_inline int tlsfw_decide(struct decision *d, const struct parsed *p, int rc,
					__u32 ifindex, __u8 dir)
{
	const struct tlsfw_rule_val *rule;
	struct tlsfw_ctx_key ck = {};
	struct tlsfw_ctx_val *cv;
	struct tlsfw_state *st;
	struct tlsfw_cfg *cfg;
	__u32 zero = 0, gen;

	d->verdict = VERDICT_PASS;
	touch_metadata();
	st = bpf_map_lookup_elem(&tlsfw_state, &zero);
	if (!st)
		return VERDICT_PASS;
	gen = st->gen & 1;
	cfg = bpf_map_lookup_elem(&tlsfw_cfg, &gen);
	if (!cfg)
		return VERDICT_PASS;
	ck.ifindex = ifindex;
	ck.gen = gen;
	ck.dir = dir;
	cv = bpf_map_lookup_elem(&tlsfw_ctx, &ck);
	if (!cv || cv->ctx_slot >= TLSFW_MAX_CTX)
		return VERDICT_PASS;
	d->base = cv->ctx_slot * TLSFW_SLOTS_PER_CTX;

	if (rc == PARSE_MALFORMED) {
		count_stat(d, p->reason);
		return finish(d, cfg->malformed_action == TLSFW_ACT_ALLOW ? VERDICT_PASS :
									  VERDICT_DROP);
	}
	if (p->frag != FRAG_NONE) {
		if (cfg->frag_mode == TLSFW_FRAG_DROP) {
			count_stat(d, TLSFW_STAT_FRAG_DROPPED);
			return finish(d, VERDICT_DROP);
		}
		if (p->frag == FRAG_LATER) {
			if (cfg->frag_mode == TLSFW_FRAG_ALLOW) {
				count_stat(d, TLSFW_STAT_FRAG_ALLOWED);
				return finish(d, VERDICT_PASS);
			}
			return follow_fragment(d, p, cfg, gen);
		}
		/* A first fragment without the whole transport header could hide its ports. */
		if (p->l4_short) {
			count_stat(d, TLSFW_STAT_FRAG_TINY);
			return finish(d, VERDICT_DROP);
		}
	}
	rule = classify(p, cfg, gen, cv->cls);
	if (p->frag == FRAG_FIRST && cfg->frag_mode == TLSFW_FRAG_FOLLOW)
		remember_first(p, gen, cv->ctx_slot, rule);
	return apply_rule(d, cfg, rule);
}

#endif /* TLSFW_DECIDE_H */
