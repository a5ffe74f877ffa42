// SPDX-License-Identifier: GPL-2.0
/*
 * Reading table inet tlsfw back from the kernel (apply_nft.h): what the policy chain records,
 * which interfaces have chains, the names of what the table holds (for the next apply's
 * replacement) and the named counters with the rules that count into them. Get and dump
 * requests with libnftnl and libmnl; never runs `nft`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "apply_nft.h"
#include "names.h"
#include "nft_priv.h"

/* ---- requests (get and dump) -------------------------------------------------------------- */

typedef int (*msg_cb)(const struct nlmsghdr *nlh, void *data);

/* One request, answered by messages for cb. Returns 0 or -errno (-ENOENT: no such table). */
static int request(uint16_t type, uint16_t flags, void (*build)(struct nlmsghdr *, void *),
		   void *barg, msg_cb cb, void *data)
{
	struct mnl_socket *nl;
	char *buf = malloc(RECV_BUF);
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time(NULL), portid;
	int err, ret;

	if (!buf)
		return -ENOMEM;
	err = nft_socket_open(&nl, 0);
	if (err) {
		free(buf);
		return err;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags | NLM_F_ACK, seq);
	build(nlh, barg);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ret = mnl_socket_recvfrom(nl, buf, RECV_BUF);
		if (ret <= 0) {
			err = ret < 0 ? -errno : 0;
			break;
		}
		ret = mnl_cb_run(buf, ret, seq, portid, (mnl_cb_t)cb, data);
		if (ret <= 0) {
			err = ret < 0 ? -errno : 0;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	free(buf);
	return err;
}

/* ---- status ------------------------------------------------------------------------------- */

static void build_table_get(struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_table *t = arg;

	nftnl_table_nlmsg_build_payload(nlh, t);
}

static int udata_cb(const struct nftnl_udata *attr, void *data)
{
	struct nft_status *st = data;
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	switch (nftnl_udata_type(attr)) {
	case NFT_META_FILE:
		snprintf(st->policy_file, sizeof(st->policy_file), "%.*s", (int)len, v);
		break;
	case NFT_META_SHA256:
		if (len == 32)
			memcpy(st->sha256, v, 32);
		break;
	case NFT_META_APPLIED:
		if (len == sizeof(uint64_t))
			memcpy(&st->applied_at, v, sizeof(uint64_t));
		break;
	case NFT_META_NRULES:
		if (len == sizeof(uint32_t))
			memcpy(&st->n_rules, v, sizeof(uint32_t));
		break;
	case NFT_META_DEFAULT:
		snprintf(st->default_action, sizeof(st->default_action), "%.*s", (int)len, v);
		break;
	case NFT_META_TAG:
		if (len == 1)
			st->tag = *v;
		break;
	}
	return 0;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_status *st = data;
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0)
		st->present = true;
	nftnl_table_free(t);
	return MNL_CB_OK;
}

struct chain_list {
	struct nft_status *st;
	int err;
	bool ours; /* chain NFT_POLICY_CHAIN seen: tlsfw made the table */
};

static struct nft_status_hook *hook_of(struct nft_status *st, const char *ifname)
{
	struct nft_status_hook *h;

