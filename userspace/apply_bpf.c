// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 4a: enforce a plan with the BPF data plane.
 *
 * Every change to the kernel is recorded in an undo log as it is made; a failure (or a
 * signal) unwinds the log in reverse order, so that the previous policy is in force again and
 * a first policy leaves nothing behind. Packets never see a mix of two policies: both
 * generations live in the same maps, new programs read the same maps and the same active
 * generation as the ones they replace, and a single store to tlsfw_state switches every
 * interface at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if_arp.h>

#include "apply_bpf_priv.h"
#include "apply_reply.h"
#include "grace.h"
#include "hook.h"
#include "linkinfo.h"
#include "lock.h"
#include "names.h"
#include "policy.h"

const char *const apply_steps[] = {
	"find",	      "reuse",	 "load",
	"fill",	      "replace", "attach-new",
	"names",      "flip",	 "post-flip-attach",
	"detach-old", "meta",	 NULL,
};

static int fail_va(struct apply_ctx *c, const struct loc *loc, int err, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	diag_error(c->d, loc, "%s", msg ? msg : "out of memory");
	free(msg);
	return err < 0 ? err : -EIO;
}

int apply_fail(struct apply_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = fail_va(c, NULL, err, fmt, ap);
	va_end(ap);
	return err;
}

int apply_fail_at(struct apply_ctx *c, const struct apply_iface *ai, int err, const char *fmt, ...)
{
	const struct loc *loc = c->o->iface_loc ? &c->o->iface_loc[ai - c->ifs] : NULL;
	va_list ap;

	va_start(ap, fmt);
	err = fail_va(c, loc, err, fmt, ap);
	va_end(ap);
	return err;
}

/* Each step starts here: a pending signal or an injected fault stops the apply. */
static int step(struct apply_ctx *c, const char *name)
{
	const char *fault = getenv("TLSFW_FAULT");

	c->step = name;
	if (stop_signal_pending())
		return apply_fail(c, -EINTR, "interrupted by a signal");
	if (fault && !strcmp(fault, name))
		return apply_fail(c, -EIO, "%s: fault injected (TLSFW_FAULT=%s)", name, name);
	return 0;
}

int apply_undo_push(struct apply_ctx *c, struct undo u)
{
	if (c->n_undo == c->cap_undo) {
		size_t cap = c->cap_undo ? c->cap_undo * 2 : 32;
		struct undo *grown = realloc(c->undo, cap * sizeof(*grown));

		if (!grown)
			return apply_fail(c, -ENOMEM, "out of memory");
		c->undo = grown;
		c->cap_undo = cap;
	}
	c->undo[c->n_undo++] = u;
	return 0;
}

/* ---- preparation ------------------------------------------------------------------------ */

/* Which interfaces' XDP hands its rejects to tc (apply_reply.h): those whose ingress a
 * reject rule can decide and whose XDP_TX is not known to reach the sender. */
static int decide_handoff(struct apply_ctx *c)
{
	const struct plan *pl = c->pl;
	bool *rejecting = reply_rejecting_classes(pl);

	if (!rejecting)
		return apply_fail(c, -ENOMEM, "out of memory");
	for (size_t i = 0; i < pl->n_ctx; i++) {
		const struct plan_ctx *pc = &pl->ctx[i];

		if (pc->dir != TLSFW_DIR_INGRESS || pc->cls >= pl->n_ctx_cls || !rejecting[pc->cls])
			continue;
		for (size_t k = 0; k < pl->n_ifaces; k++)
			if (!strcmp(c->ifs[k].pi->name, pc->ifname))
				c->ifs[k].handoff = !reply_xdp_tx_reaches(pc->ifname);
	}
	free(rejecting);
	return 0;
}

/* ip link's name of a link type without an Ethernet header (linux/if_arp.h) */
static const char *l3_link_name(int type)
{
	switch (type) {
	case ARPHRD_NONE:
		return "none: a tun or WireGuard device";
	case ARPHRD_PPP:
		return "ppp";
	case ARPHRD_TUNNEL:
		return "ipip";
	case ARPHRD_TUNNEL6:
		return "tunnel6";
	case ARPHRD_SIT:
		return "sit";
	case ARPHRD_IPGRE:
		return "gre";
	case 823: /* ARPHRD_IP6GRE, which glibc's net/if_arp.h lacks */
		return "ip6gre";
	case ARPHRD_RAWIP:
		return "rawip";
	default:
		return NULL;
	}
}

