// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 4b: send the batch nft_encode.c makes of the plan (libmnl) and map kernel refusals
 * back to policy lines; detach's deletions. nft_state.c reads the table back. Never runs
 * `nft`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "apply_nft.h"
#include "lock.h"
#include "names.h"
#include "nft_priv.h"

/* ---- socket ------------------------------------------------------------------------------- */

int nft_socket_open(struct mnl_socket **out, size_t sndbuf)
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

/* Close every descriptor but a and b. */
static void close_all_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 0)
		close_range(0, lo - 1, 0);
	if (hi > lo + 1)
		close_range(lo + 1, hi - 1, 0);
	close_range(hi + 1, ~0U, 0);
}

/*
 * The last close of a netfilter socket runs nf_tables' release notifier, which waits for the
 * work that frees what the last commit deleted, and that work first waits for an RCU grace
 * period: 8 to 20 ms here, most of a one-rule apply (and what `nft -f` waits at its exit).
 * By then the commit is acknowledged and the policy in force: only the freeing of the
 * previous ruleset is left. So a child takes over a reference to the socket, waits until
 * this process has dropped its own (its end of a pipe closes) and makes the last close; the
 * wait is its own. An apply that follows within the grace period waits for it at its commit
 * (the notifier holds nf_tables' commit mutex). Without a child (fork failed) this process
 * closes and waits, as before.
 */
void nft_socket_close(struct mnl_socket *nl)
{
	int p[2] = { -1, -1 }, fd = mnl_socket_get_fd(nl);
	pid_t pid = -1;
	char c;

	if (!pipe2(p, O_CLOEXEC))
		pid = fork();
	if (pid == 0) {
		/* nothing of the parent's: no terminal, no pipe a caller reads to its end */
		setsid();
		close(p[1]);
		close_all_but(fd, p[0]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		close(fd);
		_exit(0);
	}
	mnl_socket_close(nl);
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]); /* a child's read returns: the socket is its alone */
	}
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
	err = nft_socket_open(&nl, b->len);
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
	nft_socket_close(nl);
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
		     struct diag *d)
{
	struct nft_batch part = *b;
	struct refusal ref[16];
	size_t n_ref = 0;
	int err;

	part.buf = b->buf + from;
	part.len = to - from;
	err = batch_talk(&part, ref, sizeof(ref) / sizeof(ref[0]), &n_ref);
	if (err)
		return diag_sys_error(d, err, "cannot talk to nf_tables");
	if (!n_ref)
		return 0;
	/* The kernel goes on checking after a refusal, and what follows usually fails because of
	 * it (a rule in a chain that was refused): name the first only. */
	refusal_diag(pol, b, &ref[0], d);
	if (n_ref > 1)
		diag_note(d, NULL,
			  "nftables refused %zu later message%s too, following from the first",
			  n_ref - 1, plural(n_ref - 1));
	return ref[0].err;
}

static int staged_del(const struct nft_batch *b);

static int interrupted(struct diag *d)
{
	diag_error(d, NULL, "interrupted by a signal");
	return -EINTR;
}

/* The sets first (nothing uses them yet), then the switch (see struct nft_batch); a stopping
 * signal before either ends the apply with nothing changed. */
static int send_batch(const struct plan *pol, const struct nft_batch *b, struct diag *d)
{
	int err;

	if (stop_signal_pending())
		return interrupted(d);
	err = send_part(pol, b, 0, b->split ? b->split : b->len, d);
	if (err || !b->split)
		return err;
	if (stop_signal_pending())
		err = interrupted(d);
	else
		err = send_part(pol, b, b->split, b->len, d);
	/* The policy in force is untouched; so should the table be. If this fails too, the
	 * next apply deletes the leftovers (they are of the generation it makes). */
	if (err && staged_del(b))
		diag_warning(
			d, NULL,
			"cannot delete the %zu sets staged for the refused policy; the next apply will",
			b->n_staged);
	return err;
}

static void report(const struct plan *pol, const struct nft_batch *b,
		   const struct nft_apply_opts *o)
{
	if (!o->out)
		return;
	for (size_t i = 0; !o->dry_run && i < pol->n_ifaces; i++)
		fprintf(o->out, "%s:%s%s nftables (table inet %s)\n", pol->ifaces[i].name,
			pol->ifaces[i].hooks & POL_HOOK_INGRESS ? " ingress" : "",
			pol->ifaces[i].hooks & POL_HOOK_EGRESS ? " egress" : "", NFT_TLSFW_TABLE);
	fprintf(o->out,
		"nftables: %u rule%s, %u set%s (%u element%s), %u chain%s, %u counter%s; %s\n",
		b->n_rules, plural(b->n_rules), b->n_sets, plural(b->n_sets), b->n_elems,
		plural(b->n_elems), b->n_chains, plural(b->n_chains), b->n_counters,
		plural(b->n_counters),
		b->split ? "sets staged, then one switch" : "one transaction");
}

