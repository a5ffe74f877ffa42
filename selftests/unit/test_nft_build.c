// SPDX-License-Identifier: GPL-2.0
/*
 * The nftables backend's batch, built without the kernel (the plan's nftables half encoded by
 * nft_encode.c): what a policy turns into (sets,
 * chains, rules, counters), merged set elements, the map from batch messages back to policy
 * rules, the dry-run batch without its end message, and the replacement of a table that
 * holds a previous policy (kept counters, deleted leftovers, relabelled totals made again).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>

#include "nft_encode.h"
#include "plan.h"
#include "policy.h"

#include "check.h"
#include "treefile.h"

struct fx {
	struct policy pol;
	struct plan plan;
	struct diag d;
	struct nft_batch b;
	int err;
};

static const struct nft_existing *fx_old; /* opts.old of the next fx_build */
static unsigned int fx_relabel;		  /* opts.relabel of the next fx_build */

static int fx_build(struct fx *f, const char *text, bool dry_run)
{
	static const uint8_t hash[32];
	struct nft_encode_opts o = { .policy_file = "/etc/tlsfw/test.conf",
				     .sha256 = hash,
				     .dry_run = dry_run,
				     .old = fx_old,
				     .relabel = fx_relabel };
	int err;

	memset(f, 0, sizeof(*f));
	diag_init(&f->d);
	err = policy_read_mem(&f->pol, "test.conf", text, strlen(text), &f->d);
	if (!err)
		err = policy_check(&f->pol, &f->d);
	if (!err && !f->d.errors)
		err = policy_lower(&f->pol, &(struct lower_opts){ .nft = true }, &f->plan, &f->d);
	if (err || f->d.errors) {
		diag_print(&f->d, stderr);
		return f->err = err ? err : -EINVAL;
	}
	return f->err = nft_encode(&f->plan, &o, &f->b);
}

static void fx_free(struct fx *f)
{
	nft_batch_free(&f->b);
	plan_free(&f->plan);
	policy_free(&f->pol);
	diag_free(&f->d);
}

/* The type (NFT_MSG_*, or the batch markers) of message i */
static int msg_type(const struct nft_batch *b, size_t i)
{
	const char *p = b->buf;
	size_t off = 0;

	for (size_t k = 0; k < i; k++)
		off += NLMSG_ALIGN(((const struct nlmsghdr *)(p + off))->nlmsg_len);
	if (off >= b->len)
		return -1;
	{
		const struct nlmsghdr *nlh = (const void *)(p + off);

		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
		    nlh->nlmsg_type == NFNL_MSG_BATCH_END)
			return nlh->nlmsg_type;
		return nlh->nlmsg_type & 0xff;
	}
}

