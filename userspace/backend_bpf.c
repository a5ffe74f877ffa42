// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF backend (backend.h): apply is apply_bpf.c, the state it leaves is found from the
 * interfaces (state.c), the counters are read by bpf_counters.c. Detach removes exactly the
 * programs state_find recognised as tlsfw's: XDP with the kernel's compare-and-swap, tc
 * filters at tlsfw's handle and priority. Other XDP programs, other tc filters and the clsact
 * qdisc itself stay (see tlsfw(8)).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "apply_bpf.h"
#include "backend.h"
#include "bpf_fill.h"
#include "content_stats.h"
#include "ct_track.h"
#include "hook.h"
#include "state.h"

static int bpf_in_force(bool *yes, struct diag *d)
{
	struct state st;
	int err = state_find_programs(&st, d);

	*yes = !err && (st.n_ifaces || st.n_foreign);
	state_free(&st);
	return err;
}

/*
 * The key of the first rule that reads conntrack (NULL: none): state rules (ct.h), and the
 * TCP content rules, whose flows decide only where conntrack says the server's stream
 * begins (flow.h, flow_at_server).
 */
static const char *ct_reader(const struct plan *pl)
{
	if (pl->has_state)
		return "state";
	for (size_t i = 0; i < pl->n_rules; i++) {
		if (pl->rules[i].require_tls)
			return "require";
		if (pl->rules[i].names)
			return pl->rules[i].sni || pl->rules[i].sni_none ? "sni" : "ech";
	}
	return NULL;
}

static int bpf_apply(const struct backend_apply *a, struct backend_result *r, struct diag *d)
{
	const struct compiled *c = a->c;
	const char *ct_key = ct_reader(&c->plan);
	struct loc *locs = calloc(c->plan.n_ifaces + 1, sizeof(*locs));
	struct apply_opts o = {
		.policy_file = a->policy_file,
		.sha256 = c->pol.sha256,
		.backend = c->pol.backend,
		.dry_run = a->dry_run,
		.out = a->out,
		.iface_loc = locs,
		.had_policy = &r->had_policy,
	};
	int err;

	if (!locs)
		return diag_sys_error(d, -ENOMEM, "cannot apply");
	for (size_t i = 0; i < c->plan.n_ifaces; i++) {
		const struct loc *l = backend_iface_loc(c, i);

		if (l)
			locs[i] = *l;
	}
	/* conntrack must track the namespace before a rule that reads it is in force; refused,
	 * nothing else changes. Without such rules it is let go once the policy is. */
	err = ct_key && !a->dry_run ? ct_track_on(ct_key, d) : 0;
	if (!err)
		err = apply_bpf(&c->plan, &o, &r->rollback_failed, d);
	if (!err && !ct_key && !a->dry_run)
		ct_track_off();
	free(locs);
	return err;
}

/* The hook deciding ingress packets; XDP's reply helper alone decides nothing. */
static uint8_t ingress_hook(const struct state_iface *si)
{
	if (si->xdp_fd >= 0)
		return si->xdp_attached == XDP_ATTACHED_SKB ? HOOK_XDP_GENERIC : HOOK_XDP_NATIVE;
	return si->tc_in_fd >= 0 && !si->tc_in_reply ? HOOK_TC : HOOK_NONE;
}

static uint8_t hook_of(const struct state_iface *si, uint8_t dir)
{
	if (dir == TLSFW_DIR_INGRESS)
		return ingress_hook(si);
	return si->tc_eg_fd >= 0 ? HOOK_TC : HOOK_NONE;
}

/* The interface of ifindex carries tlsfw's program for dir (st lists it). */
static bool attached(const struct state *st, uint32_t ifindex, uint8_t dir)
{
	for (size_t k = 0; k < st->n_ifaces; k++)
		if (st->ifaces[k].ifindex == ifindex)
			return hook_of(&st->ifaces[k], dir) != HOOK_NONE;
	return false;
}

/* The active generation has a block for (ifindex, dir): the policy filters there. */
static bool wanted(const struct state_meta *sm, uint32_t ifindex, uint8_t dir)
{
	unsigned int bit = 1u << sm->gen;

	for (size_t i = 0; i < TLSFW_MAX_CTX; i++)
		if ((sm->ctxs[i].in_use & bit) && sm->ctxs[i].ifindex == ifindex &&
		    sm->ctxs[i].dir == dir)
			return true;
	return false;
}

/* An interface counts as governed by the policy when the active generation has a block for
 * its ifindex (the data plane's key: a renamed interface stays governed); a tlsfw program
 * without one is left over from an interrupted apply. The block, or NULL. */