int apply_nft(const struct plan *pol, const struct nft_apply_opts *o, struct diag *d)
{
	struct nft_existing old;
	struct nft_encode_opts eo;
	struct nft_batch b;
	struct relabel_old was;
	unsigned int relabel;
	int err;

	/* The batch replaces what the table holds now, by name. The exclusive apply lock keeps
	 * other tlsfw runs from changing it between this read and the commit; anyone else
	 * who edits table inet tlsfw meanwhile makes the batch fail, changing nothing. */
	err = nft_existing_read(&old, d);
	if (err)
		return err;
	was = old.records;
	relabel = relabel_counters(pol, old.have_records ? &was : NULL);
	eo = (struct nft_encode_opts){ o->policy_file, o->sha256, o->dry_run, &old, relabel };
	err = nft_encode(pol, &eo, &b);
	nft_existing_free(&old);
	if (err)
		return diag_sys_error(d, err, "cannot build the nftables batch");
	err = send_batch(pol, &b, d);
	if (!err && !o->dry_run)
		relabel_say(o->out, relabel, was.default_action, pol->default_action);
	if (!err)
		report(pol, &b, o);
	nft_batch_free(&b);
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

/* The deletions that take interface h's chains out of the table: its chains and its egress
 * map element. chains[2] holds the chain names the deletions point to. */
static size_t iface_dels(const struct nft_status_hook *h, char (*chains)[IFNAMSIZ + 8],
			 struct nft_del *dels)
{
	size_t nd = 0;

	if (h->ingress) {
		nft_chain_name(chains[0], sizeof(chains[0]), h->ifname, false);
		dels[nd++] = (struct nft_del){ NFT_MSG_DELCHAIN, chains[0] };
	}
	if (h->egress) {
		nft_chain_name(chains[1], sizeof(chains[1]), h->ifname, true);
		dels[nd++] = (struct nft_del){ NFT_MSG_DELSETELEM, h->ifname };
		dels[nd++] = (struct nft_del){ NFT_MSG_DELCHAIN, chains[1] };
	}
	return nd;
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

static const struct nft_status_hook *hook_named(const struct nft_status *st, const char *ifname)
{
	for (size_t k = 0; k < st->n_hooks; k++)
		if (!strcmp(st->hooks[k].ifname, ifname))
			return &st->hooks[k];
	return NULL;
}

/* What detach removes of the named interfaces (the deletions point into its names). */
struct detach_set {
	const struct nft_status *st;
	const struct nft_counter *ks; /* the table's counters */
	size_t nk;
	const struct nft_existing *ex; /* the table's sets and chains */
	char (*chains)[IFNAMSIZ + 8];
};

/* The deletions of the named interfaces: their chains, their runs' maps and rule chains, then
 * their counters (nothing counts into them once the chains are gone). */
static int detach_dels(const struct detach_set *x, const char *const *ifnames, size_t n,
		       struct nft_del *dels, size_t *nd, struct diag *d)
{
	*nd = 0;
	for (size_t i = 0; i < n; i++) {
		const struct nft_status_hook *h = hook_named(x->st, ifnames[i]);

		if (!h) {
			diag_error(d, NULL, "%s: nothing enforced there by nftables", ifnames[i]);
			return -ENOENT;
		}
		*nd += iface_dels(h, x->chains + 2 * i, dels + *nd);
	}
	run_dels(ifnames, n, dels, nd, x->ex);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < x->nk; k++)
			if (!strcmp(x->ks[k].ifname, ifnames[i]))
				dels[(*nd)++] = (struct nft_del){ NFT_MSG_DELOBJ, x->ks[k].name };
	return 0;
}

int nft_detach(const char *const *ifnames, size_t n, struct diag *d)
{
	static const struct nft_del table = { NFT_MSG_DELTABLE, NULL };
	char(*chains)[IFNAMSIZ + 8] = NULL;
	struct nft_del *dels = NULL;
	struct nft_counter *ks = NULL;
	struct nft_existing ex = { 0 };
	struct refusal ref = { 0 };
	struct nft_status st;
	size_t nd = 0, nk = 0;
	int err;

	err = nft_status_read(&st, d);
	if (err)
		return err;
	if (!st.present) {
		nft_status_free(&st);
		diag_error(d, NULL, "no table inet %s: nothing enforced by nftables",
			   NFT_TLSFW_TABLE);
		return -ENOENT;
	}
	/* per interface: two chains and a map element, and its counters; when none of the
	 * policy's interfaces stays, the whole table goes instead, in one batch */
	if (n && n < st.n_hooks && !(err = nft_counters_read(&ks, &nk, false, d)) &&
	    !(err = nft_existing_read(&ex, d))) {
		dels = calloc(3 * n + ex.n_sets + ex.n_chains + nk + 1, sizeof(*dels));
		chains = calloc(2 * n + 1, sizeof(*chains));
		if (!dels || !chains)
			err = diag_sys_error(d, -ENOMEM, "cannot detach");
		else
			err = detach_dels(&(struct detach_set){ &st, ks, nk, &ex, chains }, ifnames,
					  n, dels, &nd, d);
	}
	if (!err)
		err = dels ? send_deletes(dels, nd, &ref) : send_deletes(&table, 1, &ref);
	if (err && ref.err)
		diag_sys_error(d, err, "nftables refused to remove table inet %s's objects%s%s",
			       NFT_TLSFW_TABLE, ref.text[0] ? ": " : "", ref.text);
	else if (err && !d->errors)
		diag_sys_error(d, err, "cannot talk to nf_tables");
	free(ks);
	free(dels);
	free(chains);
	nft_existing_free(&ex);
	nft_status_free(&st);
	return err;
}