static void test_block_quic(void)
{
	char *text = tree_file("policies/block-quic-port.conf", NULL);
	struct fx f;

	CHECK(text, "cannot read policies/block-quic-port.conf (run from the tree's top)");
	if (!text)
		return;
	CHECK(fx_build(&f, text, false) == 0, "build failed: %d", f.err);
	/* sets: block-quic_pd (udp . 80, udp . 443); allow-https's one port (tcp . 443) is
	 * compared inline, without a set; chains: tlsfw_policy, tlsfw_reject, lan0_in */
	CHECK(f.b.n_sets == 1, "%u sets", f.b.n_sets);
	CHECK(f.b.n_chains == 3, "%u chains", f.b.n_chains);
	/* reject chain 2 + fragments (IPv4, IPv6) 2 + essentials 5 (ND, MLD in two ranges,
	 * DHCPv4, DHCPv6) + two rules + default */
	CHECK(f.b.n_rules == 12, "%u rules", f.b.n_rules);
	/* essentials, two rules, and the interface's seven: default, pass, drop, reject,
	 * monitor, and the two fragment outcomes */
	CHECK(f.b.n_counters == 10, "%u counters", f.b.n_counters);
	/* quic: udp/443 and udp/80 */
	CHECK(f.b.n_elems == 2, "%u elements", f.b.n_elems);
	CHECK(msg_type(&f.b, 0) == NFNL_MSG_BATCH_BEGIN, "first message %d", msg_type(&f.b, 0));
	/* no table yet: create it, delete nothing */
	CHECK(msg_type(&f.b, 1) == NFT_MSG_NEWTABLE, "message 1 is %d", msg_type(&f.b, 1));
	for (size_t i = 2; i < f.b.n_msgs; i++) {
		int t = msg_type(&f.b, i);

		CHECK(t != NFT_MSG_DELTABLE && t != NFT_MSG_DELRULE && t != NFT_MSG_DELSET &&
			      t != NFT_MSG_DELCHAIN && t != NFT_MSG_DELOBJ,
		      "message %zu (%d) deletes something from a table that does not exist", i, t);
	}
	CHECK(msg_type(&f.b, f.b.n_msgs - 1) == NFNL_MSG_BATCH_END, "last message %d",
	      msg_type(&f.b, f.b.n_msgs - 1));
	/* every message of rule block-quic points at it */
	{
		size_t mine = 0;

		for (size_t i = 0; i < f.b.n_msgs; i++)
			if (f.b.owner[i].kind == NFT_OWN_RULE && f.b.owner[i].idx == 1)
				mine++;
		/* counter, set, elements, rule */
		CHECK(mine == 4, "%zu messages owned by block-quic", mine);
	}
	fx_free(&f);

	CHECK(fx_build(&f, text, true) == 0, "dry-run build failed");
	CHECK(msg_type(&f.b, f.b.n_msgs - 1) != NFNL_MSG_BATCH_END,
	      "a dry run must not end its batch (the kernel would commit it)");
	fx_free(&f);
	free(text);
}

/* essentials: drop, so that only the rules under test make nft rules and counters */
static const char head[] =
	"version: 1\nbackend: nft\nessentials: drop\ninterfaces:\n  - name: lan0\n"
	"    hooks: [ingress, egress]\n  - name: wan0\n";

static void test_merge(void)
{
	struct fx f;
	char text[1024];

	/* 10/8, 10.1/16 inside it and 11/8 next to it: one interval [10.0.0.0, 12.0.0.0);
	 * 255.255.255.255/32 reaches the top: a start element only. IPv6: fd00::/8 alone, a
	 * masked comparison without a set. */
	snprintf(
		text, sizeof(text),
		"%srules:\n  - name: nets\n    dst: [10.0.0.0/8, 10.1.0.0/16, 11.0.0.0/8, 255.255.255.255/32, \"fd00::/8\"]\n    action: drop\n",
		head);
	CHECK(fx_build(&f, text, false) == 0, "build failed");
	CHECK(f.b.n_sets == 2, "%u sets (dst4, egress map)", f.b.n_sets);
	/* 3 (IPv4) + 1 egress map element */
	CHECK(f.b.n_elems == 4, "%u elements", f.b.n_elems);
	/* chains: tlsfw_policy, tlsfw_reject, lan0_out, lan0_in, wan0_in, forward, output; rules:
	 * reject 2 + three chains x (2 fragments + 2 family rules + default) + 2 dispatch */
	CHECK(f.b.n_chains == 7, "%u chains", f.b.n_chains);
	CHECK(f.b.n_rules == 2 + 3 * 5 + 2, "%u rules", f.b.n_rules);
	fx_free(&f);

	/* ports: 80, 81-90 and 443 over tcp: tcp 80-90, tcp 443; the same over udp */
	snprintf(text, sizeof(text),
		 "%srules:\n  - name: web\n    dport: [80, 81-90, 443]\n    action: reject\n",
		 head);
	CHECK(fx_build(&f, text, false) == 0, "build failed");
	CHECK(f.b.n_elems == 4 + 1, "%u elements", f.b.n_elems);
	fx_free(&f);

	/* a rule only for wan0 ingress, and a monitor rule without ports */
	snprintf(
		text, sizeof(text),
		"%srules:\n  - name: w\n    interface: wan0\n    direction: ingress\n    proto: [icmp, icmpv6]\n    action: drop\n    mode: monitor\n",
		head);
	CHECK(fx_build(&f, text, false) == 0, "build failed");
	/* the w counter exists once (wan0 in); every chain has its own seven */
	CHECK(f.b.n_counters == 3 * 7 + 1, "%u counters", f.b.n_counters);
	CHECK(f.b.n_sets == 2, "%u sets (w_proto, egress)", f.b.n_sets);
	fx_free(&f);
}

