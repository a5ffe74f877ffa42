// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 4a, the hooks: attaching, swapping and removing tlsfw's XDP and tc programs for one
 * apply, each change recorded in the undo log (apply_bpf.c runs the steps and the rollback).
 * Split from apply_bpf.c so that each file holds one concern: the order of the steps there,
 * what happens on an interface here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>

#include "apply_bpf_priv.h"
#include "hook.h"

unsigned int hook_role(uint8_t hook, bool egress)
{
	if (egress)
		return TLSFW_ROLE_TC_EGRESS;
	return hook == TLSFW_HOOK_TC ? TLSFW_ROLE_TC_INGRESS : TLSFW_ROLE_XDP;
}

/* The program of a role, loaded now if the load step did not (tc ingress where XDP turned out
 * not to attach). Returns the fd or -errno. */
static int role_fd(struct apply_ctx *c, unsigned int role)
{
	int err;

	if (c->progs.fd[role] >= 0)
		return c->progs.fd[role];
	err = progs_load(&c->progs, 1u << role, &c->maps, &c->maps, c->d);
	return err ? err : c->progs.fd[role];
}

static int tc_renew(struct apply_ctx *c, struct apply_iface *ai, unsigned int role, int old_fd,
		    uint32_t old_id);

static int prog_fd(struct apply_ctx *c, uint8_t hook, bool egress)
{
	return role_fd(c, hook_role(hook, egress));
}

/* The reply helper next to XDP on tc ingress (apply_reply.h): wanted where XDP decides
 * ingress and hands its rejects over. */
bool wants_reply(const struct apply_iface *ai)
{
	return ai->handoff &&
	       (ai->hook == TLSFW_HOOK_XDP_NATIVE || ai->hook == TLSFW_HOOK_XDP_GENERIC);
}

static bool has_reply(const struct apply_iface *ai)
{
	return ai->old && ai->old->tc_in_fd >= 0 && ai->old->tc_in_reply;
}

uint8_t hook_of_attached(unsigned int attached)
{
	return attached == XDP_ATTACHED_SKB ? TLSFW_HOOK_XDP_GENERIC : TLSFW_HOOK_XDP_NATIVE;
}

