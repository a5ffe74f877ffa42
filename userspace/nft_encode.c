// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 4b, encoding: the nftables half of a plan (nft_ruleset.h) -> one nf_tables batch of
 * libnftnl messages that replaces the contents of table inet tlsfw (nft_encode.h). The table
 * and the counters the new policy names again are kept (they count on through the commit);
 * the rules are flushed, the sets, chains and other counters of the previous policy deleted,
 * then the new ones made. Every message records the plan element it comes from, so that apply
 * maps a refusal back to a policy line. Nothing here talks to the kernel.
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

#include "nft_encode.h"
#include "nft_expr.h"
#include "nft_priv.h"

#define MSG_ROOM (64 * 1024) /* free space guaranteed before each message is built */
#define ELEMS_PER_MSG 256

struct bctx {
	struct nft_batch *b;
	const struct plan *pl;
	const struct nft_ruleset *rs;
	const struct nft_encode_opts *o;
	uint32_t set_id;
	const char *fault_rule; /* TLSFW_NFT_FAULT=set-size:<rule> */
	bool *sent;		/* per set of the ruleset: its messages are in the batch */
	char tag;		/* the generation of the new policy's sets: 'a' or 'b' */
	const char **new_chains, **old_chains; /* sorted, for chain_kept() */
	size_t n_new_chains;
	int err;
};

/* ---- the batch buffer --------------------------------------------------------------------- */

static struct nlmsghdr *msg_begin(struct bctx *c, uint16_t type, uint16_t flags,
				  enum nft_owner_kind kind, int idx, const struct loc *loc,
				  const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static struct nlmsghdr *msg_begin(struct bctx *c, uint16_t type, uint16_t flags,
				  enum nft_owner_kind kind, int idx, const struct loc *loc,
				  const char *fmt, ...)
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
	if (loc)
		ow->loc = *loc;
	else if (c->pl)
		ow->loc.file = c->pl->file;
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

static void batch_mark(struct bctx *c, uint16_t type)
{
	struct nlmsghdr *nlh = msg_begin(c, type, 0, NFT_OWN_TABLE, -1, NULL, "batch");

	if (nlh)
		msg_end(c, nlh);
}

void nft_batch_free(struct nft_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_staged; i++)
		free(b->staged[i]);
	for (size_t i = 0; i < b->n_staged_chains; i++)
		free(b->staged_chains[i]);
	free(b->staged);
	free(b->staged_chains);
	free(b->buf);
	free(b->owner);
	memset(b, 0, sizeof(*b));
}

/* ---- objects ------------------------------------------------------------------------------ */

