// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 4b: send the batch nft_encode.c makes of the plan (libmnl), map kernel refusals back
 * to policy lines, and read the table back for status, stats and detach. Never runs `nft`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "apply_bpf.h"
#include "apply_nft.h"
#include "nft_priv.h"

#define RECV_BUF (256 * 1024)

/* ---- socket ------------------------------------------------------------------------------- */

static int nl_open(struct mnl_socket **out, size_t sndbuf)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int one = 1, fd;
	int rcv = RECV_BUF;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl);
		return err;
	}
	fd = mnl_socket_get_fd(nl);
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (sndbuf) {
		int v = (int)(sndbuf + 4096);

		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)))
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}
	*out = nl;
	return 0;
}

/* The kernel's extended ack text, if any. */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);
	struct nlattr *attr;
	void *payload;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	payload = (char *)e + off;
	mnl_attr_for_each_payload(payload, nlh->nlmsg_len - NLMSG_HDRLEN - off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

struct refusal {
	uint32_t seq;
	int err;
	char text[128];
};

/* Send a batch and collect every error the kernel answers with. The kernel processes a
 * netfilter batch inside sendmsg(), so every answer is queued when it returns. */
static int batch_talk(const struct nft_batch *b, struct refusal *r, size_t max, size_t *n)
{
	struct mnl_socket *nl;
	char *buf = malloc(RECV_BUF);
	int err, fd;

	*n = 0;
	if (!buf)
		return -ENOMEM;
	err = nl_open(&nl, b->len);
	if (err) {
		free(buf);
		return err;
	}
	fd = mnl_socket_get_fd(nl);
	if (mnl_socket_sendto(nl, b->buf, b->len) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t len = recv(fd, buf, RECV_BUF, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int left;

		if (len < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				err = -errno;
			break;
		}
		left = (int)len;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;
			const char *t;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (!e->error || *n >= max)
				continue;
			r[*n].seq = nlh->nlmsg_seq;
			r[*n].err = e->error;
			t = extack_msg(nlh);
			snprintf(r[*n].text, sizeof(r[*n].text), "%s", t ? t : "");
			(*n)++;
		}
	}
out:
	mnl_socket_close(nl);
	free(buf);
	return err;
}

/* ---- apply -------------------------------------------------------------------------------- */

/* nf_tables errnos in the words of what was refused: strerror(ENFILE) says "Too many open
 * files in system" where nf_tables means a full set. */
static const char *refusal_why(int err, const struct nft_owner *ow)
{
	bool set = ow && (strstr(ow->what, "set ") != NULL);

	if (err == -ENFILE && set)
		return "the set is full (more elements than its declared size)";
	if (err == -ENOENT && ow && strstr(ow->what, "ingress hook"))
		return "no such device";
	if (err == -EOPNOTSUPP && ow && strstr(ow->what, "ingress hook"))
		return "this kernel has no inet ingress hook (Linux 5.10 or later needed)";
	if (err == -EPERM)
		return "Operation not permitted (run as root or with CAP_NET_ADMIN)";
	return strerror(-err);
}

static void refusal_diag(const struct plan *pol, const struct nft_batch *b, const struct refusal *r,
			 struct diag *d)
{
	size_t i = r->seq - b->seq0;
	const struct nft_owner *ow = i < b->n_msgs ? &b->owner[i] : NULL;
	struct loc whole = { .file = pol->file, .line = 0, .col = 0, .len = 1 };
	const char *why = refusal_why(r->err, ow);
	const char *sep = r->text[0] ? " (" : "", *end = r->text[0] ? ")" : "";

	if (ow && ow->kind == NFT_OWN_RULE && ow->idx >= 0 && (size_t)ow->idx < pol->n_rules) {
		const struct plan_rule *rule = &pol->rules[ow->idx];

		diag_error(d, &rule->loc, "nftables refused rule '%s': %s: %s%s%s%s", rule->name,
			   ow->what, why, sep, r->text, end);
	} else if (ow && ow->kind == NFT_OWN_IFACE && ow->idx >= 0 &&
		   (size_t)ow->idx < pol->n_ifaces) {
		const struct plan_iface *ifc = &pol->ifaces[ow->idx];

		diag_error(d, &ifc->loc, "nftables refused interface '%s': %s: %s%s%s%s", ifc->name,
			   ow->what, why, sep, r->text, end);
	} else {
		diag_error(d, &whole, "nftables refused %s: %s%s%s%s", ow ? ow->what : "the batch",
			   why, sep, r->text, end);
	}
}

/* Send bytes [from, to) of b, one transaction; a refusal becomes a diagnostic at the policy
 * line that produced the refused message. */
static int send_part(const struct plan *pol, const struct nft_batch *b, size_t from, size_t to,
		     struct diag *d, char *msg, size_t len)
{
	struct nft_batch part = *b;
	struct refusal ref[16];
	size_t n_ref = 0;
	int err;

	part.buf = b->buf + from;
	part.len = to - from;
	err = batch_talk(&part, ref, sizeof(ref) / sizeof(ref[0]), &n_ref);
	if (err) {
		snprintf(msg, len, "cannot talk to nf_tables: %s", strerror(-err));
	} else if (n_ref) {
		/* The kernel goes on checking after a refusal, and what follows usually fails
		 * because of it (a rule in a chain that was refused): name the first only. */
		refusal_diag(pol, b, &ref[0], d);
		err = ref[0].err;
		if (n_ref > 1)
			snprintf(
				msg, len,
				"nftables refused the batch (and %zu later message%s, following from the first)",
				n_ref - 1, n_ref == 2 ? "" : "s");
		else
			snprintf(msg, len, "nftables refused the batch");
	}
	return err;
}

static int staged_del(const struct nft_batch *b);

int apply_nft(const struct plan *pol, const struct nft_apply_opts *o, struct diag *d, char *msg,
	      size_t len)
{
	struct nft_existing old;
	struct nft_encode_opts eo;
	struct nft_batch b;
	int err;

	/* An ingress chain names its device (the kernel checks it); an egress chain matches
	 * oifname, which would silently wait for the interface: check both here. */
	for (size_t i = 0; i < pol->n_ifaces; i++) {
		if (if_nametoindex(pol->ifaces[i].name))
			continue;
		diag_error(d, &pol->ifaces[i].loc,
			   "interface '%s' does not exist in this network namespace",
			   pol->ifaces[i].name);
		snprintf(msg, len, "interface %s is missing", pol->ifaces[i].name);
		return -ENODEV;
	}
	/* The batch replaces what the table holds now, by name. The exclusive apply lock keeps
	 * other tlsfw runs from changing it between this read and the commit; anyone else
	 * who edits table inet tlsfw meanwhile makes the batch fail, changing nothing. */
	err = nft_existing_read(&old, msg, len);
	if (err)
		return err;
	eo = (struct nft_encode_opts){ o->policy_file, o->sha256, o->dry_run, &old };
	err = nft_encode(pol, &eo, &b);
	nft_existing_free(&old);
	if (err) {
		snprintf(msg, len, "cannot build the nftables batch: %s", strerror(-err));
		return err;
	}
	/* the new sets (nothing uses them yet), then the switch (see struct nft_batch); a
	 * stopping signal before either ends the apply with nothing changed */
	if (apply_signal_pending()) {
		snprintf(msg, len, "interrupted by a signal");
		err = -EINTR;
	} else {
		err = send_part(pol, &b, 0, b.split ? b.split : b.len, d, msg, len);
	}
	if (!err && b.split) {
		if (apply_signal_pending()) {
			snprintf(msg, len, "interrupted by a signal");
			err = -EINTR;
		} else {
			err = send_part(pol, &b, b.split, b.len, d, msg, len);
		}
		/* The policy in force is untouched; so should the table be. If this fails too,
		 * the next apply deletes the leftovers (they are of the generation it makes). */
		if (err && staged_del(&b))
			fprintf(stderr,
				"tlsfw: warning: cannot delete the %zu sets staged for the refused policy; the next apply will\n",
				b.n_staged);
	}
	if (!err && o->out && !o->dry_run)
		for (size_t i = 0; i < pol->n_ifaces; i++)
			fprintf(o->out, "%s:%s%s nftables (table inet %s)\n", pol->ifaces[i].name,
				pol->ifaces[i].hooks & POL_HOOK_INGRESS ? " ingress" : "",
				pol->ifaces[i].hooks & POL_HOOK_EGRESS ? " egress" : "",
				NFT_TLSFW_TABLE);
	if (!err && o->out)
		fprintf(o->out,
			"nftables: %u rules, %u sets (%u elements), %u chains, %u counters; sets staged, then one switch\n",
			b.n_rules, b.n_sets, b.n_elems, b.n_chains, b.n_counters);
	nft_batch_free(&b);
	return err;
}

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
	err = nl_open(&nl, 0);
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

		if (ud && ulen)
			nftnl_udata_parse(ud, ulen, udata_cb, cl->st);
		goto out;
	}
	n = strlen(name);
	if (n > 3 && !strcmp(name + n - 3, "_in") && nftnl_chain_is_set(c, NFTNL_CHAIN_DEV))
		egress = false;
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