static uint32_t hook_xdp_flags(uint8_t hook)
{
	return hook == TLSFW_HOOK_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

static int attach_tc_fd(struct apply_ctx *c, struct apply_iface *ai, bool egress, int fd)
{
	char why[256];
	bool created;
	int err;

	err = tc_hook(ai->ifindex, &created);
	if (err)
		return apply_fail_at(c, ai, err, "%s: cannot create the clsact qdisc: %s",
				     ai->pi->name, strerror(-err));
	err = tc_put(ai->ifindex, egress, fd, false, why, sizeof(why));
	if (err) {
		if (created)
			tc_hook_destroy(ai->ifindex);
		if (err == -EEXIST)
			return apply_fail_at(
				c, ai, err,
				"%s: a tc filter already sits at tlsfw's handle and priority (0x%x) on %s; remove it first",
				ai->pi->name, TLSFW_TC_PRIO, egress ? "egress" : "ingress");
		return apply_fail_at(c, ai, err, "%s: cannot attach the tc %s program: %s%s%s%s",
				     ai->pi->name, egress ? "egress" : "ingress", why,
				     *why ? " (" : "", strerror(-err), *why ? ")" : "");
	}
	return apply_undo_push(c, (struct undo){ .kind = U_TC_NEW,
						 .ifname = ai->pi->name,
						 .ifindex = ai->ifindex,
						 .egress = egress,
						 .hook_created = created,
						 .new_fd = fd });
}

static int attach_tc(struct apply_ctx *c, struct apply_iface *ai, bool egress)
{
	int fd = prog_fd(c, TLSFW_HOOK_TC, egress);

	return fd < 0 ? fd : attach_tc_fd(c, ai, egress, fd);
}

/* TLSFW_XDP_FAULT=refuse (tests only): in xdp_mode auto, XDP is taken as refused in both
 * modes, so that auto takes its tc ingress fallback, which no device of the test machine
 * needs (generic XDP attaches everywhere there). */
static bool xdp_refused_for_test(void)
{
	const char *f = getenv("TLSFW_XDP_FAULT");

	return f && !strcmp(f, "refuse");
}

/* Ingress on an interface without tlsfw: XDP in the mode asked for; auto tries native, then
 * generic, then tc ingress. */
static int attach_ingress(struct apply_ctx *c, struct apply_iface *ai)
{
	static const uint8_t order[] = { TLSFW_HOOK_XDP_NATIVE, TLSFW_HOOK_XDP_GENERIC };
	int fd = prog_fd(c, TLSFW_HOOK_XDP_NATIVE, false), err = -EOPNOTSUPP;
	char why[sizeof(ai->native_why)] = "";

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < 2; i++) {
		uint8_t hook = order[i];

		if (ai->pi->xdp_mode == POL_XDP_NATIVE && hook != TLSFW_HOOK_XDP_NATIVE)
			continue;
		if (ai->pi->xdp_mode == POL_XDP_GENERIC && hook != TLSFW_HOOK_XDP_GENERIC)
			continue;
		if (ai->pi->xdp_mode == POL_XDP_AUTO && xdp_refused_for_test()) {
			err = -EOPNOTSUPP;
			snprintf(why, sizeof(why), "refused for the test (TLSFW_XDP_FAULT=refuse)");
		} else {
			err = xdp_add(ai->ifindex, hook_xdp_flags(hook), fd, why, sizeof(why));
		}
		if (err && hook == TLSFW_HOOK_XDP_NATIVE)
			snprintf(ai->native_why, sizeof(ai->native_why), "%s",
				 *why ? why : strerror(-err));
		if (err && hook == TLSFW_HOOK_XDP_GENERIC)
			snprintf(ai->generic_why, sizeof(ai->generic_why), "%s",
				 *why ? why : strerror(-err));
		if (!err) {
			ai->hook = hook;
			return apply_undo_push(c, (struct undo){ .kind = U_XDP_NEW,
								 .ifname = ai->pi->name,
								 .ifindex = ai->ifindex,
								 .xdp_flags = hook_xdp_flags(hook),
								 .new_fd = fd });
		}
		if (err == -EPERM || err == -EBUSY || err == -EEXIST)
			break;
	}
	if (ai->pi->xdp_mode != POL_XDP_AUTO || err == -EPERM || err == -EBUSY || err == -EEXIST)
		return apply_fail_at(c, ai, err, "%s: cannot attach XDP in %s mode: %s%s%s%s",
				     ai->pi->name,
				     ai->pi->xdp_mode == POL_XDP_GENERIC ? "generic" :
				     ai->pi->xdp_mode == POL_XDP_NATIVE	 ? "native" :
									   "any",
				     why, *why ? " (" : "", strerror(-err), *why ? ")" : "");
	ai->hook = TLSFW_HOOK_TC;
	/* only XDP's reply helper on tc ingress (XDP removed by another tool): tc takes its place */
	if (has_reply(ai))
		return tc_renew(c, ai, TLSFW_ROLE_TC_INGRESS, ai->old->tc_in_fd, ai->old->tc_in_id);
	return attach_tc(c, ai, false);
}

/* ---- the switch ------------------------------------------------------------------------- */

/* Swap the tc filter at tlsfw's place on one side from old_fd to fd. */
static int tc_swap(struct apply_ctx *c, struct apply_iface *ai, bool egress, int fd, int old_fd,
		   const char *what)
{
	char why[256];
	int err = tc_put(ai->ifindex, egress, fd, true, why, sizeof(why));

	if (err)
		return apply_fail_at(c, ai, err, "%s: cannot replace the %s program: %s%s%s%s",
				     ai->pi->name, what, why, *why ? " (" : "", strerror(-err),
				     *why ? ")" : "");
	return apply_undo_push(c, (struct undo){ .kind = U_TC_REPLACED,
						 .ifname = ai->pi->name,
						 .ifindex = ai->ifindex,
						 .egress = egress,
						 .old_fd = old_fd,
						 .new_fd = fd });
}

/* A role's program is already the one in place (reused: nothing to swap). */
static bool in_place(const struct apply_ctx *c, unsigned int role, uint32_t id)
{
	return c->progs.fd[role] >= 0 && c->progs.id[role] == id;
}

/* Swap the tc filter of a role, unless its program is already in place. */
static int tc_renew(struct apply_ctx *c, struct apply_iface *ai, unsigned int role, int old_fd,
		    uint32_t old_id)
{
	static const char *const what[TLSFW_ROLES] = {
		[TLSFW_ROLE_TC_INGRESS] = "tc ingress",
		[TLSFW_ROLE_TC_EGRESS] = "tc egress",
		[TLSFW_ROLE_TC_REPLY] = "tc reply",
	};
	int fd = role_fd(c, role);

	if (fd < 0 || in_place(c, role, old_id))
		return fd < 0 ? fd : 0;
	return tc_swap(c, ai, role == TLSFW_ROLE_TC_EGRESS, fd, old_fd, what[role]);
}