/* Where message owners point: a rule, an interface, or the policy as a whole. */
static enum nft_owner_kind owner_kind(int rule, int iface)
{
	return rule >= 0 ? NFT_OWN_RULE : iface >= 0 ? NFT_OWN_IFACE : NFT_OWN_POLICY;
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

static void del_named(struct bctx *c, uint16_t type, const char *name);

/* A counter of the new policy. One the table holds already is left as it is: the kernel
 * would ignore the message (a counter has nothing to update), and its count goes on. But an
 * interface's total whose label the new policy changes (relabel.h) is deleted and made again:
 * in the switch, so that a refused apply keeps it, and the old rules that counted into it are
 * flushed first. Its comment names only what its name says, so it never goes stale. */
static void counter_add(struct bctx *c, const struct nft_rs_counter *k)
{
	struct nftnl_udata_buf *u;
	struct nftnl_obj *ob;
	struct nlmsghdr *nlh;

	if (c->err)
		return;
	c->b->n_counters++;
	if (old_counter(c, k->name)) {
		if (!(k->relabel & c->o->relabel))
			return;
		del_named(c, NFT_MSG_DELOBJ, k->name);
	}
	ob = nftnl_obj_alloc();
	u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (!ob || !u) {
		nftnl_obj_free(ob);
		nftnl_udata_buf_free(u);
		c->err = -ENOMEM;
		return;
	}
	nftnl_obj_set_str(ob, NFTNL_OBJ_TABLE, NFT_TLSFW_TABLE);
	nftnl_obj_set_str(ob, NFTNL_OBJ_NAME, k->name);
	nftnl_obj_set_u32(ob, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_u32(ob, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_udata_put_strz(u, NFTNL_UDATA_OBJ_COMMENT, k->comment);
	nftnl_obj_set_data(ob, NFTNL_OBJ_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	nlh = msg_begin(c, NFT_MSG_NEWOBJ, NLM_F_CREATE, owner_kind(k->rule, -1), k->rule, &k->loc,
			"counter %s", k->name);
	if (nlh) {
		nftnl_obj_nlmsg_build_payload(nlh, ob);
		msg_end(c, nlh);
	}
	nftnl_obj_free(ob);
}

/*
 * Is a chain of the previous policy kept? A name says what the chain is ("lan0_in" is the
 * base chain on lan0's ingress hook, "forward" the forward hook's), so a chain the new policy
 * makes again is kept, emptied by the flush, rather than deleted and made again: deleting a
 * base chain and registering its successor on the hook in one transaction let packets through
 * unfiltered (measured: a few of 1,700 blocked datagrams across 50 applies under traffic;
 * selftests/net/test_hot_reload.sh). The policy chain is always new, for its records.
 */
static bool chain_kept(const struct bctx *c, const char *name)
{
	const struct nft_existing *old = c->o->old;

	if (!old || !old->table || !strcmp(name, NFT_POLICY_CHAIN))
		return false;
	return bsearch(&name, c->new_chains, c->n_new_chains, sizeof(char *), name_cmp) &&
	       bsearch(&name, c->old_chains, old->n_chains, sizeof(char *), name_cmp);
}

/* Sorted names for chain_kept(): the new policy's chains that a previous one may have made
 * (staged chains are always new) and the table's. Linear scans made replacing thousands of
 * chains quadratic. */
static int chain_index(struct bctx *c)
{
	const struct nft_existing *old = c->o->old;
	size_t n_old = old ? old->n_chains : 0;

	c->new_chains = malloc((c->rs->n_chains + 1) * sizeof(char *));
	c->old_chains = malloc((n_old + 1) * sizeof(char *));
	if (!c->new_chains || !c->old_chains)
		return -ENOMEM;
	for (size_t i = 0; i < c->rs->n_chains; i++)
		if (!c->rs->chains[i].staged)
			c->new_chains[c->n_new_chains++] = c->rs->chains[i].name;
	for (size_t i = 0; i < n_old; i++)
		c->old_chains[i] = old->chains[i];
	qsort(c->new_chains, c->n_new_chains, sizeof(char *), name_cmp);
	qsort(c->old_chains, n_old, sizeof(char *), name_cmp);
	return 0;
}

/* The records `tlsfw status` reads (nft_priv.h), after the comment `nft list` prints. */
static struct nftnl_udata_buf *records(struct bctx *c)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	const char *file = c->o->policy_file ? c->o->policy_file : "-";
	char comment[64], path[NFT_META_PATH_MAX + 1];
	uint64_t now = (uint64_t)time(NULL);
	uint32_t nrules = c->rs->n_policy_rules;
	size_t fl = strlen(file);

	if (!u) {
		c->err = -ENOMEM;
		return NULL;
	}
	/* the path apply was given, resolved: the name a symbolic link points to */
	if (c->o->policy_file)
		nft_records_comment(comment, sizeof(comment), file);
	else
		snprintf(comment, sizeof(comment), "%s", c->rs->comment);
	if (fl > NFT_META_PATH_MAX)
		snprintf(path, sizeof(path), "...%s", file + fl - (NFT_META_PATH_MAX - 3));
	else
		snprintf(path, sizeof(path), "%s", file);
	/* a record that does not fit would be lost without a word (see NFT_META_PATH_MAX) */
	if (!nftnl_udata_put_strz(u, NFTNL_UDATA_CHAIN_COMMENT, comment) ||
	    !nftnl_udata_put_strz(u, NFT_META_FILE, path) ||
	    (c->o->sha256 && !nftnl_udata_put(u, NFT_META_SHA256, 32, c->o->sha256)) ||
	    !nftnl_udata_put(u, NFT_META_APPLIED, sizeof(now), &now) ||
	    !nftnl_udata_put(u, NFT_META_NRULES, sizeof(nrules), &nrules) ||
	    !nftnl_udata_put_strz(u, NFT_META_DEFAULT, pol_action_names[c->rs->default_action]) ||
	    !nftnl_udata_put(u, NFT_META_TAG, 1, &c->tag) ||
	    !nftnl_udata_put(u, NFT_META_REJECTS, 1, &(uint8_t){ c->rs->rejects }))
		c->err = -E2BIG;
	return u;
}

static void staged_add(struct bctx *c, char ***v, size_t *n, const char *name);

/* A chain of the new policy. Staged ones (rule chains of runs) are made empty in the first
 * transaction, under the new generation's name, and filled by the switch. */
static void chain_add(struct bctx *c, const struct nft_rs_chain *k, bool first)
{
	struct nftnl_udata_buf *u = NULL;
	struct nftnl_chain *ch;
	struct nlmsghdr *nlh;
	char name[176];

	if (c->err || k->staged != first)
		return;
	c->b->n_chains++;
	if (chain_kept(c, k->name))
		return;
	nft_chain_fullname(k, c->tag, name, sizeof(name));
	if (k->staged)
		staged_add(c, &c->b->staged_chains, &c->b->n_staged_chains, name);
	ch = nftnl_chain_alloc();
	if (!ch) {
		c->err = -ENOMEM;
		return;
	}
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFT_TLSFW_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (k->hook >= 0) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, k->hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, k->prio);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		if (k->dev[0])
			nftnl_chain_set_str(ch, NFTNL_CHAIN_DEV, k->dev);
	}
	if (k->records)
		u = records(c);
	if (u)
		nftnl_chain_set_data(ch, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(u),
				     nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	nlh = msg_begin(c, NFT_MSG_NEWCHAIN, NLM_F_CREATE, owner_kind(-1, k->iface), k->iface,
			&k->loc, k->dev[0] ? "chain %s on the ingress hook of %s" : "chain %s",
			name, k->dev);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		msg_end(c, nlh);
	}
	nftnl_chain_free(ch);
}

/* ---- sets --------------------------------------------------------------------------------- */

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

/* Elements [i, end) of k in one message. */
static void set_elems_add(struct bctx *c, const struct nft_rs_set *k, const char *name, uint32_t id,
			  size_t i, size_t end)
{
	struct nftnl_set *s = set_obj(c, name, id);
	struct nlmsghdr *nlh;

	if (!s)
		return;
	for (size_t j = i; j < end; j++) {
		struct nftnl_set_elem *el = nftnl_set_elem_alloc();
		const struct nft_rs_elem *e = &k->e[j];

		if (!el) {
			c->err = -ENOMEM;
			break;
		}
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e->key, k->key_len);
		if (e->has_end)
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, e->key_end, k->key_len);
		if (e->interval_end)
			nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		if (e->chain >= 0) {
			char chain[176];

			nft_chain_fullname(&c->rs->chains[e->chain], c->tag, chain, sizeof(chain));
			nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, NFT_JUMP);
			nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, chain);
		}
		nftnl_set_elem_add(s, el);
	}
	nlh = msg_begin(c, NFT_MSG_NEWSETELEM, NLM_F_CREATE, owner_kind(k->rule, -1), k->rule,
			&k->loc, "elements %zu-%zu of set %s", i + 1, end, name);
	if (nlh) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		msg_end(c, nlh);
		c->b->n_elems += end - i;
	}
	nftnl_set_free(s);
}

