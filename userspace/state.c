// SPDX-License-Identifier: GPL-2.0
/*
 * Finding what tlsfw enforces in this network namespace. Interfaces are per namespace, so
 * walking them (if_nameindex) finds exactly this namespace's policy, also under
 * `ip netns exec`, which gives every command a fresh /sys without the BPF file system.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "hook.h"
#include "state.h"

/* The name of program id, opened; returns the fd or -errno. */
static int prog_open(uint32_t id, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	uint32_t info_len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	snprintf(name, len, "%s", info.name);
	return fd;
}

/* Open program id if its name starts with prefix: fd, -ENOENT if it is not ours. */
static int prog_open_ours(uint32_t id, const char *prefix)
{
	char name[BPF_OBJ_NAME_LEN];
	int fd;

	if (!id)
		return -ENOENT;
	fd = prog_open(id, name, sizeof(name));
	if (fd < 0)
		return fd;
	if (strncmp(name, prefix, strlen(prefix))) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* The tc filter at tlsfw's place on one side, if its program is ours; *reply says whether it
 * is tlsfw_tc_reply. -EPERM when its program cannot be opened without privilege (as for XDP
 * in iface_probe: an interface with only tc programs must not look like one without any). */
static int tc_find(struct state_iface *si, enum bpf_tc_attach_point where, int *fd, uint32_t *id,
		   bool *reply)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = si->ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TLSFW_TC_HANDLE, .priority = TLSFW_TC_PRIO);
	char name[BPF_OBJ_NAME_LEN];
	int err;

	*fd = -1;
	*id = 0;
	*reply = false;
	/* Fails (ENOENT, EINVAL) when there is no clsact qdisc or no filter at our place. */
	err = bpf_tc_query(&hook, &opts);
	if (err == -EPERM)
		return err;
	if (err || !opts.prog_id)
		return 0;
	*fd = prog_open(opts.prog_id, name, sizeof(name));
	if (*fd == -EPERM) {
		*fd = -1;
		return -EPERM;
	}
	if (*fd < 0 || strncmp(name, TLSFW_PROG_TC_PREFIX, strlen(TLSFW_PROG_TC_PREFIX))) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return 0;
	}
	*id = opts.prog_id;
	*reply = !strcmp(name, TLSFW_PROG_TC_REPLY);
	return 0;
}

static int iface_probe(struct state_iface *si)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	uint32_t xdp_id = 0;
	bool egress_reply;
	int err;

	si->xdp_fd = si->tc_in_fd = si->tc_eg_fd = -1;
	err = bpf_xdp_query(si->ifindex, 0, &q);
	if (err == -EPERM)
		return err;
	if (!err) {
		/* Only one of native and generic can be active; hardware offload is never ours. */
		if (q.drv_prog_id) {
			xdp_id = q.drv_prog_id;
			si->xdp_attached = XDP_ATTACHED_DRV;
		} else if (q.skb_prog_id) {
			xdp_id = q.skb_prog_id;
			si->xdp_attached = XDP_ATTACHED_SKB;
		}
	}
	si->xdp_fd = prog_open_ours(xdp_id, TLSFW_PROG_XDP);
	if (si->xdp_fd == -EPERM)
		return -EPERM;
	if (si->xdp_fd >= 0)
		si->xdp_id = xdp_id;
	else
		si->xdp_fd = -1;
	err = tc_find(si, BPF_TC_INGRESS, &si->tc_in_fd, &si->tc_in_id, &si->tc_in_reply);
	if (!err)
		err = tc_find(si, BPF_TC_EGRESS, &si->tc_eg_fd, &si->tc_eg_id, &egress_reply);
	return err;
}

/* A program that decides (tlsfw_tc_reply only builds replies: the last choice): its fd, and
 * its id in *id when id is not NULL. */
static int iface_prog(const struct state_iface *si, uint32_t *id)
{
	int fd = si->tc_in_fd; /* tc ingress, unless it is the reply helper and there is more */
	uint32_t prog = si->tc_in_id;

	if (si->xdp_fd >= 0) {
		fd = si->xdp_fd;
		prog = si->xdp_id;
	} else if ((si->tc_in_fd < 0 || si->tc_in_reply) && si->tc_eg_fd >= 0) {
		fd = si->tc_eg_fd;
		prog = si->tc_eg_id;
	}
	if (id)
		*id = prog;
	return fd;
}

static int iface_prog_fd(const struct state_iface *si)
{
	return iface_prog(si, NULL);
}

uint64_t netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(fd);
	return cookie;
}

/* The network namespace whose policy a program's maps hold (tlsfw_meta.netns_cookie); 0 when
 * unknown: no record yet (an apply killed before it wrote one), another map layout. */
