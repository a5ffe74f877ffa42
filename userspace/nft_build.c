// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 4b, first half: a checked policy -> one nf_tables batch (libnftnl messages) that
 * replaces the contents of table inet tlsfw. Nothing here talks to the kernel, so unit tests
 * can read the batch. The ruleset's shape (see "nftables backend" in
 * Documentation/architecture.md):
 *
 *   - one chain per (interface, direction): "<if>_in" is a base chain on the inet ingress
 *     hook of that device; "<if>_out" a regular chain reached from the forward and output
 *     base chains through the verdict map "egress" (oifname -> jump <if>_out);
 *   - in each chain: the fragment rule, one rule per policy rule (two when a rule has
 *     addresses of both families), the default rule; every rule counts into a named counter
 *     "<rule>/<if>/<in|out>" and into the interface's total for its verdict
 *     "(drop)/<if>/<in|out>", and carries a comment with the rule's name and line;
 *   - the batch keeps the table and the counters the new policy names again (they count on
 *     through the commit), flushes the rules and deletes the sets, chains and other counters
 *     of the previous policy, then creates the new ones;
 *   - ports and addresses are looked up in sets (intervals of protocol . port, and prefix
 *     intervals), so a rule costs the same with one port or a thousand.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <net/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "apply_nft.h"
#include "nft_priv.h"

#define MSG_ROOM (64 * 1024) /* free space guaranteed before each message is built */
#define ELEMS_PER_MSG 256

struct bctx {
	struct nft_batch *b;
	const struct policy *p;
	const struct nft_apply_opts *o;
	struct diag *d;
	uint32_t set_id;
	const char *fault_rule; /* TLSFW_NFT_FAULT=set-size:<rule> */
	char **names;		/* counters of the new policy, to keep the old ones named */
	size_t n_names, cap_names;
	char tag; /* the generation of the new policy's sets: 'a' or 'b' */
	int err;
};

/* ---- the batch buffer --------------------------------------------------------------------- */

static struct nlmsghdr *msg_begin(struct bctx *c, uint16_t type, uint16_t flags,
				  enum nft_owner_kind kind, int idx, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static struct nlmsghdr *msg_begin(struct bctx *c, uint16_t type, uint16_t flags,
				  enum nft_owner_kind kind, int idx, const char *fmt, ...)
{
	struct nft_batch *b = c->b;
	struct nft_owner *ow;
	va_list ap;

	if (c->err)
		return NULL;
	if (b->cap - b->len < MSG_ROOM) {
		size_t cap = b->cap ? b->cap * 2 : 4 * MSG_ROOM;
		char *buf = realloc(b->buf, cap);

		if (!buf) {
			c->err = -ENOMEM;
			return NULL;
		}
		memset(buf + b->cap, 0, cap - b->cap);
		b->buf = buf;
		b->cap = cap;
	}
	if (b->n_msgs == b->cap_msgs) {
		size_t cap = b->cap_msgs ? b->cap_msgs * 2 : 64;
		struct nft_owner *o = realloc(b->owner, cap * sizeof(*o));

		if (!o) {
			c->err = -ENOMEM;
			return NULL;
		}
		b->owner = o;
		b->cap_msgs = cap;
	}
	ow = &b->owner[b->n_msgs];
	memset(ow, 0, sizeof(*ow));
	ow->kind = kind;
	ow->idx = idx;
	va_start(ap, fmt);
	vsnprintf(ow->what, sizeof(ow->what), fmt, ap);
	va_end(ap);
	if (type == NFNL_MSG_BATCH_BEGIN)
		return nftnl_batch_begin(b->buf + b->len, b->seq0 + b->n_msgs);
	if (type == NFNL_MSG_BATCH_END)
		return nftnl_batch_end(b->buf + b->len, b->seq0 + b->n_msgs);
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFPROTO_INET, flags,
				     b->seq0 + b->n_msgs);
}

static void msg_end(struct bctx *c, struct nlmsghdr *nlh)
{
	c->b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	c->b->n_msgs++;
}

void nft_batch_free(struct nft_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_staged; i++)
		free(b->staged[i]);
	free(b->staged);
	free(b->buf);
	free(b->owner);
	memset(b, 0, sizeof(*b));
}

/* ---- names -------------------------------------------------------------------------------- */

void nft_chain_name(char *buf, size_t len, const char *ifname, bool egress)
{
	snprintf(buf, len, "%s_%s", ifname, egress ? "out" : "in");
}

void nft_counter_name(char *buf, size_t len, const char *rule, const char *ifname, bool egress)
{
	snprintf(buf, len, "%s/%s/%s", rule, ifname, egress ? "out" : "in");
}

void nft_own_counter_name(char *buf, size_t len, const char *stat, const char *ifname, bool egress)
{
	snprintf(buf, len, "%s/%s/%s", ifname, egress ? "out" : "in", stat);
}

/* ---- expressions -------------------------------------------------------------------------- */