/* Remember a name the first transaction adds (for staged_del() in apply_nft.c). */
static void staged_add(struct bctx *c, char ***names, size_t *n, const char *name)
{
	char **v = *names;

	if (c->err)
		return;
	if (!(*n & (*n + 1))) { /* capacity 1, 3, 7, ...: doubled when full */
		v = realloc(v, (2 * *n + 1) * sizeof(*v));
		if (!v) {
			c->err = -ENOMEM;
			return;
		}
		*names = v;
	}
	v[*n] = strdup(name);
	if (!v[*n])
		c->err = -ENOMEM;
	else
		(*n)++;
}

/* Declared set size: the element count, or one less for TLSFW_NFT_FAULT=set-size:<rule>
 * (tests use it for a batch the kernel refuses). */
static uint32_t set_size(struct bctx *c, const struct nft_rs_set *k)
{
	if (c->fault_rule && k->rule >= 0 && !strcmp(c->fault_rule, c->pl->rules[k->rule].name) &&
	    k->size >= 2) {
		c->fault_rule = NULL;
		return k->size - 1;
	}
	return k->size;
}

static void set_add(struct bctx *c, size_t si)
{
	const struct nft_rs_set *k = &c->rs->sets[si];
	uint32_t id = ++c->set_id, size = set_size(c, k);
	struct nftnl_set *s;
	struct nlmsghdr *nlh;
	char name[96];

	c->sent[si] = true;
	nft_set_fullname(k, c->tag, name, sizeof(name));
	s = set_obj(c, name, id);
	if (!s)
		return;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, k->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, k->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, k->key_len);
	if (k->map) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
	}
	if (k->fields[0])
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, k->fields, 2);
	if (size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, size);
	if (k->key_host) {
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		if (!u) {
			c->err = -ENOMEM;
			nftnl_set_free(s);
			return;
		}
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, 1);
		nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
				   nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	nlh = msg_begin(c, NFT_MSG_NEWSET, NLM_F_CREATE, owner_kind(k->rule, -1), k->rule, &k->loc,
			"set %s", name);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		msg_end(c, nlh);
		c->b->n_sets++;
		if (k->staged)
			staged_add(c, &c->b->staged, &c->b->n_staged, name);
	}
	nftnl_set_free(s);
	for (size_t i = 0; i < k->n && !c->err; i += ELEMS_PER_MSG)
		set_elems_add(c, k, name, id, i,
			      i + ELEMS_PER_MSG < k->n ? i + ELEMS_PER_MSG : k->n);
}

