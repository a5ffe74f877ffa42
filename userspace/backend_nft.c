// SPDX-License-Identifier: GPL-2.0
/*
 * The nftables backend (backend.h): apply is apply_nft.c (the batch nft_build.c makes), and
 * status, stats and detach read table inet tlsfw alone: the policy chain's records, the
 * chains of the hooked interfaces, the named counters and the rules that count into them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "apply_nft.h"
#include "backend.h"
#include "linkinfo.h"
#include "nft_priv.h"

static int nft_in_force(bool *yes, struct diag *d)
{
	struct nft_status st;
	int err = nft_status_read(&st, d);

	*yes = !err && st.present;
	nft_status_free(&st);
	return err;
}

/* apply replaces table inet tlsfw whole: one that tlsfw did not make (nft_status.foreign)
 * would lose its chains and rules without a word. Refused before anything changes. */
static int nft_name_free(struct diag *d)
{
	struct nft_status st;
	int err = nft_status_read(&st, d);

	nft_status_free(&st);
	if (err || !st.foreign)
		return err;
	diag_error(
		d, NULL,
		"table inet %s exists but tlsfw did not make it (it has no chain %s); tlsfw owns that name and would replace the table: rename your table, or delete it (`nft delete table inet %s`), then apply again",
		NFT_TLSFW_TABLE, NFT_POLICY_CHAIN, NFT_TLSFW_TABLE);
	return -EEXIST;
}

/* What of c backend nft cannot do on a bridge port: nftables' inet `reject` routes its
 * answer (a bridge's ports have no route: measured, the answer never left), and `ct state`
 * in its prerouting chains did not see bridged flows (test_bridge.sh). NULL: nothing. */
static const char *nft_bridge_gap(const struct compiled *c)
{
	if (c->plan.default_action == TLSFW_ACT_REJECT)
		return "default: reject";
	for (size_t i = 0; i < c->plan.n_rules; i++) {
		const struct plan_rule *r = &c->plan.rules[i];

		if (r->action == TLSFW_ACT_REJECT && !r->monitor)
			return "action: reject";
		if (rule_is_state(r))
			return "state:";
	}
	return NULL;
}

/* Backend nft on a bridge port: refused, at the interface's line, for what it cannot do. */
static int nft_bridge_ports(const struct compiled *c, struct diag *d)
{
	const char *gap = nft_bridge_gap(c);
	char master[IFNAMSIZ];
	int err = 0, yes;

	for (size_t i = 0; gap && i < c->plan.n_ifaces; i++) {
		yes = link_bridge_master(c->plan.ifaces[i].name, master);
		if (yes < 0) {
			diag_error(d, NULL, "rtnetlink: cannot read interface '%s': %s",
				   c->plan.ifaces[i].name, strerror(-yes));
			return yes;
		}
		if (!yes)
			continue;
		diag_error(
			d, backend_iface_loc(c, i),
			"interface '%s' is a port of bridge '%s': backend nft cannot apply %s there (its answers and connection state need a routed interface); use backend: bpf, or drop",
			c->plan.ifaces[i].name, master, gap);
		err = -EOPNOTSUPP;
	}
	return err;
}

static int nft_apply(const struct backend_apply *a, struct backend_result *r, struct diag *d)
{
	const struct compiled *c = a->c;
	struct nft_apply_opts o = {
		.policy_file = a->policy_file,
		.sha256 = c->pol.sha256,
		.dry_run = a->dry_run,
		.out = a->out,
	};
	int err = nft_name_free(d);

	if (!err)
		err = nft_bridge_ports(c, d);
	return err ?: apply_nft(&c->plan, &o, d);
}