	for (size_t i = 0; i < st->n_hooks; i++)
		if (!strcmp(st->hooks[i].ifname, ifname))
			return &st->hooks[i];
	h = realloc(st->hooks, (st->n_hooks + 1) * sizeof(*h));
	if (!h)
		return NULL;
	st->hooks = h;
	h = &st->hooks[st->n_hooks++];
	memset(h, 0, sizeof(*h));
	snprintf(h->ifname, sizeof(h->ifname), "%s", ifname);
	return h;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chain_list *cl = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	const char *name, *table;
	char ifname[IFNAMSIZ];
	size_t n;
	bool egress;

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0)
		goto out;
	table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	if (!table || !name || strcmp(table, NFT_TLSFW_TABLE))
		goto out;
	if (!strcmp(name, NFT_POLICY_CHAIN)) {
		uint32_t ulen = 0;
		const void *ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &ulen);

		cl->ours = true;
		if (ud && ulen)
			nftnl_udata_parse(ud, ulen, udata_cb, cl->st);
		goto out;
	}
	n = strlen(name);
	if (n > 3 && !strcmp(name + n - 3, "_in") && nftnl_chain_is_set(c, NFTNL_CHAIN_DEV))
		egress = false;
	else if (n > 4 && !strcmp(name + n - 4, "_pre") &&
		 nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) /* state: (lower_nft_ct.c) */
		n--, egress = false;
	else if (n > 4 && !strcmp(name + n - 4, "_out") &&
		 !nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
		egress = true;
	else
		goto out;
	n -= egress ? 4 : 3;
	if (n >= IFNAMSIZ)
		goto out;
	memcpy(ifname, name, n);
	ifname[n] = 0;
	{
		struct nft_status_hook *h = hook_of(cl->st, ifname);

		if (!h)
			cl->err = -ENOMEM;
		else if (egress)
			h->egress = true;
		else
			h->ingress = true;
	}
out:
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

static void build_chain_dump(struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_chain *c = arg;

	nftnl_chain_nlmsg_build_payload(nlh, c);
}

static int present_cb(const struct nlmsghdr *nlh, void *data)
{
	*(bool *)data = true;
	return MNL_CB_OK;
}

int nft_table_present(const char *name)
{
	struct nftnl_table *t = nftnl_table_alloc();
	bool present = false;
	int err;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	err = request(NFT_MSG_GETTABLE, 0, build_table_get, t, present_cb, &present);
	nftnl_table_free(t);
	if (err == -ENOENT || err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT)
		return 0;
	return err ? err : present;
}

struct only_chain {
	const char *name;
	bool seen, other;
};

static int only_chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct only_chain *oc = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	const char *name;

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) == 0 &&
	    (name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME)))
		*(strcmp(name, oc->name) ? &oc->other : &oc->seen) = true;
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

int nft_table_only_chain(const char *table, const char *chain)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct only_chain oc = { .name = chain };
	int err = nft_table_present(table);

	if (err <= 0 || !c) {
		nftnl_chain_free(c);
		return c ? err : -ENOMEM;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	err = request(NFT_MSG_GETCHAIN, NLM_F_DUMP, build_chain_dump, c, only_chain_cb, &oc);
	nftnl_chain_free(c);
	if (err == -ENOENT || err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT)
		return 0;
	return err ? err : oc.seen && !oc.other ? 1 : 2;
}

int nft_status_read(struct nft_status *st, struct diag *d)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct chain_list cl = { .st = st };
	int err;

	memset(st, 0, sizeof(*st));
	if (!t || !c) {
		err = diag_sys_error(d, -ENOMEM, "cannot read table inet %s", NFT_TLSFW_TABLE);
		goto out;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TLSFW_TABLE);
	err = request(NFT_MSG_GETTABLE, 0, build_table_get, t, table_cb, st);
	/* no such table, or a kernel without nf_tables: no table of ours either way */
	if (err == -ENOENT || err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT) {
		err = 0;
		goto out;
	}
	if (err) {
		diag_sys_error(d, err, "cannot read table inet %s", NFT_TLSFW_TABLE);
		goto out;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TLSFW_TABLE);
	err = request(NFT_MSG_GETCHAIN, NLM_F_DUMP, build_chain_dump, c, chain_cb, &cl);
	if (!err)
		err = cl.err;
	if (err)
		diag_sys_error(d, err, "cannot list the chains of table inet %s", NFT_TLSFW_TABLE);
	/* Every apply makes the table and its policy chain in one transaction: a table of that
	 * name without the chain is someone else's, never enforced, detached or replaced. */
	if (!err && st->present && !cl.ours) {
		nft_status_free(st);
		st->present = false;
		st->foreign = true;
	}
