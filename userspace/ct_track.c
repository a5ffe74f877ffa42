// SPDX-License-Identifier: GPL-2.0
/*
 * Connection tracking for the BPF backend's `state:` and TCP content rules (ct_track.h). The
 * conntrack lookup kfuncs only read the table: conntrack fills it for a network namespace
 * only while some user has asked for it there (nf_ct_netns_get), which an nftables rule
 * with a `ct` expression does when it is created, even in a chain that no hook reaches. So
 * tlsfw keeps table inet tlsfw_conntrack, one regular chain and one rule `ct state 0` that
 * no packet ever runs: measured, without it the kfuncs find no entry; with it every
 * forwarded flow has one. A kernel without nf_conntrack refuses the rule, which names the
 * missing feature.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "ct_track.h"
#include "nft_priv.h"

#define CT_TABLE "tlsfw_conntrack"
#define CT_CHAIN "track"
#define CT_BUF 4096

/* The header of the next message of the batch, for a libnftnl object to fill; the batch
 * moves past it once it is filled (next()). */
static struct nlmsghdr *msg(struct mnl_nlmsg_batch *b, uint16_t type, uint16_t flags, uint32_t *seq)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type, NFPROTO_INET, flags,
				     (*seq)++);
}

static void next(struct mnl_nlmsg_batch *b)
{
	mnl_nlmsg_batch_next(b);
}

/* The rule `ct state 0` in chain CT_CHAIN: a ct expression, which is what holds conntrack. */
static struct nftnl_rule *track_rule(void)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *ct = nftnl_expr_alloc("ct"), *cmp = nftnl_expr_alloc("cmp");
	uint32_t zero = 0;

	if (!r || !ct || !cmp) {
		nftnl_rule_free(r);
		nftnl_expr_free(ct);
		nftnl_expr_free(cmp);
		return NULL;
	}
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, CT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, CT_CHAIN);
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, ct);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, &zero, sizeof(zero));
	nftnl_rule_add_expr(r, cmp);
	return r;
}

/* Table, chain, the chain's rules flushed and the rule made again, in one transaction: the new
 * rule holds conntrack before the old one lets go. */
static int batch_on(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *flush = nftnl_rule_alloc(), *r = track_rule();
	int err = -ENOMEM;

	if (!t || !c || !flush || !r)
		goto out;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, CT_TABLE);
	nftnl_table_nlmsg_build_payload(msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, seq), t);
	next(b);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, CT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, CT_CHAIN);
	nftnl_chain_nlmsg_build_payload(msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK, seq), c);
	next(b);
	nftnl_rule_set_u32(flush, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(flush, NFTNL_RULE_TABLE, CT_TABLE);
	nftnl_rule_set_str(flush, NFTNL_RULE_CHAIN, CT_CHAIN);
	nftnl_rule_nlmsg_build_payload(msg(b, NFT_MSG_DELRULE, NLM_F_ACK, seq), flush);
	next(b);
	nftnl_rule_nlmsg_build_payload(
		msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq), r);
	next(b);
	err = 0;
out:
	nftnl_table_free(t);
	nftnl_chain_free(c);
	nftnl_rule_free(flush);
	nftnl_rule_free(r);
	return err;
}

static int batch_off(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, CT_TABLE);
	nftnl_table_nlmsg_build_payload(msg(b, NFT_MSG_DELTABLE, NLM_F_ACK, seq), t);
	next(b);
	nftnl_table_free(t);
	return 0;
}

/* Send one transaction; the first error the kernel answers with, or 0. */
static int talk(bool on)
{
	char *buf = malloc(CT_BUF), *rbuf = malloc(CT_BUF);
	struct mnl_nlmsg_batch *b = buf ? mnl_nlmsg_batch_start(buf, CT_BUF) : NULL;
	uint32_t seq = (uint32_t)time(NULL);
	struct mnl_socket *nl = NULL;
	int err = -ENOMEM, first = 0;
	ssize_t len;

	if (!b || !rbuf)
		goto out;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	err = on ? batch_on(b, &seq) : batch_off(b, &seq);
	if (err)
		goto out;
	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	err = nft_socket_open(&nl, mnl_nlmsg_batch_size(b));
	if (err)
		goto out;
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0) {
		err = -errno;
		goto out;
	}
	/* The kernel handles a batch inside sendmsg(): every answer is queued already. */
	while ((len = recv(mnl_socket_get_fd(nl), rbuf, CT_BUF, MSG_DONTWAIT)) > 0) {
		int left = (int)len;

		for (const struct nlmsghdr *h = (void *)rbuf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (h->nlmsg_type == NLMSG_ERROR && e->error && !first)
				first = e->error;
		}
	}
	err = first;
out:
	if (nl)
		nft_socket_close(nl);
	if (b)
		mnl_nlmsg_batch_stop(b);
	free(buf);
	free(rbuf);
	return err;
}

/* The table tlsfw makes holds chain CT_CHAIN alone: a table of that name with other chains,
 * or without it, is someone else's, which on would take over and off would delete. */
static bool foreign(void)
{
	return nft_table_only_chain(CT_TABLE, CT_CHAIN) == 2;
}

int ct_track_on(const char *key, struct diag *d)
{
	int err = foreign() ? -EEXIST : talk(true);

	if (err == -EEXIST)
		return diag_sys_error(
			d, err,
			"%s: table inet %s exists but tlsfw did not make it (tlsfw's holds chain %s alone); rename or delete that table, then apply again",
			key, CT_TABLE, CT_CHAIN);

	if (err == -EOPNOTSUPP || err == -ENOENT || err == -EAFNOSUPPORT)
		return diag_sys_error(
			d, err,
			"%s: needs the kernel's connection tracking (nf_conntrack and nftables' ct expression, CONFIG_NF_CONNTRACK and CONFIG_NFT_CT), which this kernel does not offer",
			key);
	if (err)
		return diag_sys_error(
			d, err,
			"%s: cannot make conntrack track this network namespace (table inet %s)",
			key, CT_TABLE);
	return 0;
}

int ct_track_off(void)
{
	/* Every apply without state: asked first, so that the usual case sends no transaction. */
	int err = nft_table_present(CT_TABLE);

	if (err <= 0 || foreign())
		return err < 0 ? err : 0;
	err = talk(false);

	return err == -ENOENT ? 0 : err;
}