/*
 * The programs read Ethernet frames (bpf/parse.h): on a device without a link-layer header
 * (tun, WireGuard, GRE, PPP) the IP header is where they look for the Ethernet type, so no
 * packet would ever be recognised and the policy would enforce nothing. Refused; nft's inet
 * hooks see the IP packet on any device.
 */
static int ethernet_only(struct apply_ctx *c, const struct apply_iface *ai)
{
	int type = link_type(ai->ifindex);
	const char *name;
	char other[24];

	if (type < 0)
		return apply_fail_at(c, ai, type, "rtnetlink: cannot read interface '%s': %s",
				     ai->pi->name, strerror(-type));
	if (type == ARPHRD_ETHER || type == ARPHRD_LOOPBACK)
		return 0;
	name = l3_link_name(type);
	if (!name) {
		snprintf(other, sizeof(other), "link type %d", type);
		name = other;
	}
	return apply_fail_at(
		c, ai, -EOPNOTSUPP,
		"interface '%s' has no Ethernet header (link/%s): backend bpf reads Ethernet frames only and would see no IP packet there; use backend: nft for it",
		ai->pi->name, name);
}

/* Map interfaces to indexes and decide, before touching anything, what each one needs. */
static int resolve_ifaces(struct apply_ctx *c)
{
	const struct plan *pl = c->pl;
	int err;

	c->ifs = calloc(pl->n_ifaces ? pl->n_ifaces : 1, sizeof(*c->ifs));
	if (!c->ifs)
		return apply_fail(c, -ENOMEM, "out of memory");
	for (size_t i = 0; i < pl->n_ifaces; i++) {
		struct apply_iface *ai = &c->ifs[i];
		struct state_iface *old;

		ai->pi = &pl->ifaces[i];
		ai->ifindex = if_nametoindex(ai->pi->name);
		if (!ai->ifindex)
			return apply_fail_at(
				c, ai, -ENODEV,
				"interface '%s' does not exist in this network namespace",
				ai->pi->name);
		err = ethernet_only(c, ai);
		if (err)
			return err;
		if (state_foreign_find(&c->st, ai->pi->name))
			return apply_fail_at(
				c, ai, -EBUSY,
				"%s carries the tlsfw programs of another network namespace's policy (it was moved here after that apply; they still filter it as that policy says): run `tlsfw detach %s` here first",
				ai->pi->name, ai->pi->name);
		old = ai->old = state_iface_find(&c->st, ai->pi->name);
		if (!wants(ai, POL_HOOK_INGRESS))
			continue;
		if (old && old->xdp_fd >= 0) {
			uint8_t have = hook_of_attached(old->xdp_attached);

			ai->hook = have;
			if ((ai->pi->xdp_mode == POL_XDP_NATIVE && have != TLSFW_HOOK_XDP_NATIVE) ||
			    (ai->pi->xdp_mode == POL_XDP_GENERIC &&
			     have != TLSFW_HOOK_XDP_GENERIC)) {
				ai->hook = ai->pi->xdp_mode == POL_XDP_NATIVE ?
						   TLSFW_HOOK_XDP_NATIVE :
						   TLSFW_HOOK_XDP_GENERIC;
				ai->mode_change = true;
			}
		} else if (tc_decides(old)) {
			ai->hook = TLSFW_HOOK_TC;
			if (ai->pi->xdp_mode != POL_XDP_AUTO) {
				ai->hook = ai->pi->xdp_mode == POL_XDP_NATIVE ?
						   TLSFW_HOOK_XDP_NATIVE :
						   TLSFW_HOOK_XDP_GENERIC;
				ai->mode_change = true;
			}
		} else {
			LIBBPF_OPTS(bpf_xdp_query_opts, q);

			/* Someone else's XDP program: tlsfw never replaces it. */
			if (!bpf_xdp_query(ai->ifindex, 0, &q) && q.prog_id)
				return apply_fail_at(
					c, ai, -EBUSY,
					"%s: another XDP program (id %u) is attached; tlsfw does not replace programs it did not install: remove it first, or use hooks: [egress] on %s",
					ai->pi->name, q.prog_id, ai->pi->name);
		}
	}
	return decide_handoff(c);
}

/* The roles the policy's hooks need (a tc ingress program only where tc already decides
 * ingress: where XDP fails to attach, role_fd loads it then). */