out:
	nftnl_table_free(t);
	nftnl_chain_free(c);
	return err;
}

void nft_status_free(struct nft_status *st)
{
	if (!st)
		return;
	free(st->hooks);
	st->hooks = NULL;
	st->n_hooks = 0;
}

/* ---- what the table holds ---------------------------------------------------------------- */

struct name_list {
	char **v;
	size_t n, cap;
	int err;
};

static void name_push(struct name_list *l, const char *name)
{
	if (l->err)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strdup(name);
	if (!l->v[l->n])
		l->err = -ENOMEM;
	else
		l->n++;
}

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct chain_names {
	struct name_list l;
	char tag;	    /* the policy chain's records: NFT_META_TAG, */
	int default_action; /* NFT_META_DEFAULT (-EINVAL: none), */
	int rejects;	    /* NFT_META_REJECTS (-1: none) */
};

static int records_cb(const struct nftnl_udata *attr, void *data)
{
	struct chain_names *cn = data;
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);
	char def[8];

	if (nftnl_udata_type(attr) == NFT_META_TAG && len == 1)
		cn->tag = *v;
	if (nftnl_udata_type(attr) == NFT_META_REJECTS && len == 1)
		cn->rejects = *v != 0;
	if (nftnl_udata_type(attr) == NFT_META_DEFAULT && len < sizeof(def)) {
		snprintf(def, sizeof(def), "%.*s", (int)len, v);
		cn->default_action = action_parse(def);
	}
	return 0;
}

static int chain_name_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chain_names *cn = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	const char *table, *name;

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) == 0) {
		table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
		name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
		if (table && name && !strcmp(table, NFT_TLSFW_TABLE)) {
			name_push(&cn->l, name);
			if (!strcmp(name, NFT_POLICY_CHAIN)) {
				uint32_t ulen = 0;
				const void *ud =
					nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &ulen);

				if (ud && ulen)
					nftnl_udata_parse(ud, ulen, records_cb, cn);
			}
		}
	}
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

static int set_name_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *st = nftnl_set_alloc();
	const char *table, *name;

	if (!st)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, st) == 0) {
		table = nftnl_set_get_str(st, NFTNL_SET_TABLE);
		name = nftnl_set_get_str(st, NFTNL_SET_NAME);
		/* anonymous sets belong to a rule and go with it */
		if (table && name && !strcmp(table, NFT_TLSFW_TABLE) &&
		    !(nftnl_set_get_u32(st, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS))
			name_push(data, name);
	}
	nftnl_set_free(st);
	return MNL_CB_OK;
}

static int counter_name_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_obj *ob = nftnl_obj_alloc();
	const char *table, *name;

	if (!ob)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, ob) == 0) {
		table = nftnl_obj_get_str(ob, NFTNL_OBJ_TABLE);
		name = nftnl_obj_get_str(ob, NFTNL_OBJ_NAME);
		if (table && name && !strcmp(table, NFT_TLSFW_TABLE) &&
		    nftnl_obj_get_u32(ob, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER)
			name_push(data, name);
	}
	nftnl_obj_free(ob);
	return MNL_CB_OK;
}

static void build_set_dump(struct nlmsghdr *nlh, void *arg)
{
	nftnl_set_nlmsg_build_payload(nlh, arg);
}

