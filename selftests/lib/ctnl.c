// SPDX-License-Identifier: GPL-2.0
/* Conntrack entries through ctnetlink; see ctnl.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "ctnl.h"

#define CTNL_TIMEOUT 600 /* seconds: longer than any test run */

int ctnl_open(struct ctnl *c)
{
	c->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!c->nl)
		return -errno;
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID)) {
		int err = -errno;

		mnl_socket_close(c->nl);
		c->nl = NULL;
		return err;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = time(NULL);
	return 0;
}

void ctnl_close(struct ctnl *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	c->nl = NULL;
}

static struct nlmsghdr *msg_start(struct ctnl *c, char *buf, uint16_t type, uint16_t flags,
				  uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++c->seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* Sends nlh and reads its acknowledgement: 0 or the kernel's -errno. */
static int talk(struct ctnl *c, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* NLM_F_ACK: one answer, the acknowledgement or the error */
	n = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	ret = mnl_cb_run(buf, n, seq, c->portid, NULL, NULL);
	return ret < 0 ? -errno : 0;
}

/* The nest `type` of tuple t, reversed (the reply direction) or not. */
static void put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct ctnl_tuple *t, bool reverse)
{
	const uint8_t *src = reverse ? t->dst : t->src, *dst = reverse ? t->src : t->dst;
	uint16_t sport = reverse ? t->dport : t->sport, dport = reverse ? t->sport : t->dport;
	struct nlattr *tuple = mnl_attr_nest_start(nlh, type), *nest;

	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (t->family == 4) {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, src + 12);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, dst + 12);
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, src);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, dst);
	}
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
}

/* A TCP entry's protocol state (enum tcp_conntrack) and the flags of its reply
 * direction (IP_CT_TCP_FLAG_*). */
struct tcp_info {
	uint8_t state, reply_flags;
};

static int create(struct ctnl *c, const struct ctnl_tuple *t, bool seen_reply,
		  const struct ctnl_tuple *master, const struct tcp_info *tcp)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = msg_start(c, buf, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL,
					 t->family == 4 ? AF_INET : AF_INET6);

	put_tuple(nlh, CTA_TUPLE_ORIG, t, false);
	put_tuple(nlh, CTA_TUPLE_REPLY, t, true);
	if (master)
		put_tuple(nlh, CTA_TUPLE_MASTER, master, false);
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(CTNL_TIMEOUT));
	/* the status as a whole: ctnetlink has set CONFIRMED already and refuses to clear it */
	if (seen_reply)
		mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_CONFIRMED | IPS_SEEN_REPLY));
	if (tcp) {
		struct nf_ct_tcp_flags fl = { .flags = tcp->reply_flags, .mask = tcp->reply_flags };
		struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
		struct nlattr *ti = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);

		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, tcp->state);
		mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_REPLY, sizeof(fl), &fl);
		mnl_attr_nest_end(nlh, ti);
		mnl_attr_nest_end(nlh, pi);
	}
	return talk(c, nlh);
}

int ctnl_create(struct ctnl *c, const struct ctnl_tuple *t, bool seen_reply,
		const struct ctnl_tuple *master)
{
	return create(c, t, seen_reply, master, NULL);
}

int ctnl_create_tcp(struct ctnl *c, const struct ctnl_tuple *t, uint8_t state, uint8_t reply_flags)
{
	struct tcp_info tcp = { state, reply_flags };

	return create(c, t, true, NULL, &tcp);
}

int ctnl_flush(struct ctnl *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	return talk(c, msg_start(c, buf, IPCTNL_MSG_CT_DELETE, 0, AF_UNSPEC));
}
