/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Classification and counting, shared by every hook. The policy lives in the maps below
 * (layout: tlsfw_abi.h); this code only looks up and counts. Cost per packet, whatever the
 * number of rules: inlined array lookups (generation, its configuration, its direct-indexed
 * tables, proto, sport, dport), then indexed loads for the interface context and the
 * combination tables in their direct form; a hash lookup only where a table fell back to its
 * hash form (class product too large, ifindex from TLSFW_IFX_DIRECT up); the two tries and
 * comb2 only when some rule has addresses; two or three per-CPU counter updates.
 */
#ifndef TLSFW_DECIDE_H
#define TLSFW_DECIDE_H

#include "tlsfw_abi.h"
#include "parse.h"
#include "content.h"
#include "ct.h"
#include "log.h"

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

/* Arrays that userspace writes through a memory mapping (BPF_F_MMAPABLE): a fill is then
 * stores, not system calls. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * TLSFW_PROTO_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} tlsfw_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * TLSFW_PORT_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} tlsfw_sport SEC(".maps"), tlsfw_dport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct tlsfw_words);
} tlsfw_direct SEC(".maps");

/*
 * Tables of a size that depends on the policy: one map per generation, made by bpf_fill with
 * the entries the plan has, held in an array of two (index = generation; empty when that
 * generation does not use the table). The templates below only give the inner maps' types;
 * key and value are given as sizes (a type reached through two pointers reaches BTF only as
 * a forward declaration, whose size libbpf cannot know).
 */
#define TLSFW_GEN_TABLE(name, map_type, key, value)   \
	struct name {                                 \
		__uint(type, map_type);               \
		__uint(max_entries, 1);               \
		__uint(map_flags, BPF_F_NO_PREALLOC); \
		__uint(key_size, sizeof(key));        \
		__uint(value_size, sizeof(value));    \
	}

TLSFW_GEN_TABLE(tlsfw_trie_map, BPF_MAP_TYPE_LPM_TRIE, struct tlsfw_lpm_key, __u32);
TLSFW_GEN_TABLE(tlsfw_comb_map, BPF_MAP_TYPE_HASH, struct tlsfw_comb_key, __u32);
TLSFW_GEN_TABLE(tlsfw_rule_map, BPF_MAP_TYPE_HASH, struct tlsfw_comb_key, struct tlsfw_rule_val);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct tlsfw_trie_map);
} tlsfw_src SEC(".maps"), tlsfw_dst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct tlsfw_comb_map);
} tlsfw_comb1 SEC(".maps"), tlsfw_comb2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct tlsfw_rule_map);
} tlsfw_comb3 SEC(".maps");

/* Mappable, like the records below: an apply zeroes the slots it gives out with stores. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLSFW_MAX_RULES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct tlsfw_rule_flows);
} tlsfw_rule_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * TLSFW_MAX_RULES);
	__type(key, __u32);
	__type(value, __u32);
} tlsfw_rule_order SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TLSFW_FRAG_ENTRIES);
	__type(key, struct tlsfw_frag_key);
	__type(value, struct tlsfw_frag_val);
} tlsfw_frags SEC(".maps");

/* Per CPU, in one array (tlsfw_abi.h, "Counters"): the loader sets max_entries to
 * TLSFW_COUNTERS times the number of possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLSFW_COUNTERS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct tlsfw_counter);
} tlsfw_counters SEC(".maps");

/* Userspace-only metadata: referenced below so that they belong to the program. The records
 * are read and written through a memory mapping (bpf_array_elems): a batch lookup of 8,193
 * records and two batch updates of 4,097 were 4 ms of a replacement of 4,096 rules, in the
 * kernel's copies. Maps made by an earlier tlsfw, without the flag, which an apply reuses,
 * are still read and written with batches. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLSFW_MAX_RULES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct tlsfw_rule_info);
} tlsfw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLSFW_MAX_CTX);
	__uint(map_flags, BPF_F_MMAPABLE);
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

/* The same for every map: a program that decides nothing (tlsfw_tc_reply) still leads a
 * separate process to all of them, like the others. */