static unsigned int needed_roles(const struct apply_ctx *c)
{
	unsigned int roles = 0;

	for (size_t i = 0; i < c->pl->n_ifaces; i++) {
		const struct apply_iface *ai = &c->ifs[i];

		if (wants(ai, POL_HOOK_INGRESS))
			roles |= 1u << hook_role(ai->hook, false);
		if (wants(ai, POL_HOOK_INGRESS) && ai->handoff && ai->hook != TLSFW_HOOK_TC)
			roles |= 1u << TLSFW_ROLE_TC_REPLY;
		if (wants(ai, POL_HOOK_EGRESS))
			roles |= 1u << TLSFW_ROLE_TC_EGRESS;
	}
	return roles;
}

/* reuse: the programs in use, if they are this build's (apply_progs.h). */
static int reuse(struct apply_ctx *c)
{
	int err = progs_reuse(&c->progs, &c->st, &c->old.meta);

	if (err)
		return apply_fail(c, err, "cannot inspect the programs in use: %s", strerror(-err));
	return 0;
}

/* load: what the policy needs and reuse did not give, sharing the maps in use. */
static int load(struct apply_ctx *c)
{
	if (c->st.have_maps)
		c->maps = c->st.maps;
	return progs_load(&c->progs, needed_roles(c), c->st.have_maps ? &c->st.maps : NULL,
			  &c->maps, c->d);
}

static int assign_slots(struct apply_ctx *c)
{
	c->ctx_flags = calloc(c->pl->n_ctx + 1, sizeof(uint32_t));
	if (!c->ctx_flags)
		return apply_fail(c, -ENOMEM, "out of memory");
	return slots_assign(&c->slots, c->pl, &c->old, c->old_gen, c->d);
}

/* The counter blocks of the plan's contexts, the only ones an apply zeroes. */
static int map_ctx_counters(struct apply_ctx *c, struct bpf_counters *ctr)
{
	int err = bpf_counters_map_blocks(ctr, c->maps.counters, c->slots.ctx_slot, c->pl->n_ctx);

	return err ? apply_fail(c, err, "cannot reset counters: %s", strerror(-err)) : 0;
}

/* The flows passed and cut of each new rule slot (tlsfw_rule_flows), stored as zeros in the
 * map's memory (bpf_array_elems), else in one batch: a replacement by a policy of 4,096 new
 * rule names made 4,096 calls of it. */
static int zero_new_flow_counters(struct apply_ctx *c)
{
	const struct plan *pl = c->pl;
	uint32_t *keys = calloc(pl->n_rules ? pl->n_rules : 1, sizeof(*keys)), end = 0;
	struct tlsfw_rule_flows *mem, *none = NULL;
	size_t n = 0, failed, len;
	int err = 0;

	if (!keys)
		return apply_fail(c, -ENOMEM, "out of memory");
	for (size_t r = 0; r < pl->n_rules; r++)
		if (c->slots.rule_new[r]) {
			keys[n++] = c->slots.rule_slot[r];
			if (c->slots.rule_slot[r] >= end)
				end = c->slots.rule_slot[r] + 1;
		}
	mem = n ? bpf_array_elems(c->maps.rule_flows, sizeof(*mem), end, &len) : NULL;
	if (mem) {
		for (size_t i = 0; i < n; i++)
			memset(&mem[keys[i]], 0, sizeof(*mem));
		munmap(mem, len);
	} else if (n) {
		none = calloc(n, sizeof(*none));
		err = none ? bpf_update_many(c->maps.rule_flows, keys, sizeof(*keys), none,
					     sizeof(*none), n, &failed) :
			     -ENOMEM;
		if (err)
			apply_fail(c, err, "cannot reset flow counters: %s", strerror(-err));
	}
	free(keys);
	free(none);
	return err;
}

/* New slots may hold the counts of a rule or interface that used them long ago. The counters
 * are written in memory, one at a time: their neighbours (the rules in use) count on. The
 * active generation uses none of these slots, so a dry run or a failed apply changes no
 * count anyone reads. */
static int zero_new_counters(struct apply_ctx *c)
{
	const struct plan *pl = c->pl;
	struct bpf_counters ctr;
	int err;

	if (!c->st.have_maps)
		return 0; /* fresh maps are zero */
	err = map_ctx_counters(c, &ctr);
	if (err)
		return err;
	for (size_t i = 0; i < pl->n_ctx; i++) {
		uint32_t base = c->slots.ctx_slot[i] * TLSFW_SLOTS_PER_CTX;

		if (c->slots.ctx_new[i]) {
			for (uint32_t k = 0; k < TLSFW_SLOTS_PER_CTX; k++)
				bpf_counter_zero(&ctr, base + k);
			continue;
		}
		for (size_t r = 0; r < pl->n_rules; r++)
			if (c->slots.rule_new[r])
				bpf_counter_zero(&ctr,
						 base + TLSFW_STAT_RULE0 + c->slots.rule_slot[r]);
	}
	bpf_counters_unmap(&ctr);
	return zero_new_flow_counters(c);
}

