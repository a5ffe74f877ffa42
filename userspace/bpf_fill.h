/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Filling a plan into one generation of the data plane's maps (bpf/tlsfw_abi.h), and the
 * generation switch. Used by apply (stage 4a), the BPF tests and the benchmark.
 *
 * A generation is written while packets use the other one; bpf_set_gen() then switches every
 * program at once. Nothing here attaches or loads programs.
 */
#ifndef TLSFW_BPF_FILL_H
#define TLSFW_BPF_FILL_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "diag.h"

struct tlsfw; /* the skeleton, build/tlsfw.skel.h */

/* File descriptors of every tlsfw map, -1 when unknown. */
struct bpf_maps {
	int state, cfg, ctx, proto, sport, dport, src, dst, comb1, comb2, comb3, frags, counters,
		rules, ifaces, meta, direct;
	/* content inspection */
	int rule_flows, flows, content_stats, content_work, names, content_cfg, rule_order;
	/* logging (log_fill.c) */
	int log_ring, log_rules;
};

/* The object (bpf/tlsfw.bpf.c) opened with the map sizes that depend on the machine (the
 * counters: one copy per possible CPU); load it with tlsfw__load(). NULL with errno set. */
struct tlsfw *bpf_open(void);
/*
 * Whether this kernel lets XDP programs call bpf_xdp_adjust_meta, which the XDP -> tc handoff
 * of a reject needs (apply_reply.h). Probed once per process (a program load).
 */
bool bpf_xdp_meta_supported(void);

/* The skeleton keeps ownership of the descriptors: do not bpf_maps_close() them. */
int bpf_maps_from_skel(struct bpf_maps *m, const struct tlsfw *skel);
/* For a separate process: the maps of an already loaded tlsfw program, by name. Returns
 * -ENOENT when the program lacks one of them (not a tlsfw program, or another ABI). */
int bpf_maps_from_prog_fd(struct bpf_maps *m, int prog_fd);
/* Only for maps opened by bpf_maps_from_prog_fd; sets every descriptor to -1. */
void bpf_maps_close(struct bpf_maps *m);
/* The descriptor of the map called name ("tlsfw_cfg", ...) in m: -1 when m has no such map.
 * For code that walks a skeleton's maps by name (reusing the maps of an enforced policy): it
 * knows every map, tlsfw_direct included, so such code needs no table of its own. */
int bpf_maps_fd_by_name(const struct bpf_maps *m, const char *name);

/* The memory of a BPF_F_MMAPABLE array map fd, shared with the data plane (elements rounded
 * up to 8 bytes); *len bytes, to munmap(). NULL with errno set. */
void *bpf_map_memory(int fd, size_t *len);
/* Bytes [off, off + len) of that memory (off a multiple of the page size), *maplen bytes to
 * munmap(). The kernel inserts every page of a mapping when it is made (about 0.3 us each):
 * a window of a few pages instead of a whole 8 MiB map saves a millisecond per mapping. */
void *bpf_map_window(int fd, size_t off, size_t len, size_t *maplen);

/* One batch update of count elements (single updates where the map type has no batch); on
 * failure *failed is the index of the entry that failed (or count). Returns 0 or -errno. */
int bpf_update_many(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz,
		    size_t count, size_t *failed);
/* Elements 0..n-1 of the array map fd (vsz bytes each, a multiple of 8: the stride of an
 * array's elements) through its memory, *len bytes to munmap(). NULL with errno set when the
 * map is not BPF_F_MMAPABLE (made by a tlsfw before the record maps were) or vsz is not such
 * a size: the caller then goes through system calls. */
void *bpf_array_elems(int fd, size_t vsz, uint32_t n, size_t *len);
/* The n values of array fd (keys 0..n-1, vsz bytes each) into values, in order: copied from
 * its memory (bpf_array_elems), else a few batch lookups, else one lookup per element (8,320
 * rule records: a measurable part of every apply, status and stats). 0 or -errno. */
int bpf_array_read(int fd, uint32_t n, void *values, size_t vsz);
/* Write the n elements of array fd (keys 0..n-1, vsz bytes each) whose value in vals differs
 * from base, the values the map holds: stores into its memory (bpf_array_elems), else one
 * batch update. */