static struct nftnl_expr *expr(struct bctx *c, struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e;

	if (c->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e) {
		c->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_add_expr(r, e);
	return e;
}

static void e_meta(struct bctx *c, struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr(c, r, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

static void e_cmp(struct bctx *c, struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr(c, r, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void e_payload(struct bctx *c, struct nftnl_rule *r, uint32_t base, uint32_t off,
		      uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = expr(c, r, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void e_lookup(struct bctx *c, struct nftnl_rule *r, uint32_t sreg, const char *set,
		     bool vmap)
{
	struct nftnl_expr *e = expr(c, r, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (vmap)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
}

static void e_bitwise(struct bctx *c, struct nftnl_rule *r, const void *mask, uint32_t len)
{
	struct nftnl_expr *e = expr(c, r, "bitwise");
	uint8_t zero[16] = { 0 };

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
}

/* IPv6 fragment header (type 44): present, or its offset field */
static void e_exthdr_frag(struct bctx *c, struct nftnl_rule *r, bool offset)
{
	struct nftnl_expr *e = expr(c, r, "exthdr");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_DREG, NFT_REG_1);
	nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, IPPROTO_FRAGMENT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, offset ? 2 : 0);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, offset ? 2 : 1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_IPV6);
	if (!offset)
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_FLAGS, NFT_EXTHDR_F_PRESENT);
}

static void e_counter(struct bctx *c, struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = expr(c, r, "objref");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
}

static void e_verdict(struct bctx *c, struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = expr(c, r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

static void e_reject(struct bctx *c, struct nftnl_rule *r, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = expr(c, r, "reject");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
}

static void e_nfproto(struct bctx *c, struct nftnl_rule *r, unsigned int fam)
{
	uint8_t v = fam == POL_FAM_V4 ? NFPROTO_IPV4 : NFPROTO_IPV6;

	e_meta(c, r, NFT_META_NFPROTO, NFT_REG_1);
	e_cmp(c, r, NFT_CMP_EQ, &v, 1);
}

/* ---- objects ------------------------------------------------------------------------------ */

static void put_udata_comment(struct bctx *c, uint8_t type, const char *text,
			      void (*set)(void *obj, const void *data, uint32_t len), void *obj)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

	if (!u) {
		c->err = -ENOMEM;
		return;
	}
	nftnl_udata_put_strz(u, type, text);
	set(obj, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}

static void obj_udata_set(void *obj, const void *data, uint32_t len)
{
	nftnl_obj_set_data(obj, NFTNL_OBJ_USERDATA, data, len);
}

/* A rule whose comment `nft list` prints; with counter, also the records stats reads
 * (nft_priv.h): the name of the rule counter it counts into and the rule's action, mode and
 * line ("action=drop mode=enforce line=12"). */
static struct nftnl_rule *rule_new_counted(struct bctx *c, const char *chain, const char *comment,
					   const char *counter, const char *info)
{
	struct nftnl_udata_buf *u;
	struct nftnl_rule *r;

	if (c->err)
		return NULL;
	r = nftnl_rule_alloc();
	u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (!r || !u) {
		nftnl_rule_free(r);
		nftnl_udata_buf_free(u);
		c->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TLSFW_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	/* Rule names are at most 63 characters and interface names 15, so the three records
	 * fit the kernel's 256 bytes of userdata. */
	if (comment && !nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, comment))
		c->err = -E2BIG;
	if (counter && (!nftnl_udata_put_strz(u, NFT_META_COUNTER, counter) ||
			!nftnl_udata_put_strz(u, NFT_META_RULE, info)))
		c->err = -E2BIG;
	if (nftnl_udata_buf_len(u))
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
				    nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	return r;
}

static struct nftnl_rule *rule_new(struct bctx *c, const char *chain, const char *comment)
{
	return rule_new_counted(c, chain, comment, NULL, NULL);
}

static void rule_send(struct bctx *c, struct nftnl_rule *r, enum nft_owner_kind kind, int idx)
{
	struct nlmsghdr *nlh;

	if (!r)
		return;
	nlh = msg_begin(c, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, kind, idx,
			"rule in chain %s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		msg_end(c, nlh);
		c->b->n_rules++;
	}
	nftnl_rule_free(r);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool old_counter(const struct bctx *c, const char *name)
{
	const struct nft_existing *old = c->o->old;

	return old && old->n_counters &&
	       bsearch(&name, old->counters, old->n_counters, sizeof(char *), name_cmp);
}

/* A counter of the new policy. One the table holds already is left as it is: the kernel
 * would ignore the message (a counter has nothing to update), and its count goes on. Its
 * comment names only what its name says, so it never goes stale. */
static void counter_add(struct bctx *c, const char *name, const char *comment,
			enum nft_owner_kind kind, int idx)
{
	struct nftnl_obj *ob;
	struct nlmsghdr *nlh;

	if (c->err)
		return;
	if (c->n_names == c->cap_names) {
		size_t cap = c->cap_names ? 2 * c->cap_names : 64;
		char **v = realloc(c->names, cap * sizeof(*v));

		if (!v) {
			c->err = -ENOMEM;
			return;
		}
		c->names = v;
		c->cap_names = cap;
	}
	c->names[c->n_names] = strdup(name);
	if (!c->names[c->n_names]) {
		c->err = -ENOMEM;
		return;
	}
	c->n_names++;
	c->b->n_counters++;
	if (old_counter(c, name))
		return;
	ob = nftnl_obj_alloc();
	if (!ob) {
		c->err = -ENOMEM;
		return;
	}
	nftnl_obj_set_str(ob, NFTNL_OBJ_TABLE, NFT_TLSFW_TABLE);
	nftnl_obj_set_str(ob, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(ob, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_u32(ob, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	put_udata_comment(c, NFTNL_UDATA_OBJ_COMMENT, comment, obj_udata_set, ob);
	nlh = msg_begin(c, NFT_MSG_NEWOBJ, NLM_F_CREATE, kind, idx, "counter %s", name);
	if (nlh) {
		nftnl_obj_nlmsg_build_payload(nlh, ob);
		msg_end(c, nlh);
	}
	nftnl_obj_free(ob);
}

struct chain_spec {
	const char *name;
	const char *dev; /* ingress hook device, or NULL */
	int hook;	 /* -1: regular chain */
	int prio;
	const struct nftnl_udata_buf *udata; /* or NULL */
};

/* Does the new policy make a chain of this name? A name says what the chain is ("lan0_in" is
 * the base chain on lan0's ingress hook, "forward" the forward hook's), so such a chain of
 * the previous policy is kept, emptied by the flush, rather than deleted and made again:
 * deleting a base chain and registering its successor on the hook in one transaction let
 * packets through unfiltered (measured: a few of 1,700 blocked datagrams across 50 applies
 * under traffic; selftests/net/test_hot_reload.sh). The policy chain is always new, for
 * its records. */
static bool chain_wanted(const struct bctx *c, const char *name)
{
	bool egress = false;

	if (!strcmp(name, NFT_REJECT_CHAIN))
		return true;
	for (size_t i = 0; i < c->p->n_ifaces; i++) {
		const struct pol_iface *ifc = &c->p->ifaces[i];
		char n[IFNAMSIZ + 8];

		egress |= (ifc->hooks & POL_HOOK_EGRESS) != 0;
		nft_chain_name(n, sizeof(n), ifc->name, false);
		if ((ifc->hooks & POL_HOOK_INGRESS) && !strcmp(n, name))
			return true;
		nft_chain_name(n, sizeof(n), ifc->name, true);
		if ((ifc->hooks & POL_HOOK_EGRESS) && !strcmp(n, name))
			return true;
	}
	return egress && (!strcmp(name, "forward") || !strcmp(name, "output"));
}

static bool chain_kept(const struct bctx *c, const char *name)
{
	const struct nft_existing *old = c->o->old;

	if (!old || !old->table || !strcmp(name, NFT_POLICY_CHAIN) || !chain_wanted(c, name))
		return false;
	for (size_t i = 0; i < old->n_chains; i++)
		if (!strcmp(old->chains[i], name))
			return true;
	return false;
}

static void chain_add(struct bctx *c, const struct chain_spec *cs, enum nft_owner_kind kind,
		      int idx)
{
	struct nftnl_chain *ch;
	struct nlmsghdr *nlh;

	if (c->err)
		return;
	c->b->n_chains++;
	if (chain_kept(c, cs->name))
		return;
	ch = nftnl_chain_alloc();
	if (!ch) {
		c->err = -ENOMEM;
		return;
	}
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFT_TLSFW_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, cs->name);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (cs->hook >= 0) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, cs->hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, cs->prio);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		if (cs->dev)
			nftnl_chain_set_str(ch, NFTNL_CHAIN_DEV, cs->dev);
	}
	if (cs->udata)
		nftnl_chain_set_data(ch, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(cs->udata),
				     nftnl_udata_buf_len(cs->udata));
	nlh = msg_begin(c, NFT_MSG_NEWCHAIN, NLM_F_CREATE, kind, idx,
			cs->dev ? "chain %s on the ingress hook of %s" : "chain %s", cs->name,
			cs->dev);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		msg_end(c, nlh);
	}
	nftnl_chain_free(ch);
}

/* ---- sets --------------------------------------------------------------------------------- */

/* nftables data types (nftables' datatype.h), for `nft list` to print elements readably */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_INET_PROTOCOL 12
#define NFT_TYPE_INET_SERVICE 13
#define NFT_TYPE_IFNAME 41
#define NFT_TYPE_BITS 6

struct elem { /* one set element: a key or an interval of keys */
	uint8_t key[16], key_end[16];
	bool has_end;	   /* concatenated intervals: inclusive end */
	bool interval_end; /* rbtree intervals: this key ends the previous interval */
	const char *chain; /* verdict maps: jump target */
};

struct set_spec {
	const char *name;
	uint32_t key_type, key_len;
	uint32_t flags;	   /* NFT_SET_* */
	uint8_t fields[2]; /* concatenation field lengths, or 0 */
	const struct elem *e;
	size_t n;
	size_t size;		/* declared size, 0: none */
	uint32_t key_byteorder; /* for nft's printing: 1 host (strings), 0 unsaid */
};

static struct nftnl_set *set_obj(struct bctx *c, const char *name, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s) {
		c->err = -ENOMEM;
		return NULL;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TLSFW_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	return s;
}

/* Elements [i, end) of ss in one message. */
static void set_elems_add(struct bctx *c, const struct set_spec *ss, uint32_t id, size_t i,
			  size_t end, enum nft_owner_kind kind, int idx)
{
	struct nftnl_set *s = set_obj(c, ss->name, id);
	struct nlmsghdr *nlh;

	if (!s)
		return;
	for (size_t k = i; k < end; k++) {
		struct nftnl_set_elem *el = nftnl_set_elem_alloc();
		const struct elem *e = &ss->e[k];

		if (!el) {
			c->err = -ENOMEM;
			break;
		}
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e->key, ss->key_len);
		if (e->has_end)
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, e->key_end, ss->key_len);
		if (e->interval_end)
			nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		if (e->chain) {
			nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, NFT_JUMP);
			nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, e->chain);
		}
		nftnl_set_elem_add(s, el);
	}
	nlh = msg_begin(c, NFT_MSG_NEWSETELEM, NLM_F_CREATE, kind, idx,
			"elements %zu-%zu of set %s", i + 1, end, ss->name);
	if (nlh) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		msg_end(c, nlh);
		c->b->n_elems += end - i;
	}
	nftnl_set_free(s);
}

static void staged_add(struct bctx *c, const char *name)
{
	char **v = realloc(c->b->staged, (c->b->n_staged + 1) * sizeof(*v));

	if (!v) {
		c->err = -ENOMEM;
		return;
	}
	c->b->staged = v;
	v[c->b->n_staged] = strdup(name);
	if (!v[c->b->n_staged])
		c->err = -ENOMEM;
	else
		c->b->n_staged++;
}

static void set_add(struct bctx *c, const struct set_spec *ss, enum nft_owner_kind kind, int idx)
{
	uint32_t id = ++c->set_id;
	struct nftnl_set *s = set_obj(c, ss->name, id);
	struct nlmsghdr *nlh;

	if (!s)
		return;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, ss->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, ss->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, ss->key_len);
	if (ss->flags & NFT_SET_MAP) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
	}
	if (ss->fields[0])
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, ss->fields, 2);
	if (ss->size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, ss->size);
	if (ss->key_byteorder) {
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		if (!u) {
			c->err = -ENOMEM;
			nftnl_set_free(s);
			return;
		}
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, ss->key_byteorder);
		nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
				   nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	nlh = msg_begin(c, NFT_MSG_NEWSET, NLM_F_CREATE, kind, idx, "set %s", ss->name);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		msg_end(c, nlh);
		c->b->n_sets++;
		if (kind == NFT_OWN_RULE)
			staged_add(c, ss->name);
	}
	nftnl_set_free(s);
	for (size_t i = 0; i < ss->n && !c->err; i += ELEMS_PER_MSG)
		set_elems_add(c, ss, id, i, i + ELEMS_PER_MSG < ss->n ? i + ELEMS_PER_MSG : ss->n,
			      kind, idx);
}