/* A kept block's statistics (totals, reasons) run on across policies, but for those whose
 * label the new policy changes (slots_relabel): zeroed right before the flip, so that a dry
 * run or an apply that fails before it leaves the counts of the policy in force alone. */
static int zero_relabeled(struct apply_ctx *c)
{
	struct bpf_counters ctr;
	unsigned int reset;
	int err;

	if (!c->st.have_maps)
		return 0;
	reset = slots_relabel(c->pl, &c->old, c->st.have_maps);
	if (!reset)
		return 0;
	err = map_ctx_counters(c, &ctr);
	if (err)
		return err;
	for (size_t i = 0; i < c->pl->n_ctx; i++)
		if (!c->slots.ctx_new[i])
			slots_zero_relabeled(&ctr, c->slots.ctx_slot[i] * TLSFW_SLOTS_PER_CTX,
					     reset);
	bpf_counters_unmap(&ctr);
	relabel_say(c->o->out, reset, c->old.meta.default_action, c->pl->default_action);
	return 0;
}

static int fill(struct apply_ctx *c)
{
	struct fill_ids ids = {
		.rule_slot = c->slots.rule_slot,
		.ifindex = c->slots.ctx_ifindex,
		.ctx_slot = c->slots.ctx_slot,
		.ctx_flags = c->ctx_flags,
		.rule_new = c->slots.rule_new,
	};
	int err;

	for (size_t i = 0; i < c->pl->n_ctx; i++) {
		const struct apply_iface *ai = plan_iface(c, c->pl->ctx[i].ifname);

		if (ai && ai->handoff && c->pl->ctx[i].dir == TLSFW_DIR_INGRESS)
			c->ctx_flags[i] = TLSFW_DW_HANDOFF;
	}
	/* The inactive generation holds the policy the last flip retired (or what an apply
	 * killed with SIGKILL left): cleared once no packet can still be using it (grace.h). */
	if (c->st.have_maps)
		grace_since_flip();
	err = bpf_clear_gen(&c->maps, c->new_gen);
	if (err)
		return apply_fail(c, err, "cannot clear generation %u: %s", c->new_gen,
				  strerror(-err));
	err = apply_undo_push(c, (struct undo){ .kind = U_FILLED });
	if (err)
		return err;
	err = bpf_fill_gen(&c->maps, c->pl, c->new_gen, &ids, c->d);
	if (err)
		return apply_fail(c, err, "cannot fill the maps: %s", strerror(-err));
	return zero_new_counters(c);
}

/* The rule and interface records that differ from those the maps hold (base), written with
 * one batch update per map. */
static int records_write(const struct apply_ctx *c, const struct tlsfw_rule_info *rules,
			 const struct tlsfw_ctx_info *ctxs,
			 const struct tlsfw_rule_info *base_rules,
			 const struct tlsfw_ctx_info *base_ctxs)
{
	int err = bpf_array_write_changed(c->maps.rules, rules, base_rules, sizeof(*rules),
					  c->rule_end);

	return err ? err :
		     bpf_array_write_changed(c->maps.ifaces, ctxs, base_ctxs, sizeof(*ctxs),
					     TLSFW_MAX_CTX);
}

/* Records are about to be written up to c->rule_end: tlsfw_meta says so first, so that a
 * reader (or an apply after this one was killed) never misses one. */
static int raise_rule_end(struct apply_ctx *c)
{
	struct tlsfw_meta m = c->old.meta;
	uint32_t zero = 0;
	int err;

	/* another layout's (or no) meta: its readers read every record anyway */
	if (c->rule_end <= m.rule_end || m.abi_version != TLSFW_ABI_VERSION)
		return 0;
	m.rule_end = c->rule_end;
	err = apply_undo_push(c, (struct undo){ .kind = U_META });
	if (!err && bpf_map_update_elem(c->maps.meta, &zero, &m, BPF_ANY))
		err = apply_fail(c, -errno, "cannot write tlsfw_meta: %s", strerror(errno));
	return err;
}