int bpf_array_write_changed(int fd, const void *vals, const void *base, size_t vsz, uint32_t n);

/* The counters (tlsfw_abi.h: a copy per CPU), mapped into memory. */
struct bpf_counters {
	struct tlsfw_counter *v; /* ncpus * TLSFW_COUNTERS */
	size_t len;
	unsigned int ncpus;
};

int bpf_counters_map(struct bpf_counters *c, int counters_fd);
/* Only the counter blocks (< TLSFW_MAX_CTX) listed, on every CPU: touching a counter of
 * another block is a fault. */
int bpf_counters_map_blocks(struct bpf_counters *c, int counters_fd, const uint32_t *blocks,
			    size_t n);
void bpf_counters_unmap(struct bpf_counters *c);
/* Counter idx (block * TLSFW_SLOTS_PER_CTX + stat, or + TLSFW_STAT_RULE0 + rule slot) summed
 * over the CPUs; zeroed on every CPU. Only that counter is touched: its neighbours count on. */
void bpf_counter_sum(const struct bpf_counters *c, uint32_t idx, struct tlsfw_counter *out);
void bpf_counter_zero(const struct bpf_counters *c, uint32_t idx);

struct fill_ids {		   /* what only apply knows */
	const uint32_t *rule_slot; /* per plan rule: counter slot (< TLSFW_MAX_RULES) */
	const uint32_t *ifindex;   /* per plan ctx entry */
	const uint32_t *ctx_slot;  /* per plan ctx entry: counter block (< TLSFW_MAX_CTX) */
	/* per plan ctx entry: context word flags (TLSFW_DW_HANDOFF), or NULL for none */
	const uint32_t *ctx_flags;
	/* Tests and benchmarks: the most words one direct-indexed combination table may use
	 * (0: no limit but the room in tlsfw_direct); 1 forces every hash form. */
	uint32_t direct_max;
	/* per plan rule: its slot is newly taken (its log counters start at 0), or NULL */
	const bool *rule_new;
};

/*
 * Write the plan into generation gen (0/1): cfg, ctx, proto, ports, tries, combs. Each
 * combination table goes into its direct-indexed form when the product of its class counts
 * fits (tlsfw_abi.h, tlsfw_direct; comb1 and comb3 fused when no rule has addresses), else
 * into its hash; cfg says which. Does not flip. The generation should be empty
 * (bpf_clear_gen) first: stale hash entries of an older policy would otherwise stay
 * reachable. Errors go to d (naming the map, the errno and, when an entry comes from one
 * rule, that rule) and return -errno.
 */
int bpf_fill_gen(const struct bpf_maps *m, const struct plan *pl, unsigned int gen,
		 const struct fill_ids *ids, struct diag *d);
/* log_fill.c: the token buckets (tlsfw_log_rules) of pl's rules with `log:`: their rate and
 * burst; the counters start at 0 where a slot is newly taken (ids->rule_new) or begins to
 * log. Called by bpf_fill_gen. 0 or -errno (told to d). */
int bpf_fill_log(const struct bpf_maps *m, const struct plan *pl, const struct fill_ids *ids,
		 struct diag *d);
/* The configuration of generation gen as the data plane reads it (which forms it uses). */
int bpf_get_cfg(const struct bpf_maps *m, unsigned int gen, struct tlsfw_cfg *cfg);
/* Remove every entry of generation gen (hash/trie entries deleted, arrays and its
 * tlsfw_direct value zeroed, fragment state of that generation forgotten). Counters are left
 * alone. */
/* The name table of generation gen (tlsfw_names entries, tlsfw_content_cfg): pl's, with
 * a new epoch. bpf_clear_names empties the configuration (bpf_clear_gen the entries). */
int bpf_fill_names(const struct bpf_maps *m, const struct plan *pl, unsigned int gen,
		   struct diag *d);
int bpf_clear_names(const struct bpf_maps *m, unsigned int gen);
int bpf_clear_gen(const struct bpf_maps *m, unsigned int gen);
int bpf_get_gen(const struct bpf_maps *m, unsigned int *gen);
/* The atomic switch: one aligned 32-bit store that every program reads per packet. */
int bpf_set_gen(const struct bpf_maps *m, unsigned int gen);

#endif