/* n rules of two UDP ports each, the first n - 1 in policy text order. */
static char *run_policy(unsigned int n)
{
	size_t cap = 256 + 96 * (size_t)n, len;
	char *text = malloc(cap);

	if (!text)
		return NULL;
	len = (size_t)snprintf(text, cap, "%srules:\n", head);
	for (unsigned int i = 0; i < n; i++)
		len += (size_t)snprintf(
			text + len, cap - len,
			"  - name: r%u\n    proto: udp\n    dport: [%u, %u]\n    action: drop\n", i,
			10000 + i, 30000 + i);
	return text;
}

/* A run: the sets do not grow with the rules (one UDP map per chain, and the egress map). */
static void test_runs(void)
{
	unsigned int sizes[] = { 8, 1000 };

	for (size_t k = 0; k < 2; k++) {
		unsigned int n = sizes[k];
		char *text = run_policy(n);
		struct fx f;

		CHECK(text && fx_build(&f, text, false) == 0, "build failed");
		CHECK(f.b.n_sets == 3 + 1, "%u rules: %u sets", n, f.b.n_sets);
		/* three chains: a start and an end element per port */
		CHECK(f.b.n_elems == 3 * 4 * n + 1, "%u rules: %u elements", n, f.b.n_elems);
		/* records, reject, lan0_out, lan0_in, wan0_in, forward, output, a chain per member */
		CHECK(f.b.n_chains == 7 + 3 * n, "%u rules: %u chains", n, f.b.n_chains);
		CHECK(f.b.n_staged == 3 && f.b.n_staged_chains == 3 * n, "%zu/%zu staged",
		      f.b.n_staged, f.b.n_staged_chains);
		fx_free(&f);
		free(text);
	}
	/* seven rules: no run, a set per rule */
	{
		char *text = run_policy(7);
		struct fx f;

		CHECK(text && fx_build(&f, text, false) == 0, "build failed");
		CHECK(f.b.n_sets == 7 + 1, "7 rules: %u sets", f.b.n_sets);
		CHECK(f.b.n_staged_chains == 0, "7 rules: %zu staged chains", f.b.n_staged_chains);
		fx_free(&f);
		free(text);
	}
}

static void test_fault(void)
{
	struct fx f;
	char text[1024];
	size_t owned = 0;

	setenv("TLSFW_NFT_FAULT", "set-size:web", 1);
	snprintf(
		text, sizeof(text),
		"%srules:\n  - name: web\n    dport: [80, 443]\n    proto: tcp\n    action: drop\n",
		head);
	CHECK(fx_build(&f, text, false) == 0, "build failed");
	unsetenv("TLSFW_NFT_FAULT");
	for (size_t i = 0; i < f.b.n_msgs; i++)
		owned += f.b.owner[i].kind == NFT_OWN_RULE && f.b.owner[i].idx == 0;
	CHECK(owned > 0, "no message is owned by rule web");
	fx_free(&f);
}

/* The name a message carries (set, chain or counter), or "" */
static void msg_name(const struct nlmsghdr *nlh, int t, char *out, size_t len)
{
	out[0] = 0;
	if (t == NFT_MSG_NEWSET || t == NFT_MSG_DELSET) {
		struct nftnl_set *x = nftnl_set_alloc();

		if (x && nftnl_set_nlmsg_parse(nlh, x) == 0 && nftnl_set_is_set(x, NFTNL_SET_NAME))
			snprintf(out, len, "%s", nftnl_set_get_str(x, NFTNL_SET_NAME));
		nftnl_set_free(x);
	} else if (t == NFT_MSG_NEWCHAIN || t == NFT_MSG_DELCHAIN) {
		struct nftnl_chain *x = nftnl_chain_alloc();

		if (x && nftnl_chain_nlmsg_parse(nlh, x) == 0 &&
		    nftnl_chain_is_set(x, NFTNL_CHAIN_NAME))
			snprintf(out, len, "%s", nftnl_chain_get_str(x, NFTNL_CHAIN_NAME));
		nftnl_chain_free(x);
	} else if (t == NFT_MSG_NEWOBJ || t == NFT_MSG_DELOBJ) {
		struct nftnl_obj *x = nftnl_obj_alloc();

		if (x && nftnl_obj_nlmsg_parse(nlh, x) == 0 && nftnl_obj_is_set(x, NFTNL_OBJ_NAME))
			snprintf(out, len, "%s", nftnl_obj_get_str(x, NFTNL_OBJ_NAME));
		nftnl_obj_free(x);
	}
}

