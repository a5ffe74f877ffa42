// SPDX-License-Identifier: GPL-2.0
/* Waiting for interfaces on rtnetlink link notifications (ifwait.h). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "ifwait.h"

#define IFWAIT_BUF 32768 /* a dump chunk of many links, or a burst of notifications */

struct ifw {
	const char *const *names;
	size_t n;
	int *ifindex;	  /* per name: the index of the link that has it now, 0 when none */
	unsigned int seq; /* of the current dump */
	bool dumped;	  /* the current dump has ended */
};

static int name_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **name = data;

	if (mnl_attr_get_type(a) == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		*name = a;
	return MNL_CB_OK;
}

/* A link as the dump lists it or a notification announces it. A link renamed away from a
 * wanted name (udev renaming eth0) loses it: the index is what identifies a link. */
static int on_link(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *name = NULL;
	struct ifw *w = data;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifi), name_attr, &name) < 0)
		return MNL_CB_OK;
	for (size_t i = 0; i < w->n; i++) {
		if (nlh->nlmsg_type == RTM_NEWLINK && name &&
		    !strcmp(mnl_attr_get_str(name), w->names[i]))
			w->ifindex[i] = ifi->ifi_index;
		else if (w->ifindex[i] == ifi->ifi_index)
			w->ifindex[i] = 0;
	}
	return MNL_CB_OK;
}

static int on_done(const struct nlmsghdr *nlh, void *data)
{
	struct ifw *w = data;

	if (nlh->nlmsg_seq == w->seq)
		w->dumped = true;
	return MNL_CB_OK;
}

/* List every link (again, after the notifications overran the socket's buffer). */
static int dump(struct mnl_socket *nl, struct ifw *w)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++w->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	memset(w->ifindex, 0, w->n * sizeof(*w->ifindex));
	w->dumped = false;
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

static bool all_there(const struct ifw *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (!w->ifindex[i])
			return false;
	return w->dumped;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Read what the socket holds into w; 0, or -errno. */
static int receive(struct mnl_socket *nl, struct ifw *w, char *buf)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_DONE] = on_done };
	ssize_t n = mnl_socket_recvfrom(nl, buf, IFWAIT_BUF);

	if (n < 0)
		return errno == ENOBUFS ? dump(nl, w) : -errno;
	/* seq and port 0: dump answers and notifications (which carry neither) alike */
	if (mnl_cb_run2(buf, n, 0, 0, on_link, w, ctl, NLMSG_MIN_TYPE) == MNL_CB_ERROR)
		return -errno;
	return 0;
}

static int wait_loop(struct mnl_socket *nl, struct ifw *w, unsigned int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct pollfd p = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
	char *buf = malloc(IFWAIT_BUF);
	int err = dump(nl, w);

	while (!err && !all_there(w)) {
		long long left = deadline - now_ms();
		int r;

		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			err = -errno;
		else if (r > 0)
			err = buf ? receive(nl, w, buf) : -ENOMEM;
	}
	free(buf);
	return err;
}

static void say_missing(const struct ifw *w, unsigned int timeout_ms, struct diag *d)
{
	char msg[512];
	size_t off = 0, k = 0, len = sizeof(msg);

	for (size_t i = 0; i < w->n; i++)
		k += !w->ifindex[i];
	off += snprintf(msg, len, "interface%s ", k == 1 ? "" : "s");
	for (size_t i = 0, j = 0; i < w->n && off < len; i++)
		if (!w->ifindex[i])
			off += snprintf(msg + off, len - off, "%s%s", j++ ? ", " : "", w->names[i]);
	if (off < len)
		snprintf(msg + off, len - off, " did not appear within %u s",
			 (timeout_ms + 999) / 1000);
	diag_error(d, NULL, "%s", msg);
}

int ifwait_names(const char *const *names, size_t n, unsigned int timeout_ms, struct diag *d)
{
	struct ifw w = { .names = names, .n = n, .ifindex = calloc(n + 1, sizeof(int)) };
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int err;

	if (!w.ifindex || !nl) {
		err = diag_sys_error(d, w.ifindex ? -errno : -ENOMEM,
				     "cannot open a netlink socket");
		goto out;
	}
	/* Subscribed before the dump, so no link can appear between the two unseen. */
	if (mnl_socket_bind(nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		err = diag_sys_error(d, -errno, "cannot listen to link notifications");
		goto out;
	}
	err = wait_loop(nl, &w, timeout_ms);
	if (err == -ETIMEDOUT)
		say_missing(&w, timeout_ms, d);
	else if (err)
		diag_sys_error(d, err, "waiting for interfaces");
out:
	if (nl)
		mnl_socket_close(nl);
	free(w.ifindex);
	return err;
}

int ifwait_policy(const struct policy *pol, unsigned int timeout_ms, struct diag *d)
{
	const char **names = calloc(pol->n_ifaces + 1, sizeof(*names));
	int err;

	if (!names)
		return diag_sys_error(d, -ENOMEM, "cannot wait for the interfaces");
	for (size_t i = 0; i < pol->n_ifaces; i++)
		names[i] = pol->ifaces[i].name;
	err = ifwait_names(names, pol->n_ifaces, timeout_ms, d);
	free(names);
	return err;
}