int nft_status_read(struct nft_status *st, char *msg, size_t len)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct chain_list cl = { .st = st };
	int err;

	memset(st, 0, sizeof(*st));
	if (!t || !c) {
		err = -ENOMEM;
		goto out;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TLSFW_TABLE);
	err = request(NFT_MSG_GETTABLE, 0, build_table_get, t, table_cb, st);
	if (err == -ENOENT) {
		err = 0;
		goto out;
	}
	if (err) {
		snprintf(msg, len, "cannot read table inet %s: %s", NFT_TLSFW_TABLE,
			 strerror(-err));
		goto out;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TLSFW_TABLE);
	err = request(NFT_MSG_GETCHAIN, NLM_F_DUMP, build_chain_dump, c, chain_cb, &cl);
	if (!err)
		err = cl.err;
	if (err)
		snprintf(msg, len, "cannot list the chains of table inet %s: %s", NFT_TLSFW_TABLE,
			 strerror(-err));
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
	char tag; /* NFT_META_TAG of the policy chain */
};

static int tag_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFT_META_TAG && nftnl_udata_len(attr) == 1)
		*(char *)data = *(const char *)nftnl_udata_get(attr);
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
					nftnl_udata_parse(ud, ulen, tag_cb, &cn->tag);
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

int nft_existing_read(struct nft_existing *old, char *msg, size_t len)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_set *st = nftnl_set_alloc();
	struct nftnl_obj *ob = nftnl_obj_alloc();
	struct name_list sets = { 0 }, counters = { 0 };
	struct chain_names cn = { 0 };
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
		snprintf(msg, len, "cannot read the %s of table inet %s: %s", what, NFT_TLSFW_TABLE,
			 strerror(-err));
		names_free(cn.l.v, cn.l.n);
		names_free(sets.v, sets.n);
		names_free(counters.v, counters.n);
		memset(old, 0, sizeof(*old));
	} else {
		old->chains = cn.l.v;
		old->n_chains = cn.l.n;
		old->tag = cn.tag;
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

int nft_counters_read(struct nft_counter **out, size_t *n, bool reset, char *msg, size_t len)
{
	struct nftnl_obj *ob = nftnl_obj_alloc();
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct counter_list cl = { 0 }, res = { 0 };
	struct rule_meta_list rl = { 0 };
	const char *what = "counters";
	bool *listed = NULL;
	int err;

	*out = NULL;
	*n = 0;
	if (!ob || !r) {
		err = -ENOMEM;
		goto out;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TLSFW_TABLE);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	err = request(NFT_MSG_GETRULE, NLM_F_DUMP, build_rule_dump, r, rule_cb, &rl);
	if (!err)
		err = rl.err;
	if (err) {
		what = "rules";
		goto out;
	}
	if (rl.n)
		qsort(rl.v, rl.n, sizeof(*rl.v), rule_meta_cmp);
	nftnl_obj_set_str(ob, NFTNL_OBJ_TABLE, NFT_TLSFW_TABLE);
	nftnl_obj_set_u32(ob, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	err = request(reset ? NFT_MSG_GETOBJ_RESET : NFT_MSG_GETOBJ, NLM_F_DUMP, build_obj_dump, ob,
		      obj_cb, &cl);
	if (!err)
		err = cl.err;
	if (err)
		goto out;
	listed = calloc(cl.n + 1, sizeof(*listed));
	if (!listed) {
		err = -ENOMEM;
		goto out;
	}
	if (cl.n)
		qsort(cl.v, cl.n, sizeof(*cl.v), counter_name_cmp);
	/* rule counters in the order of the rules, then the interfaces' own counters */
	for (size_t i = 0; i < rl.n; i++) {
		struct nft_counter key, *k, *o;

		snprintf(key.name, sizeof(key.name), "%s", rl.v[i].counter);
		k = cl.n ? bsearch(&key, cl.v, cl.n, sizeof(*cl.v), counter_name_cmp) : NULL;
		if (!k || k->rule[0] == '(' || listed[k - cl.v])
			continue;
		listed[k - cl.v] = true;
		snprintf(k->action, sizeof(k->action), "%s", rl.v[i].action);
		snprintf(k->mode, sizeof(k->mode), "%s", rl.v[i].mode);
		k->line = rl.v[i].line;
		o = counter_push(&res);
		if (!o) {
			err = res.err;
			goto out;
		}
		*o = *k;
		res.n++;
	}
	for (size_t i = 0; i < cl.n; i++) {
		struct nft_counter *o;

		if (cl.v[i].rule[0] != '(')
			continue; /* a rule counter no rule counts into: a detach left it behind */
		o = counter_push(&res);
		if (!o) {
			err = res.err;
			goto out;
		}
		*o = cl.v[i];
		res.n++;
	}
	*out = res.v;
	*n = res.n;
	res.v = NULL;
out:
	if (err == -ENOENT)
		err = 0;
	if (err)
		snprintf(msg, len, "cannot read the %s of table inet %s: %s", what, NFT_TLSFW_TABLE,
			 strerror(-err));
	free(listed);
	free(cl.v);
	free(res.v);
	free(rl.v);
	nftnl_obj_free(ob);
	nftnl_rule_free(r);
	return err;
}

/* ---- detach ------------------------------------------------------------------------------- */

/* Send a batch of deletions; the kernel's first refusal into *ref. */
static int send_deletes(const struct nft_del *dels, size_t n, struct refusal *ref)
{
	struct nft_batch b;
	struct refusal r[4];
	size_t n_ref = 0;
	int err = nft_batch_deletes(&b, dels, n);

	if (err)
		return err;
	err = batch_talk(&b, r, sizeof(r) / sizeof(r[0]), &n_ref);
	if (!err && n_ref) {
		*ref = r[0];
		err = r[0].err;
	}
	nft_batch_free(&b);
	return err;
}

/* After a refused switch: remove the sets the first transaction added. */
static int staged_del(const struct nft_batch *b)
{
	size_t n = b->n_staged + b->n_staged_chains;
	struct nft_del *dels = calloc(n + 1, sizeof(*dels));
	struct refusal ref;
	int err;

	if (!dels)
		return -ENOMEM;
	/* the maps first: they jump to the chains */
	for (size_t i = 0; i < b->n_staged; i++)
		dels[i] = (struct nft_del){ NFT_MSG_DELSET, b->staged[i] };
	for (size_t i = 0; i < b->n_staged_chains; i++)
		dels[b->n_staged + i] = (struct nft_del){ NFT_MSG_DELCHAIN, b->staged_chains[i] };
	err = n ? send_deletes(dels, n, &ref) : 0;
	free(dels);
	return err;
}

/* Is name a run's map ("<if>/<in|out>/udp0.a") or rule chain ("<rule>/<if>/<in|out>.a") of
 * interface ifname (lower_nft_run.c)? '/' is in neither a rule nor an interface name. */
static bool run_object(const char *name, const char *ifname, bool chain)
{
	const char *dot = strrchr(name, '.');
	size_t il = strlen(ifname);
	char sfx[IFNAMSIZ + 8];

	if (!chain)
		return !strncmp(name, ifname, il) &&
		       (!strncmp(name + il, "/in/", 4) || !strncmp(name + il, "/out/", 5));
	for (int egress = 0; dot && egress < 2; egress++) {
		size_t sl =
			(size_t)snprintf(sfx, sizeof(sfx), "/%s/%s", ifname, egress ? "out" : "in");

		if ((size_t)(dot - name) > sl && !strncmp(dot - sl, sfx, sl))
			return true;
	}
	return false;
}

/* The maps of the interfaces' runs, then their rule chains (the maps jump to them). */
static void run_dels(const char *const *ifnames, size_t n, struct nft_del *dels, size_t *nd,
		     const struct nft_existing *ex)
{
	for (int chain = 0; chain < 2; chain++) {
		char **names = chain ? ex->chains : ex->sets;
		size_t nn = chain ? ex->n_chains : ex->n_sets;

		for (size_t k = 0; k < nn; k++)
			for (size_t i = 0; i < n; i++)
				if (run_object(names[k], ifnames[i], chain)) {
					dels[(*nd)++] = (struct nft_del){ chain ? NFT_MSG_DELCHAIN :
										  NFT_MSG_DELSET,
									  names[k] };
					break;
				}
	}
}

int nft_detach(const char *const *ifnames, size_t n, unsigned int *removed, char *msg, size_t len)
{
	struct nft_status st;
	struct nft_counter *ks = NULL;
	size_t nk = 0, remaining, nd = 0;
	struct nft_del *dels = NULL;
	char(*chains)[IFNAMSIZ + 8] = NULL;
	struct refusal ref = { 0 };
	struct nft_existing ex = { 0 };
	int err;

	*removed = 0;
	err = nft_status_read(&st, msg, len);
	if (err)
		return err;
	if (!st.present) {
		snprintf(msg, len, "no table inet %s: nothing enforced by nftables",
			 NFT_TLSFW_TABLE);
		return -ENOENT;
	}
	remaining = st.n_hooks;
	if (n) {
		err = nft_counters_read(&ks, &nk, false, msg, len);
		if (err)
			goto out;
		err = nft_existing_read(&ex, msg, len);
		if (err)
			goto out;
		/* per interface: two chains and a map element, its runs' maps and chains, and its
		 * counters */
		dels = calloc(3 * n + ex.n_sets + ex.n_chains + nk + 1, sizeof(*dels));
		chains = calloc(2 * n + 1, sizeof(*chains));
		if (!dels || !chains) {
			err = -ENOMEM;
			snprintf(msg, len, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			struct nft_status_hook *h = NULL;

			for (size_t k = 0; k < st.n_hooks; k++)
				if (!strcmp(st.hooks[k].ifname, ifnames[i]))
					h = &st.hooks[k];
			if (!h) {
				snprintf(msg, len, "%s: nothing enforced there by nftables",
					 ifnames[i]);
				err = -ENOENT;
				goto out;
			}
			if (h->ingress) {
				nft_chain_name(chains[2 * i], sizeof(chains[0]), h->ifname, false);
				dels[nd++] = (struct nft_del){ NFT_MSG_DELCHAIN, chains[2 * i] };
			}
			if (h->egress) {
				nft_chain_name(chains[2 * i + 1], sizeof(chains[0]), h->ifname,
					       true);
				dels[nd++] = (struct nft_del){ NFT_MSG_DELSETELEM, h->ifname };
				dels[nd++] =
					(struct nft_del){ NFT_MSG_DELCHAIN, chains[2 * i + 1] };
			}
			remaining--;
			(*removed)++;
		}
		run_dels(ifnames, n, dels, &nd, &ex);
		/* last: the rules counting into them are gone */
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < nk; k++)
				if (!strcmp(ks[k].ifname, ifnames[i]))
					dels[nd++] = (struct nft_del){ NFT_MSG_DELOBJ, ks[k].name };
	}
	if (!n || !remaining) {
		/* nothing of the policy is left: the whole table goes instead, in one batch */
		static const struct nft_del table = { NFT_MSG_DELTABLE, NULL };

		err = send_deletes(&table, 1, &ref);
		if (!n)
			*removed = 1;
	} else {
		err = send_deletes(dels, nd, &ref);
	}
	if (err && ref.err)
		snprintf(msg, len, "nftables refused to remove table inet %s's objects: %s%s%s",
			 NFT_TLSFW_TABLE, strerror(-err), ref.text[0] ? ": " : "", ref.text);
	else if (err)
		snprintf(msg, len, "cannot talk to nf_tables: %s", strerror(-err));
out:
	free(ks);
	free(dels);
	free(chains);
	nft_existing_free(&ex);
	nft_status_free(&st);
	return err;
}