/* What the two transactions of b add and delete, "+set block-quic_pd.b " and so on. */
static void batch_names(const struct nft_batch *b, char *stage, size_t n_stage, char *sw,
			size_t n_sw)
{
	static const char *const verb[] = {
		[NFT_MSG_NEWTABLE] = "+table", [NFT_MSG_NEWSET] = "+set",
		[NFT_MSG_DELSET] = "-set",     [NFT_MSG_NEWCHAIN] = "+chain",
		[NFT_MSG_DELCHAIN] = "-chain", [NFT_MSG_NEWOBJ] = "+counter",
		[NFT_MSG_DELOBJ] = "-counter", [NFT_MSG_DELRULE] = "flush",
	};
	size_t off = 0;
	bool second = false;

	stage[0] = sw[0] = 0;
	for (size_t i = 0; i < b->n_msgs && off < b->len; i++) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)(b->buf + off);
		int t = msg_type(b, i);
		char name[128], item[160];

		if (off == b->split)
			second = true;
		off += NLMSG_ALIGN(nlh->nlmsg_len);
		if (t < 0 || t >= (int)(sizeof(verb) / sizeof(verb[0])) || !verb[t])
			continue; /* batch markers, rules, elements */
		msg_name(nlh, t, name, sizeof(name));
		snprintf(item, sizeof(item), "%s%s%s ", verb[t], name[0] ? " " : "", name);
		if (second)
			strncat(sw, item, n_sw - strlen(sw) - 1);
		else
			strncat(stage, item, n_stage - strlen(stage) - 1);
	}
}

static char *replace_chains[] = { "tlsfw_policy", "tlsfw_reject", "lan0_in", "wan0_out" };
static char *replace_sets[] = { "block-quic_pd.a", "gone_pd.a", "egress", "stale_pd.b" };
static char *replace_counters[] = {
	/* sorted */
	"allow-https/lan0/in", "block-quic/lan0/in", "gone/lan0/in",
	"lan0/in/default",     "lan0/in/reject",     "wan0/out/drop",
};
/* A table that holds a previous policy (generation a, and a set of generation b left by an
 * apply that failed half way). */
static const struct nft_existing replace_old = {
	.table = true,
	.tag = 'a',
	.chains = replace_chains,
	.n_chains = 4,
	.sets = replace_sets,
	.n_sets = 4,
	.counters = replace_counters,
	.n_counters = 6,
};

/* Build text over replace_old with opts.relabel = relabel: the first transaction is
 * want_stage ("" when there is none: the batch is one transaction), the second want. */
static void replace_check(const char *text, unsigned int relabel, const char *want_stage,
			  const char *want)
{
	char got_stage[512] = "", got_switch[1024] = "";
	bool staged = want_stage[0];
	struct fx f;

	fx_old = &replace_old;
	fx_relabel = relabel;
	CHECK(fx_build(&f, text, false) == 0, "build over a previous policy failed: %d", f.err);
	fx_old = NULL;
	fx_relabel = 0;
	if (staged)
		CHECK(f.b.split > 0 && f.b.split < f.b.len,
		      "no second transaction (split %zu of %zu)", f.b.split, f.b.len);
	else
		CHECK(f.b.split == 0, "nothing to stage, yet split at %zu", f.b.split);
	batch_names(&f.b, got_stage, sizeof(got_stage), got_switch, sizeof(got_switch));
	CHECK(!strcmp(got_stage, want_stage), "first transaction: %s", got_stage);
	CHECK(!strcmp(got_switch, want), "second transaction (relabel %#x): %s", relabel,
	      got_switch);
	CHECK(f.b.n_counters == 10 && f.b.n_chains == 3 && f.b.n_staged == staged,
	      "%u counters, %u chains, %zu staged sets in the new policy", f.b.n_counters,
	      f.b.n_chains, f.b.n_staged);
	fx_free(&f);
}

