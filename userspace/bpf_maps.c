// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane's maps from userspace: finding them (from a skeleton, or from a loaded
 * program by name, for a separate process), opening the object with the sizes that depend on
 * the machine, the memory of the arrays userspace writes directly, and the per-CPU counters.
 */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_fill.h"
#include "tlsfw.skel.h"

/* optional: a map that older layouts lack and that only apply (which refuses another layout)
 * writes or the data plane reads: status, stats and detach still read an older policy */
static const struct {
	const char *name;
	size_t off;
	bool optional;
} map_names[] = {
	{ "tlsfw_state", offsetof(struct bpf_maps, state) },
	{ "tlsfw_cfg", offsetof(struct bpf_maps, cfg) },
	{ "tlsfw_ctx", offsetof(struct bpf_maps, ctx) },
	{ "tlsfw_proto", offsetof(struct bpf_maps, proto) },
	{ "tlsfw_sport", offsetof(struct bpf_maps, sport) },
	{ "tlsfw_dport", offsetof(struct bpf_maps, dport) },
	{ "tlsfw_src", offsetof(struct bpf_maps, src) },
	{ "tlsfw_dst", offsetof(struct bpf_maps, dst) },
	{ "tlsfw_comb1", offsetof(struct bpf_maps, comb1) },
	{ "tlsfw_comb2", offsetof(struct bpf_maps, comb2) },
	{ "tlsfw_comb3", offsetof(struct bpf_maps, comb3) },
	{ "tlsfw_frags", offsetof(struct bpf_maps, frags) },
	{ "tlsfw_counters", offsetof(struct bpf_maps, counters) },
	{ "tlsfw_rules", offsetof(struct bpf_maps, rules) },
	{ "tlsfw_ifaces", offsetof(struct bpf_maps, ifaces) },
	{ "tlsfw_meta", offsetof(struct bpf_maps, meta) },
	{ "tlsfw_direct", offsetof(struct bpf_maps, direct) },
	{ "tlsfw_rule_flows", offsetof(struct bpf_maps, rule_flows) },
	{ "tlsfw_flows", offsetof(struct bpf_maps, flows) },
	{ "tlsfw_content_stats", offsetof(struct bpf_maps, content_stats) },
	{ "tlsfw_content_work", offsetof(struct bpf_maps, content_work) },
	{ "tlsfw_names", offsetof(struct bpf_maps, names) },
	{ "tlsfw_content_cfg", offsetof(struct bpf_maps, content_cfg) },
	{ "tlsfw_rule_order", offsetof(struct bpf_maps, rule_order), true },
	{ "tlsfw_log_ring", offsetof(struct bpf_maps, log_ring) },
	{ "tlsfw_log_rules", offsetof(struct bpf_maps, log_rules) },
};

#define N_MAPS (sizeof(map_names) / sizeof(map_names[0]))

static int *map_slot(struct bpf_maps *m, size_t i)
{
	return (int *)((char *)m + map_names[i].off);
}

static void maps_reset(struct bpf_maps *m)
{
	for (size_t i = 0; i < N_MAPS; i++)
		*map_slot(m, i) = -1;
}

int bpf_maps_from_skel(struct bpf_maps *m, const struct tlsfw *skel)
{
	struct bpf_maps r;
	struct bpf_map *maps[N_MAPS] = {
		skel->maps.tlsfw_state,	       skel->maps.tlsfw_cfg,
		skel->maps.tlsfw_ctx,	       skel->maps.tlsfw_proto,
		skel->maps.tlsfw_sport,	       skel->maps.tlsfw_dport,
		skel->maps.tlsfw_src,	       skel->maps.tlsfw_dst,
		skel->maps.tlsfw_comb1,	       skel->maps.tlsfw_comb2,
		skel->maps.tlsfw_comb3,	       skel->maps.tlsfw_frags,
		skel->maps.tlsfw_counters,     skel->maps.tlsfw_rules,
		skel->maps.tlsfw_ifaces,       skel->maps.tlsfw_meta,
		skel->maps.tlsfw_direct,       skel->maps.tlsfw_rule_flows,
		skel->maps.tlsfw_flows,	       skel->maps.tlsfw_content_stats,
		skel->maps.tlsfw_content_work, skel->maps.tlsfw_names,
		skel->maps.tlsfw_content_cfg,  skel->maps.tlsfw_rule_order,
		skel->maps.tlsfw_log_ring,     skel->maps.tlsfw_log_rules,
	};

	for (size_t i = 0; i < N_MAPS; i++) {
		int fd = bpf_map__fd(maps[i]);

		if (fd < 0)
			return -EBADF; /* the skeleton is not loaded */
		*map_slot(&r, i) = fd;
	}
	*m = r;
	return 0;
}