static __always_inline void touch_all_maps(void)
{
	__u32 zero = 0;

	touch_metadata();
	if (tlsfw_never) {
		bpf_map_lookup_elem(&tlsfw_state, &zero);
		bpf_map_lookup_elem(&tlsfw_cfg, &zero);
		bpf_map_lookup_elem(&tlsfw_ctx, &zero);
		bpf_map_lookup_elem(&tlsfw_proto, &zero);
		bpf_map_lookup_elem(&tlsfw_sport, &zero);
		bpf_map_lookup_elem(&tlsfw_dport, &zero);
		bpf_map_lookup_elem(&tlsfw_direct, &zero);
		bpf_map_lookup_elem(&tlsfw_src, &zero);
		bpf_map_lookup_elem(&tlsfw_dst, &zero);
		bpf_map_lookup_elem(&tlsfw_comb1, &zero);
		bpf_map_lookup_elem(&tlsfw_comb2, &zero);
		bpf_map_lookup_elem(&tlsfw_comb3, &zero);
		bpf_map_lookup_elem(&tlsfw_frags, &zero);
		bpf_map_lookup_elem(&tlsfw_rule_flows, &zero);
		bpf_map_lookup_elem(&tlsfw_rule_order, &zero);
		bpf_map_lookup_elem(&tlsfw_flows, &zero);
		bpf_map_lookup_elem(&tlsfw_content_stats, &zero);
		bpf_map_lookup_elem(&tlsfw_content_work, &zero);
		bpf_map_lookup_elem(&tlsfw_names, &zero);
		bpf_map_lookup_elem(&tlsfw_content_cfg, &zero);
		bpf_map_lookup_elem(&tlsfw_log_rules, &zero);
		bpf_ringbuf_query(&tlsfw_log_ring, 0);
	}
}

enum verdict {
	VERDICT_PASS = 0,
	VERDICT_DROP,
	VERDICT_REJECT,
};

/* What the hook needs after the decision: the verdict and where to count the reply. */
struct decision {
	__u32 base; /* first counter of the (interface, direction) block, on this CPU */
	__u32 slot; /* the block */
	__u32 bytes;
	int verdict; /* enum verdict */
	__u32 ctx;   /* the context word (flags: TLSFW_DW_HANDOFF) */
	__u32 rule;  /* the rule word that decided, 0 for none */
};