static uint64_t prog_netns(int prog_fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), zero = 0;
	struct tlsfw_meta meta;
	struct bpf_maps m;
	uint64_t cookie = 0;

	if (bpf_maps_from_prog_fd(&m, prog_fd))
		return 0;
	if (!bpf_obj_get_info_by_fd(m.meta, &info, &len) && info.value_size == sizeof(meta) &&
	    !bpf_map_lookup_elem(m.meta, &zero, &meta) && meta.abi_version == TLSFW_ABI_VERSION)
		cookie = meta.netns_cookie;
	bpf_maps_close(&m);
	return cookie;
}

/* Move the interfaces whose programs serve another namespace's policy to st->foreign. The
 * maps are asked once per program: a policy's interfaces share theirs. */
static int split_foreign(struct state *st)
{
	uint64_t here = netns_cookie(), seen_ns[8];
	uint32_t seen_id[8];
	size_t n_seen = 0, kept = 0;

	if (!here || !st->n_ifaces)
		return 0;
	st->foreign = calloc(st->n_ifaces, sizeof(*st->foreign));
	if (!st->foreign)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_ifaces; i++) {
		const struct state_iface *si = &st->ifaces[i];
		uint32_t id;
		int fd = iface_prog(si, &id);
		uint64_t ns;
		size_t k = 0;

		while (k < n_seen && seen_id[k] != id)
			k++;
		ns = k < n_seen ? seen_ns[k] : prog_netns(fd);
		if (k == n_seen && n_seen < 8) {
			seen_id[n_seen] = id;
			seen_ns[n_seen++] = ns;
		}
		if (ns && ns != here)
			st->foreign[st->n_foreign++] = *si;
		else
			st->ifaces[kept++] = *si;
	}
	st->n_ifaces = kept;
	return 0;
}

static uint32_t map_id(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

static void iface_close(struct state_iface *si)
{
	if (si->xdp_fd >= 0)
		close(si->xdp_fd);
	if (si->tc_in_fd >= 0)
		close(si->tc_in_fd);
	if (si->tc_eg_fd >= 0)
		close(si->tc_eg_fd);
	si->xdp_fd = si->tc_in_fd = si->tc_eg_fd = -1;
}

/* Programs of two tlsfw instances overlap: nothing can be changed safely but their removal. */
static int unclean(struct diag *d, bool lenient, const char *why)
{
	if (lenient)
		diag_warning(d, NULL, "%s", why);
	else
		diag_error(d, NULL, "%s", why);
	return -EUCLEAN;
}

/* Open the maps through the first interface's program; every other interface must be served
 * by the same maps, or two tlsfw instances overlap and nothing can be changed safely. */
int state_open_maps(struct state *st, struct diag *d, bool lenient)
{
	const struct state_iface *first = &st->ifaces[0];
	char why[256];
	int err;

	if (!st->n_ifaces)
		return 0;
	err = bpf_maps_from_prog_fd(&st->maps, iface_prog_fd(first));
	if (err == -EPERM)
		return diag_sys_error(d, err, "%s: cannot open the maps of tlsfw's program",
				      first->name);
	if (err) {
		snprintf(
			why, sizeof(why),
			"%s: the tlsfw program attached there lacks tlsfw's maps (another tlsfw version?): %s; run `tlsfw detach %s` first",
			first->name, strerror(-err), first->name);
		return unclean(d, lenient, why);
	}
	st->have_maps = true;
	st->state_map_id = map_id(st->maps.state);
	for (size_t i = 1; i < st->n_ifaces; i++) {
		struct bpf_maps other;
		uint32_t id;

		if (bpf_maps_from_prog_fd(&other, iface_prog_fd(&st->ifaces[i])))
			id = 0;
		else
			id = map_id(other.state);
		bpf_maps_close(&other);
		if (id == st->state_map_id)
			continue;
		bpf_maps_close(&st->maps);
		st->have_maps = false;
		snprintf(
			why, sizeof(why),
			"%s and %s run tlsfw programs that do not share their maps (left over by an interrupted or older tlsfw); run `tlsfw detach` first",
			first->name, st->ifaces[i].name);
		return unclean(d, lenient, why);
	}
	return 0;
}

int state_find_programs(struct state *st, struct diag *d)
{
	/* bpf_tc_query on an interface without clsact makes libbpf print the kernel's complaint:
	 * absence is the normal answer here, not worth a line. */
	libbpf_print_fn_t prev = libbpf_set_print(libbpf_quiet);
	struct if_nameindex *ifs, *it;
	int err = 0;

	memset(st, 0, sizeof(*st));
	memset(&st->maps, 0xff, sizeof(st->maps));
	ifs = if_nameindex();
	if (!ifs) {
		libbpf_set_print(prev);
		return diag_sys_error(d, -errno, "cannot list network interfaces");
	}
	for (it = ifs; it->if_index; it++) {
		struct state_iface si = {};
		void *grown;

		si.ifindex = it->if_index;
		snprintf(si.name, sizeof(si.name), "%s", it->if_name);
		err = iface_probe(&si);
		if (err) {
			iface_close(&si);
			diag_sys_error(
				d, err,
				"cannot query %s (tlsfw needs CAP_NET_ADMIN and CAP_BPF, usually root)",
				si.name);
			goto out;
		}
		if (si.xdp_fd < 0 && si.tc_in_fd < 0 && si.tc_eg_fd < 0)
			continue;
		grown = realloc(st->ifaces, (st->n_ifaces + 1) * sizeof(*st->ifaces));
		if (!grown) {
			iface_close(&si);
			err = diag_sys_error(d, -ENOMEM, "cannot list tlsfw's programs");
			goto out;
		}
		st->ifaces = grown;
		st->ifaces[st->n_ifaces++] = si;
	}
out:
	if_freenameindex(ifs);
	libbpf_set_print(prev);
	if (!err && split_foreign(st))
		err = diag_sys_error(d, -ENOMEM, "cannot list tlsfw's programs");
	if (err)
		state_free(st);
	return err;
}

int state_find(struct state *st, struct diag *d)
{
	int err = state_find_programs(st, d);

	if (!err)
		err = state_open_maps(st, d, false);
	if (err)
		state_free(st);
	return err;
}

void state_free(struct state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_ifaces; i++)
		iface_close(&st->ifaces[i]);
	for (size_t i = 0; i < st->n_foreign; i++)
		iface_close(&st->foreign[i]);
	free(st->ifaces);
	free(st->foreign);
	if (st->have_maps)
		bpf_maps_close(&st->maps);
	memset(st, 0, sizeof(*st));
	memset(&st->maps, 0xff, sizeof(st->maps));
}