static int write_names(struct apply_ctx *c)
{
	const struct plan *pl = c->pl;
	uint8_t old_bit = 1u << c->old_gen, new_bit = 1u << c->new_gen;
	int err;

	c->rule_end = c->old.rule_end;
	for (size_t i = 0; i < pl->n_rules; i++)
		if (c->slots.rule_slot[i] >= c->rule_end)
			c->rule_end = c->slots.rule_slot[i] + 1;
	/* Sized to the records written, not TLSFW_MAX_RULES: by now the heap reuses memory the
	 * compiler freed, and calloc() cleared all 666 KB of it (50 page faults). */
	c->rules = calloc(c->rule_end + 1, sizeof(*c->rules));
	err = c->rules ? raise_rule_end(c) : apply_fail(c, -ENOMEM, "out of memory");
	if (!err)
		err = apply_undo_push(c, (struct undo){ .kind = U_NAMES });
	if (err)
		return err;
	for (uint32_t s = 0; s < c->rule_end; s++) {
		c->rules[s] = c->old.rules[s];
		c->rules[s].in_use &= old_bit;
	}
	for (size_t i = 0; i < pl->n_rules; i++) {
		struct tlsfw_rule_info *ri = &c->rules[c->slots.rule_slot[i]];

		snprintf(ri->name, sizeof(ri->name), "%s", pl->rules[i].name);
		ri->order = i;
		ri->line = pl->rules[i].line;
		ri->action = pl->rules[i].action;
		ri->monitor = pl->rules[i].monitor;
		ri->content = (rule_is_content(&pl->rules[i]) ? TLSFW_RV_INSPECT : 0) |
			      (pl->rules[i].require_tls ? TLSFW_RV_REQUIRE : 0) |
			      (pl->rules[i].names ? TLSFW_RV_NAME : 0);
		ri->log = !!pl->rules[i].log_rate;
		ri->in_use |= new_bit;
	}
	for (uint32_t s = 0; s < TLSFW_MAX_CTX; s++) {
		c->ctxs[s] = c->old.ctxs[s];
		c->ctxs[s].in_use &= old_bit;
	}
	for (size_t i = 0; i < pl->n_ctx; i++) {
		struct tlsfw_ctx_info *ci = &c->ctxs[c->slots.ctx_slot[i]];
		uint8_t hook = TLSFW_HOOK_TC;

		for (size_t k = 0; k < pl->n_ifaces; k++)
			if (pl->ctx[i].dir == TLSFW_DIR_INGRESS &&
			    !strcmp(c->ifs[k].pi->name, pl->ctx[i].ifname))
				hook = c->ifs[k].hook;
		memset(ci->ifname, 0, sizeof(ci->ifname));
		snprintf(ci->ifname, sizeof(ci->ifname), "%s", pl->ctx[i].ifname);
		ci->ifindex = c->slots.ctx_ifindex[i];
		ci->dir = pl->ctx[i].dir;
		ci->hook = hook;
		ci->in_use |= new_bit;
	}
	err = records_write(c, c->rules, c->ctxs, c->old.rules, c->old.ctxs);
	return err ? apply_fail(c, err, "cannot write rule and interface names: %s",
				strerror(-err)) :
		     0;
}

static int flip(struct apply_ctx *c)
{
	int err = grace_flip_begin();

	if (err)
		return apply_fail(c, err, "cannot count the flip in the namespace's lock file: %s",
				  strerror(-err));
	c->flip_counted = true;
	err = bpf_set_gen(&c->maps, c->new_gen);
	if (err)
		return apply_fail(c, err, "cannot switch to generation %u: %s", c->new_gen,
				  strerror(-err));
	return apply_undo_push(c, (struct undo){ .kind = U_FLIP });
}

/* New maps under programs that read others (tables resized, progs_fit_tables): no packet reads
 * them until a program is swapped, so their generation switches now, not at the flip; each
 * interface then goes from the old policy to the new one as its program is replaced, never
 * through the empty generation of maps that were just made. */
static int flip_new_maps(struct apply_ctx *c)
{
	int err;

	if (c->st.have_maps || !c->st.n_ifaces)
		return 0;
	err = bpf_set_gen(&c->maps, c->new_gen);
	if (err)
		return apply_fail(c, err, "cannot switch the new maps to generation %u: %s",
				  c->new_gen, strerror(-err));
	return apply_undo_push(c, (struct undo){ .kind = U_FLIP });
}