static const struct tlsfw_ctx_info *block_of(const struct state_meta *sm, unsigned int ifindex)
{
	unsigned int bit = 1u << sm->gen;

	for (size_t i = 0; i < TLSFW_MAX_CTX; i++)
		if ((sm->ctxs[i].in_use & bit) && sm->ctxs[i].ifindex == ifindex)
			return &sm->ctxs[i];
	return NULL;
}

/* The active generation's interfaces that carry nothing of tlsfw now: deleted since apply
 * (their programs went with them), perhaps created again under the same name, or stripped
 * of tlsfw's programs by another tool. Detach forgets an interface's blocks, so these are
 * never interfaces detached by hand. */
static void lost_ifaces(struct status_model *m, const struct state_meta *sm)
{
	unsigned int bit = 1u << sm->gen;
	char now[IF_NAMESIZE];

	for (size_t i = 0; i < TLSFW_MAX_CTX; i++) {
		const struct tlsfw_ctx_info *ci = &sm->ctxs[i];
		struct status_iface *o;
		size_t k = 0;

		if (!(ci->in_use & bit) || block_of(sm, ci->ifindex) != ci)
			continue; /* unused, or the interface's other direction */
		while (k < m->n_ifaces && m->ifaces[k].ifindex != ci->ifindex)
			k++;
		if (k < m->n_ifaces)
			continue;
		o = &m->ifaces[m->n_ifaces++];
		snprintf(o->name, sizeof(o->name), "%.*s", (int)sizeof(ci->ifname), ci->ifname);
		o->in_policy = true;
		if (if_indextoname(ci->ifindex, now)) { /* the device is still there */
			if (strcmp(now, o->name)) {
				snprintf(o->applied_name, sizeof(o->applied_name), "%s", o->name);
				snprintf(o->name, sizeof(o->name), "%s", now);
			}
			o->ifindex = ci->ifindex;
			o->lost = IFACE_REMOVED;
			continue;
		}
		o->ifindex = if_nametoindex(o->name);
		o->lost = o->ifindex ? IFACE_RECREATED : IFACE_DELETED;
	}
}

static void policy_of(struct status_model *m, const struct state_meta *sm)
{
	const struct tlsfw_meta *meta = &sm->meta;

	m->have_policy = true;
	snprintf(m->file, sizeof(m->file), "%.*s", TLSFW_PATH_MAX, meta->policy_file);
	snprintf(m->hash, sizeof(m->hash), "%.*s", (int)sizeof(meta->policy_hash),
		 meta->policy_hash);
	m->applied_at = meta->applied_at;
	m->n_rules = meta->n_rules;
	m->default_action = meta->default_action;
	m->generation = sm->gen;
}

