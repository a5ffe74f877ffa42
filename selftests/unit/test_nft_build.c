// SPDX-License-Identifier: GPL-2.0
/*
 * The nftables backend's batch, built without the kernel: what a policy turns into (sets,
 * chains, rules, counters), merged set elements, the map from batch messages back to policy
 * rules, and the dry-run batch without its end message.
 *
 * Run with arguments it is also the test-only driver of the network tests
 * (selftests/net/test_nft_*.sh) while `tlsfw apply` has no nft branch:
 *   test_nft_build apply POLICY [--dry-run] | status | stats [--reset] | detach [IFACE...]
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <libnftnl/object.h>

#include "apply_nft.h"
#include "policy.h"
#include "tlsfw.h"

#include "check.h"

struct fx {
	struct policy pol;
	struct diag d;
	struct nft_batch b;
	int err;
};

static const struct nft_counter *fx_keep; /* opts.keep of the next fx_build */
static size_t fx_n_keep;

static int fx_build(struct fx *f, const char *text, bool dry_run)
{
	static const uint8_t hash[32];
	struct nft_apply_opts o = { .policy_file = "/etc/tlsfw/test.conf", .sha256 = hash,
				    .dry_run = dry_run, .keep = fx_keep, .n_keep = fx_n_keep };
	int err;

	memset(f, 0, sizeof(*f));
	diag_init(&f->d);
	err = policy_read_mem(&f->pol, "test.conf", text, strlen(text), &f->d);
	if (!err)
		err = policy_check(&f->pol, &f->d);
	if (err || f->d.errors) {
		diag_print(&f->d, stderr);
		return f->err = err ? err : -EINVAL;
	}
	return f->err = nft_batch_build(&f->pol, &o, &f->b, &f->d);
}