/* ---- element lists ------------------------------------------------------------------------ */

struct elems {
	struct elem *e;
	size_t n, cap;
};

static struct elem *elem_push(struct bctx *c, struct elems *l)
{
	if (c->err)
		return NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct elem *e = realloc(l->e, cap * sizeof(*e));

		if (!e) {
			c->err = -ENOMEM;
			return NULL;
		}
		l->e = e;
		l->cap = cap;
	}
	memset(&l->e[l->n], 0, sizeof(*l->e));
	return &l->e[l->n++];
}

static int proto_bit(const uint8_t *protos, unsigned int i)
{
	return protos[i / 8] >> (i % 8) & 1;
}

struct prange {
	uint8_t proto;
	uint16_t lo, hi;
};

static int prange_cmp(const void *a, const void *b)
{
	const struct prange *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	return (int)x->lo - (int)y->lo;
}

/* (protocol . port) intervals of rule ri's terms, merged: pipapo sets refuse overlaps. */
static void port_elems(struct bctx *c, size_t ri, bool src, struct elems *out)
{
	const struct policy *p = c->p;
	struct prange *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t ti = 0; ti < p->n_terms; ti++) {
		const struct pol_term *t = &p->terms[ti];
		const struct pol_ports *pp = src ? t->sport : t->dport;
		static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };

		if (t->rule != ri || !pp)
			continue;
		for (size_t k = 0; k < 2; k++) {
			if (!proto_bit(t->protos, protos[k]))
				continue;
			for (size_t j = 0; j < pp->n; j++) {
				if (n == cap) {
					struct prange *nv;

					cap = cap ? 2 * cap : 16;
					nv = realloc(v, cap * sizeof(*v));
					if (!nv) {
						c->err = -ENOMEM;
						free(v);
						return;
					}
					v = nv;
				}
				v[n++] = (struct prange){ protos[k], pp->r[j].lo, pp->r[j].hi };
			}
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), prange_cmp);
	for (size_t i = 0; i < n;) {
		struct prange cur = v[i++];
		struct elem *e;

		while (i < n && v[i].proto == cur.proto &&
		       (uint32_t)v[i].lo <= (uint32_t)cur.hi + 1) {
			if (v[i].hi > cur.hi)
				cur.hi = v[i].hi;
			i++;
		}
		e = elem_push(c, out);
		if (!e)
			break;
		e->key[0] = cur.proto;
		e->key[4] = cur.lo >> 8;
		e->key[5] = cur.lo & 0xff;
		memcpy(e->key_end, e->key, 8);
		e->key_end[4] = cur.hi >> 8;
		e->key_end[5] = cur.hi & 0xff;
		e->has_end = true;
	}
	free(v);
}

struct arange {
	uint8_t lo[16], hi[16];
};

static int arange_cmp(const void *a, const void *b)
{
	return memcmp(((const struct arange *)a)->lo, ((const struct arange *)b)->lo, 16);
}

/* big-endian x + 1 over len bytes; false when it wraps (x was all ones) */
static bool be_inc(uint8_t *x, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (++x[i])
			return true;
	return false;
}

/*
 * Prefixes of one family as rbtree interval elements: disjoint, merged intervals, each a start
 * element and an end element one past its last address (none when it reaches the top).
 */
static void prefix_elems(struct bctx *c, const struct pol_prefixes *pp, unsigned int fam,
			 struct elems *out)
{
	size_t alen = fam == POL_FAM_V4 ? 4 : 16, n = 0;
	struct arange *v = calloc(pp->n ? pp->n : 1, sizeof(*v));