static __always_inline void count(__u32 idx, __u32 bytes)
{
	/* out of range (a CPU beyond the map): NULL, nothing counted */
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

/* The rule word (tlsfw_abi.h, TLSFW_DW_*) of a hash-form rule; 0 for none. */
static __always_inline __u32 rule_word(const struct tlsfw_rule_val *r)
{
	if (!r)
		return 0;
	return TLSFW_DW_VALID | (r->monitor ? TLSFW_DW_MONITOR : 0) |
	       (r->content & TLSFW_RV_INSPECT ? TLSFW_DW_INSPECT : 0) |
	       (r->content & TLSFW_RV_REQUIRE ? TLSFW_DW_REQUIRE : 0) |
	       (r->content & TLSFW_RV_NAME ? TLSFW_DW_NAME : 0) |
	       (r->content & TLSFW_RV_STATE ? TLSFW_DW_STATE : 0) |
	       (r->content & TLSFW_RV_LOG ? TLSFW_DW_LOG : 0) |
	       (__u32)(r->action & 3) << TLSFW_DW_ACTION_SHIFT | (r->rule_slot & TLSFW_DW_LOW);
}

/* A rule (or the default, rule == 0) decided: count it and apply its mode. */
static __always_inline int apply_rule(struct decision *d, const struct tlsfw_cfg *cfg, __u32 rule)
{
	__u32 slot;

	d->rule = rule;
	if (!rule) {
		count_stat(d, TLSFW_STAT_DEFAULT);
		return finish(d, action_verdict(cfg->default_action));
	}
	slot = rule & TLSFW_DW_LOW;
	if (slot < TLSFW_MAX_RULES)
		count_stat(d, TLSFW_STAT_RULE0 + slot);
	if (rule & TLSFW_DW_MONITOR) {
		count_stat(d, TLSFW_STAT_MONITOR);
		return finish(d, VERDICT_PASS);
	}
	return finish(d, action_verdict((rule >> TLSFW_DW_ACTION_SHIFT) & 3));
}

static __always_inline __u32 direct_word(const struct tlsfw_words *dw, __u32 idx)
{
	__u64 i = idx;

	/* A mask the compiler cannot drop as redundant: the verifier needs it on the very
	 * register used for the access (callers have checked the index already). */
	asm volatile("%0 &= %1" : "+r"(i) : "i"(TLSFW_DIRECT_WORDS - 1));
	return dw->w[i];
}

/* The class of an address in generation gen's trie of tries: ~0u when there is none. */
static __always_inline __u32 addr_class(void *tries, __u32 gen, const __u8 *addr)
{
	struct tlsfw_lpm_key lk = { .prefixlen = 128 };
	void *trie = bpf_map_lookup_elem(tries, &gen);
	__u32 *v;

	if (!trie)
		return ~0u;
	__builtin_memcpy(lk.addr, addr, 16);
	v = bpf_map_lookup_elem(trie, &lk);
	return v ? *v : ~0u;
}

/* Phase 1, (src, dst) -> B: ~0u when no rule can match. */
static __always_inline __u32 classify_addrs(const struct parsed *p, __u32 gen, __u32 fields)
{
	struct tlsfw_comb_key k = {};
	void *comb2;
	__u32 *v;

	if (fields & TLSFW_F_SRC) {
		k.a = addr_class(&tlsfw_src, gen, p->src);
		if (k.a == ~0u)
			return ~0u;
	}
	if (fields & TLSFW_F_DST) {
		k.b = addr_class(&tlsfw_dst, gen, p->dst);
		if (k.b == ~0u)
			return ~0u;
	}
	comb2 = bpf_map_lookup_elem(&tlsfw_comb2, &gen);
	if (!comb2)
		return ~0u;
	v = bpf_map_lookup_elem(comb2, &k);
	return v ? *v : ~0u;
}

/*
 * Phases 0 to 2 (tlsfw_abi.h): the rule word, 0 when a combination is missing, that is, no
 * rule matches. Each table in the form tlsfw_cfg names: a missing direct word is 0 too.
 */
static __always_inline __u32 classify(const struct parsed *p, const struct tlsfw_cfg *cfg,
				      __u32 gen, __u32 ctx_cls, const struct tlsfw_words *dw,
				      __u32 pl, __u32 ct)
{
	struct tlsfw_comb_key k = {};
	__u32 idx, *v, pc, sc = 0, dc = 0, a, b, flags = cfg->flags, fields = cfg->fields;
	void *tab;

	if ((flags & (TLSFW_CFG_B_CONST | TLSFW_CFG_NO_MATCH)) ==
	    (TLSFW_CFG_B_CONST | TLSFW_CFG_NO_MATCH))
		return 0;
	idx = gen * TLSFW_PROTO_SLOTS +
	      ((ct < TLSFW_CT_VALUES ? ct : TLSFW_CT_UNKNOWN) * TLSFW_PL_VALUES +
	       (pl & (TLSFW_PL_VALUES - 1))) *
		      512 +
	      p->family * 256 + p->proto;
	v = bpf_map_lookup_elem(&tlsfw_proto, &idx);
	if (!v)
		return 0;
	pc = *v;
	if (fields & TLSFW_F_SPORT) {
		idx = gen * TLSFW_PORT_SLOTS + (p->has_ports ? p->sport : TLSFW_PORT_NONE);
		v = bpf_map_lookup_elem(&tlsfw_sport, &idx);
		if (!v)
			return 0;
		sc = *v;
	}
	if (fields & TLSFW_F_DPORT) {
		idx = gen * TLSFW_PORT_SLOTS + (p->has_dkey ? p->dport : TLSFW_PORT_NONE);
		v = bpf_map_lookup_elem(&tlsfw_dport, &idx);
		if (!v)
			return 0;
		dc = *v;
	}
	if (flags & TLSFW_CFG_COMB1_DIRECT) {
		idx = (pc * cfg->n_sport + sc) * cfg->n_dport + dc;
		if (idx >= cfg->comb1_len)
			return 0;
		/* B constant: the rule itself, one dependent load less */
		if (flags & TLSFW_CFG_FUSED)
			return direct_word(dw, cfg->comb1_base + ctx_cls * cfg->comb1_len + idx);
		a = direct_word(dw, cfg->comb1_base + idx);
		if (!a)
			return 0;
		a--;
	} else {
		k.a = pc;
		k.b = sc;
		k.c = dc;
		tab = bpf_map_lookup_elem(&tlsfw_comb1, &gen);
		v = tab ? bpf_map_lookup_elem(tab, &k) : NULL;
		if (!v)
			return 0;
		a = *v;
	}

	if (flags & TLSFW_CFG_B_CONST) {
		b = cfg->b_const;
	} else {
		b = classify_addrs(p, gen, fields);
		if (b == ~0u)
			return 0;
	}

	if (flags & TLSFW_CFG_COMB3_DIRECT) {
		idx = (ctx_cls * cfg->n_a + a) * cfg->n_b + b;
		if (idx >= cfg->comb3_len)
			return 0;
		return direct_word(dw, cfg->comb3_base + idx);
	}
	k.a = ctx_cls;
	k.b = a;
	k.c = b;
	tab = bpf_map_lookup_elem(&tlsfw_comb3, &gen);
	return tab ? rule_word(bpf_map_lookup_elem(tab, &k)) : 0;
}

/* What classify() takes besides the packet and the tables; rule and hello: inspect()'s
 * input (the content rule found) and output. */
struct class_in {
	__u32 gen, ctx_cls, pl, ct, rule, hello;
	__u32 tls; /* TLSFW_TLS_YES or _NO: this segment decides passed or cut (inspect); else 0 */
};

/*
 * classify() as a global function: a packet whose rule needs its content classified is
 * classified twice (tlsfw_decide, inspect), and a global function is verified once, on its
 * own, instead of once per call site and state (Documentation/performance.md). The input is
 * a struct of scalars: a global function makes the stack it is given unknown to the verifier,
 * so the hook's ctx pointer must not be in it. Returns the rule word, 0 for none.
 */
__noinline __u32 tlsfw_classify(const struct parsed *p, const struct tlsfw_cfg *cfg,
				const struct tlsfw_words *dw, const struct class_in *in)
{
	if (!p || !cfg || !dw || !in)
		return 0;
	return classify(p, cfg, in->gen, in->ctx_cls, dw, in->pl, in->ct);
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
	return apply_rule(d, cfg, fv->rule.rule_slot == ~0u ? 0 : rule_word(&fv->rule));
}

static __always_inline void remember_first(const struct parsed *p, __u32 gen, __u32 ctx_slot,
					   __u32 rule)
{
	struct tlsfw_frag_key fk;
	struct tlsfw_frag_val fv = { .ctx_slot = ctx_slot };

	frag_key(&fk, p, gen);
	if (rule) {
		fv.rule.rule_slot = rule & TLSFW_DW_LOW;
		fv.rule.action = (rule >> TLSFW_DW_ACTION_SHIFT) & 3;
		fv.rule.monitor = !!(rule & TLSFW_DW_MONITOR);
	} else {
		fv.rule.rule_slot = ~0u;
	}
	bpf_map_update_elem(&tlsfw_frags, &fk, &fv, BPF_ANY);
}

/* The (interface, direction) context: 0 when the policy does not name it, else a context
 * word (tlsfw_abi.h: TLSFW_DW_VALID | flags | counter block << TLSFW_DW_SLOT_SHIFT | class). */
static __always_inline __u32 context(__u32 gen, __u32 ifindex, __u8 dir,
				     const struct tlsfw_words *dw)
{
	struct tlsfw_ctx_key ck = {};
	struct tlsfw_ctx_val *cv;

	if (ifindex < TLSFW_IFX_DIRECT)
		return direct_word(dw, dir * TLSFW_IFX_DIRECT + ifindex);
	ck.ifindex = ifindex;
	ck.gen = gen;
	ck.dir = dir;
	cv = bpf_map_lookup_elem(&tlsfw_ctx, &ck);
	return cv ? cv->word : 0;
}

/* Flows passed or cut by a require: tls rule, once per flow (count_tls). */
static __always_inline void count_flow(__u32 rule, int cut)
{
	__u32 slot = rule & TLSFW_DW_LOW;
	struct tlsfw_rule_flows *f = bpf_map_lookup_elem(&tlsfw_rule_flows, &slot);

	if (!f)
		return;
	if (cut)
		__sync_fetch_and_add(&f->cut, 1);
	else
		__sync_fetch_and_add(&f->passed, 1);
}

/* A flow whose ClientHello a sni:/ech: rule matched, once per flow. */
static __always_inline void count_matched(__u32 rule)
{
	__u32 slot = rule & TLSFW_DW_LOW;
	struct tlsfw_rule_flows *f = bpf_map_lookup_elem(&tlsfw_rule_flows, &slot);

	if (f)
		__sync_fetch_and_add(&f->matched, 1);
}

/* The content class of a decided ClientHello (name or not, ECH) when the generation has
 * name rules; else pl as the facts table gave it. */
static __always_inline __u32 hello_pl(const struct tlsfw_facts *f, __u32 pl)
{
	__u32 slot;

	if (f->hello == TLSFW_HELLO_NO_NAME)
		slot = 0;
	else if (f->hello == TLSFW_HELLO_NAME)
		slot = f->name_cls + 1;
	else
		return pl;
	if (slot >= TLSFW_PL_NAME_SLOTS) /* the lowering never makes so many classes */
		return TLSFW_PL_HELLO_BAD;
	return TLSFW_PL_NAME0 + slot * 2 + (f->ech & 1);
}

/* Where a decision is made: the hook's context, for reading the payload. */
struct hook {
	void *ctx;
	int xdp;
	__u32 gen, ctx_cls;
};

/*
 * Decided flows. A settled segment (flow.h, flow_settled) of a flow has the facts of every
 * other settled segment, so under one generation and interface context it gets the same
 * rule: inspect_flow() caches it in the flow (tlsfw_flow.decided) and the next settled segment
 * takes it after one flow lookup, without the facts and the second classification. The tag
 * is the generation's epoch, new for every fill of a generation (so a replaced policy never
 * inherits a rule), plus the context's class; 0 (nothing cached) when conntrack's state was
 * an input of the decision, which changes from packet to packet.
 */
_Static_assert(TLSFW_MAX_CTX <= TLSFW_EPOCH_STEP, "a context class fits below the epoch step");

static __always_inline __u32 decided_tag(const struct class_in *in)
{
	struct tlsfw_content_cfg *cc;
	__u32 key = in->gen & 1;

	if (in->ct != TLSFW_CT_UNKNOWN || in->ctx_cls >= TLSFW_EPOCH_STEP)
		return 0;
	cc = bpf_map_lookup_elem(&tlsfw_content_cfg, &key);
	if (!cc || !(cc->epoch & ~(TLSFW_EPOCH_STEP - 1)))
		return 0;
	return (cc->epoch & ~(TLSFW_EPOCH_STEP - 1)) | in->ctx_cls;
}

/* The index into tlsfw_cfg.fact_pl of these facts. */
static __always_inline __u32 fact_index(__u32 quic, __u32 tls, __u32 hello, __u32 ech)
{
	return ((((quic & 3) * 8 + (tls & 7)) * 8 + (hello & 7)) * 2 + (ech & 1)) &
	       (TLSFW_FACT_SLOTS - 1);
}

/* The content class of a packet whose facts are f (tlsfw_cfg.fact_pl, then names). */
static __always_inline __u32 facts_pl(const struct tlsfw_facts *f, const struct parsed *p,
				      const struct tlsfw_cfg *cfg, __u32 want)
{
	__u32 pl = cfg->fact_pl[fact_index(f->quic, f->tls, f->hello, f->ech)];

	if (want)
		pl = hello_pl(f, pl);
	/* A RST carries no stream data: let it close the server's half of a cut flow. */
	if (pl == TLSFW_PL_NOT_TLS && p->proto == TLSFW_IPPROTO_TCP &&
	    (p->tcp_flags & TLSFW_TCP_RST))
		pl = TLSFW_PL_PLAIN;
	/* A RST of a CONFLICT flow: require: tls lets it pass as above, name rules match it as
	 * any later segment of a malformed ClientHello's flow. */
	if (pl == TLSFW_PL_CONFLICT && (p->tcp_flags & TLSFW_TCP_RST))
		pl = TLSFW_PL_HELLO_BAD;
	return pl;
}

/*
 * A content rule was found (rule has TLSFW_DW_INSPECT): no earlier rule can match. The
 * packet's facts give its content class (into in->pl), and the rule is looked up again with
 * it: the content rule if the class is its own, else a later rule or none. in->rule: the
 * content rule; in->hello: this packet decided the flow's ClientHello (TLSFW_FRESH_HELLO).
 * no_flow: TLSFW_WANT_NO_FLOW when the caller found no flow for the packet.
 */
static __always_inline __u32 inspect(const struct hook *h, const struct parsed *p,
				     const struct tlsfw_cfg *cfg, const struct tlsfw_words *dw,
				     struct class_in *in, __u32 no_flow)
{
	__u32 want = (cfg->flags & TLSFW_CFG_NAMES) ? TLSFW_WANT_HELLO : 0;
	struct tlsfw_facts f;
	__u32 quic;

	if (p->proto == TLSFW_IPPROTO_UDP) {
		quic = quic_fact(h->ctx, h->xdp, p);
		in->pl = cfg->fact_pl[fact_index(quic, 0, 0, 0)];
		in->hello = 0;
		/* A payload: quic rule (INSPECT without REQUIRE or NAME: rules.h) was found
		 * first, and the class is QUIC: that rule is the answer. A rule before it would
		 * have matched QUIC on its other fields only, and every rule admits the UNKNOWN
		 * class it was found with; a payload: quic rule found with a known state admits
		 * it (unlike require and name rules: lower_bpf.c, rule_admits). */
		if (in->pl == TLSFW_PL_QUIC && (in->rule & (TLSFW_DW_INSPECT | TLSFW_DW_REQUIRE |
							    TLSFW_DW_NAME)) == TLSFW_DW_INSPECT)
			return in->rule;
		return tlsfw_classify(p, cfg, dw, in);
	}
	if (h->xdp)
		tlsfw_content_xdp(h->ctx, p, in->gen, want | no_flow, &f);
	else
		tlsfw_content_tc(h->ctx, p, in->gen, want | no_flow, &f);
	in->pl = facts_pl(&f, p, cfg, want);
	/* The segment that decides whether the flow is passed or cut (count_tls): its TLS start,
	 * or for a TLS flow under name rules its ClientHello, which a name rule may yet match. */
	if ((f.fresh & TLSFW_FRESH_TLS) && f.tls == TLSFW_TLS_NO)
		in->tls = f.tls;
	if (f.tls == TLSFW_TLS_YES && (f.fresh & (want ? TLSFW_FRESH_HELLO : TLSFW_FRESH_TLS)))
		in->tls = f.tls;
	in->hello = f.fresh & TLSFW_FRESH_HELLO;
	return tlsfw_classify(p, cfg, dw, in);
}

/*
 * The flow of a TCP packet that met a content rule, and *seg_off, its payload's stream
 * offset; NULL when it has none (a new flow's SYN too: the content function creates it). The
 * key is on the stack: a decided flow's segment pays this lookup and nothing of the content
 * code (the per-CPU scratch key cost 8 to 10 ns more, performance.md).
 */
static __always_inline struct tlsfw_flow *decided_flow(const struct parsed *p, __u32 *seg_off)
{
	struct tlsfw_flow_key k;
	struct tlsfw_flow *f;

	*seg_off = 0;
	if (p->proto != TLSFW_IPPROTO_TCP || !p->has_ports)
		return NULL;
	flow_key(&k, p);
	f = bpf_map_lookup_elem(&tlsfw_flows, &k);
	if (f)
		*seg_off = bpf_ntohl(p->tcp_seq) - f->isn - 1;
	return f;
}

/*
 * A content rule's decision with the cache of decided flows (see "Decided flows"): a settled
 * segment whose flow holds this tag takes the cached rule, any other is inspected and the
 * flow's cache rewritten with the result (or emptied: a fact that changed, a CONFLICT or a
 * SYN's restart, leaves no rule of the old facts behind).
 */
static __always_inline __u32 inspect_flow(const struct hook *h, const struct parsed *p,
					  const struct tlsfw_cfg *cfg, const struct tlsfw_words *dw,
					  struct class_in *in)
{
	__u32 seg_off, tag = 0, rule;
	struct tlsfw_flow *fl = decided_flow(p, &seg_off);
	__u64 cached;

	if (fl) {
		tag = decided_tag(in);
		if (tag && flow_settled(fl, p, seg_off)) {
			cached = fl->decided;
			if ((__u32)(cached >> 32) == tag) {
				in->pl = TLSFW_PL_PLAIN; /* any class but the UNORDERED ones */
				return (__u32)cached;
			}
		}
	}
	rule = inspect(h, p, cfg, dw, in,
		       !fl && p->proto == TLSFW_IPPROTO_TCP ? TLSFW_WANT_NO_FLOW : 0);
	if (fl)
		fl->decided = tag && flow_settled(fl, p, seg_off) && !(rule & TLSFW_DW_STATE) ?
				      (__u64)tag << 32 | rule :
				      0;
	return rule;
}

/* A state rule was found (rule has TLSFW_DW_STATE): conntrack's state of the packet (in->ct)
 * and the rule looked up again with it, as for content (ct.h). */
static __always_inline __u32 with_state(const struct hook *h, const struct parsed *p,
					const struct tlsfw_cfg *cfg, const struct tlsfw_words *dw,
					struct class_in *in)
{
	if (h->xdp)
		in->ct = tlsfw_ct_xdp(h->ctx, p);
	else
		in->ct = tlsfw_ct_tc(h->ctx, p);
	return tlsfw_classify(p, cfg, dw, in);
}

/* The position of a rule of generation gen in its policy's order (tlsfw_rule_order). */
static __always_inline __u32 rule_pos(__u32 gen, __u32 rule)
{
	__u32 key = (gen & 1) * TLSFW_MAX_RULES + (rule & TLSFW_DW_LOW), *pos;

	pos = bpf_map_lookup_elem(&tlsfw_rule_order, &key);
	return pos ? *pos : 0;
}

/*
 * Flows passed and cut by require: tls rules, once per flow, on the segment that decides the
 * flow's TLS start or, for a TLS flow under name rules, completes its ClientHello (in->tls),
 * whose rule is rule. Not TLS: cut by rule if it is a require rule.
 * TLS: passed by the require rule the segment would have met as NOT_TLS, unless rule comes
 * before it: a name rule that matched the ClientHello this segment completed (any other rule
 * matches NOT_TLS as well, so it cannot come first). Once per flow: a classification more.
 */
static __always_inline void count_tls(const struct hook *h, const struct parsed *p,
				      const struct tlsfw_cfg *cfg, const struct tlsfw_words *dw,
				      const struct class_in *in, __u32 rule)
{
	struct class_in nt = *in;
	__u32 r;

	if (in->tls == TLSFW_TLS_NO) {
		if (rule & TLSFW_DW_REQUIRE)
			count_flow(rule, 1);
		return;
	}
	nt.pl = TLSFW_PL_NOT_TLS;
	r = tlsfw_classify(p, cfg, dw, &nt);
	if ((r & TLSFW_DW_STATE) && nt.ct == TLSFW_CT_UNKNOWN)
		r = with_state(h, p, cfg, dw, &nt);
	if (!(r & TLSFW_DW_REQUIRE))
		return;
	if ((rule & TLSFW_DW_NAME) && rule_pos(in->gen, rule) < rule_pos(in->gen, r))
		return;
	count_flow(r, 0);
}

/*
 * The rule of a packet, its facts looked up only when the rule found so far depends on them:
 * state before content (a conntrack lookup is cheaper than the flow table) unless the rule
 * has both, and state once more when the rule after a content rule is a state rule. Each lookup leaves fewer rules
 * possible, and every rule admits the UNKNOWN value of a fact not yet known.
 */
static __always_inline __u32 decide_rule(const struct hook *h, const struct parsed *p,
					 const struct tlsfw_cfg *cfg, const struct tlsfw_words *dw)
{
	struct class_in in = { .gen = h->gen, .ctx_cls = h->ctx_cls };
	__u32 rule, unordered;

	/* Under payload: quic, a UDP datagram that cannot be QUIC (its first byte, read by the
	 * parser) gets its class before the first classification, which then finds its rule:
	 * a content rule found first would cost the check and a second classification (about
	 * 7 ns, performance.md). */
	if ((cfg->flags & TLSFW_CFG_QUIC) && p->not_quic)
		in.pl = cfg->fact_pl[fact_index(TLSFW_QUIC_NONE, 0, 0, 0)];
	rule = tlsfw_classify(p, cfg, dw, &in);

	/* A rule with both content and state: content first, so that its flows' SYNs (NEW) are
	 * inspected too: a flow's parse state starts at the SYN (flow.h). */
	if ((rule & (TLSFW_DW_STATE | TLSFW_DW_INSPECT)) == TLSFW_DW_STATE)
		rule = with_state(h, p, cfg, dw, &in);
	if (rule & TLSFW_DW_INSPECT) {
		in.rule = rule;
		/* UDP has a QUIC fact alone (inspect): no flow, no TLS start, no ClientHello,
		 * no gap and no RST below */
		rule = p->proto == TLSFW_IPPROTO_UDP ? inspect(h, p, cfg, dw, &in, 0) :
						       inspect_flow(h, p, cfg, dw, &in);
		if ((rule & TLSFW_DW_STATE) && in.ct == TLSFW_CT_UNKNOWN)
			rule = with_state(h, p, cfg, dw, &in);
		if (p->proto == TLSFW_IPPROTO_UDP)
			return rule;
	}
	if (in.tls)
		count_tls(h, p, cfg, dw, &in, rule);
	/* Flows matched: counted once, on the rule that decides the ClientHello's packet. */
	unordered = in.pl == TLSFW_PL_UNORDERED || in.pl == TLSFW_PL_HELLO_UNORDERED;
	if (in.hello && (rule & TLSFW_DW_NAME) && !unordered)
		count_matched(rule);
	/* Beyond a gap: drop this segment alone, so that the retransmission comes in order. */
	if (unordered && (rule & (TLSFW_DW_REQUIRE | TLSFW_DW_NAME)))
		rule = (rule & ~(3u << TLSFW_DW_ACTION_SHIFT)) | (__u32)TLSFW_ACT_DROP
									 << TLSFW_DW_ACTION_SHIFT;
	/* A RST carries no data and closes the flow: a name rule lets it pass (counted on the
	 * rule), so the server's half of a flow it cuts closes. tlsfw's own RST for the server
	 * meets this program again (tc egress, and tc ingress after the clone is re-received). */
	if ((rule & TLSFW_DW_NAME) && (p->tcp_flags & TLSFW_TCP_RST))
		rule = (rule & ~(3u << TLSFW_DW_ACTION_SHIFT)) | (__u32)TLSFW_ACT_ALLOW
									 << TLSFW_DW_ACTION_SHIFT;
	return rule;
}

/*
 * The decision for one parsed packet (rc from tlsfw_parse, not PARSE_NOT_IP) on the hook
 * whose context is hctx (xdp: an xdp_md, else an __sk_buff). Returns the verdict (also in
 * d->verdict); packets of an interface and direction that the policy does not name pass
 * uncounted.
 */
static __always_inline int tlsfw_decide(struct decision *d, const struct parsed *p, int rc,
					__u32 ifindex, __u8 dir, void *hctx, int xdp)
{
	struct hook h = { .ctx = hctx, .xdp = xdp };
	struct tlsfw_state *st;
	struct tlsfw_cfg *cfg;
	struct tlsfw_words *dw;
	__u32 zero = 0, gen, cw, slot, rule;

	d->verdict = VERDICT_PASS;
	touch_metadata();
	st = bpf_map_lookup_elem(&tlsfw_state, &zero);
	if (!st)
		return VERDICT_PASS;
	gen = st->gen & 1;
	cfg = bpf_map_lookup_elem(&tlsfw_cfg, &gen);
	if (!cfg)
		return VERDICT_PASS;
	dw = bpf_map_lookup_elem(&tlsfw_direct, &gen);
	if (!dw)
		return VERDICT_PASS;
	cw = context(gen, ifindex, dir, dw);
	slot = (cw >> TLSFW_DW_SLOT_SHIFT) & TLSFW_DW_SLOT_MASK;
	if (!(cw & TLSFW_DW_VALID) || slot >= TLSFW_MAX_CTX)
		return VERDICT_PASS;
	d->slot = slot;
	d->base = bpf_get_smp_processor_id() * TLSFW_COUNTERS + slot * TLSFW_SLOTS_PER_CTX;
	d->ctx = cw;

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
	h.gen = gen;
	h.ctx_cls = cw & TLSFW_DW_LOW;
	rule = decide_rule(&h, p, cfg, dw);
	if (p->frag == FRAG_FIRST && cfg->frag_mode == TLSFW_FRAG_FOLLOW)
		remember_first(p, gen, slot, rule);
	apply_rule(d, cfg, rule);
	/* the whole cost of `log:` to a rule without it: this test */
	if (rule & TLSFW_DW_LOG) {
		struct log_in li = { .ifindex = ifindex,
				     .rule = rule,
				     .gen = gen,
				     .dir = dir,
				     .hook = xdp ? TLSFW_LOG_XDP : TLSFW_LOG_TC,
				     .verdict = d->verdict };

		tlsfw_log(p, &li);
	}
	return d->verdict;
}

#endif /* TLSFW_DECIDE_H */