static void fx_free(struct fx *f)
{
	nft_batch_free(&f->b);
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

		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END)
			return nlh->nlmsg_type;
		return nlh->nlmsg_type & 0xff;
	}
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void test_block_quic(void)
{
	char *text = slurp("policies/block-quic.conf");
	struct fx f;

	CHECK(text, "cannot read policies/block-quic.conf (run from the tree's top)");
	if (!text)
		return;
	CHECK(fx_build(&f, text, false) == 0, "build failed: %d", f.err);
	/* sets: block-quic_pd, allow-https_pd; chains: reject, lan0_in */
	CHECK(f.b.n_sets == 2, "%u sets", f.b.n_sets);
	CHECK(f.b.n_chains == 2, "%u chains", f.b.n_chains);
	/* reject chain 2 + fragments (IPv4, IPv6) 2 + two rules + default */
	CHECK(f.b.n_rules == 7, "%u rules", f.b.n_rules);
	CHECK(f.b.n_counters == 4, "%u counters", f.b.n_counters);
	/* quic: udp/443 and udp/80; https: tcp/443 */
	CHECK(f.b.n_elems == 3, "%u elements", f.b.n_elems);
	CHECK(msg_type(&f.b, 0) == NFNL_MSG_BATCH_BEGIN, "first message %d", msg_type(&f.b, 0));
	CHECK(msg_type(&f.b, 1) == NFT_MSG_NEWTABLE && msg_type(&f.b, 2) == NFT_MSG_DELTABLE &&
	      msg_type(&f.b, 3) == NFT_MSG_NEWTABLE,
	      "the batch does not replace the table in place: %d %d %d", msg_type(&f.b, 1),
	      msg_type(&f.b, 2), msg_type(&f.b, 3));
	CHECK(msg_type(&f.b, f.b.n_msgs - 1) == NFNL_MSG_BATCH_END, "last message %d",
	      msg_type(&f.b, f.b.n_msgs - 1));
	/* every message of rule block-quic points at it */
	{
		size_t mine = 0;

		for (size_t i = 0; i < f.b.n_msgs; i++)
			if (f.b.owner[i].kind == NFT_OWN_RULE && f.b.owner[i].idx == 0)
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

static const char head[] = "version: 1\nbackend: nft\ninterfaces:\n  - name: lan0\n"
			   "    hooks: [ingress, egress]\n  - name: wan0\n";

static void test_merge(void)
{
	struct fx f;
	char text[1024];

	/* 10/8, 10.1/16 inside it and 11/8 next to it: one interval [10.0.0.0, 12.0.0.0);
	 * 255.255.255.255/32 reaches the top: a start element only. IPv6: fd00::/8. */
	snprintf(text, sizeof(text), "%srules:\n  - name: nets\n    dst: [10.0.0.0/8, 10.1.0.0/16, 11.0.0.0/8, 255.255.255.255/32, \"fd00::/8\"]\n    action: drop\n", head);
	CHECK(fx_build(&f, text, false) == 0, "build failed");
	CHECK(f.b.n_sets == 3, "%u sets (dst4, dst6, egress map)", f.b.n_sets);
	/* 3 (IPv4) + 2 (IPv6) + 1 egress map element */
	CHECK(f.b.n_elems == 6, "%u elements", f.b.n_elems);
	/* chains: reject, lan0_out, lan0_in, wan0_in, forward, output; rules: reject 2 +
	 * three chains x (2 fragments + 2 family rules + default) + 2 dispatch */
	CHECK(f.b.n_chains == 6, "%u chains", f.b.n_chains);
	CHECK(f.b.n_rules == 2 + 3 * 5 + 2, "%u rules", f.b.n_rules);
	fx_free(&f);

	/* ports: 80, 81-90 and 443 over tcp: tcp 80-90, tcp 443; the same over udp */
	snprintf(text, sizeof(text), "%srules:\n  - name: web\n    dport: [80, 81-90, 443]\n    action: reject\n", head);
	CHECK(fx_build(&f, text, false) == 0, "build failed");
	CHECK(f.b.n_elems == 4 + 1, "%u elements", f.b.n_elems);
	fx_free(&f);

	/* a rule only for wan0 ingress, and a monitor rule without ports */
	snprintf(text, sizeof(text), "%srules:\n  - name: w\n    interface: wan0\n    direction: ingress\n    proto: [icmp, icmpv6]\n    action: drop\n    mode: monitor\n", head);
	CHECK(fx_build(&f, text, false) == 0, "build failed");
	/* the w counter exists once (wan0 in); every chain has fragments and default */
	CHECK(f.b.n_counters == 3 * 2 + 1, "%u counters", f.b.n_counters);
	CHECK(f.b.n_sets == 2, "%u sets (w_proto, egress)", f.b.n_sets);
	fx_free(&f);
}

static void test_fault(void)
{
	struct fx f;
	char text[1024];
	size_t owned = 0;

	setenv("TLSFW_NFT_FAULT", "set-size:web", 1);
	snprintf(text, sizeof(text), "%srules:\n  - name: web\n    dport: [80, 443]\n    proto: tcp\n    action: drop\n", head);
	CHECK(fx_build(&f, text, false) == 0, "build failed");
	unsetenv("TLSFW_NFT_FAULT");
	for (size_t i = 0; i < f.b.n_msgs; i++)
		owned += f.b.owner[i].kind == NFT_OWN_RULE && f.b.owner[i].idx == 0;
	CHECK(owned > 0, "no message is owned by rule web");
	fx_free(&f);
}

/* Counters kept across apply: a counter whose name is in opts.keep is created with the old
 * values, the others at zero. */
static void test_keep(void)
{
	static const struct nft_counter keep[] = { /* sorted by name */
		{ .name = "allow-https/lan0/in", .packets = 7, .bytes = 700 },
		{ .name = "block-quic/lan0/in", .packets = 5, .bytes = 500 },
		{ .name = "gone/lan0/in", .packets = 9, .bytes = 900 },
	};
	char *text = slurp("policies/block-quic.conf");
	size_t off = 0, n_obj = 0, n_kept = 0;
	struct fx f;

	CHECK(text, "cannot read policies/block-quic.conf");
	if (!text)
		return;
	fx_keep = keep;
	fx_n_keep = sizeof(keep) / sizeof(keep[0]);
	CHECK(fx_build(&f, text, false) == 0, "build with kept counters failed: %d", f.err);
	fx_keep = NULL;
	fx_n_keep = 0;
	for (size_t i = 0; i < f.b.n_msgs && off < f.b.len; i++) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)(f.b.buf + off);
		struct nftnl_obj *o;

		off += NLMSG_ALIGN(nlh->nlmsg_len);
		if (msg_type(&f.b, i) != NFT_MSG_NEWOBJ)
			continue;
		o = nftnl_obj_alloc();
		if (!o || nftnl_obj_nlmsg_parse(nlh, o) < 0) {
			CHECK(0, "cannot parse counter message %zu", i);
			nftnl_obj_free(o);
			continue;
		}
		n_obj++;
		{
			const char *name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
			uint64_t pk = nftnl_obj_is_set(o, NFTNL_OBJ_CTR_PKTS) ?
				      nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS) : 0;
			uint64_t by = nftnl_obj_is_set(o, NFTNL_OBJ_CTR_BYTES) ?
				      nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES) : 0;

			if (!strcmp(name, "block-quic/lan0/in")) {
				CHECK(pk == 5 && by == 500, "block-quic starts at %llu/%llu, kept 5/500",
				      (unsigned long long)pk, (unsigned long long)by);
				n_kept++;
			} else if (!strcmp(name, "allow-https/lan0/in")) {
				CHECK(pk == 7 && by == 700, "allow-https starts at %llu/%llu, kept 7/700",
				      (unsigned long long)pk, (unsigned long long)by);
				n_kept++;
			} else {
				CHECK(pk == 0 && by == 0, "counter %s starts at %llu, not kept",
				      name, (unsigned long long)pk);
			}
		}
		nftnl_obj_free(o);
	}
	CHECK(n_obj == 4 && n_kept == 2, "%zu counters, %zu kept (expected 4, 2)", n_obj, n_kept);
	fx_free(&f);
	free(text);
}