/* A map's size (max_entries), 0 when it cannot be read. */
static uint32_t map_entries(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

static int bpf_status(struct status_model *m, struct diag *d)
{
	struct state_meta sm = {};
	struct state st;
	int err = state_find(&st, d);

	if (err)
		return err;
	m->ifaces = calloc(st.n_ifaces + st.n_foreign + TLSFW_MAX_CTX, sizeof(*m->ifaces));
	err = !m->ifaces ? -ENOMEM : st.have_maps ? state_meta_read(&st.maps, &sm) : 0;
	if (err) {
		diag_sys_error(d, err, "cannot read the enforced policy's metadata");
		state_free(&st);
		return err;
	}
	if (st.have_maps) {
		policy_of(m, &sm);
		m->flows = map_entries(st.maps.flows);
	}
	for (size_t i = 0; i < st.n_ifaces; i++) {
		const struct state_iface *si = &st.ifaces[i];
		struct status_iface *o = &m->ifaces[m->n_ifaces++];
		const struct tlsfw_ctx_info *b;

		snprintf(o->name, sizeof(o->name), "%s", si->name);
		o->ifindex = si->ifindex;
		o->ingress = hook_of(si, TLSFW_DIR_INGRESS);
		o->egress = hook_of(si, TLSFW_DIR_EGRESS);
		b = block_of(&sm, si->ifindex);
		o->in_policy = b != NULL;
		for (uint8_t dir = 0; b && dir < 2; dir++)
			if (wanted(&sm, si->ifindex, dir) && hook_of(si, dir) == HOOK_NONE)
				o->lost = IFACE_REMOVED; /* another tool took that program off */
		if (b && strncmp(b->ifname, si->name, sizeof(b->ifname)))
			snprintf(o->applied_name, sizeof(o->applied_name), "%.*s",
				 (int)sizeof(b->ifname), b->ifname);
	}
	if (st.have_maps)
		lost_ifaces(m, &sm);
	/* after lost_ifaces, which matches the records to the rows by ifindex */
	for (size_t i = 0; i < st.n_foreign; i++) {
		const struct state_iface *si = &st.foreign[i];
		struct status_iface *o = &m->ifaces[m->n_ifaces++];

		snprintf(o->name, sizeof(o->name), "%s", si->name);
		o->ifindex = si->ifindex;
		o->ingress = hook_of(si, TLSFW_DIR_INGRESS);
		o->egress = hook_of(si, TLSFW_DIR_EGRESS);
		o->foreign = true;
	}
	state_meta_free(&sm);
	state_free(&st);
	return 0;
}

/* The interface leaves the policy but others stay: forget its counter blocks and context
 * entries, so that status and stats no longer show it and a later apply starts it afresh. */
static void forget_iface(const struct state *st, const struct state_iface *si)
{
	for (uint32_t s = 0; s < TLSFW_MAX_CTX; s++) {
		struct tlsfw_ctx_info ci;

		if (bpf_map_lookup_elem(st->maps.ifaces, &s, &ci) || !ci.in_use ||
		    ci.ifindex != si->ifindex)
			continue;
		memset(&ci, 0, sizeof(ci));
		bpf_map_update_elem(st->maps.ifaces, &s, &ci, BPF_ANY);
	}
	for (unsigned int gen = 0; gen < 2; gen++) {
		for (unsigned int dir = 0; dir < 2; dir++) {
			struct tlsfw_ctx_key k = { .ifindex = si->ifindex, .gen = gen, .dir = dir };

			bpf_map_delete_elem(st->maps.ctx, &k);
		}
	}
}

/* name carries nothing of tlsfw, but the records name it: an interface of the policy deleted
 * since apply, perhaps created again (status: lost). Forgotten as detach forgets any. */
static bool forget_lost(const struct state *st, const char *name, FILE *out)
{
	struct state_iface gone = { .ifindex = 0 };
	struct tlsfw_ctx_info ci;

	for (uint32_t s = 0; st->have_maps && !gone.ifindex && s < TLSFW_MAX_CTX; s++) {
		if (bpf_map_lookup_elem(st->maps.ifaces, &s, &ci) || !ci.in_use ||
		    strncmp(ci.ifname, name, sizeof(ci.ifname)))
			continue;
		if (!attached(st, ci.ifindex, TLSFW_DIR_INGRESS) &&
		    !attached(st, ci.ifindex, TLSFW_DIR_EGRESS))
			gone.ifindex = ci.ifindex;
	}
	if (!gone.ifindex)
		return false;
	forget_iface(st, &gone);
	fprintf(out, "%s: forgotten (nothing of tlsfw was attached any more)\n", name);
	return true;
}

static void said(char *done, size_t len, const char *what)
{
	size_t n = strlen(done);

	snprintf(done + n, len - n, "%s%s", n ? ", " : "", what);
}

static int detach_iface(const struct state_iface *si, FILE *out, struct diag *d)
{
	char done[128] = "";
	int err;

	if (si->xdp_fd >= 0) {
		err = hook_xdp_detach(si->ifindex, si->xdp_attached, si->xdp_fd);
		if (err)
			return diag_sys_error(d, err, "%s: cannot remove the XDP program",
					      si->name);
		said(done, sizeof(done),
		     si->xdp_attached == XDP_ATTACHED_SKB ? "ingress XDP generic" :
							    "ingress XDP native");
	}
	if (si->tc_in_fd >= 0) {
		err = hook_tc_detach(si->ifindex, false);
		if (err)
			return diag_sys_error(d, err, "%s: cannot remove the tc ingress filter",
					      si->name);
		said(done, sizeof(done), si->tc_in_reply ? "reject answers tc" : "ingress tc");
	}
	if (si->tc_eg_fd >= 0) {
		err = hook_tc_detach(si->ifindex, true);
		if (err)
			return diag_sys_error(d, err, "%s: cannot remove the tc egress filter",
					      si->name);
		said(done, sizeof(done), "egress tc");
	}
	fprintf(out, "%s: detached (%s)\n", si->name, done);
	return 0;
}

/* Programs that do not share maps (an interrupted or older tlsfw) are still removed,
 * interface by interface, without touching the metadata; d says so. */
static int bpf_detach(char *const *ifnames, size_t n, FILE *out, struct diag *d)
{
	bool *pick;
	size_t n_pick = 0;
	struct state st;
	int err = state_find_programs(&st, d), ret = 0;

	if (!err)
		err = state_open_maps(&st, d, true);
	if (err && err != -EUCLEAN)
		return err;
	pick = calloc(st.n_ifaces + 1, sizeof(*pick));
	if (!pick) {
		state_free(&st);
		return diag_sys_error(d, -ENOMEM, "cannot detach");
	}
	for (size_t i = 0; i < n; i++) {
		struct state_iface *si = state_iface_find(&st, ifnames[i]);

		if (si)
			pick[si - st.ifaces] = true;
		else if (state_foreign_find(&st, ifnames[i]))
			continue; /* below */
		else if (!forget_lost(&st, ifnames[i], out))
			fprintf(out, "%s: nothing of tlsfw attached\n", ifnames[i]);
	}
	/* Another namespace's programs on a device moved here: their hooks go, their maps (that
	 * namespace's policy) are not touched. */
	for (size_t i = 0; i < st.n_foreign; i++) {
		bool named = !n;

		for (size_t k = 0; k < n && !named; k++)
			named = !strcmp(ifnames[k], st.foreign[i].name);
		if (named && (err = detach_iface(&st.foreign[i], out, d)))
			ret = err;
	}
	for (size_t i = 0; i < st.n_ifaces; i++)
		n_pick += pick[i] |= !n;
	for (size_t i = 0; i < st.n_ifaces; i++) {
		if (!pick[i])
			continue;
		err = detach_iface(&st.ifaces[i], out, d);
		if (err)
			ret = err;
		else if (st.have_maps && n_pick < st.n_ifaces)
			forget_iface(&st, &st.ifaces[i]);
	}
	/* Nothing of tlsfw left: neither is conntrack tracking for it (ct_track.h). */
	if (!ret && n_pick == st.n_ifaces)
		ct_track_off();
	free(pick);
	state_free(&st);
	return ret;
}

/* ---- counters ------------------------------------------------------------------------ */

/* The counters array is mapped (bpf_fill.h): every slot is read in place and summed over the
 * CPUs. The metadata maps name every counter slot. */
struct reader {
	struct bpf_counters ctr;
};

static int read_counter(struct reader *rd, uint32_t block, uint32_t idx, struct tlsfw_counter *out)
{
	bpf_counter_sum(&rd->ctr, block * TLSFW_SLOTS_PER_CTX + idx, out);
	return 0;
}

static int cmp_rule(const void *a, const void *b)
{
	const struct stats_rule *ra = a, *rb = b;

	return ra->order < rb->order ? -1 : ra->order > rb->order;
}

static int cmp_block(const void *a, const void *b)
{
	const struct stats_block *ba = a, *bb = b;
	int c = strcmp(ba->ifname, bb->ifname);

	return c ? c : ba->dir - bb->dir;
}

/* Rules and blocks of the active generation, named from the metadata maps. */
static int snap_layout(struct stats_snap *s, const struct state *st, const struct state_meta *sm)
{
	uint8_t bit = 1u << sm->gen;

	s->rules = calloc(TLSFW_MAX_RULES, sizeof(*s->rules));
	s->blocks = calloc(TLSFW_MAX_CTX, sizeof(*s->blocks));
	if (!s->rules || !s->blocks)
		return -ENOMEM;
	for (uint32_t i = 0; i < sm->rule_end; i++) {
		const struct tlsfw_rule_info *ri = &sm->rules[i];
		struct stats_rule *r;

		if (!(ri->in_use & bit))
			continue;
		r = &s->rules[s->n_rules++];
		snprintf(r->name, sizeof(r->name), "%.*s", TLSFW_NAME_MAX, ri->name);
		r->slot = i;
		r->order = ri->order;
		r->line = ri->line;
		r->action = ri->action;
		r->monitor = ri->monitor;
		r->require = !!(ri->content & TLSFW_RV_REQUIRE);
		r->names = !!(ri->content & TLSFW_RV_NAME);
		r->log = ri->log;
		s->content |= !!ri->content;
	}
	for (uint32_t i = 0; i < TLSFW_MAX_CTX; i++) {
		const struct tlsfw_ctx_info *ci = &sm->ctxs[i];
		struct stats_block *b;

		if (!(ci->in_use & bit))
			continue;
		b = &s->blocks[s->n_blocks++];
		snprintf(b->ifname, sizeof(b->ifname), "%.16s", ci->ifname);
		b->ifindex = ci->ifindex;
		b->slot = i;
		b->dir = ci->dir;
		b->hook = ci->hook;
		b->lost = !attached(st, ci->ifindex, ci->dir);
	}
	qsort(s->rules, s->n_rules, sizeof(*s->rules), cmp_rule);
	qsort(s->blocks, s->n_blocks, sizeof(*s->blocks), cmp_block);
	return 0;
}

static int snap_counters(struct stats_snap *s, struct reader *rd)
{
	int err = 0;

	for (size_t k = 0; !err && k < s->n_blocks; k++) {
		struct stats_block *b = &s->blocks[k];

		b->rule = calloc(s->n_rules + 1, sizeof(*b->rule));
		if (!b->rule)
			return -ENOMEM;
		for (uint32_t i = 0; !err && i < TLSFW_STAT_MAX; i++)
			err = read_counter(rd, b->slot, i, &b->stat[i]);
		for (size_t r = 0; !err && r < s->n_rules; r++)
			err = read_counter(rd, b->slot, TLSFW_STAT_RULE0 + s->rules[r].slot,
					   &b->rule[r]);
	}
	return err;
}

/* Flows passed and cut per require: tls rule; the flow table's entries and evictions. */
static int snap_content(struct stats_snap *s, const struct bpf_maps *m)
{
	struct content_stats cs;
	int err;

	for (size_t r = 0; r < s->n_rules; r++) {
		struct tlsfw_rule_flows f;

		if (!s->rules[r].require && !s->rules[r].names)
			continue;
		if (bpf_map_lookup_elem(m->rule_flows, &s->rules[r].slot, &f))
			return -errno;
		s->rules[r].flows_passed = f.passed;
		s->rules[r].flows_cut = f.cut;
		s->rules[r].flows_matched = f.matched;
	}
	err = content_stats_read(m->content_stats, m->flows, &cs);
	if (err)
		return err;
	s->flows = cs.flows;
	s->flows_evicted = cs.evicted;
	s->midstream = cs.stat[TLSFW_CSTAT_MIDSTREAM];
	return 0;
}

/* Zero every counter in use: the statistics of every block in use and the rule slots, of
 * either generation (an apply running now may be about to flip). */
static void bpf_counters_reset(const struct bpf_counters *ctr, const struct state_meta *sm)
{
	for (uint32_t c = 0; c < TLSFW_MAX_CTX; c++) {
		uint32_t base = c * TLSFW_SLOTS_PER_CTX;

		if (!sm->ctxs[c].in_use)
			continue;
		for (uint32_t i = 0; i < TLSFW_STAT_RULE0; i++)
			bpf_counter_zero(ctr, base + i);
		for (uint32_t r = 0; r < sm->rule_end; r++)
			if (sm->rules[r].in_use)
				bpf_counter_zero(ctr, base + TLSFW_STAT_RULE0 + r);
	}
}

static int bpf_counters(struct stats_snap *s, bool reset, struct diag *d)
{
	struct state_meta sm = {};
	struct reader rd = {};
	struct state st;
	int err = state_find(&st, d);

	if (err)
		return err;
	if (!st.have_maps) { /* only another namespace's programs (state.h): nothing here */
		state_free(&st);
		return 0;
	}
	err = bpf_counters_map(&rd.ctr, st.maps.counters);
	if (!err)
		err = state_meta_read(&st.maps, &sm);
	if (err) {
		diag_sys_error(d, err, "cannot read tlsfw's metadata maps");
		goto out;
	}
	s->enforced = true;
	s->backend = backend_bpf.name;
	snprintf(s->policy_file, sizeof(s->policy_file), "%.*s", TLSFW_PATH_MAX,
		 sm.meta.policy_file);
	snprintf(s->policy_hash, sizeof(s->policy_hash), "%.*s", (int)sizeof(sm.meta.policy_hash),
		 sm.meta.policy_hash);
	s->applied_at = sm.meta.applied_at;
	s->default_action = sm.meta.default_action;
	err = snap_layout(s, &st, &sm);
	if (!err)
		err = snap_counters(s, &rd);
	if (!err && s->content)
		err = snap_content(s, &st.maps);
	if (!err)
		err = stats_log_read(s, st.maps.log_rules);
	if (err)
		diag_sys_error(d, err, "cannot read the counters");
	else if (reset)
		bpf_counters_reset(&rd.ctr, &sm);
out:
	bpf_counters_unmap(&rd.ctr);
	state_meta_free(&sm);
	state_free(&st);
	return err;
}

const struct backend backend_bpf = {
	.name = "bpf",
	.what = "XDP and tc programs",
	.in_force = bpf_in_force,
	.apply = bpf_apply,
	.status = bpf_status,
	.counters = bpf_counters,
	.detach = bpf_detach,
};