	if (!v) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < pp->n; i++) {
		const struct pol_prefix *px = &pp->p[i];
		unsigned int plen = fam == POL_FAM_V4 ? px->plen - 96 : px->plen;
		const uint8_t *a = fam == POL_FAM_V4 ? px->addr + 12 : px->addr;

		if (px->family != fam)
			continue;
		for (size_t b = 0; b < alen; b++) {
			unsigned int bits = plen > 8 * b ? plen - 8 * b : 0;
			uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

			v[n].lo[b] = a[b] & mask;
			v[n].hi[b] = a[b] | (uint8_t)~mask;
		}
		n++;
	}
	qsort(v, n, sizeof(*v), arange_cmp);
	for (size_t i = 0; i < n;) {
		struct arange cur = v[i++];
		uint8_t next[16];
		bool top;
		struct elem *e;

		for (;;) {
			memcpy(next, cur.hi, 16);
			top = !be_inc(next, alen);
			if (i >= n || top || memcmp(v[i].lo, next, alen) > 0)
				break;
			if (memcmp(v[i].hi, cur.hi, alen) > 0)
				memcpy(cur.hi, v[i].hi, 16);
			i++;
		}
		if (top) /* swallowed everything after it */
			i = n;
		e = elem_push(c, out);
		if (!e)
			break;
		memcpy(e->key, cur.lo, alen);
		if (top)
			continue;
		e = elem_push(c, out);
		if (!e)
			break;
		memcpy(e->key, next, alen);
		e->interval_end = true;
	}
	free(v);
}

/* ---- one policy rule ---------------------------------------------------------------------- */

struct rule_shape {
	bool pd, ps; /* sets <rule>_pd (proto . dport), <rule>_ps (proto . sport) */
	bool one[2]; /* [0] dport, [1] sport: a single protocol . port interval,
				 * compared inline (one[]) instead of looked up in a set */
	struct elem port1[2];
	const struct pol_prefix *addr1[2][3]; /* [src, dst][family]: a single prefix, inline */
	int one_proto;			      /* a single protocol without ports, or -1 */
	bool proto_set;			      /* set <rule>_proto */
	bool src[3], dst[3];		      /* [POL_FAM_V4], [POL_FAM_V6]: address sets */
	unsigned int fams;		      /* families the rule can match */
	bool split;			      /* one nft rule per family */
	bool never; /* no term: the rule matches nothing (check diagnoses it) */
};

static unsigned int prefix_fams(const struct pol_prefixes *pp)
{
	unsigned int f = 0;

	for (size_t i = 0; i < pp->n; i++)
		f |= pp->p[i].family;
	return f;
}

/* "<rule>_<what>.<generation>": the sets of the policy in force and of the one replacing it
 * exist side by side between the two transactions of an apply (see nft_batch_build). */
static void set_name(const struct bctx *c, char *buf, size_t len, const char *rule,
		     const char *suffix)
{
	snprintf(buf, len, "%s_%s.%c", rule, suffix, c->tag);
}

static void addr_set_name(const struct bctx *c, char *buf, size_t len, const char *rule, bool dst,
			  unsigned int fam)
{
	char what[8];

	snprintf(what, sizeof(what), "%s%c", dst ? "dst" : "src", fam == POL_FAM_V4 ? '4' : '6');
	set_name(c, buf, len, rule, what);
}

/* Declared set size: the element count, or one less for TLSFW_NFT_FAULT=set-size:<rule>
 * (tests use it for a batch the kernel refuses). */
static size_t set_size(struct bctx *c, size_t ri, size_t n)
{
	if (c->fault_rule && !strcmp(c->fault_rule, c->p->rules[ri].name) && n >= 2) {
		c->fault_rule = NULL;
		return n - 1;
	}
	return n;
}

static void rule_sets(struct bctx *c, size_t ri, struct rule_shape *sh)
{
	const struct pol_rule *r = &c->p->rules[ri];
	uint8_t protos[32] = { 0 };
	unsigned int nproto = 0, last = 0;
	char name[96];
	bool any_d = false, any_s = false;
	size_t n_terms = 0;

	memset(sh, 0, sizeof(*sh));
	sh->one_proto = -1;
	for (size_t ti = 0; ti < c->p->n_terms; ti++) {
		const struct pol_term *t = &c->p->terms[ti];

		if (t->rule != ri)
			continue;
		n_terms++;
		for (int k = 0; k < 32; k++)
			protos[k] |= t->protos[k];
		any_d |= t->dport != NULL;
		any_s |= t->sport != NULL;
	}
	for (unsigned int i = 0; i < 256; i++)
		if (proto_bit(protos, i))
			nproto++, last = i;
	if (!n_terms) {
		/* without this, a rule without matches would match every packet */
		sh->never = true;
		return;
	}
	if (any_d || any_s) {
		struct elems l = { 0 };
		struct set_spec ss = {
			.key_type = NFT_TYPE_INET_PROTOCOL << NFT_TYPE_BITS | NFT_TYPE_INET_SERVICE,
			.key_len = 8,
			.flags = NFT_SET_INTERVAL | NFT_SET_CONCAT,
			.fields = { 1, 2 },
			.name = name,
		};

		for (int s = 0; s < 2; s++) {
			if (!(s ? any_s : any_d))
				continue;
			l.n = 0;
			port_elems(c, ri, s, &l);
			/* One protocol and one port or range: two comparisons, no set. Besides the
			 * lookup, a set per rule costs at apply: the kernel finds sets by name in a
			 * list, so thousands of one-port rules made applies quadratic. */
			if (l.n == 1) {
				sh->one[s] = true;
				sh->port1[s] = l.e[0];
				continue;
			}
			set_name(c, name, sizeof(name), r->name, s ? "ps" : "pd");
			ss.e = l.e;
			ss.n = l.n;
			ss.size = set_size(c, ri, l.n);
			set_add(c, &ss, NFT_OWN_RULE, ri);
		}
		free(l.e);
		sh->pd = any_d;
		sh->ps = any_s;
	} else if (nproto == 1) {
		sh->one_proto = last;
	} else if (nproto > 1 && nproto < 256) {
		struct elems l = { 0 };
		struct set_spec ss = {
			.key_type = NFT_TYPE_INET_PROTOCOL,
			.key_len = 1,
			.name = name,
		};

		for (unsigned int i = 0; i < 256; i++) {
			struct elem *e;

			if (!proto_bit(protos, i))
				continue;
			e = elem_push(c, &l);
			if (e)
				e->key[0] = i;
		}
		set_name(c, name, sizeof(name), r->name, "proto");
		ss.e = l.e;
		ss.n = l.n;
		ss.size = set_size(c, ri, l.n);
		set_add(c, &ss, NFT_OWN_RULE, ri);
		free(l.e);
		sh->proto_set = true;
	}

	sh->fams = r->family ? r->family : POL_FAM_V4 | POL_FAM_V6;
	if (r->has_src)
		sh->fams &= prefix_fams(&r->src);
	if (r->has_dst)
		sh->fams &= prefix_fams(&r->dst);
	sh->split = sh->fams != (POL_FAM_V4 | POL_FAM_V6) || r->has_src || r->has_dst;
	for (unsigned int fam = POL_FAM_V4; fam <= POL_FAM_V6; fam++) {
		for (int d = 0; d < 2; d++) {
			const struct pol_prefixes *pp = d ? &r->dst : &r->src;
			struct elems l = { 0 };
			struct set_spec ss = {
				.key_type = fam == POL_FAM_V4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR,
				.key_len = fam == POL_FAM_V4 ? 4 : 16,
				.flags = NFT_SET_INTERVAL,
				.name = name,
			};

			if (!(sh->fams & fam) || !(d ? r->has_dst : r->has_src))
				continue;
			{
				const struct pol_prefix *only = NULL;
				size_t n = 0;

				for (size_t i = 0; i < pp->n; i++)
					if (pp->p[i].family == fam)
						only = &pp->p[i], n++;
				if (n == 1) { /* one prefix: a masked comparison, no set */
					sh->addr1[d][fam] = only;
					if (d)
						sh->dst[fam] = true;
					else
						sh->src[fam] = true;
					continue;
				}
			}
			prefix_elems(c, pp, fam, &l);
			addr_set_name(c, name, sizeof(name), r->name, d, fam);
			ss.e = l.e;
			ss.n = l.n;
			ss.size = set_size(c, ri, l.n);
			set_add(c, &ss, NFT_OWN_RULE, ri);
			free(l.e);
			if (d)
				sh->dst[fam] = true;
			else
				sh->src[fam] = true;
		}
	}
}

