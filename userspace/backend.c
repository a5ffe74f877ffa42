// SPDX-License-Identifier: GPL-2.0
/* Picking a backend, and what every backend's command does around it (backend.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>

#include "backend.h"
#include "linkinfo.h"
#include "lock.h"

/* In the order commands look for state: one namespace holds one backend's at most. */
static const struct backend *const backends[] = { &backend_bpf, &backend_nft };
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

const struct backend *backend_for(const struct compiled *c)
{
	return c->pol.backend == POL_BACKEND_NFT ? &backend_nft : &backend_bpf;
}

int backend_in_force(const struct backend **out, struct diag *d)
{
	*out = NULL;
	for (size_t i = 0; i < N_BACKENDS; i++) {
		bool yes = false;
		int err = backends[i]->in_force(&yes, d);

		if (err)
			return err;
		if (yes) {
			*out = backends[i];
			return 0;
		}
	}
	return 0;
}

/* The plan's interfaces carry their policy location, for both backends (plan.h). */
const struct loc *backend_iface_loc(const struct compiled *c, size_t i)
{
	return i < c->plan.n_ifaces ? &c->plan.ifaces[i].loc : NULL;
}

/* An interface the policy names must exist: an egress chain or program would otherwise wait
 * silently for it. Every missing one is an error at its line. */
static int ifaces_exist(const struct compiled *c, struct diag *d)
{
	int err = 0;

	for (size_t i = 0; i < c->plan.n_ifaces; i++) {
		const char *name = c->plan.ifaces[i].name;

		if (if_nametoindex(name))
			continue;
		diag_error(d, backend_iface_loc(c, i),
			   "interface '%s' does not exist in this network namespace", name);
		err = -ENODEV;
	}
	return err;
}

/* Does the policy list a port of bridge `br` as well? */
static bool port_listed(const struct compiled *c, const char *br)
{
	char master[IFNAMSIZ];

	for (size_t i = 0; i < c->plan.n_ifaces; i++)
		if (link_bridge_master(c->plan.ifaces[i].name, master) == 1 && !strcmp(master, br))
			return true;
	return false;
}

/* A bridge's own hooks (XDP, tc, nftables ingress) see only what the bridge passes up to this
 * host, never the frames it forwards between its ports: measured on both backends, a policy
 * naming br0 alone drops nothing that crosses the bridge while apply says it enforces. A
 * warning, not an error: on a router whose LAN is a bridge, br0 is where routed traffic
 * arrives. Nothing to say when the policy lists a port of the bridge as well. */
static void bridges_warn(const struct compiled *c, struct diag *d)
{
	for (size_t i = 0; i < c->plan.n_ifaces; i++) {
		const char *name = c->plan.ifaces[i].name;

		if (link_is_bridge(name) != 1 || port_listed(c, name))
			continue;
		diag_warning(
			d, backend_iface_loc(c, i),
			"interface '%s' is a bridge: tlsfw sees there only the packets the bridge passes up to this host (routed, or addressed to it), not the frames it forwards between its ports; list the ports to filter bridged traffic",
			name);
	}
}

/* Both backends at once would decide every packet twice, with two sets of counters and a
 * status that shows one of them. The other backend's policy stays in force (r->had_policy,
 * for the summary under the error). */
static int others_absent(const struct backend *b, struct backend_result *r, struct diag *d)
{
	for (size_t i = 0; i < N_BACKENDS; i++) {
		bool yes = false;
		int err;

		if (backends[i] == b)
			continue;
		err = backends[i]->in_force(&yes, d);
		if (err)
			return err;
		if (yes) {
			r->had_policy = true;
			diag_error(
				d, NULL,
				"this network namespace runs backend: %s (%s); run `tlsfw detach` first to switch to backend: %s",
				backends[i]->name, backends[i]->what, b->name);
			return -EBUSY;
		}
	}
	return 0;
}