static void build_obj_dump(struct nlmsghdr *nlh, void *arg)
{
	nftnl_obj_nlmsg_build_payload(nlh, arg);
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int nft_existing_read(struct nft_existing *old, struct diag *d)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_set *st = nftnl_set_alloc();
	struct nftnl_obj *ob = nftnl_obj_alloc();
	struct name_list sets = { 0 }, counters = { 0 };
	struct chain_names cn = { .default_action = -EINVAL, .rejects = -1 };
	struct nft_status present = { 0 };
	const char *what = "table";
	int err;

	memset(old, 0, sizeof(*old));
	if (!t || !c || !st || !ob) {
		err = -ENOMEM;
		goto out;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TLSFW_TABLE);
	err = request(NFT_MSG_GETTABLE, 0, build_table_get, t, table_cb, &present);
	if (err == -ENOENT || (!err && !present.present)) {
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	old->table = true;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TLSFW_TABLE);
	what = "chains";
	err = request(NFT_MSG_GETCHAIN, NLM_F_DUMP, build_chain_dump, c, chain_name_cb, &cn);
	if (!err && !(err = cn.l.err)) {
		nftnl_set_set_str(st, NFTNL_SET_TABLE, NFT_TLSFW_TABLE);
		what = "sets";
		err = request(NFT_MSG_GETSET, NLM_F_DUMP, build_set_dump, st, set_name_cb, &sets);
	}
	if (!err && !(err = sets.err)) {
		nftnl_obj_set_str(ob, NFTNL_OBJ_TABLE, NFT_TLSFW_TABLE);
		nftnl_obj_set_u32(ob, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		what = "counters";
		err = request(NFT_MSG_GETOBJ, NLM_F_DUMP, build_obj_dump, ob, counter_name_cb,
			      &counters);
	}
	if (!err)
		err = counters.err;
out:
	if (err) {
		diag_sys_error(d, err, "cannot read the %s of table inet %s", what,
			       NFT_TLSFW_TABLE);
		names_free(cn.l.v, cn.l.n);
		names_free(sets.v, sets.n);
		names_free(counters.v, counters.n);
		memset(old, 0, sizeof(*old));
	} else {
		old->chains = cn.l.v;
		old->n_chains = cn.l.n;
		old->tag = cn.tag;
		/* A table made before NFT_META_REJECTS: its policy may have rejected. */
		old->have_records = cn.default_action >= 0;
		old->records = (struct relabel_old){ .default_action = cn.default_action,
						     .rejects = cn.rejects != 0 };
		old->sets = sets.v;
		old->n_sets = sets.n;
		if (counters.n)
			qsort(counters.v, counters.n, sizeof(char *), strp_cmp);
		old->counters = counters.v;
		old->n_counters = counters.n;
	}
	nftnl_table_free(t);
	nftnl_chain_free(c);
	nftnl_set_free(st);
	nftnl_obj_free(ob);
	return err;
}

void nft_existing_free(struct nft_existing *old)
{
	if (!old)
		return;
	names_free(old->chains, old->n_chains);
	names_free(old->sets, old->n_sets);
	names_free(old->counters, old->n_counters);
	memset(old, 0, sizeof(*old));
}

/* ---- counters ----------------------------------------------------------------------------- */

/*
 * A counter outlives the policy that made it (it is kept while its name stays), so what it
 * says of itself is only what its name says: "rule=R iface=I dir=D" (nft_build.c). The
 * rule's action, mode and line come from the rules that count into it, which every apply
 * makes new: "action=A mode=M line=N" (NFT_META_RULE).
 */
static int nft_counter_parse(const char *comment, struct nft_counter *k)
{
	char rule[64], ifname[IFNAMSIZ], dir[8];

	if (sscanf(comment, "rule=%63s iface=%15s dir=%7s", rule, ifname, dir) != 3)
		return -EINVAL;
	snprintf(k->rule, sizeof(k->rule), "%s", rule);
	snprintf(k->ifname, sizeof(k->ifname), "%s", ifname);
	snprintf(k->direction, sizeof(k->direction), "%s", dir);
	/* the interface's own counters: their verdict is in their name */
	snprintf(k->action, sizeof(k->action), "%s",
		 !strcmp(rule, "(drop)") || !strcmp(rule, "(fragment-dropped)") ? "drop" :
		 !strcmp(rule, "(reject)")					? "reject" :
										  "allow");
	snprintf(k->mode, sizeof(k->mode), "%s",
		 !strcmp(rule, "(monitor)") ? "monitor" : "enforce");
	return 0;
}

struct counter_list {
	struct nft_counter *v;
	size_t n, cap;
	int err;
};

static struct nft_counter *counter_push(struct counter_list *cl)
{
	if (cl->n == cl->cap) {
		size_t cap = cl->cap ? 2 * cl->cap : 32;
		struct nft_counter *v = realloc(cl->v, cap * sizeof(*v));

		if (!v) {
			cl->err = -ENOMEM;
			return NULL;
		}
		cl->v = v;
		cl->cap = cap;
	}
	memset(&cl->v[cl->n], 0, sizeof(cl->v[0]));
	return &cl->v[cl->n];
}

static int obj_comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **out = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_OBJ_COMMENT && nftnl_udata_len(attr) > 0) {
		const char *v = nftnl_udata_get(attr);

		if (v[nftnl_udata_len(attr) - 1] == 0)
			*out = v;
	}
	return 0;
}

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counter_list *cl = data;
	struct nftnl_obj *ob = nftnl_obj_alloc();
	const char *table, *name, *comment = NULL;
	const void *ud;
	uint32_t len = 0;
	struct nft_counter *k;

	if (!ob)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, ob) < 0)
		goto out;
	table = nftnl_obj_get_str(ob, NFTNL_OBJ_TABLE);
	name = nftnl_obj_get_str(ob, NFTNL_OBJ_NAME);
	if (!table || !name || strcmp(table, NFT_TLSFW_TABLE) ||
	    nftnl_obj_get_u32(ob, NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER)
		goto out;
	ud = nftnl_obj_get_data(ob, NFTNL_OBJ_USERDATA, &len);
	if (ud && len)
		nftnl_udata_parse(ud, len, obj_comment_cb, &comment);
	k = counter_push(cl);
	if (!k || !comment || nft_counter_parse(comment, k))
		goto out; /* not one of ours: someone added it by hand */
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->packets = nftnl_obj_get_u64(ob, NFTNL_OBJ_CTR_PKTS);
	k->bytes = nftnl_obj_get_u64(ob, NFTNL_OBJ_CTR_BYTES);
	cl->n++;
out:
	nftnl_obj_free(ob);
	return MNL_CB_OK;
}

