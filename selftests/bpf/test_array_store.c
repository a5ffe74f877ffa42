// SPDX-License-Identifier: GPL-2.0
/*
 * The array helpers an apply writes the rule records with (bpf_maps.c): bpf_array_write_changed
 * and bpf_array_read, on a BPF_F_MMAPABLE array (stores into its memory, what this tlsfw's maps
 * are) and on a plain one (batch system calls, what maps made by an earlier tlsfw are; an apply
 * reuses them). On both: exactly the elements whose value differs from the base are written
 * (an element the base says unchanged keeps what the map holds, even where that is not the
 * base), every value reads back, and a read of the plain map goes through the kernel.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <bpf/bpf.h>

#include "bpf_fill.h"
#include "check.h"

#define N 8320 /* TLSFW_MAX_RULES */
#define VSZ 80 /* sizeof(struct tlsfw_rule_info) */
#define SENTINEL 0x5a

static void fill(unsigned char *v, uint32_t i, unsigned int salt)
{
	for (size_t k = 0; k < VSZ; k++)
		v[k] = (unsigned char)(i * 31 + k * 7 + salt);
}

static void one_map(const char *kind, uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	unsigned char *base = calloc(N, VSZ), *vals = calloc(N, VSZ), *back = calloc(N, VSZ);
	unsigned char want[VSZ], got[VSZ];
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "test_store", 4, VSZ, N, &o), err;
	uint32_t n = 4097, sentinel_at = 17, bad = 0;
	size_t len;
	void *mem;

	CHECK(fd >= 0, "%s: bpf_map_create: %s", kind, strerror(errno));
	if (fd < 0 || !base || !vals || !back)
		goto out;
	/* the helpers take the memory path exactly when the map can be mapped */
	mem = bpf_array_elems(fd, VSZ, n, &len);
	CHECK(!mem == !(flags & BPF_F_MMAPABLE), "%s: bpf_array_elems gave %p", kind, mem);
	if (mem)
		munmap(mem, len);
	/* every third element changes; one the base calls unchanged holds something else */
	for (uint32_t i = 0; i < n; i++)
		if (i % 3 == 0)
			fill(vals + (size_t)i * VSZ, i, 1);
	memset(want, SENTINEL, sizeof(want));
	CHECK(!bpf_map_update_elem(fd, &sentinel_at, want, BPF_ANY), "%s: sentinel", kind);
	err = bpf_array_write_changed(fd, vals, base, VSZ, n);
	CHECK(!err, "%s: bpf_array_write_changed: %s", kind, strerror(-err));
	for (uint32_t i = 0; i < N; i++) {
		if (i == sentinel_at)
			memset(want, SENTINEL, VSZ);
		else if (i < n)
			memcpy(want, vals + (size_t)i * VSZ, VSZ);
		else
			memset(want, 0, VSZ);
		if (bpf_map_lookup_elem(fd, &i, got) || memcmp(got, want, VSZ))
			bad++;
	}
	CHECK(!bad, "%s: %u elements differ from what was written", kind, bad);
	/* a second write against the first as the base: only the new differences */
	memcpy(base, vals, (size_t)n * VSZ);
	fill(vals + 5 * VSZ, 5, 2);
	err = bpf_array_write_changed(fd, vals, base, VSZ, n);
	CHECK(!err, "%s: second write: %s", kind, strerror(-err));
	err = bpf_array_read(fd, N, back, VSZ);
	CHECK(!err, "%s: bpf_array_read: %s", kind, strerror(-err));
	memset(vals + (size_t)sentinel_at * VSZ, SENTINEL, VSZ);
	CHECK(!memcmp(back, vals, (size_t)N * VSZ), "%s: the values read back differ", kind);
	/* a read of fewer elements stops there */
	memset(back, 0xee, (size_t)N * VSZ);
	err = bpf_array_read(fd, 3, back, VSZ);
	CHECK(!err && !memcmp(back, vals, 3 * VSZ) && back[3 * VSZ] == 0xee,
	      "%s: a read of 3 elements", kind);
out:
	if (fd >= 0)
		close(fd);
	free(base);
	free(vals);
	free(back);
}

int main(void)
{
	one_map("mmapable", BPF_F_MMAPABLE);
	one_map("plain", 0);
	return check_report("test_array_store");
}