/* ---- rules ---------------------------------------------------------------------------------- */

/* A rule with the comment `nft list` prints; a rule that counts into a rule counter also
 * carries the records stats reads (nft_priv.h): that counter's name and the rule's action,
 * mode and line. */
static struct nftnl_rule *rule_obj(struct bctx *c, const char *chain, const char *comment,
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

static void rule_send(struct bctx *c, struct nftnl_rule *r, enum nft_owner_kind kind, int idx,
		      const struct loc *loc)
{
	struct nlmsghdr *nlh;

	if (!r)
		return;
	nlh = msg_begin(c, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, kind, idx, loc,
			"rule in chain %s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		msg_end(c, nlh);
		c->b->n_rules++;
	}
	nftnl_rule_free(r);
}

static void rule_add(struct bctx *c, const struct nft_rs_rule *k)
{
	const char *counter = k->counter >= 0 ? c->rs->counters[k->counter].name : NULL;
	struct nft_expr_ctx x = { c->rs, c->tag, 0 };
	struct nftnl_rule *r;
	char chain[176];

	nft_chain_fullname(&c->rs->chains[k->chain], c->tag, chain, sizeof(chain));
	r = rule_obj(c, chain, k->comment[0] ? k->comment : NULL, counter, k->info);

	for (size_t i = 0; r && i < k->n; i++)
		nft_item_exprs(&x, r, &k->items[i]);
	if (x.err)
		c->err = x.err;
	rule_send(c, r, owner_kind(k->rule, -1), k->rule, k->rule >= 0 ? &k->loc : NULL);
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
	nftnl_udata_put_strz(u, NFTNL_UDATA_TABLE_COMMENT, NFT_TABLE_COMMENT);
	nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(u),
			     nftnl_udata_buf_len(u));
	nlh = msg_begin(c, NFT_MSG_NEWTABLE, NLM_F_CREATE, NFT_OWN_TABLE, -1, NULL,
			"table inet tlsfw");
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
	struct nlmsghdr *nlh = msg_begin(c, type, 0, NFT_OWN_TABLE, -1, NULL, "the previous %s %s",
					 what, name ? name : NFT_TLSFW_TABLE);

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

/* Delete the table's chains that the new policy does not keep: rule chains of the new
 * generation (left empty by an apply that failed half way, after their maps are gone), or
 * all the others (once the rules and sets that use them are gone). */
static void old_chains_del(struct bctx *c, bool new_gen)
{
	const struct nft_existing *old = c->o->old;

	for (size_t i = 0; old && i < old->n_chains && !c->err; i++)
		if (new_generation(c, old->chains[i]) == new_gen && !chain_kept(c, old->chains[i]))
			del_named(c, NFT_MSG_DELCHAIN, old->chains[i]);
}

/* Empty the table of what the previous policy made. Flushing the rules first releases
 * every reference to sets, chains and counters, so the deletions that follow cannot fail
 * for being in use. */
static void old_msgs(struct bctx *c)
{
	const struct nft_existing *old = c->o->old;
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;

	if (!old || !old->table || c->err)
		return;
	r = nftnl_rule_alloc();
	if (!r) {
		c->err = -ENOMEM;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TLSFW_TABLE);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nlh = msg_begin(c, NFT_MSG_DELRULE, 0, NFT_OWN_TABLE, -1, NULL, "the previous rules");
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		msg_end(c, nlh);
	}
	nftnl_rule_free(r);
	old_sets_del(c, false);
	old_chains_del(c, false);
}