static const char *const action_word[3] = { "allow", "drop", "reject" };

/* The verdict of a rule that matched: monitor rules count and pass, like the BPF backend
 * (they match first, later rules do not see the packet). */
/* The interface's totals a packet of verdict a counts into, as the data plane keeps them:
 * "(pass)", "(drop)" or "(reject)", and "(monitor)" too for a monitor-mode match (which
 * passes). They are kept across apply whatever the rules, as the BPF backend's are. */
static void e_totals(struct bctx *c, struct nftnl_rule *nr, const char *ifname, bool egress,
		     enum pol_action a, bool monitor)
{
	char name[160];

	if (monitor) {
		nft_own_counter_name(name, sizeof(name), "monitor", ifname, egress);
		e_counter(c, nr, name);
		a = POL_ALLOW;
	}
	nft_own_counter_name(name, sizeof(name),
			     a == POL_DROP   ? "drop" :
			     a == POL_REJECT ? "reject" :
					       "pass",
			     ifname, egress);
	e_counter(c, nr, name);
}

static void e_action(struct bctx *c, struct nftnl_rule *nr, enum pol_action a, bool monitor)
{
	if (monitor || a == POL_ALLOW)
		e_verdict(c, nr, NF_ACCEPT, NULL);
	else if (a == POL_DROP)
		e_verdict(c, nr, NF_DROP, NULL);
	else
		e_verdict(c, nr, NFT_GOTO, NFT_REJECT_CHAIN);
}

static void port_match(struct bctx *c, struct nftnl_rule *nr, const char *rule, bool src)
{
	char name[96];

	set_name(c, name, sizeof(name), rule, src ? "ps" : "pd");
	e_meta(c, nr, NFT_META_L4PROTO, NFT_REG32_00);
	e_payload(c, nr, NFT_PAYLOAD_TRANSPORT_HEADER, src ? 0 : 2, 2, NFT_REG32_01);
	e_lookup(c, nr, NFT_REG32_00, name, false);
}

