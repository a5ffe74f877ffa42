// SPDX-License-Identifier: GPL-2.0
/* The programs an apply attaches: reused when they are this build's, else loaded. See
 * apply_progs.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "apply_progs.h"
#include "tlsfw.build.h"
#include "tlsfw.skel.h"

#define TLSFW_PREMADE_MAX 64 /* more maps than the object has: premake_maps gives up */

static const char *const kernel_names[TLSFW_ROLES] = {
	[TLSFW_ROLE_XDP] = "tlsfw_xdp",
	[TLSFW_ROLE_TC_INGRESS] = "tlsfw_tc_ingres", /* cut to 15 characters by the kernel */
	[TLSFW_ROLE_TC_EGRESS] = "tlsfw_tc_egress",
	[TLSFW_ROLE_TC_REPLY] = "tlsfw_tc_reply",
};

const char *progs_kernel_name(unsigned int role)
{
	return role < TLSFW_ROLES ? kernel_names[role] : "?";
}

void progs_init(struct progs *p)
{
	static const char hex[] = TLSFW_BUILD_SHA256; /* of build/bpf/tlsfw.bpf.o, embedded */

	memset(p, 0, sizeof(*p));
	for (unsigned int r = 0; r < TLSFW_ROLES; r++)
		p->fd[r] = -1;
	for (size_t i = 0; i < sizeof(p->build) && 2 * i + 1 < sizeof(hex); i++)
		sscanf(hex + 2 * i, "%2hhx", &p->build[i]);
}

void progs_free(struct progs *p)
{
	for (unsigned int r = 0; r < TLSFW_ROLES; r++)
		if (p->fd[r] >= 0 && !(p->loaded & (1u << r)))
			close(p->fd[r]); /* a reused program: our duplicate */
	for (size_t i = 0; i < p->n_skels; i++)
		tlsfw__destroy(p->skels[i]);
	free(p->skels);
	memset(p, 0, sizeof(*p));
}

/* The role and tag of an open program: -1 when it is no tlsfw program. */
static int prog_role(int fd, uint8_t tag[8], uint32_t *id)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	for (int r = 0; r < TLSFW_ROLES; r++) {
		if (strcmp(info.name, kernel_names[r]))
			continue;
		memcpy(tag, info.tag, 8);
		*id = info.id;
		return r;
	}
	return -ENOENT;
}

/* The name table's entries for a policy without names: the map is a hash without
 * preallocation, but its buckets are allocated (4 MiB, 7 ms at its full size) and every
 * replacement scans them (bpf_clear_gen). */
#define NAMES_NONE 64
#define NAMES_WHOLE (2 * TLSFW_NAMES_MAX) /* both generations' */