static struct state_iface *find_in(struct state_iface *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i].name, name))
			return &list[i];
	return NULL;
}

struct state_iface *state_iface_find(const struct state *st, const char *name)
{
	return find_in(st->ifaces, st->n_ifaces, name);
}

struct state_iface *state_foreign_find(const struct state *st, const char *name)
{
	return find_in(st->foreign, st->n_foreign, name);
}

/* The rule records are indexed by slot up to TLSFW_MAX_RULES (666 KB), though a reader
 * fills rule_end of them. Mapped rather than calloc()ed: after the compiler has freed its
 * large buffers, malloc serves this from the heap and calloc() clears all of it (160 pages,
 * 100 page faults of a 1-rule apply); fresh anonymous pages cost only where written. */
int state_meta_alloc(struct state_meta *sm)
{
	void *rules = mmap(NULL, TLSFW_MAX_RULES * sizeof(*sm->rules), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(sm, 0, sizeof(*sm));
	sm->rules = rules == MAP_FAILED ? NULL : rules;
	sm->ctxs = calloc(TLSFW_MAX_CTX, sizeof(*sm->ctxs));
	if (!sm->rules || !sm->ctxs) {
		state_meta_free(sm);
		return -ENOMEM;
	}
	return 0;
}

int state_meta_read(const struct bpf_maps *m, struct state_meta *sm)
{
	uint32_t zero = 0;
	int err = state_meta_alloc(sm);

	if (err)
		return err;
	err = bpf_get_gen(m, &sm->gen);
	if (!err && bpf_map_lookup_elem(m->meta, &zero, &sm->meta))
		err = -errno;
	/* A tlsfw of another map layout leaves rule_end unset: read every record. */
	sm->rule_end =
		sm->meta.abi_version == TLSFW_ABI_VERSION && sm->meta.rule_end <= TLSFW_MAX_RULES ?
			sm->meta.rule_end :
			TLSFW_MAX_RULES;
	if (!err)
		err = bpf_array_read(m->rules, sm->rule_end, sm->rules, sizeof(*sm->rules));
	if (!err)
		err = bpf_array_read(m->ifaces, TLSFW_MAX_CTX, sm->ctxs, sizeof(*sm->ctxs));
	if (err)
		state_meta_free(sm);
	return err;
}

void state_meta_free(struct state_meta *sm)
{
	if (!sm)
		return;
	if (sm->rules)
		munmap(sm->rules, TLSFW_MAX_RULES * sizeof(*sm->rules));
	free(sm->ctxs);
	sm->rules = NULL;
	sm->ctxs = NULL;
}