int backend_apply_locked(const struct backend_apply *a, struct backend_result *r, struct diag *d)
{
	const struct backend *b = backend_for(a->c);
	int err;

	memset(r, 0, sizeof(*r));
	/* first what is in force, so that any failure can say what still is */
	err = b->in_force(&r->had_policy, d);
	if (!err)
		err = ifaces_exist(a->c, d);
	if (!err)
		err = others_absent(b, r, d);
	if (!err)
		bridges_warn(a->c, d);
	if (!err)
		err = b->apply(a, r, d);
	return err;
}

int backend_apply(const struct backend_apply *a, struct backend_result *r, struct diag *d)
{
	int lock, err;

	memset(r, 0, sizeof(*r));
	lock = ns_lock(d);
	if (lock < 0)
		return lock;
	err = backend_apply_locked(a, r, d);
	close(lock);
	return err;
}

int backend_status(struct status_model *m, struct diag *d)
{
	int err;

	memset(m, 0, sizeof(*m));
	m->generation = -1;
	err = backend_in_force(&m->backend, d);
	if (!err && m->backend)
		err = m->backend->status(m, d);
	if (err)
		status_model_free(m);
	return err;
}

void status_model_free(struct status_model *m)
{
	if (!m)
		return;
	free(m->ifaces);
	memset(m, 0, sizeof(*m));
	m->generation = -1;
}

int backend_counters(struct stats_snap *s, bool reset, struct diag *d)
{
	const struct backend *b;
	int err;

	memset(s, 0, sizeof(*s));
	err = backend_in_force(&b, d);
	if (!err && b)
		err = b->counters(s, reset, d);
	/* The interval a rate divides by ends when the counters were read. */
	clock_gettime(CLOCK_MONOTONIC, &s->taken);
	if (err)
		stats_snap_free(s);
	return err;
}

/* A name twice would be detached twice (and counted twice against the interfaces left). */
static size_t distinct(char *const *names, size_t n, char **out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		while (j < k && strcmp(out[j], names[i]))
			j++;
		if (j == k)
			out[k++] = names[i];
	}
	return k;
}

/* An interface of the enforced policy deleted since apply (status lists it): detach forgets
 * it, so its name is no mistake. */
static bool lost_name(const char *name)
{
	struct status_model m;
	bool lost = false;
	struct diag q;

	diag_init(&q);
	if (!backend_status(&m, &q)) {
		for (size_t i = 0; i < m.n_ifaces; i++)
			lost |= m.ifaces[i].lost != IFACE_HELD && !strcmp(m.ifaces[i].name, name);
		status_model_free(&m);
	}
	diag_free(&q);
	return lost;
}

int backend_detach_locked(char *const *ifnames, size_t n, FILE *out, struct diag *d)
{
	char **names = calloc(n + 1, sizeof(*names));
	const struct backend *b;
	int err = 0;

	if (!names)
		return diag_sys_error(d, -ENOMEM, "cannot detach");
	/* a name that is no interface here is a mistake: refused before anything changes */
	for (size_t i = 0; i < n; i++) {
		if (if_nametoindex(ifnames[i]) || lost_name(ifnames[i]))
			continue;
		diag_error(d, NULL, "no interface '%s' in this network namespace; nothing detached",
			   ifnames[i]);
		err = -ENODEV;
	}
	if (err) {
		free(names);
		return err;
	}
	n = distinct(ifnames, n, names);
	err = backend_in_force(&b, d);
	if (!err && b)
		err = b->detach(names, n, out, d);
	else if (!err && !n)
		fprintf(out, "tlsfw: nothing enforced in this network namespace\n");
	for (size_t i = 0; !err && !b && i < n; i++)
		fprintf(out, "%s: nothing of tlsfw attached\n", names[i]);
	free(names);
	return err;
}

int backend_detach(char *const *ifnames, size_t n, FILE *out, struct diag *d)
{
	int lock = ns_lock(d), err;

	if (lock < 0)
		return lock;
	err = backend_detach_locked(ifnames, n, out, d);
	close(lock);
	return err;
}
