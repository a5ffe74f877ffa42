/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The class of a flow's server name under a generation: hashing, no list walk. One pass over
 * the name from its last byte to its first lowers its case, checks it, and computes the hash
 * of the name and of each suffix after a label; a lookup is made for the whole name and for
 * the suffixes whose label count some wildcard entry has (tlsfw_content_cfg.wild_mask), and a
 * hit counts only when the stored name equals the flow's. The cost follows the name's length
 * and the wildcard depths in use, not the number of names. Table contract: tlsfw_content_abi.h.
 */
#ifndef TLSFW_NAMES_H
#define TLSFW_NAMES_H

#include "tlsfw_content_abi.h"
#include "content_util.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * TLSFW_NAMES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tlsfw_name_key);
	__type(value, struct tlsfw_name_val);
} tlsfw_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct tlsfw_content_cfg);
} tlsfw_content_cfg SEC(".maps");

struct name_run {
	struct tlsfw_flow *f;
	struct content_work *w;
};

/*
 * f->name[at..len) equals v's name: 8 bytes at a time, both zero after their ends. Global:
 * name_find() has two call sites, and the verifier walks this loop once per iteration.
 */
__noinline int tlsfw_name_equal(const struct tlsfw_flow *f, __u32 at,
				const struct tlsfw_name_val *v, __u32 len)
{
	__u32 k;

	if (!f || !v)
		return 0;
	for (k = 0; k < TLSFW_NAME_BUF / 8; k++) {
		__u32 o = at + k * 8;
		__u64 a, b;

		if (k * 8 >= len)
			break;
		if (o > TLSFW_NAME_BUF - 8)
			return 0;
		__builtin_memcpy(&a, f->name + o, 8);
		__builtin_memcpy(&b, v->name + k * 8, 8);
		if (a != b)
			return 0;
	}
	return 1;
}

/* The class of the entry for f->name[at..len) of this kind (0: none), its hash in w->h. */
static __always_inline __u32 name_find(struct name_run *r, __u32 at, __u8 kind)
{
	struct content_work *w = r->w;
	struct tlsfw_name_key *k = &w->name_key;
	struct tlsfw_name_val *v;

	if (at >= w->len)
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	k->hash = w->h;
	k->gen = w->gen;
	k->kind = kind;
	k->len = w->len - at;
	v = bpf_map_lookup_elem(&tlsfw_names, k);
	if (!v || v->len != w->len - at || !tlsfw_name_equal(r->f, at, v, w->len - at))
		return 0;
	return v->cls;
}

static long name_byte(__u32 i, void *data)
{
	struct name_run *r = data;
	struct content_work *w = r->w;
	struct tlsfw_flow *f = r->f;
	__u32 j = w->len - 1 - i;
	__u8 c;

	if (i >= w->len)
		return 1;
	j &= 0xff;
	c = f->name[j];
	if (c == '.') {
		if (!w->lablen) { /* empty label, or a trailing dot */
			w->bad = 1;
			return 1;
		}
		w->labels++;
		if (w->labels <= TLSFW_WILD_MAX_LABELS && (w->mask >> w->labels) & 1) {
			__u32 cls = name_find(r, j + 1, TLSFW_NAME_WILD);

			if (cls) /* later hits are longer suffixes */
				w->best = cls;
		}
		w->lablen = 0;
	} else {
		if (!c) {
			w->bad = 1;
			return 1;
		}
		if (c >= 'A' && c <= 'Z') {
			c += 'a' - 'A';
			f->name[j] = c;
		}
		w->lablen++;
	}
	w->h = tlsfw_name_hash_step(w->h, c);
	return 0;
}

/*
 * The class of f's host_name under generation gen (0: in no entry), also cached in
 * f->name_cache with the generation's epoch. -1: the name is not a valid host name (an empty
 * label, a trailing dot, a NUL byte).
 */
static __always_inline long names_classify(struct tlsfw_flow *f, __u32 gen)
{
	struct tlsfw_content_cfg *cfg;
	struct name_run r = { .f = f };
	struct content_work *w;
	__u32 key = gen & 1, cls;

	cfg = bpf_map_lookup_elem(&tlsfw_content_cfg, &key);
	w = content_work();
	if (!cfg || !w || !f->hp.name_len)
		return -1;
	r.w = w;
	w->h = cfg->seed;
	w->len = f->hp.name_len;
	w->labels = 0;
	w->lablen = 0;
	w->mask = cfg->wild_mask;
	w->best = 0;
	w->gen = key;
	w->bad = 0;
	bpf_loop(TLSFW_SNI_MAX, name_byte, &r, 0);
	if (w->bad || !w->lablen)
		return -1;
	cls = name_find(&r, 0, TLSFW_NAME_EXACT);
	if (!cls)
		cls = w->best;
	f->name_cache = (__u64)cfg->epoch << 32 | cls;
	return cls;
}

/* The class cached for the generation's epoch, or computed again (a new policy). */
static __always_inline long names_class(struct tlsfw_flow *f, __u32 gen)
{
	struct tlsfw_content_cfg *cfg;
	__u32 key = gen & 1;
	__u64 c = f->name_cache;

	cfg = bpf_map_lookup_elem(&tlsfw_content_cfg, &key);
	if (cfg && cfg->epoch && (__u32)(c >> 32) == cfg->epoch)
		return (__u32)c;
	return names_classify(f, gen);
}

#endif /* TLSFW_NAMES_H */