/* Entries of map fd (0: unreadable, errno set). */
static uint32_t map_entries(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

int progs_fit_tables(struct state *st, uint32_t flows, bool names)
{
	uint32_t have_flows, have_names;

	if (!st->have_maps)
		return 0;
	have_flows = map_entries(st->maps.flows);
	have_names = have_flows ? map_entries(st->maps.names) : 0;
	if (!have_names)
		return errno ? -errno : -EIO;
	if ((!flows || have_flows == flows) && (!names || have_names >= NAMES_WHOLE))
		return 0;
	progs_let_go(st);
	return 1;
}

void progs_let_go(struct state *st)
{
	bpf_maps_close(&st->maps);
	memset(&st->maps, 0xff, sizeof(st->maps));
	st->have_maps = false;
}

/* One attached program: of this build (its role's tag as recorded) or not. */
static int take(struct progs *p, const struct tlsfw_meta *m, int fd)
{
	uint8_t tag[8];
	uint32_t id;
	int r = prog_role(fd, tag, &id);

	if (r < 0)
		return r;
	if (memcmp(tag, m->prog_tag[r], 8))
		return -ESTALE;
	if (p->fd[r] >= 0)
		return 0;
	p->fd[r] = dup(fd);
	if (p->fd[r] < 0)
		return -errno;
	p->id[r] = id;
	memcpy(p->tag[r], tag, 8);
	return 0;
}

int progs_reuse(struct progs *p, const struct state *st, const struct tlsfw_meta *m)
{
	int err = 0;

	if (!st->have_maps || m->abi_version != TLSFW_ABI_VERSION ||
	    memcmp(m->build, p->build, sizeof(p->build)))
		return 0;
	for (size_t i = 0; !err && i < st->n_ifaces; i++) {
		const struct state_iface *si = &st->ifaces[i];

		if (si->xdp_fd >= 0)
			err = take(p, m, si->xdp_fd);
		if (!err && si->tc_in_fd >= 0)
			err = take(p, m, si->tc_in_fd);
		if (!err && si->tc_eg_fd >= 0)
			err = take(p, m, si->tc_eg_fd);
	}
	if (!err) {
		p->reused = true;
		return 0;
	}
	/* Some program is another build's (or unknown): nothing is reused. */
	for (unsigned int r = 0; r < TLSFW_ROLES; r++) {
		if (p->fd[r] >= 0)
			close(p->fd[r]);
		p->fd[r] = -1;
	}
	return err == -ESTALE || err == -ENOENT ? 0 : err;
}

/* The new object's maps are the ones in use (same layout), so that both generations and every
 * program share them. */
static int reuse_maps(struct tlsfw *skel, const struct bpf_maps *share, struct diag *d)
{
	struct bpf_map *map;

	bpf_object__for_each_map (map, skel->obj) {
		const char *name = bpf_map__name(map);
		struct bpf_map_info info = {};
		uint32_t ilen = sizeof(info);
		int fd, err;

		if (bpf_map__is_internal(map))
			continue;
		fd = bpf_maps_fd_by_name(share, name);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
			diag_error(
				d, NULL,
				"the enforced policy has no map %s (installed by another tlsfw version?); run `tlsfw detach` first",
				name);
			return -ENOENT;
		}
		if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
		    info.value_size != bpf_map__value_size(map) ||
		    info.max_entries != bpf_map__max_entries(map)) {
			diag_error(
				d, NULL,
				"map %s of the enforced policy has another layout (installed by another tlsfw version); run `tlsfw detach` first",
				name);
			return -EUCLEAN;
		}
		err = bpf_map__reuse_fd(map, fd);
		if (err) {
			diag_error(d, NULL, "cannot reuse map %s: %s", name, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* One map made ahead of the load (premake_maps), with the object's BTF types. */
struct premade {
	struct bpf_map *map;
	int btf_fd;
	int fd; /* or -errno */
};

static void premake_one(struct premade *m)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .btf_fd = m->btf_fd,
		    .btf_key_type_id = bpf_map__btf_key_type_id(m->map),
		    .btf_value_type_id = bpf_map__btf_value_type_id(m->map),
		    .map_flags = bpf_map__map_flags(m->map),
		    .map_extra = bpf_map__map_extra(m->map));

	m->fd = bpf_map_create(bpf_map__type(m->map), bpf_map__name(m->map),
			       bpf_map__key_size(m->map), bpf_map__value_size(m->map),
			       bpf_map__max_entries(m->map), &o);
	if (m->fd < 0)
		m->fd = -errno;
}

static void *premake_thread(void *arg)
{
	premake_one(arg);
	return NULL;
}

/* What making a map costs, roughly: the kernel fills a preallocated hash table's every
 * entry into its free lists, which is what takes time; other maps are a zeroed area. */
static uint64_t prealloc_bytes(const struct bpf_map *map)
{
	switch (bpf_map__type(map)) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		if (bpf_map__map_flags(map) & BPF_F_NO_PREALLOC)
			return 0;
		return (uint64_t)bpf_map__max_entries(map) *
		       (bpf_map__key_size(map) + bpf_map__value_size(map));
	default:
		return 0;
	}
}