static int nft_status(struct status_model *m, struct diag *d)
{
	struct nft_status st;
	int err = nft_status_read(&st, d), act;

	if (err)
		return err;
	m->ifaces = calloc(st.n_hooks + 1, sizeof(*m->ifaces));
	if (!m->ifaces) {
		nft_status_free(&st);
		return diag_sys_error(d, -ENOMEM, "cannot read table inet %s", NFT_TLSFW_TABLE);
	}
	m->have_policy = st.policy_file[0] != 0;
	snprintf(m->file, sizeof(m->file), "%s", st.policy_file);
	sha256_text(st.sha256, m->hash);
	m->applied_at = st.applied_at;
	m->n_rules = st.n_rules;
	act = action_parse(st.default_action);
	m->default_action = act < 0 ? TLSFW_ACT_ALLOW : act;
	/* the sets' generation: 'a', then 'b' at the next apply, and so on */
	m->generation = st.tag == 'a' ? 0 : st.tag == 'b' ? 1 : -1;
	m->table = "inet " NFT_TLSFW_TABLE;
	for (size_t i = 0; i < st.n_hooks; i++) {
		struct status_iface *o = &m->ifaces[m->n_ifaces++];

		snprintf(o->name, sizeof(o->name), "%s", st.hooks[i].ifname);
		o->ifindex = if_nametoindex(o->name);
		o->ingress = st.hooks[i].ingress ? HOOK_NFT : HOOK_NONE;
		o->egress = st.hooks[i].egress ? HOOK_NFT : HOOK_NONE;
		o->in_policy = true;
		if (!o->ifindex) { /* the hooks wait for a device of that name */
			o->lost = IFACE_ABSENT;
			o->ingress = o->egress = HOOK_NONE;
		}
	}
	nft_status_free(&st);
	return 0;
}

/* ---- counters ------------------------------------------------------------------------ */

/*
 * The named counters (apply_nft.h: one per rule, interface and direction, plus the
 * interface's own) turned into the snapshot the BPF backend gives, so the table, JSON,
 * Prometheus text, --watch and --listen work for both backends alike.
 */
static uint8_t action_of(const char *a)
{
	int v = action_parse(a);

	return v < 0 ? TLSFW_ACT_ALLOW : v;
}

static long rule_index(const struct stats_snap *s, const char *name)
{
	for (size_t r = 0; r < s->n_rules; r++)
		if (!strcmp(s->rules[r].name, name))
			return r;
	return -1;
}

static struct stats_block *block_of(struct stats_snap *s, const struct nft_counter *k)
{
	int dir = dir_parse(k->direction);

	for (size_t b = 0; b < s->n_blocks; b++)
		if (s->blocks[b].dir == dir && !strcmp(s->blocks[b].ifname, k->ifname))
			return &s->blocks[b];
	return NULL;
}

static void add(struct tlsfw_counter *c, const struct nft_counter *k)
{
	c->packets += k->packets;
	c->bytes += k->bytes;
}

/* The interface's own counters, "(name)" with a name of names.c: their slot in stat[]. */
static int own_stat(const char *rule)
{
	char name[64];
	size_t n = strlen(rule);

	if (n < 3 || rule[0] != '(' || rule[n - 1] != ')' || n - 2 >= sizeof(name))
		return -1;
	memcpy(name, rule + 1, n - 2);
	name[n - 2] = 0;
	return stat_parse(name);
}