/* protocol == p and port (or port range) of a single-element port set, compared inline */
static void port_inline(struct bctx *c, struct nftnl_rule *nr, const struct elem *e, bool src)
{
	uint8_t proto = e->key[0];

	e_meta(c, nr, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp(c, nr, NFT_CMP_EQ, &proto, 1);
	e_payload(c, nr, NFT_PAYLOAD_TRANSPORT_HEADER, src ? 0 : 2, 2, NFT_REG_1);
	if (!memcmp(e->key + 4, e->key_end + 4, 2)) {
		e_cmp(c, nr, NFT_CMP_EQ, e->key + 4, 2);
	} else { /* big-endian bytes compare as numbers */
		e_cmp(c, nr, NFT_CMP_GTE, e->key + 4, 2);
		e_cmp(c, nr, NFT_CMP_LTE, e->key_end + 4, 2);
	}
}

static void addr_match(struct bctx *c, struct nftnl_rule *nr, const char *rule, bool dst,
		       unsigned int fam, const struct pol_prefix *only)
{
	char name[96];
	uint32_t off = fam == POL_FAM_V4 ? (dst ? 16 : 12) : (dst ? 24 : 8);
	uint32_t alen = fam == POL_FAM_V4 ? 4 : 16;

	e_payload(c, nr, NFT_PAYLOAD_NETWORK_HEADER, off, alen, NFT_REG_1);
	if (only) { /* addr & mask == network */
		const uint8_t *a = fam == POL_FAM_V4 ? only->addr + 12 : only->addr;
		unsigned int plen = fam == POL_FAM_V4 ? only->plen - 96 : only->plen;
		uint8_t mask[16] = { 0 }, net[16] = { 0 };

		for (uint32_t b = 0; b < alen; b++) {
			unsigned int bits = plen > 8 * b ? plen - 8 * b : 0;

			mask[b] = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
			net[b] = a[b] & mask[b];
		}
		e_bitwise(c, nr, mask, alen);
		e_cmp(c, nr, NFT_CMP_EQ, net, alen);
		return;
	}
	addr_set_name(c, name, sizeof(name), rule, dst, fam);
	e_lookup(c, nr, NFT_REG_1, name, false);
}

static void rule_emit(struct bctx *c, size_t ri, const struct rule_shape *sh, const char *chain,
		      const char *ifname, bool egress)
{
	const struct pol_rule *r = &c->p->rules[ri];
	char counter[160], comment[128], info[64];

	nft_counter_name(counter, sizeof(counter), r->name, ifname, egress);
	snprintf(comment, sizeof(comment), "%s (line %u)%s", r->name, r->loc.line,
		 r->mode == POL_MONITOR ? " monitor" :
		 sh->never		? " matches nothing" :
					  "");
	snprintf(info, sizeof(info), "action=%s mode=%s line=%u", action_word[r->action],
		 pol_mode_names[r->mode], r->loc.line);
	if (sh->never) {
		/* Still a rule, so that stats finds the rule's counter and what it is: one that
		 * asks for two transport protocols at once. */
		struct nftnl_rule *nr = rule_new_counted(c, chain, comment, counter, info);
		uint8_t tcp = IPPROTO_TCP, udp = IPPROTO_UDP;

		e_meta(c, nr, NFT_META_L4PROTO, NFT_REG_1);
		e_cmp(c, nr, NFT_CMP_EQ, &tcp, 1);
		e_meta(c, nr, NFT_META_L4PROTO, NFT_REG_1);
		e_cmp(c, nr, NFT_CMP_EQ, &udp, 1);
		e_counter(c, nr, counter);
		rule_send(c, nr, NFT_OWN_RULE, ri);
		return;
	}
	for (unsigned int fam = POL_FAM_V4; fam <= POL_FAM_V6; fam++) {
		struct nftnl_rule *nr;

		if (sh->split && !(sh->fams & fam))
			continue;
		if (!sh->split && fam == POL_FAM_V6)
			break;
		nr = rule_new_counted(c, chain, comment, counter, info);
		if (!nr)
			return;
		if (sh->split)
			e_nfproto(c, nr, fam);
		for (int s = 0; s < 2; s++) {
			if (!(s ? sh->ps : sh->pd))
				continue;
			if (sh->one[s])
				port_inline(c, nr, &sh->port1[s], s);
			else
				port_match(c, nr, r->name, s);
		}
		if (sh->one_proto >= 0) {
			uint8_t v = sh->one_proto;

			e_meta(c, nr, NFT_META_L4PROTO, NFT_REG_1);
			e_cmp(c, nr, NFT_CMP_EQ, &v, 1);
		}
		if (sh->proto_set) {
			char name[96];

			set_name(c, name, sizeof(name), r->name, "proto");
			e_meta(c, nr, NFT_META_L4PROTO, NFT_REG_1);
			e_lookup(c, nr, NFT_REG_1, name, false);
		}
		if (sh->src[fam] && sh->split)
			addr_match(c, nr, r->name, false, fam, sh->addr1[0][fam]);
		if (sh->dst[fam] && sh->split)
			addr_match(c, nr, r->name, true, fam, sh->addr1[1][fam]);
		e_counter(c, nr, counter);
		e_totals(c, nr, ifname, egress, r->action, r->mode == POL_MONITOR);
		e_action(c, nr, r->action, r->mode == POL_MONITOR);
		rule_send(c, nr, NFT_OWN_RULE, ri);
	}
}

static bool rule_applies(const struct pol_rule *r, const struct pol_iface *ifc, bool egress)
{
	unsigned int dir = egress ? POL_DIR_EGRESS : POL_DIR_INGRESS;
	bool named = r->ifaces.n == 0;

	if (r->direction && !(r->direction & dir))
		return false;
	for (size_t i = 0; i < r->ifaces.n && !named; i++)
		named = !strcmp(r->ifaces.v[i], ifc->name);
	return named;
}

/*
 * Fragments. Nothing in nf_tables remembers a first fragment's verdict for the ones that follow,
 * and the ingress hook runs before reassembly: `follow` and `allow` both pass non-first
 * fragments here (the first fragment, which holds the ports, gets the rules; without it the
 * receiver cannot reassemble the datagram). `drop` drops every fragment.
 */
static void frag_emit(struct bctx *c, const char *chain, const char *ifname, bool egress)
{
	bool drop = c->p->fragments == POL_FRAG_DROP;
	char counter[160], comment[64];

	nft_own_counter_name(counter, sizeof(counter),
			     drop ? "fragment-dropped" : "fragment-allowed", ifname, egress);
	snprintf(comment, sizeof(comment), "fragments: %s", pol_frag_names[c->p->fragments]);
	for (unsigned int fam = POL_FAM_V4; fam <= POL_FAM_V6; fam++) {
		struct nftnl_rule *nr = rule_new(c, chain, comment);
		uint16_t zero = 0;

		if (!nr)
			return;
		e_nfproto(c, nr, fam);
		if (fam == POL_FAM_V4) {
			uint16_t mask = htons(drop ? 0x3fff : 0x1fff);

			e_payload(c, nr, NFT_PAYLOAD_NETWORK_HEADER, 6, 2, NFT_REG_1);
			e_bitwise(c, nr, &mask, 2);
			e_cmp(c, nr, NFT_CMP_NEQ, &zero, 2);
		} else if (drop) {
			uint8_t one = 1;

			e_exthdr_frag(c, nr, false);
			e_cmp(c, nr, NFT_CMP_EQ, &one, 1);
		} else {
			uint16_t mask = htons(0xfff8);

			e_exthdr_frag(c, nr, true);
			e_bitwise(c, nr, &mask, 2);
			e_cmp(c, nr, NFT_CMP_NEQ, &zero, 2);
		}
		e_counter(c, nr, counter);
		e_totals(c, nr, ifname, egress, drop ? POL_DROP : POL_ALLOW, false);
		e_verdict(c, nr, drop ? NF_DROP : NF_ACCEPT, NULL);
		rule_send(c, nr, NFT_OWN_POLICY, -1);
	}
}

static void default_emit(struct bctx *c, const char *chain, const char *ifname, bool egress)
{
	char counter[160], comment[64];
	struct nftnl_rule *nr;

	nft_own_counter_name(counter, sizeof(counter), "default", ifname, egress);
	snprintf(comment, sizeof(comment), "default: %s", action_word[c->p->default_action]);
	nr = rule_new(c, chain, comment);
	if (!nr)
		return;
	e_counter(c, nr, counter);
	e_totals(c, nr, ifname, egress, c->p->default_action, false);
	e_verdict(c, nr, c->p->default_action == POL_DROP ? NF_DROP : NF_ACCEPT, NULL);
	rule_send(c, nr, NFT_OWN_POLICY, -1);
}

/* Counter comments are what `tlsfw stats` reads back ("rule=R iface=I dir=D"): keep the
 * format in step with nft_counter_parse() in apply_nft.c. They say only what the counter's
 * name says, because a counter outlives the policy that created it. */
static void counter_for(struct bctx *c, const char *rule, const char *stat,
			const struct pol_iface *ifc, bool egress, enum nft_owner_kind kind, int idx)
{
	const char *dir = egress ? "egress" : "ingress";
	char name[160], comment[128];

	if (stat) {
		nft_own_counter_name(name, sizeof(name), stat, ifc->name, egress);
		snprintf(comment, sizeof(comment), "rule=(%s) iface=%s dir=%s", stat, ifc->name,
			 dir);
	} else {
		nft_counter_name(name, sizeof(name), rule, ifc->name, egress);
		snprintf(comment, sizeof(comment), "rule=%s iface=%s dir=%s", rule, ifc->name, dir);
	}
	counter_add(c, name, comment, kind, idx);
}

static void counters_for_chain(struct bctx *c, const struct pol_iface *ifc, bool egress)
{
	static const char *const own[] = {
		"default",	    "pass", "drop", "reject", "monitor", "fragment-dropped",
		"fragment-allowed",
	};

	for (size_t ri = 0; ri < c->p->n_rules; ri++)
		if (rule_applies(&c->p->rules[ri], ifc, egress))
			counter_for(c, c->p->rules[ri].name, NULL, ifc, egress, NFT_OWN_RULE, ri);
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		counter_for(c, NULL, own[i], ifc, egress, NFT_OWN_POLICY, -1);
}

/* ---- the table ---------------------------------------------------------------------------- */

/* The table, created when absent; an existing one is kept. */
static void table_create(struct bctx *c)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	struct nlmsghdr *nlh;

	if (!t || !u) {
		c->err = -ENOMEM;
		goto out;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TLSFW_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_udata_put_strz(u, NFTNL_UDATA_TABLE_COMMENT,
			     "tlsfw: see `tlsfw status`, chain " NFT_POLICY_CHAIN);
	nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(u),
			     nftnl_udata_buf_len(u));
	nlh = msg_begin(c, NFT_MSG_NEWTABLE, NLM_F_CREATE, NFT_OWN_TABLE, -1, "table inet tlsfw");
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		msg_end(c, nlh);
	}
out:
	nftnl_udata_buf_free(u);
	nftnl_table_free(t);
}

/* A message deleting table inet tlsfw (DELTABLE; name unused), a set, chain or counter NAME
 * of it, or the egress map's element for interface NAME (DELSETELEM). */