int bpf_maps_from_prog_fd(struct bpf_maps *m, int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), n, *ids = NULL;
	struct bpf_maps r;
	int err = 0;

	maps_reset(&r);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	n = info.nr_map_ids;
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	if (info.nr_map_ids < n)
		n = info.nr_map_ids;
	for (__u32 i = 0; i < n; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		size_t j;

		if (fd < 0) {
			err = -errno;
			goto out;
		}
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			err = -errno;
			close(fd);
			goto out;
		}
		/* the kernel keeps BPF_OBJ_NAME_LEN - 1 characters of a name */
		for (j = 0; j < N_MAPS; j++)
			if (!strncmp(mi.name, map_names[j].name, BPF_OBJ_NAME_LEN - 1) &&
			    *map_slot(&r, j) < 0)
				break;
		if (j == N_MAPS) {
			close(fd); /* .rodata and the like */
			continue;
		}
		*map_slot(&r, j) = fd;
	}
	for (size_t j = 0; j < N_MAPS; j++)
		if (*map_slot(&r, j) < 0 && !map_names[j].optional)
			err = -ENOENT;
out:
	free(ids);
	if (err) {
		bpf_maps_close(&r);
		return err;
	}
	*m = r;
	return 0;
}

int bpf_maps_fd_by_name(const struct bpf_maps *m, const char *name)
{
	for (size_t i = 0; i < N_MAPS; i++)
		if (!strcmp(map_names[i].name, name))
			return *(const int *)((const char *)m + map_names[i].off);
	return -1;
}