static int fill(struct stats_snap *s, const struct nft_counter *k, size_t n)
{
	s->rules = calloc(n + 1, sizeof(*s->rules));
	s->blocks = calloc(n + 1, sizeof(*s->blocks));
	if (!s->rules || !s->blocks)
		return -ENOMEM;
	/* Rules in first-seen order (the reader lists them in policy order), blocks likewise. */
	for (size_t i = 0; i < n; i++) {
		struct stats_rule *r;

		if (!nft_own_counter(k[i].rule) && rule_index(s, k[i].rule) < 0) {
			r = &s->rules[s->n_rules];
			snprintf(r->name, sizeof(r->name), "%s", k[i].rule);
			r->order = s->n_rules++;
			r->line = k[i].line;
			r->action = action_of(k[i].action);
			r->monitor = !strcmp(k[i].mode, mode_name(true));
		}
		if (!block_of(s, &k[i])) {
			struct stats_block *b = &s->blocks[s->n_blocks++];

			snprintf(b->ifname, sizeof(b->ifname), "%s", k[i].ifname);
			b->dir = dir_parse(k[i].direction) == TLSFW_DIR_EGRESS ? TLSFW_DIR_EGRESS :
										 TLSFW_DIR_INGRESS;
			b->hook = HOOK_NFT;
			b->lost = !if_nametoindex(b->ifname);
		}
	}
	for (size_t b = 0; b < s->n_blocks; b++) {
		s->blocks[b].rule = calloc(s->n_rules + 1, sizeof(*s->blocks[b].rule));
		if (!s->blocks[b].rule)
			return -ENOMEM;
	}
	/* The verdict totals are nftables counters of their own, kept across apply like the
	 * BPF backend's, not sums of the rule counters (which start again when a rule is
	 * renamed). */
	for (size_t i = 0; i < n; i++) {
		struct stats_block *b = block_of(s, &k[i]);
		long r = rule_index(s, k[i].rule);
		int st = own_stat(k[i].rule);

		if (r >= 0)
			add(&b->rule[r], &k[i]);
		else if (st >= 0)
			add(&b->stat[st], &k[i]);
	}
	return 0;
}

/* reset: GETOBJ_RESET reads and zeroes every counter in one step. */
static int nft_counters(struct stats_snap *s, bool reset, struct diag *d)
{
	struct nft_counter *k = NULL;
	struct nft_status st;
	size_t n = 0;
	int err = nft_status_read(&st, d);

	if (err)
		return err;
	s->enforced = st.present;
	s->backend = backend_nft.name;
	s->ip_bytes = true;
	snprintf(s->policy_file, sizeof(s->policy_file), "%s", st.policy_file);
	sha256_text(st.sha256, s->policy_hash);
	s->applied_at = st.applied_at;
	s->default_action = action_of(st.default_action);
	nft_status_free(&st);
	err = nft_counters_read(&k, &n, reset, d);
	if (!err && (err = fill(s, k, n)))
		diag_sys_error(d, err, "cannot read the counters");
	free(k);
	return err;
}

/* ---- detach -------------------------------------------------------------------------- */

static int nft_detach_op(char *const *ifnames, size_t n, FILE *out, struct diag *d)
{
	const char **pick = calloc(n + 1, sizeof(*pick));
	struct nft_status st;
	size_t k = 0;
	int err;

	if (!pick)
		return diag_sys_error(d, -ENOMEM, "cannot detach");
	err = nft_status_read(&st, d);
	/* named interfaces that the table does not hold: said, as the BPF backend says it */
	for (size_t i = 0; !err && i < n; i++) {
		bool ours = false;

		for (size_t h = 0; h < st.n_hooks; h++)
			ours |= !strcmp(st.hooks[h].ifname, ifnames[i]);
		if (ours)
			pick[k++] = ifnames[i];
		else
			fprintf(out, "%s: nothing of tlsfw attached\n", ifnames[i]);
	}
	if (!err && (!n || k))
		err = nft_detach(pick, k, d);
	if (!err && !n)
		fprintf(out, "table inet %s: removed (nftables)\n", NFT_TLSFW_TABLE);
	for (size_t i = 0; !err && i < k; i++)
		fprintf(out, "%s: detached (nftables)\n", pick[i]);
	nft_status_free(&st);
	free(pick);
	return err;
}

const struct backend backend_nft = {
	.name = "nft",
	.what = "table inet " NFT_TLSFW_TABLE,
	.in_force = nft_in_force,
	.apply = nft_apply,
	.status = nft_status,
	.counters = nft_counters,
	.detach = nft_detach_op,
};