/* ---- the test-only driver ------------------------------------------------------------------ */

static int drv_apply(const char *path, bool dry_run)
{
	struct nft_apply_opts o = { .dry_run = dry_run, .out = stdout };
	char abs[PATH_MAX], msg[256];
	struct policy pol;
	struct diag d;
	int err, ret = EXIT_OK;

	diag_init(&d);
	err = policy_read_file(&pol, path, &d);
	if (!err)
		policy_check(&pol, &d);
	if (err || d.errors) {
		diag_print(&d, stderr);
		diag_print_summary(&d, stderr, "nothing applied");
		ret = EXIT_BAD_INPUT;
		goto out;
	}
	if (!realpath(path, abs))
		snprintf(abs, sizeof(abs), "%s", path);
	o.policy_file = abs;
	o.sha256 = pol.sha256;
	err = apply_nft(&pol, &o, &d, msg, sizeof(msg));
	diag_print(&d, stderr);
	if (err) {
		fprintf(stderr, "tlsfw: error: %s; nothing applied\n", msg);
		ret = EXIT_SYSTEM;
	} else {
		printf("tlsfw: %s %s (nftables)\n", dry_run ? "dry run ok:" : "enforcing", abs);
	}
out:
	policy_free(&pol);
	diag_free(&d);
	return ret;
}

static int drv(int argc, char **argv)
{
	char msg[256];
	int err;

	if (!strcmp(argv[1], "apply") && argc >= 3)
		return drv_apply(argv[2], argc > 3 && !strcmp(argv[3], "--dry-run"));
	if (!strcmp(argv[1], "status")) {
		struct nft_status st;

		err = nft_status_read(&st, msg, sizeof(msg));
		if (err)
			return fprintf(stderr, "error: %s\n", msg), EXIT_SYSTEM;
		if (!st.present)
			printf("nothing enforced\n");
		else
			printf("policy %s rules %u default %s applied %llu\n", st.policy_file,
			       st.n_rules, st.default_action, (unsigned long long)st.applied_at);
		for (size_t i = 0; i < st.n_hooks; i++)
			printf("%s:%s%s\n", st.hooks[i].ifname, st.hooks[i].ingress ? " ingress" : "",
			       st.hooks[i].egress ? " egress" : "");
		nft_status_free(&st);
		return 0;
	}
	if (!strcmp(argv[1], "stats")) {
		struct nft_counter *k;
		size_t n;

		err = nft_counters_read(&k, &n, argc > 2 && !strcmp(argv[2], "--reset"), msg,
					sizeof(msg));
		if (err)
			return fprintf(stderr, "error: %s\n", msg), EXIT_SYSTEM;
		for (size_t i = 0; i < n; i++)
			printf("%s %s %s %s %s %llu %llu\n", k[i].rule, k[i].action, k[i].mode,
			       k[i].ifname, k[i].direction, (unsigned long long)k[i].packets,
			       (unsigned long long)k[i].bytes);
		free(k);
		return 0;
	}
	if (!strcmp(argv[1], "detach")) {
		unsigned int removed;

		err = nft_detach((const char *const *)argv + 2, argc - 2, &removed, msg, sizeof(msg));
		if (err)
			return fprintf(stderr, "error: %s\n", msg), EXIT_SYSTEM;
		printf("detached (%u)\n", removed);
		return 0;
	}
	fprintf(stderr, "usage: %s [apply POLICY [--dry-run] | status | stats [--reset] | detach [IFACE...]]\n",
		argv[0]);
	return EXIT_BAD_INPUT;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return drv(argc, argv);
	test_block_quic();
	test_merge();
	test_fault();
	test_keep();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("ok\n");
	return failures ? 1 : 0;
}