void bpf_maps_close(struct bpf_maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < N_MAPS; i++) {
		int *fd = map_slot(m, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

/*
 * A program that calls the helper, loaded for real: libbpf 1.1's libbpf_probe_bpf_helper
 * only knows the verifier's older wording of a refusal ("unknown func") and answers
 * "supported" to today's ("program of this type cannot use helper").
 */
bool bpf_xdp_meta_supported(void)
{
	static int known = -1;
	const struct bpf_insn probe[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_xdp_adjust_meta },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd;

	if (known < 0) {
		fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", probe,
				   sizeof(probe) / sizeof(probe[0]), NULL);
		known = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	return known;
}

struct tlsfw *bpf_open(void)
{
	struct tlsfw *skel = tlsfw__open();
	int ncpus = libbpf_num_possible_cpus();

	if (!skel)
		return NULL;
	skel->rodata->tlsfw_xdp_meta = bpf_xdp_meta_supported();
	if (ncpus <= 0 ||
	    bpf_map__set_max_entries(skel->maps.tlsfw_counters, (uint32_t)ncpus * TLSFW_COUNTERS)) {
		tlsfw__destroy(skel);
		errno = ncpus <= 0 ? -ncpus : EINVAL;
		return NULL;
	}
	return skel;
}

void *bpf_map_memory(int fd, size_t *len)
{
	struct bpf_map_info info = {};
	uint32_t ilen = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	size_t sz;
	void *mem;

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return NULL;
	/* array elements are rounded up to 8 bytes; the mapping to whole pages */
	sz = (size_t)info.max_entries * ((info.value_size + 7) & ~7u);
	sz = (sz + page - 1) / page * page;
	mem = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return NULL;
	*len = sz;
	return mem;
}

void *bpf_map_window(int fd, size_t off, size_t len, size_t *maplen)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t sz = (len + page - 1) / page * page;
	void *mem;

	if (off % page || !sz) {
		errno = EINVAL;
		return NULL;
	}
	mem = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (mem == MAP_FAILED)
		return NULL;
	*maplen = sz;
	return mem;
}

/* c emptied, and its ncpus from the counters map fd, checked to be one. */
static int counters_info(struct bpf_counters *c, int fd)
{
	struct bpf_map_info info = {};
	uint32_t ilen = sizeof(info);

	memset(c, 0, sizeof(*c));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	if (info.value_size != sizeof(struct tlsfw_counter) || !info.max_entries ||
	    info.max_entries % TLSFW_COUNTERS)
		return -EUCLEAN;
	c->ncpus = info.max_entries / TLSFW_COUNTERS;
	return 0;
}

int bpf_counters_map(struct bpf_counters *c, int fd)
{
	int err = counters_info(c, fd);

	if (err)
		return err;
	c->v = bpf_map_memory(fd, &c->len);
	if (!c->v) {
		err = -errno;
		memset(c, 0, sizeof(*c));
	}
	return err;
}

/* Counter block b of one CPU as a page-aligned byte range of the map's memory. */
static void block_range(unsigned int cpu, uint32_t b, size_t page, size_t *off, size_t *len)
{
	size_t first = ((size_t)cpu * TLSFW_COUNTERS + (size_t)b * TLSFW_SLOTS_PER_CTX) *
		       sizeof(struct tlsfw_counter);
	size_t end = first + (size_t)TLSFW_SLOTS_PER_CTX * sizeof(struct tlsfw_counter);

	*off = first / page * page;
	*len = (end - *off + page - 1) / page * page;
}

/*
 * An address range as large as the map, reserved without access, with the blocks' ranges of
 * every CPU mapped into it at their places: c->v indexes as with bpf_counters_map, and the
 * kernel inserts the pages of those blocks alone (a 1-rule apply on 2 CPUs: about 70 pages
 * instead of 2,090 for the whole map, 270 MB of counters on 64 CPUs).
 */
static int map_blocks(struct bpf_counters *c, int fd, const uint32_t *blocks, size_t n)
{
	size_t page = sysconf(_SC_PAGESIZE), total;
	char *base;

	total = ((size_t)c->ncpus * TLSFW_COUNTERS * sizeof(struct tlsfw_counter) + page - 1) /
		page * page;
	base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	c->v = (struct tlsfw_counter *)base;
	c->len = total;
	for (size_t i = 0; i < n; i++) {
		for (unsigned int cpu = 0; cpu < c->ncpus; cpu++) {
			size_t off, len;

			if (blocks[i] >= TLSFW_MAX_CTX)
				return -EINVAL;
			block_range(cpu, blocks[i], page, &off, &len);
			if (mmap(base + off, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
				 fd, off) == MAP_FAILED)
				return -errno;
		}
	}
	return 0;
}

int bpf_counters_map_blocks(struct bpf_counters *c, int fd, const uint32_t *blocks, size_t n)
{
	int err = counters_info(c, fd);

	if (!err)
		err = map_blocks(c, fd, blocks, n);
	if (err)
		bpf_counters_unmap(c);
	return err;
}

void bpf_counters_unmap(struct bpf_counters *c)
{
	if (c && c->v)
		munmap(c->v, c->len);
	if (c)
		memset(c, 0, sizeof(*c));
}

void bpf_counter_sum(const struct bpf_counters *c, uint32_t idx, struct tlsfw_counter *out)
{
	out->packets = out->bytes = 0;
	if (idx >= TLSFW_COUNTERS)
		return;
	for (unsigned int cpu = 0; cpu < c->ncpus; cpu++) {
		const volatile struct tlsfw_counter *v = &c->v[(size_t)cpu * TLSFW_COUNTERS + idx];

		out->packets += v->packets;
		out->bytes += v->bytes;
	}
}

void bpf_counter_zero(const struct bpf_counters *c, uint32_t idx)
{
	if (idx >= TLSFW_COUNTERS)
		return;
	for (unsigned int cpu = 0; cpu < c->ncpus; cpu++) {
		volatile struct tlsfw_counter *v = &c->v[(size_t)cpu * TLSFW_COUNTERS + idx];

		v->packets = 0;
		v->bytes = 0;
	}
}

/*
 * One batch update; falls back to single updates where the kernel has no batch operation
 * for the map type. On failure *failed is the index of the entry that failed (or count).
 */
int bpf_update_many(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz,
		    size_t count, size_t *failed)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 n = count;
	int err;

	*failed = count;
	if (!count)
		return 0;
	err = bpf_map_update_batch(fd, keys, vals, &n, &opts);
	if (!err)
		return 0;
	err = -errno;
	if (err != -EINVAL && err != -ENOTSUP && err != -EOPNOTSUPP) {
		*failed = n;
		return err;
	}
	for (size_t i = 0; i < count; i++) {
		if (bpf_map_update_elem(fd, (const char *)keys + i * ksz,
					(const char *)vals + i * vsz, BPF_ANY)) {
			*failed = i;
			return -errno;
		}
	}
	return 0;
}