/* The rules' records, in chain and rule order: which rule counter each rule counts into,
 * and the rule's action, mode and line. */
struct rule_meta {
	char counter[128];
	char action[8], mode[8];
	unsigned int line;
	size_t order, pos; /* in the policy (NFT_META_RULE), in the dump */
};

struct rule_meta_list {
	struct rule_meta *v;
	size_t n, cap;
	int err;
};

struct rule_udata {
	const char *counter, *info;
};

static int rule_udata_cb(const struct nftnl_udata *attr, void *data)
{
	struct rule_udata *ru = data;
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (!len || v[len - 1])
		return 0;
	if (nftnl_udata_type(attr) == NFT_META_COUNTER)
		ru->counter = v;
	else if (nftnl_udata_type(attr) == NFT_META_RULE)
		ru->info = v;
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rule_meta_list *l = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct rule_udata ru = { 0 };
	struct rule_meta *m;
	const char *table;
	const void *ud;
	uint32_t len = 0;

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto out;
	table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	if (!table || strcmp(table, NFT_TLSFW_TABLE) || !ud || !len)
		goto out;
	nftnl_udata_parse(ud, len, rule_udata_cb, &ru);
	if (!ru.counter || !ru.info)
		goto out;
	/* the two rules of a policy rule with addresses of both families count into one */
	if (l->n && !strcmp(l->v[l->n - 1].counter, ru.counter))
		goto out;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct rule_meta *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			goto out;
		}
		l->v = v;
		l->cap = cap;
	}
	m = &l->v[l->n];
	memset(m, 0, sizeof(*m));
	snprintf(m->counter, sizeof(m->counter), "%s", ru.counter);
	m->pos = m->order = l->n;
	if (sscanf(ru.info, "action=%7s mode=%7s line=%u order=%zu", m->action, m->mode, &m->line,
		   &m->order) >= 3)
		l->n++;