static int replace_xdp(struct apply_ctx *c, struct apply_iface *ai)
{
	struct state_iface *old = ai->old;
	uint32_t mode = xdp_mode_flags(old->xdp_attached);
	int err, fd = role_fd(c, TLSFW_ROLE_XDP);

	if (fd < 0 || in_place(c, TLSFW_ROLE_XDP, old->xdp_id))
		return fd < 0 ? fd : 0;
	err = xdp_swap(ai->ifindex, mode, old->xdp_fd, fd);
	if (err)
		return apply_fail_at(c, ai, err, "%s: cannot replace the XDP program: %s",
				     ai->pi->name, strerror(-err));
	return apply_undo_push(c, (struct undo){ .kind = U_XDP_REPLACED,
						 .ifname = ai->pi->name,
						 .ifindex = ai->ifindex,
						 .xdp_flags = mode,
						 .old_fd = old->xdp_fd,
						 .new_fd = fd });
}

/* replace: hooks that stay get this apply's programs (nothing to do for reused ones). */
int hooks_replace(struct apply_ctx *c)
{
	for (size_t i = 0; i < c->pl->n_ifaces; i++) {
		struct apply_iface *ai = &c->ifs[i];
		struct state_iface *old = ai->old;
		bool in = wants(ai, POL_HOOK_INGRESS) && !ai->mode_change;
		int err = 0;

		if (!old)
			continue;
		if (in && old->xdp_fd >= 0)
			err = replace_xdp(c, ai);
		if (!err && in && old->xdp_fd < 0 && tc_decides(old))
			err = tc_renew(c, ai, TLSFW_ROLE_TC_INGRESS, old->tc_in_fd, old->tc_in_id);
		if (!err && wants_reply(ai) && has_reply(ai))
			err = tc_renew(c, ai, TLSFW_ROLE_TC_REPLY, old->tc_in_fd, old->tc_in_id);
		if (!err && wants(ai, POL_HOOK_EGRESS) && old->tc_eg_fd >= 0)
			err = tc_renew(c, ai, TLSFW_ROLE_TC_EGRESS, old->tc_eg_fd, old->tc_eg_id);
		if (err)
			return err;
	}
	return 0;
}

/* Interfaces (and hooks) new to tlsfw are attached before the flip: the active generation
 * has no entry for them, so the new programs let their packets pass untouched until the flip
 * enforces every interface at the same instant. */
