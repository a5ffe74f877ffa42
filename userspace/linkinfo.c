// SPDX-License-Identifier: GPL-2.0
/* Link queries over rtnetlink (linkinfo.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "linkinfo.h"

struct link {
	uint32_t master; /* IFLA_MASTER, 0: none */
	uint16_t type;	 /* ifi_type: ARPHRD_* */
	char name[IFNAMSIZ];
	bool bridge; /* IFLA_LINKINFO's kind is "bridge" */
};

static int kind_attr(const struct nlattr *a, void *data)
{
	struct link *l = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		l->bridge = !strcmp(mnl_attr_get_str(a), "bridge");
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct link *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			l->master = mnl_attr_get_u32(a);
		break;
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(a, kind_attr, l);
		break;
	}
	return MNL_CB_OK;
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link *l = data;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_ERROR;
	l->type = ifi->ifi_type;
	return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr, data) < 0 ? MNL_CB_ERROR :
										    MNL_CB_OK;
}

/* A link's message (statistics, per-family settings) can exceed MNL_SOCKET_BUFFER_SIZE,
 * which is the page size; a cut message would not parse. */
#define LINK_MSG_MAX 32768

/* One RTM_GETLINK, by name (index 0) or by index. */
static int get_link(struct mnl_socket *nl, const char *name, uint32_t index, struct link *out)
{
	static char buf[LINK_MSG_MAX];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	unsigned int seq = time(NULL), port = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	if (!index)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	ret = mnl_cb_run(buf, n, seq, port, on_link, out);
	return ret < 0 ? -errno : 0;
}

static struct mnl_socket *rtnl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

int link_type(uint32_t ifindex)
{
	struct mnl_socket *nl = rtnl_open();
	struct link l;
	int err;

	if (!nl)
		return -errno;
	err = get_link(nl, NULL, ifindex, &l);
	mnl_socket_close(nl);
	return err ?: l.type;
}

int link_bridge_master(const char *name, char master[IFNAMSIZ])
{
	struct mnl_socket *nl = rtnl_open();
	struct link l, m;
	int err;

	if (!nl)
		return -errno;
	err = get_link(nl, name, 0, &l);
	if (!err && l.master)
		err = get_link(nl, NULL, l.master, &m);
	mnl_socket_close(nl);
	if (err || !l.master || !m.bridge)
		return err;
	snprintf(master, IFNAMSIZ, "%s", m.name);
	return 1;
}

int link_is_bridge(const char *name)
{
	struct mnl_socket *nl = rtnl_open();
	struct link l;
	int err;

	if (!nl)
		return -errno;
	err = get_link(nl, name, 0, &l);
	mnl_socket_close(nl);
	return err ?: l.bridge;
}