static int write_meta(struct apply_ctx *c)
{
	struct tlsfw_meta m = {};
	uint32_t zero = 0;

	_Static_assert(sizeof(m.policy_hash) >= SHA256_TEXT_LEN, "tlsfw_meta.policy_hash");
	m.abi_version = TLSFW_ABI_VERSION;
	m.n_rules = c->pl->n_rules;
	m.applied_at = time(NULL);
	snprintf(m.policy_file, sizeof(m.policy_file), "%s", c->o->policy_file);
	sha256_text(c->o->sha256, m.policy_hash);
	m.default_action = c->pl->default_action;
	m.backend = c->o->backend;
	m.rule_end = c->rule_end; /* both generations' records, until commit releases some */
	m.netns_cookie = netns_cookie();
	progs_record(&c->progs, &c->old.meta, &m);
	if (bpf_map_update_elem(c->maps.meta, &zero, &m, BPF_ANY))
		return apply_fail(c, -errno, "cannot write tlsfw_meta: %s", strerror(errno));
	c->meta = m;
	return apply_undo_push(c, (struct undo){ .kind = U_META });
}

/* ---- rollback and commit ---------------------------------------------------------------- */

static int undo_one(struct apply_ctx *c, const struct undo *u)
{
	uint32_t zero = 0;
	int err = 0;

	switch (u->kind) {
	case U_FILLED:
		return bpf_clear_gen(&c->maps, c->new_gen);
	case U_XDP_NEW:
		return xdp_swap(u->ifindex, u->xdp_flags, u->new_fd, -1);
	case U_XDP_REPLACED:
		return xdp_swap(u->ifindex, u->xdp_flags, u->new_fd, u->old_fd);
	case U_XDP_REMOVED:
		return xdp_add(u->ifindex, u->xdp_flags, u->old_fd, NULL, 0);
	case U_TC_NEW:
		err = hook_tc_detach(u->ifindex, u->egress);
		if (u->hook_created)
			tc_hook_destroy(u->ifindex);
		return err;
	case U_TC_REPLACED:
		return tc_put(u->ifindex, u->egress, u->old_fd, true, NULL, 0);
	case U_TC_REMOVED:
		return tc_put(u->ifindex, u->egress, u->old_fd, false, NULL, 0);
	case U_NAMES:
		return records_write(c, c->old.rules, c->old.ctxs, c->rules, c->ctxs);
	case U_FLIP:
		return bpf_set_gen(&c->maps, c->old_gen);
	case U_META:
		return bpf_map_update_elem(c->maps.meta, &zero, &c->old.meta, BPF_ANY) ? -errno : 0;
	}
	return 0;
}

static const char *const undo_names[] = {
	[U_FILLED] = "clear the new generation",
	[U_XDP_NEW] = "remove the new XDP program",
	[U_XDP_REPLACED] = "restore the XDP program",
	[U_XDP_REMOVED] = "re-attach the XDP program",
	[U_TC_NEW] = "remove the new tc filter",
	[U_TC_REPLACED] = "restore the tc filter",
	[U_TC_REMOVED] = "re-attach the tc filter",
	[U_NAMES] = "restore rule names",
	[U_FLIP] = "switch back to the previous generation",
	[U_META] = "restore tlsfw_meta",
};

static void rollback(struct apply_ctx *c)
{
	bool flipped_back = false, flip_stuck = false;

	while (c->n_undo) {
		const struct undo *u = &c->undo[--c->n_undo];
		int err;

		/* Packets may still be deciding with the new generation: let them finish
		 * before it is cleared (see grace_period). */
		if (u->kind == U_FILLED && flipped_back)
			grace_period();
		/* The new generation is still the active one: clearing it would leave packets
		 * with neither policy. */
		if (u->kind == U_FILLED && flip_stuck)
			continue;
		err = undo_one(c, u);
		if (u->kind == U_FLIP) {
			flipped_back = !err;
			flip_stuck = err;
		}

		if (err) {
			c->rollback_failed = true;
			diag_sys_error(c->d, err, "rollback could not %s%s%s", undo_names[u->kind],
				       u->ifname ? " on " : "", u->ifname ? u->ifname : "");
		}
	}
}

/* After success: forget the previous generation. Failures here cannot hurt packets (the
 * old generation is unused; the next apply clears it again), so they are only reported. */
/* The records as the new generation alone uses them: slots of the old one freed. They are
 * built in the old generation's copies, of no use after the flip: a fresh 666 KB array
 * cost 160 page faults (performance.md). */