/* The previous policy's counters that the new one does not name. */
static void old_counters_del(struct bctx *c)
{
	const struct nft_existing *old = c->o->old;
	const char **names;

	if (!old || !old->n_counters || c->err)
		return;
	names = malloc((c->rs->n_counters + 1) * sizeof(*names));
	if (!names) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < c->rs->n_counters; i++)
		names[i] = c->rs->counters[i].name;
	qsort(names, c->rs->n_counters, sizeof(*names), name_cmp);
	for (size_t i = 0; i < old->n_counters && !c->err; i++) {
		const char *name = old->counters[i];

		if (!c->rs->n_counters ||
		    !bsearch(&name, names, c->rs->n_counters, sizeof(*names), name_cmp))
			del_named(c, NFT_MSG_DELOBJ, name);
	}
	free(names);
}

/* TLSFW_NFT_FAULT=switch: a last message the kernel refuses (a rule in a chain that does not
 * exist), so that the second transaction fails after the first committed. */
static void fault_msg(struct bctx *c)
{
	struct nftnl_rule *r = rule_obj(c, "tlsfw_no_such_chain", "fault injection", NULL, NULL);
	struct nft_rs_item accept = { .kind = NFT_I_ACCEPT, .ref = -1 };
	struct nft_expr_ctx x = { c->rs, c->tag, 0 };

	if (r)
		nft_item_exprs(&x, r, &accept);
	rule_send(c, r, NFT_OWN_POLICY, -1, NULL);
}

int nft_batch_deletes(struct nft_batch *b, const struct nft_del *dels, size_t n)
{
	struct bctx c = { .b = b };

	memset(b, 0, sizeof(*b));
	b->seq0 = (uint32_t)time(NULL);
	batch_mark(&c, NFNL_MSG_BATCH_BEGIN);
	for (size_t i = 0; i < n; i++)
		del_named(&c, dels[i].type, dels[i].name);
	batch_mark(&c, NFNL_MSG_BATCH_END);
	if (c.err)
		nft_batch_free(b);
	return c.err;
}