/* block-quic-port.conf with a range among block-quic's ports: an interval set. */
static char *with_range(const char *text)
{
	static const char from[] = "    service: quic\n",
			  to[] = "    proto: udp\n    dport: [80, 443-444]\n";
	const char *at = strstr(text, from);
	char *out;

	if (!at || asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) < 0)
		return NULL;
	return out;
}

/*
 * Replacing a table that holds a previous policy. The switch: flush the rules, delete the
 * previous sets, the chains the new policy does not make and the counters it does not name;
 * chains and counters it makes again are left in place (no message: a base chain stays on
 * its hook, a counter goes on counting). Counters relabelled (relabel.h): the interface
 * totals the table holds whose label changes are deleted and made again, after the flush
 * (which releases them), and only those: not the rule counters or pass, and not a total the
 * table does not hold yet (it is new anyway). An interval set is staged in a transaction of
 * its own, after the leftover of its generation is deleted; a hash set (block-quic's two
 * single ports) is made in the switch, which is then the only transaction.
 */
static void test_replace(void)
{
	char *text = tree_file("policies/block-quic-port.conf", NULL), *ranged;
	struct fx f;

	CHECK(text, "cannot read policies/block-quic-port.conf");
	if (!text)
		return;
	ranged = with_range(text);
	CHECK(ranged, "no 'service: quic' line in policies/block-quic-port.conf");
	if (!ranged) {
		free(text);
		return;
	}
	replace_check(
		ranged, 0, "+table -set stale_pd.b +set block-quic_pd.b ",
		"flush -set block-quic_pd.a -set gone_pd.a -set egress -chain tlsfw_policy -chain wan0_out "
		"+chain tlsfw_policy +counter lan0/in/essentials "
		"+counter lan0/in/pass +counter lan0/in/drop "
		"+counter lan0/in/monitor +counter lan0/in/fragment-dropped "
		"+counter lan0/in/fragment-allowed "
		"-counter gone/lan0/in -counter wan0/out/drop ");
	replace_check(
		ranged, RELABEL_DEFAULT | RELABEL_REJECT | RELABEL_MONITOR,
		"+table -set stale_pd.b +set block-quic_pd.b ",
		"flush -set block-quic_pd.a -set gone_pd.a -set egress -chain tlsfw_policy -chain wan0_out "
		"+chain tlsfw_policy +counter lan0/in/essentials "
		"-counter lan0/in/default +counter lan0/in/default "
		"+counter lan0/in/pass +counter lan0/in/drop "
		"-counter lan0/in/reject +counter lan0/in/reject "
		"+counter lan0/in/monitor +counter lan0/in/fragment-dropped "
		"+counter lan0/in/fragment-allowed "
		"-counter gone/lan0/in -counter wan0/out/drop ");
	replace_check(
		text, 0, "",
		"+table -set stale_pd.b "
		"flush -set block-quic_pd.a -set gone_pd.a -set egress -chain tlsfw_policy -chain wan0_out "
		"+chain tlsfw_policy +counter lan0/in/essentials "
		"+counter lan0/in/pass +counter lan0/in/drop "
		"+counter lan0/in/monitor +counter lan0/in/fragment-dropped "
		"+counter lan0/in/fragment-allowed +set block-quic_pd "
		"-counter gone/lan0/in -counter wan0/out/drop ");

	/* a dry run is one transaction, without its end */
	fx_old = &replace_old;
	CHECK(fx_build(&f, ranged, true) == 0, "dry-run build failed");
	fx_old = NULL;
	CHECK(f.b.split == 0, "a dry run is split at %zu", f.b.split);
	fx_free(&f);
	free(ranged);
	free(text);
}

int main(void)
{
	test_block_quic();
	test_merge();
	test_runs();
	test_fault();
	test_replace();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("ok\n");
	return failures ? 1 : 0;
}