/*
 * A copy of the object's BTF, type by type (same ids). Not from btf__raw_data(): that caches
 * the raw bytes in the object's BTF, and libbpf's load edits types in place afterwards (the
 * linkage of hidden subprograms) and would then hand the kernel the stale cache.
 */
static struct btf *btf_copy(const struct btf *src)
{
	struct btf *b = btf__new_empty();
	uint32_t n = btf__type_cnt(src);

	for (uint32_t id = 1; b && id < n; id++) {
		if (btf__add_type(b, src, btf__type_by_id(src, id)) != (int)id) {
			btf__free(b);
			b = NULL;
		}
	}
	return b;
}

/*
 * The kernel makes the maps one after the other, and two of them take most of that time on
 * a cold apply: the flow table (65,536 preallocated LRU entries: 42 ms when a policy keeps
 * flows) and the fragment table (11 ms) (performance.md, "Twelfth round"). Make the
 * costliest map on a thread of its own while this one makes the others, then hand
 * them to the load (bpf_map__reuse_fd) as the shared maps of a replacement are. They carry a
 * copy of the object's BTF, typed as libbpf would have made them. libbpf still makes its own
 * data sections and the maps of maps (their inner map first). Any failure here leaves all of
 * the making to the load, which reports it. A pthread, where grace.c's waiters are clone()d:
 * the thread runs libbpf, whose errno must be its own, and the locked malloc a thread leaves
 * behind costs nothing here, after the compiler (cold applies of 4,096 rules measured the
 * same).
 */
static void premake_maps(struct tlsfw *skel)
{
	const struct btf *obj_btf = bpf_object__btf(skel->obj);
	struct btf *btf = obj_btf ? btf_copy(obj_btf) : NULL;
	struct premade m[TLSFW_PREMADE_MAX];
	size_t n = 0, big = 0; /* the costliest map, made on the thread */
	struct bpf_map *map;
	bool threaded;
	pthread_t t;

	if (!btf || btf__load_into_kernel(btf))
		goto out;
	bpf_object__for_each_map (map, skel->obj) {
		enum bpf_map_type type = bpf_map__type(map);

		if (bpf_map__is_internal(map) || type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
		    type == BPF_MAP_TYPE_HASH_OF_MAPS || type == BPF_MAP_TYPE_PROG_ARRAY)
			continue;
		if (n == TLSFW_PREMADE_MAX)
			goto out;
		if (n && prealloc_bytes(map) > prealloc_bytes(m[big].map))
			big = n;
		m[n++] = (struct premade){ .map = map, .btf_fd = btf__fd(btf), .fd = -1 };
	}
	if (!n)
		goto out;
	threaded = !pthread_create(&t, NULL, premake_thread, &m[big]);
	for (size_t i = 0; i < n; i++)
		if (i != big || !threaded)
			premake_one(&m[i]);
	if (threaded)
		pthread_join(t, NULL);
	for (size_t i = 0; i < n; i++)
		if (m[i].fd < 0)
			goto close;
	for (size_t i = 0; i < n; i++)
		bpf_map__reuse_fd(m[i].map, m[i].fd); /* on failure the load makes that map */
close:
	for (size_t i = 0; i < n; i++)
		if (m[i].fd >= 0)
			close(m[i].fd);
out:
	btf__free(btf);
}

static struct bpf_program *skel_prog(struct tlsfw *skel, unsigned int role)
{
	struct bpf_program *progs[TLSFW_ROLES] = {
		[TLSFW_ROLE_XDP] = skel->progs.tlsfw_xdp,
		[TLSFW_ROLE_TC_INGRESS] = skel->progs.tlsfw_tc_ingress,
		[TLSFW_ROLE_TC_EGRESS] = skel->progs.tlsfw_tc_egress,
		[TLSFW_ROLE_TC_REPLY] = skel->progs.tlsfw_tc_reply,
	};

	return progs[role];
}