static int release_slots(struct apply_ctx *c, uint8_t new_bit)
{
	struct tlsfw_rule_info *rules = c->old.rules;
	struct tlsfw_ctx_info *ctxs = c->old.ctxs;
	uint32_t zero = 0, end = 0;
	int err;

	for (uint32_t s = 0; s < c->rule_end; s++) {
		rules[s] = c->rules[s];
		rules[s].in_use &= new_bit;
		if (!rules[s].in_use)
			memset(&rules[s], 0, sizeof(rules[s]));
		else
			end = s + 1;
	}
	for (uint32_t s = 0; s < TLSFW_MAX_CTX; s++) {
		ctxs[s] = c->ctxs[s];
		ctxs[s].in_use &= new_bit;
		if (!ctxs[s].in_use)
			memset(&ctxs[s], 0, sizeof(ctxs[s]));
	}
	err = records_write(c, rules, ctxs, c->rules, c->ctxs);
	if (err || end == c->meta.rule_end)
		return err;
	/* The released records are zero now: the next reader reads up to the new ones alone. */
	c->meta.rule_end = end;
	return bpf_map_update_elem(c->maps.meta, &zero, &c->meta, BPF_ANY) ? -errno : 0;
}

/* The old generation stays as it is: packets that read it before the flip may still be
 * using it, and the next apply clears it once a grace period has passed since the flip
 * (grace.h). Its counter slots are released here; a slot is zeroed only when an apply gives
 * it out, after that grace period. */
static void commit(struct apply_ctx *c)
{
	uint8_t new_bit = 1u << c->new_gen;
	int err = release_slots(c, new_bit);

	if (err)
		diag_warning(c->d, NULL, "cannot release unused counter slots: %s", strerror(-err));
}