void *bpf_array_elems(int fd, size_t vsz, uint32_t n, size_t *len)
{
	if (vsz % 8 || !n) {
		errno = EINVAL;
		return NULL;
	}
	return bpf_map_window(fd, 0, (size_t)n * vsz, len);
}

int bpf_array_read(int fd, uint32_t n, void *values, size_t value_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys, got = 0, out = 0;
	int err = 0;
	size_t len;
	void *mem;

	if (!n)
		return 0;
	/* A copy of the map's memory where it can be mapped: a batch lookup of 8,193 rule
	 * records takes 2 ms, the mapping, the copy and the unmapping 0.1 ms */
	mem = bpf_array_elems(fd, value_size, n, &len);
	if (mem) {
		memcpy(values, mem, (size_t)n * value_size);
		munmap(mem, len);
		return 0;
	}
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	while (got < n) {
		uint32_t count = n - got;

		err = bpf_map_lookup_batch(fd, got ? &out : NULL, &out, keys + got,
					   (char *)values + (size_t)got * value_size, &count,
					   &opts);
		got += count;
		if (err == -ENOENT) /* the end of the map: every element read */
			err = 0;
		if (err || !count)
			break;
	}
	free(keys);
	if (!err && got == n)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (bpf_map_lookup_elem(fd, &i, (char *)values + (size_t)i * value_size))
			return -errno;
	return 0;
}

/* The changed elements through the map's memory: stores, where a batch update copies and
 * checks each element in the kernel (1 ms for 4,097 rule records; 0.1 ms mapped, stored and
 * unmapped). False when the map cannot be mapped. */
static bool array_store_changed(int fd, const void *vals, const void *base, size_t vsz, uint32_t n)
{
	size_t len;
	char *mem = bpf_array_elems(fd, vsz, n, &len);

	if (!mem)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		const char *v = (const char *)vals + (size_t)i * vsz;

		if (memcmp(v, (const char *)base + (size_t)i * vsz, vsz))
			memcpy(mem + (size_t)i * vsz, v, vsz);
	}
	munmap(mem, len);
	return true;
}

int bpf_array_write_changed(int fd, const void *vals, const void *base, size_t vsz, uint32_t n)
{
	uint32_t *keys;
	char *changed;
	size_t m = 0, failed;
	int err;

	if (!n || array_store_changed(fd, vals, base, vsz, n))
		return 0;
	keys = calloc(n, sizeof(*keys));
	changed = malloc(n * vsz);
	if (!keys || !changed) {
		free(keys);
		free(changed);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		const char *v = (const char *)vals + (size_t)i * vsz;

		if (!memcmp(v, (const char *)base + (size_t)i * vsz, vsz))
			continue;
		keys[m] = i;
		memcpy(changed + m * vsz, v, vsz);
		m++;
	}
	err = bpf_update_many(fd, keys, sizeof(*keys), changed, vsz, m, &failed);
	free(keys);
	free(changed);
	return err;
}