int hooks_attach_new(struct apply_ctx *c)
{
	for (size_t i = 0; i < c->pl->n_ifaces; i++) {
		struct apply_iface *ai = &c->ifs[i];
		struct state_iface *old = ai->old;
		int err;

		if (wants(ai, POL_HOOK_INGRESS) &&
		    (!old || (old->xdp_fd < 0 && !tc_decides(old)))) {
			err = attach_ingress(c, ai);
			/* XDP back next to the reply helper that another tool left behind */
			if (!err && wants_reply(ai) && has_reply(ai))
				err = tc_renew(c, ai, TLSFW_ROLE_TC_REPLY, old->tc_in_fd,
					       old->tc_in_id);
			if (err)
				return err;
		}
		/* After a tc ingress hook (xdp_mode changes to XDP) the helper takes its place
		 * after the flip (post_flip_attach); otherwise before, like any new hook: until
		 * the flip no context word asks for it. */
		if (wants_reply(ai) && !has_reply(ai) &&
		    !(ai->mode_change && old && old->tc_in_fd >= 0)) {
			int fd = role_fd(c, TLSFW_ROLE_TC_REPLY);

			err = fd < 0 ? fd : attach_tc_fd(c, ai, false, fd);
			if (err)
				return err;
		}
		if (wants(ai, POL_HOOK_EGRESS) && (!old || old->tc_eg_fd < 0)) {
			err = attach_tc(c, ai, true);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Remove tlsfw's XDP program, or its tc filter on one side, from an interface it had
 * (ai: the policy's interface, for a located error; NULL when the policy drops it). */
static int remove_fail(struct apply_ctx *c, const struct apply_iface *ai, int err,
		       const char *ifname, const char *what)
{
	if (ai)
		return apply_fail_at(c, ai, err, "%s: cannot remove the %s: %s", ifname, what,
				     strerror(-err));
	return apply_fail(c, err, "%s: cannot remove the %s: %s", ifname, what, strerror(-err));
}

static int xdp_remove(struct apply_ctx *c, const struct apply_iface *ai,
		      const struct state_iface *old)
{
	uint32_t mode = xdp_mode_flags(old->xdp_attached);
	int err = xdp_swap(old->ifindex, mode, old->xdp_fd, -1);

	if (err)
		return remove_fail(c, ai, err, old->name, "XDP program");
	return apply_undo_push(c, (struct undo){ .kind = U_XDP_REMOVED,
						 .ifname = old->name,
						 .ifindex = old->ifindex,
						 .xdp_flags = mode,
						 .old_fd = old->xdp_fd });
}

static int tc_remove(struct apply_ctx *c, const struct apply_iface *ai,
		     const struct state_iface *old, bool egress)
{
	int err = hook_tc_detach(old->ifindex, egress);

	if (err)
		return remove_fail(c, ai, err, old->name,
				   egress ? "tc egress filter" : "tc ingress filter");
	return apply_undo_push(c,
			       (struct undo){ .kind = U_TC_REMOVED,
					      .ifname = old->name,
					      .ifindex = old->ifindex,
					      .egress = egress,
					      .old_fd = egress ? old->tc_eg_fd : old->tc_in_fd });
}

/* XDP took over ingress from the tc ingress program: that filter goes, or becomes the reply
 * helper at the same place when XDP hands its rejects over. */
static int tc_ingress_after_xdp(struct apply_ctx *c, struct apply_iface *ai)
{
	if (wants_reply(ai))
		return tc_renew(c, ai, TLSFW_ROLE_TC_REPLY, ai->old->tc_in_fd, 0);
	return tc_remove(c, ai, ai->old, false);
}

/* Ingress changes kind (xdp_mode changed): the old hook goes, the new comes. Native and
 * generic XDP cannot coexist on a device, so this is the one place with a short moment in
 * which that interface's ingress is unfiltered. */
int hooks_post_flip_attach(struct apply_ctx *c)
{
	for (size_t i = 0; i < c->pl->n_ifaces; i++) {
		struct apply_iface *ai = &c->ifs[i];
		struct state_iface *old = ai->old;
		char why[sizeof(ai->native_why)];
		int err, fd;

		if (!ai->mode_change)
			continue;
		fd = prog_fd(c, ai->hook, false);
		if (fd < 0)
			return fd;
		if (old->xdp_fd >= 0 && (err = xdp_remove(c, ai, old)))
			return err;
		err = xdp_add(ai->ifindex, hook_xdp_flags(ai->hook), fd, why, sizeof(why));
		if (err)
			return apply_fail_at(
				c, ai, err, "%s: cannot attach XDP in %s mode: %s%s%s%s",
				ai->pi->name,
				ai->hook == TLSFW_HOOK_XDP_GENERIC ? "generic" : "native", why,
				*why ? " (" : "", strerror(-err), *why ? ")" : "");
		err = apply_undo_push(c, (struct undo){ .kind = U_XDP_NEW,
							.ifname = ai->pi->name,
							.ifindex = ai->ifindex,
							.xdp_flags = hook_xdp_flags(ai->hook),
							.new_fd = fd });
		if (err)
			return err;
		if (old->tc_in_fd >= 0 && !old->tc_in_reply) {
			err = tc_ingress_after_xdp(c, ai);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Hooks the new policy does not use. After the flip their programs already let everything
 * pass (no entry in the new generation), so removing them changes no verdict. */
int hooks_detach_old(struct apply_ctx *c)
{
	for (size_t i = 0; i < c->st.n_ifaces; i++) {
		struct state_iface *old = &c->st.ifaces[i];
		const struct apply_iface *ai = plan_iface(c, old->name);
		bool in = ai && wants(ai, POL_HOOK_INGRESS), eg = ai && wants(ai, POL_HOOK_EGRESS);
		int err;

		if (old->xdp_fd >= 0 && !in && (err = xdp_remove(c, NULL, old)))
			return err;
		/* the reply helper goes too when XDP no longer hands anything over */
		if (old->tc_in_fd >= 0 &&
		    (!in || (old->tc_in_reply && !wants_reply(ai) && ai->hook != TLSFW_HOOK_TC)) &&
		    (err = tc_remove(c, NULL, old, false)))
			return err;
		if (old->tc_eg_fd >= 0 && !eg && (err = tc_remove(c, NULL, old, true)))
			return err;
	}
	return 0;
}