static void report(const struct apply_ctx *c)
{
	FILE *out = c->o->out;

	if (!out)
		return;
	for (size_t i = 0; i < c->pl->n_ifaces; i++) {
		const struct apply_iface *ai = &c->ifs[i];

		fprintf(out, "%s:", ai->pi->name);
		if (wants(ai, POL_HOOK_INGRESS))
			fprintf(out, " ingress %s", hook_label(ai->hook));
		if (wants(ai, POL_HOOK_EGRESS))
			fprintf(out, "%s egress tc", wants(ai, POL_HOOK_INGRESS) ? "," : "");
		if (wants_reply(ai))
			fprintf(out, " (reject answers built in tc)");
		fputc('\n', out);
		if (*ai->native_why)
			fprintf(out, "  native XDP refused by the kernel: %s\n", ai->native_why);
		if (*ai->generic_why && ai->hook == TLSFW_HOOK_TC)
			fprintf(out, "  generic XDP refused by the kernel: %s\n", ai->generic_why);
	}
	for (size_t i = 0; i < c->st.n_ifaces; i++)
		if (!plan_iface(c, c->st.ifaces[i].name))
			fprintf(out, "%s: detached (no longer in the policy)\n",
				c->st.ifaces[i].name);
	if (c->blocks_full)
		fprintf(out,
			"counters: restarted: the new interfaces need more counter blocks than the policy in force leaves free (%d in all); new maps loaded\n",
			TLSFW_MAX_CTX);
	/* which programs the kernel had to verify, for users timing an apply, and tests */
	fprintf(out, "programs:");
	for (unsigned int r = 0; r < TLSFW_ROLES; r++)
		if (c->progs.loaded & (1u << r))
			fprintf(out, " %s", progs_kernel_name(r));
	fprintf(out, "%s%s\n", c->progs.loaded ? " loaded" : "",
		c->progs.reused ?
			(c->progs.loaded ? ", the others reused" : " reused, none loaded") :
			"");
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (level == LIBBPF_INFO && !getenv("TLSFW_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int run(struct apply_ctx *c)
{
	int err;

	c->step = "find";
	err = state_find(&c->st, c->d);
	if (err)
		return err;
	if (c->o->had_policy)
		*c->o->had_policy = c->st.n_ifaces > 0;
	if ((err = step(c, "find")))
		return err;
	c->progs.flows = c->pl->flows;
	/* A new name table is whole for a policy with names or a flow table (flows: set, or a
	 * rule keeping flows): only a policy that keeps no flow at all makes both small. */
	c->progs.names = c->pl->has_names || c->pl->flows;
	/* tables too small or of another size: the cold path */
	err = progs_fit_tables(&c->st, c->pl->flows, c->pl->has_names);
	if (err < 0)
		return apply_fail(c, err, "cannot read the flow and name tables in use: %s",
				  strerror(-err));
	if (c->st.have_maps) {
		err = state_meta_read(&c->st.maps, &c->old);
		if (err)
			return apply_fail(c, err, "cannot read the enforced policy's metadata: %s",
					  strerror(-err));
		/* 0: an apply killed before its meta step; the map layouts are checked at load. */
		if (c->old.meta.abi_version && c->old.meta.abi_version != TLSFW_ABI_VERSION)
			return apply_fail(
				c, -EUCLEAN,
				"the enforced policy was installed by a tlsfw with map layout %u (this one: %u); run `tlsfw detach` first",
				c->old.meta.abi_version, TLSFW_ABI_VERSION);
		c->old_gen = c->old.gen;
	}
	/* Interfaces so many new that their counter blocks and the policy's in force exceed
	 * TLSFW_MAX_CTX: new maps, whose blocks are all free (the cold path, counters restart). */
	if (c->st.have_maps && !slots_ctx_fit(c->pl, &c->old, c->old_gen)) {
		state_meta_free(&c->old);
		progs_let_go(&c->st);
		c->blocks_full = true;
	}
	if (!c->st.have_maps) {
		if (state_meta_alloc(&c->old))
			return apply_fail(c, -ENOMEM, "out of memory");
		c->old_gen = 0; /* fresh maps start at generation 0, empty */
	}
	c->new_gen = !c->old_gen;
	err = resolve_ifaces(c);
	if (err)
		return err;

	if ((err = step(c, "reuse")) || (err = reuse(c)))
		return err;
	if ((err = step(c, "load")) || (err = load(c)))
		return err;
	if ((err = assign_slots(c)))
		return err;
	if ((err = step(c, "fill")) || (err = fill(c)))
		return err;
	if (c->o->dry_run)
		return 0;
	if ((err = step(c, "replace")) || (err = flip_new_maps(c)) || (err = hooks_replace(c)))
		return err;
	if ((err = step(c, "attach-new")) || (err = hooks_attach_new(c)))
		return err;
	if ((err = step(c, "names")) || (err = write_names(c)))
		return err;
	if ((err = step(c, "flip")) || (err = zero_relabeled(c)) || (err = flip(c)))
		return err;
	if ((err = step(c, "post-flip-attach")) || (err = hooks_post_flip_attach(c)))
		return err;
	if ((err = step(c, "detach-old")) || (err = hooks_detach_old(c)))
		return err;
	if ((err = step(c, "meta")) || (err = write_meta(c)))
		return err;
	return 0;
}

/* A misspelt TLSFW_FAULT would make a rollback test pass without injecting anything (and a
 * misspelt TLSFW_XDP_FAULT a fallback test pass on XDP). */
static int check_fault_env(struct apply_ctx *c)
{
	const char *fault = getenv("TLSFW_FAULT"), *xdp = getenv("TLSFW_XDP_FAULT");

	if (xdp && *xdp && strcmp(xdp, "refuse"))
		return apply_fail(c, -EINVAL,
				  "TLSFW_XDP_FAULT=%s: the only value is 'refuse' (see tlsfw(8))",
				  xdp);
	if (!fault || !*fault)
		return 0;
	for (size_t i = 0; apply_steps[i]; i++)
		if (!strcmp(apply_steps[i], fault))
			return 0;
	return apply_fail(c, -EINVAL, "TLSFW_FAULT=%s names no step of apply (see tlsfw(8))",
			  fault);
}

int apply_bpf(const struct plan *pl, const struct apply_opts *o, bool *rollback_failed,
	      struct diag *d)
{
	struct apply_ctx c = { .pl = pl, .o = o, .d = d, .step = "start" };
	int err;

	memset(&c.maps, 0xff, sizeof(c.maps));
	progs_init(&c.progs);
	libbpf_set_print(print_libbpf);
	c.ctxs = calloc(TLSFW_MAX_CTX, sizeof(*c.ctxs));
	if (!c.ctxs)
		err = apply_fail(&c, -ENOMEM, "out of memory");
	else if (!(err = check_fault_env(&c)))
		err = run(&c);
	if (err || o->dry_run)
		rollback(&c);
	else {
		commit(&c);
		report(&c);
	}

	if (c.flip_counted)
		grace_flip_end(!err);
	*rollback_failed = c.rollback_failed;
	free(c.undo);
	free(c.ifs);
	slots_free(&c.slots);
	free(c.ctx_flags);
	free(c.rules);
	free(c.ctxs);
	state_meta_free(&c.old);
	/* Programs stay attached after the skeleton is gone: netlink attachments hold them. */
	progs_free(&c.progs);
	state_free(&c.st);
	return err;
}