/* Open the object with only the roles wanted to be loaded; NULL with the reason in d. */
static struct tlsfw *open_roles(unsigned int want, struct diag *d)
{
	struct tlsfw *skel = bpf_open();

	if (!skel) {
		diag_error(d, NULL, "cannot open the BPF programs: %s", strerror(errno));
		return NULL;
	}
	for (unsigned int r = 0; r < TLSFW_ROLES; r++)
		bpf_program__set_autoload(skel_prog(skel, r), want & (1u << r));
	return skel;
}

int progs_load(struct progs *p, unsigned int roles, const struct bpf_maps *share,
	       struct bpf_maps *maps, struct diag *d)
{
	unsigned int want = 0;
	struct tlsfw *skel, **grown;
	uint32_t flows, names;
	int err;

	for (unsigned int r = 0; r < TLSFW_ROLES; r++)
		if ((roles & (1u << r)) && p->fd[r] < 0)
			want |= 1u << r;
	if (!want)
		return 0;
	grown = realloc(p->skels, (p->n_skels + 1) * sizeof(*grown));
	if (!grown) {
		diag_error(d, NULL, "out of memory");
		return -ENOMEM;
	}
	p->skels = grown;
	skel = open_roles(want, d);
	if (!skel)
		return -ENOMEM;
	p->skels[p->n_skels++] = skel;
	/* Before reuse_maps, which compares sizes: the tables sized by need are the policy's
	 * size when new, the size in force when shared (progs_fit_tables said they fit). */
	flows = p->flows ? p->flows : TLSFW_FLOWS_MIN;
	names = p->names ? NAMES_WHOLE : NAMES_NONE;
	if (share &&
	    (!(flows = map_entries(share->flows)) || !(names = map_entries(share->names)))) {
		err = errno ? -errno : -EIO;
		diag_error(d, NULL, "cannot read the tables in use: %s", strerror(-err));
		return err;
	}
	if ((err = bpf_map__set_max_entries(skel->maps.tlsfw_flows, flows)) ||
	    (err = bpf_map__set_max_entries(skel->maps.tlsfw_names, names))) {
		diag_error(d, NULL, "cannot size the flow and name tables: %s", strerror(-err));
		return err;
	}
	if (share && (err = reuse_maps(skel, share, d)))
		return err;
	if (!share)
		premake_maps(skel);
	err = tlsfw__load(skel);
	if (err) {
		diag_error(d, NULL,
			   "the kernel refused the BPF programs: %s (the verifier's log is above)",
			   strerror(-err));
		return err;
	}
	if (!share && (err = bpf_maps_from_skel(maps, skel))) {
		diag_error(d, NULL, "cannot find the maps of the BPF programs: %s", strerror(-err));
		return err;
	}
	for (unsigned int r = 0; r < TLSFW_ROLES; r++) {
		if (!(want & (1u << r)))
			continue;
		p->fd[r] = bpf_program__fd(skel_prog(skel, r));
		if (prog_role(p->fd[r], p->tag[r], &p->id[r]) != (int)r) {
			diag_error(d, NULL, "cannot identify the loaded program %s",
				   kernel_names[r]);
			return -EIO;
		}
		p->loaded |= 1u << r;
	}
	return 0;
}

void progs_record(const struct progs *p, const struct tlsfw_meta *old, struct tlsfw_meta *m)
{
	/* Reused programs keep their tags; a load records only what it loaded, so that a role
	 * of another build can never pass for this one's. */
	if (p->reused)
		memcpy(m->prog_tag, old->prog_tag, sizeof(m->prog_tag));
	else
		memset(m->prog_tag, 0, sizeof(m->prog_tag));
	memcpy(m->build, p->build, sizeof(m->build));
	for (unsigned int r = 0; r < TLSFW_ROLES; r++)
		if (p->loaded & (1u << r))
			memcpy(m->prog_tag[r], p->tag[r], 8);
}