/*
 * The switch: the records chain first, then the counters, then chain by chain with its rules,
 * a set not staged (hash sets, the egress map) right before the first chain whose rules look
 * into it (plan_print_nft.c lists them in this order, as nft does).
 */
static void switch_msgs(struct bctx *c)
{
	const struct nft_ruleset *rs = c->rs;
	size_t r = 0;

	old_msgs(c);
	for (size_t i = 0; i < rs->n_chains; i++)
		if (rs->chains[i].records)
			chain_add(c, &rs->chains[i], false);
	for (size_t i = 0; i < rs->n_counters; i++)
		counter_add(c, &rs->counters[i]);
	for (size_t ci = 0; ci < rs->n_chains; ci++) {
		size_t first = r;

		while (r < rs->n_rules && rs->rules[r].chain == (int)ci)
			r++;
		if (rs->chains[ci].records)
			continue;
		for (size_t k = first; k < r; k++)
			for (size_t i = 0; i < rs->rules[k].n; i++) {
				int si = nft_item_set(&rs->rules[k].items[i]);

				if (si >= 0 && !c->sent[si])
					set_add(c, si);
			}
		chain_add(c, &rs->chains[ci], false);
		for (size_t k = first; k < r; k++)
			rule_add(c, &rs->rules[k]);
	}
	old_counters_del(c);
}

int nft_encode(const struct plan *pl, const struct nft_encode_opts *o, struct nft_batch *b)
{
	struct bctx c = { .b = b, .pl = pl, .rs = &pl->nft, .o = o };
	const char *fault = getenv("TLSFW_NFT_FAULT");

	memset(b, 0, sizeof(*b));
	if (!pl->has_nft)
		return -EINVAL;
	b->seq0 = (uint32_t)time(NULL);
	c.sent = calloc(pl->nft.n_sets + 1, sizeof(*c.sent));
	if (!c.sent || chain_index(&c)) {
		free(c.sent);
		free(c.new_chains);
		free(c.old_chains);
		return -ENOMEM;
	}
	if (fault && !strncmp(fault, "set-size:", 9))
		c.fault_rule = fault + 9;
	c.tag = o->old && o->old->tag == 'a' ? 'b' : 'a';

	/* first transaction: the new generation's sets (see struct nft_batch) */
	batch_mark(&c, NFNL_MSG_BATCH_BEGIN);
	table_create(&c);
	old_sets_del(&c, true);
	old_chains_del(&c, true);
	for (size_t ci = 0; ci < pl->nft.n_chains; ci++)
		chain_add(&c, &pl->nft.chains[ci], true);
	for (size_t si = 0; si < pl->nft.n_sets; si++)
		if (pl->nft.sets[si].staged)
			set_add(&c, si);
	/* second transaction: everything else. Without interval sets or run chains to stage,
	 * nothing needs a first commit: no rule can miss an element not yet published, and the
	 * rules flushed and made again in one transaction turn over at one generation flip. One
	 * transaction, as `nft -f`. */
	if (!o->dry_run && (b->n_staged || b->n_staged_chains)) {
		batch_mark(&c, NFNL_MSG_BATCH_END);
		b->split = b->len;
		batch_mark(&c, NFNL_MSG_BATCH_BEGIN);
	}
	switch_msgs(&c);
	if (fault && !strcmp(fault, "switch"))
		fault_msg(&c);
	/* dry run: no end message, so that the kernel checks everything and then aborts */
	if (!o->dry_run)
		batch_mark(&c, NFNL_MSG_BATCH_END);
	free(c.sent);
	free(c.new_chains);
	free(c.old_chains);
	if (c.err)
		nft_batch_free(b);
	return c.err;
}