static void del_named(struct bctx *c, uint16_t type, const char *name)
{
	const char *what = type == NFT_MSG_DELSET     ? "set" :
			   type == NFT_MSG_DELCHAIN   ? "chain" :
			   type == NFT_MSG_DELOBJ     ? "counter" :
			   type == NFT_MSG_DELSETELEM ? "egress map element" :
							"table";
	struct nlmsghdr *nlh = msg_begin(c, type, 0, NFT_OWN_TABLE, -1, "the previous %s %s", what,
					 name ? name : NFT_TLSFW_TABLE);

	if (!nlh)
		return;
	if (type == NFT_MSG_DELTABLE) {
		struct nftnl_table *x = nftnl_table_alloc();

		if (!x)
			goto oom;
		nftnl_table_set_str(x, NFTNL_TABLE_NAME, NFT_TLSFW_TABLE);
		nftnl_table_nlmsg_build_payload(nlh, x);
		nftnl_table_free(x);
	} else if (type == NFT_MSG_DELSETELEM) {
		struct nftnl_set *x = nftnl_set_alloc();
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		char key[IFNAMSIZ] = { 0 };

		if (!x || !e) {
			nftnl_set_free(x);
			nftnl_set_elem_free(e);
			goto oom;
		}
		memcpy(key, name, strnlen(name, IFNAMSIZ - 1));
		nftnl_set_set_str(x, NFTNL_SET_TABLE, NFT_TLSFW_TABLE);
		nftnl_set_set_str(x, NFTNL_SET_NAME, "egress");
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, IFNAMSIZ);
		nftnl_set_elem_add(x, e);
		nftnl_set_elems_nlmsg_build_payload(nlh, x);
		nftnl_set_free(x);
	} else if (type == NFT_MSG_DELSET) {
		struct nftnl_set *x = nftnl_set_alloc();

		if (!x)
			goto oom;
		nftnl_set_set_str(x, NFTNL_SET_TABLE, NFT_TLSFW_TABLE);
		nftnl_set_set_str(x, NFTNL_SET_NAME, name);
		nftnl_set_set_u32(x, NFTNL_SET_FAMILY, NFPROTO_INET);
		nftnl_set_nlmsg_build_payload(nlh, x);
		nftnl_set_free(x);
	} else if (type == NFT_MSG_DELCHAIN) {
		struct nftnl_chain *x = nftnl_chain_alloc();

		if (!x)
			goto oom;
		nftnl_chain_set_str(x, NFTNL_CHAIN_TABLE, NFT_TLSFW_TABLE);
		nftnl_chain_set_str(x, NFTNL_CHAIN_NAME, name);
		nftnl_chain_set_u32(x, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
		nftnl_chain_nlmsg_build_payload(nlh, x);
		nftnl_chain_free(x);
	} else {
		struct nftnl_obj *x = nftnl_obj_alloc();

		if (!x)
			goto oom;
		nftnl_obj_set_str(x, NFTNL_OBJ_TABLE, NFT_TLSFW_TABLE);
		nftnl_obj_set_str(x, NFTNL_OBJ_NAME, name);
		nftnl_obj_set_u32(x, NFTNL_OBJ_FAMILY, NFPROTO_INET);
		nftnl_obj_set_u32(x, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		nftnl_obj_nlmsg_build_payload(nlh, x);
		nftnl_obj_free(x);
	}
	msg_end(c, nlh);
	return;
oom:
	c->err = -ENOMEM;
}

static bool new_generation(const struct bctx *c, const char *set)
{
	size_t n = strlen(set);

	return n > 2 && set[n - 2] == '.' && set[n - 1] == c->tag;
}

/* Delete the table's sets: of the new generation (left by an apply that failed half way;
 * nothing uses them), or all the others (the previous policy's, once its rules are gone). */
static void old_sets_del(struct bctx *c, bool new_gen)
{
	const struct nft_existing *old = c->o->old;

	for (size_t i = 0; old && i < old->n_sets && !c->err; i++)
		if (new_generation(c, old->sets[i]) == new_gen)
			del_named(c, NFT_MSG_DELSET, old->sets[i]);
}

/* Empty the table of what the previous policy made. Flushing the rules first releases
 * every reference to sets, chains and counters, so the deletions that follow cannot fail
 * for being in use. */
static void old_msgs(struct bctx *c)
{
	const struct nft_existing *old = c->o->old;
	struct nlmsghdr *nlh;

	if (!old || !old->table || c->err)
		return;
	{
		struct nftnl_rule *r = nftnl_rule_alloc();

		if (!r) {
			c->err = -ENOMEM;
			return;
		}
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TLSFW_TABLE);
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
		nlh = msg_begin(c, NFT_MSG_DELRULE, 0, NFT_OWN_TABLE, -1, "the previous rules");
		if (nlh) {
			nftnl_rule_nlmsg_build_payload(nlh, r);
			msg_end(c, nlh);
		}
		nftnl_rule_free(r);
	}
	old_sets_del(c, false);
	for (size_t i = 0; i < old->n_chains && !c->err; i++)
		if (!chain_kept(c, old->chains[i]))
			del_named(c, NFT_MSG_DELCHAIN, old->chains[i]);
}

/* The previous policy's counters that the new one does not name (c->names, complete once
 * every counter_add has run). */
static void old_counters_del(struct bctx *c)
{
	const struct nft_existing *old = c->o->old;

	if (!old || c->err)
		return;
	qsort(c->names, c->n_names, sizeof(char *), name_cmp);
	for (size_t i = 0; i < old->n_counters && !c->err; i++) {
		const char *name = old->counters[i];

		if (!c->n_names || !bsearch(&name, c->names, c->n_names, sizeof(char *), name_cmp))
			del_named(c, NFT_MSG_DELOBJ, name);
	}
}

/* What `tlsfw status` says about the policy in force, on an empty chain that every apply
 * recreates. */
static void policy_chain(struct bctx *c)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	const char *file = c->o->policy_file ? c->o->policy_file : "-";
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	struct chain_spec cs = { .name = NFT_POLICY_CHAIN, .hook = -1 };
	char comment[128], path[NFT_META_PATH_MAX + 1];
	uint64_t now = (uint64_t)time(NULL);
	uint32_t nrules = c->p->n_rules;
	size_t fl = strlen(file);

	if (!u) {
		c->err = -ENOMEM;
		return;
	}
	snprintf(comment, sizeof(comment), "tlsfw: %.40s", base);
	if (fl > NFT_META_PATH_MAX)
		snprintf(path, sizeof(path), "...%s", file + fl - (NFT_META_PATH_MAX - 3));
	else
		snprintf(path, sizeof(path), "%s", file);
	nftnl_udata_put_strz(u, NFTNL_UDATA_CHAIN_COMMENT, comment);
	nftnl_udata_put_strz(u, NFT_META_FILE, path);
	if (c->o->sha256)
		nftnl_udata_put(u, NFT_META_SHA256, 32, c->o->sha256);
	nftnl_udata_put(u, NFT_META_APPLIED, sizeof(now), &now);
	nftnl_udata_put(u, NFT_META_NRULES, sizeof(nrules), &nrules);
	nftnl_udata_put_strz(u, NFT_META_DEFAULT, action_word[c->p->default_action]);
	nftnl_udata_put(u, NFT_META_TAG, 1, &c->tag);
	cs.udata = u;
	chain_add(c, &cs, NFT_OWN_POLICY, -1);
	nftnl_udata_buf_free(u);
}