out:
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

static void build_rule_dump(struct nlmsghdr *nlh, void *arg)
{
	nftnl_rule_nlmsg_build_payload(nlh, arg);
}

/* Policy order: the rule chains of runs come after the chains that jump to them. */
static int rule_meta_cmp(const void *a, const void *b)
{
	const struct rule_meta *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int counter_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nft_counter *)a)->name, ((const struct nft_counter *)b)->name);
}

/* The rule counters in the order of the rules that count into them (with their action, mode
 * and line), then the interfaces' own counters. cl is sorted by name here. */
static int counters_join(struct counter_list *cl, struct rule_meta_list *rl,
			 struct counter_list *res)
{
	bool *listed = calloc(cl->n + 1, sizeof(*listed));
	struct nft_counter *o;

	if (!listed)
		return -ENOMEM;
	if (cl->n)
		qsort(cl->v, cl->n, sizeof(*cl->v), counter_name_cmp);
	if (rl->n)
		qsort(rl->v, rl->n, sizeof(*rl->v), rule_meta_cmp);
	for (size_t i = 0; i < rl->n; i++) {
		struct nft_counter key, *k;

		snprintf(key.name, sizeof(key.name), "%s", rl->v[i].counter);
		k = cl->n ? bsearch(&key, cl->v, cl->n, sizeof(*cl->v), counter_name_cmp) : NULL;
		if (!k || nft_own_counter(k->rule) || listed[k - cl->v])
			continue;
		listed[k - cl->v] = true;
		snprintf(k->action, sizeof(k->action), "%s", rl->v[i].action);
		snprintf(k->mode, sizeof(k->mode), "%s", rl->v[i].mode);
		k->line = rl->v[i].line;
		if (!(o = counter_push(res)))
			break;
		*o = *k;
		res->n++;
	}
	for (size_t i = 0; !res->err && i < cl->n; i++) {
		if (!nft_own_counter(cl->v[i].rule))
			continue; /* a rule counter no rule counts into: a detach left it behind */
		if (!(o = counter_push(res)))
			break;
		*o = cl->v[i];
		res->n++;
	}
	free(listed);
	return res->err;
}

int nft_counters_read(struct nft_counter **out, size_t *n, bool reset, struct diag *d)
{
	struct nftnl_obj *ob = nftnl_obj_alloc();
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct counter_list cl = { 0 }, res = { 0 };
	struct rule_meta_list rl = { 0 };
	const char *what = "rules";
	int err = -ENOMEM;

	*out = NULL;
	*n = 0;
	if (!ob || !r)
		goto out;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TLSFW_TABLE);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	err = request(NFT_MSG_GETRULE, NLM_F_DUMP, build_rule_dump, r, rule_cb, &rl);
	if (!err)
		err = rl.err;
	if (err)
		goto out;
	what = "counters";
	nftnl_obj_set_str(ob, NFTNL_OBJ_TABLE, NFT_TLSFW_TABLE);
	nftnl_obj_set_u32(ob, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	err = request(reset ? NFT_MSG_GETOBJ_RESET : NFT_MSG_GETOBJ, NLM_F_DUMP, build_obj_dump, ob,
		      obj_cb, &cl);
	if (!err)
		err = cl.err;
	if (!err)
		err = counters_join(&cl, &rl, &res);
	if (!err) {
		*out = res.v;
		*n = res.n;
		res.v = NULL;
	}
out:
	if (err == -ENOENT)
		err = 0;
	if (err)
		diag_sys_error(d, err, "cannot read the %s of table inet %s", what,
			       NFT_TLSFW_TABLE);
	free(cl.v);
	free(res.v);
	free(rl.v);
	nftnl_obj_free(ob);
	nftnl_rule_free(r);
	return err;
}