static void reject_chain(struct bctx *c)
{
	struct chain_spec cs = { .name = NFT_REJECT_CHAIN, .hook = -1 };
	struct nftnl_rule *nr;
	uint8_t tcp = IPPROTO_TCP;

	chain_add(c, &cs, NFT_OWN_POLICY, -1);
	nr = rule_new(c, NFT_REJECT_CHAIN, "reject: TCP reset");
	if (!nr)
		return;
	e_meta(c, nr, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp(c, nr, NFT_CMP_EQ, &tcp, 1);
	e_reject(c, nr, NFT_REJECT_TCP_RST, 0);
	rule_send(c, nr, NFT_OWN_POLICY, -1);
	nr = rule_new(c, NFT_REJECT_CHAIN, "reject: ICMP administratively prohibited");
	if (!nr)
		return;
	e_reject(c, nr, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
	rule_send(c, nr, NFT_OWN_POLICY, -1);
}

static void chain_rules(struct bctx *c, const struct rule_shape *shapes, size_t ii, bool egress)
{
	const struct pol_iface *ifc = &c->p->ifaces[ii];
	char chain[IFNAMSIZ + 8];

	nft_chain_name(chain, sizeof(chain), ifc->name, egress);
	frag_emit(c, chain, ifc->name, egress);
	for (size_t ri = 0; ri < c->p->n_rules; ri++)
		if (rule_applies(&c->p->rules[ri], ifc, egress))
			rule_emit(c, ri, &shapes[ri], chain, ifc->name, egress);
	default_emit(c, chain, ifc->name, egress);
}

static void egress_dispatch(struct bctx *c, char (*names)[IFNAMSIZ + 8], size_t n_out)
{
	static const struct chain_spec base[] = {
		{ .name = "forward", .hook = NF_INET_FORWARD, .prio = 0 },
		{ .name = "output", .hook = NF_INET_LOCAL_OUT, .prio = 0 },
	};
	struct elems l = { 0 };
	struct set_spec ss = {
		.name = "egress",
		.key_type = NFT_TYPE_IFNAME,
		.key_len = IFNAMSIZ,
		.flags = NFT_SET_MAP,
		.key_byteorder = 1,
	};
	size_t k = 0;

	for (size_t ii = 0; ii < c->p->n_ifaces && k < n_out; ii++) {
		struct elem *e;

		if (!(c->p->ifaces[ii].hooks & POL_HOOK_EGRESS))
			continue;
		e = elem_push(c, &l);
		if (!e)
			break;
		memcpy(e->key, c->p->ifaces[ii].name, strnlen(c->p->ifaces[ii].name, IFNAMSIZ - 1));
		e->chain = names[k++];
	}
	ss.e = l.e;
	ss.n = l.n;
	set_add(c, &ss, NFT_OWN_POLICY, -1);
	free(l.e);
	for (size_t i = 0; i < 2; i++) {
		struct nftnl_rule *nr;

		chain_add(c, &base[i], NFT_OWN_POLICY, -1);
		nr = rule_new(c, base[i].name, "egress: each interface's chain");
		if (!nr)
			return;
		e_meta(c, nr, NFT_META_OIFNAME, NFT_REG_1);
		e_lookup(c, nr, NFT_REG_1, "egress", true);
		rule_send(c, nr, NFT_OWN_POLICY, -1);
	}
}

/* TLSFW_NFT_FAULT=switch: a last message the kernel refuses (a rule in a chain that does not
 * exist), so that the second transaction fails after the first committed. */
static void fault_msg(struct bctx *c)
{
	struct nftnl_rule *nr = rule_new(c, "tlsfw_no_such_chain", "fault injection");

	e_verdict(c, nr, NF_ACCEPT, NULL);
	rule_send(c, nr, NFT_OWN_POLICY, -1);
}

int nft_batch_deletes(struct nft_batch *b, const struct nft_del *dels, size_t n)
{
	struct bctx c = { .b = b };
	struct nlmsghdr *nlh;

	memset(b, 0, sizeof(*b));
	b->seq0 = (uint32_t)time(NULL);
	nlh = msg_begin(&c, NFNL_MSG_BATCH_BEGIN, 0, NFT_OWN_TABLE, -1, "batch");
	if (nlh)
		msg_end(&c, nlh);
	for (size_t i = 0; i < n; i++)
		del_named(&c, dels[i].type, dels[i].name);
	nlh = msg_begin(&c, NFNL_MSG_BATCH_END, 0, NFT_OWN_TABLE, -1, "batch");
	if (nlh)
		msg_end(&c, nlh);
	if (c.err)
		nft_batch_free(b);
	return c.err;
}

int nft_batch_build(const struct policy *pol, const struct nft_apply_opts *o, struct nft_batch *b,
		    struct diag *d)
{
	struct bctx c = { .b = b, .p = pol, .o = o, .d = d };
	struct rule_shape *shapes = calloc(pol->n_rules ? pol->n_rules : 1, sizeof(*shapes));
	char(*outs)[IFNAMSIZ + 8] = calloc(pol->n_ifaces ? pol->n_ifaces : 1, sizeof(*outs));
	const char *fault = getenv("TLSFW_NFT_FAULT");
	struct nlmsghdr *nlh;
	size_t n_out = 0;

	memset(b, 0, sizeof(*b));
	b->seq0 = (uint32_t)time(NULL);
	if (!shapes || !outs) {
		c.err = -ENOMEM;
		goto out;
	}
	if (fault && !strncmp(fault, "set-size:", 9))
		c.fault_rule = fault + 9;

	c.tag = o->old && o->old->tag == 'a' ? 'b' : 'a';

	/* first transaction: the new generation's sets (see struct nft_batch) */
	nlh = msg_begin(&c, NFNL_MSG_BATCH_BEGIN, 0, NFT_OWN_TABLE, -1, "batch");
	if (nlh)
		msg_end(&c, nlh);
	table_create(&c);
	old_sets_del(&c, true);
	for (size_t ri = 0; ri < pol->n_rules; ri++)
		rule_sets(&c, ri, &shapes[ri]);
	/* second transaction: everything else */
	if (!o->dry_run) {
		nlh = msg_begin(&c, NFNL_MSG_BATCH_END, 0, NFT_OWN_TABLE, -1, "batch");
		if (nlh)
			msg_end(&c, nlh);
		b->split = b->len;
		nlh = msg_begin(&c, NFNL_MSG_BATCH_BEGIN, 0, NFT_OWN_TABLE, -1, "batch");
		if (nlh)
			msg_end(&c, nlh);
	}
	old_msgs(&c);
	policy_chain(&c);
	for (size_t ii = 0; ii < pol->n_ifaces; ii++) {
		if (pol->ifaces[ii].hooks & POL_HOOK_INGRESS)
			counters_for_chain(&c, &pol->ifaces[ii], false);
		if (pol->ifaces[ii].hooks & POL_HOOK_EGRESS)
			counters_for_chain(&c, &pol->ifaces[ii], true);
	}
	reject_chain(&c);
	for (size_t ii = 0; ii < pol->n_ifaces; ii++) {
		const struct pol_iface *ifc = &pol->ifaces[ii];
		char name[IFNAMSIZ + 8];
		struct chain_spec cs = { .name = name, .hook = -1 };

		if (ifc->hooks & POL_HOOK_EGRESS) {
			nft_chain_name(outs[n_out], sizeof(outs[n_out]), ifc->name, true);
			cs.name = outs[n_out++];
			chain_add(&c, &cs, NFT_OWN_IFACE, ii);
			chain_rules(&c, shapes, ii, true);
		}
		if (ifc->hooks & POL_HOOK_INGRESS) {
			nft_chain_name(name, sizeof(name), ifc->name, false);
			cs.name = name;
			cs.hook = NF_INET_INGRESS;
			cs.dev = ifc->name;
			chain_add(&c, &cs, NFT_OWN_IFACE, ii);
			chain_rules(&c, shapes, ii, false);
		}
	}
	if (n_out)
		egress_dispatch(&c, outs, n_out);
	old_counters_del(&c);
	if (fault && !strcmp(fault, "switch"))
		fault_msg(&c);
	/* dry run: no end message, so that the kernel checks everything and then aborts */
	if (!o->dry_run) {
		nlh = msg_begin(&c, NFNL_MSG_BATCH_END, 0, NFT_OWN_TABLE, -1, "batch");
		if (nlh)
			msg_end(&c, nlh);
	}
out:
	free(shapes);
	free(outs);
	for (size_t i = 0; i < c.n_names; i++)
		free(c.names[i]);
	free(c.names);
	if (c.err)
		nft_batch_free(b);
	return c.err;
}
