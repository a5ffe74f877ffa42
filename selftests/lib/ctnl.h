/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Conntrack entries made by a test, through ctnetlink (libmnl): an entry with the given
 * original tuple and its reverse as the reply tuple, that has seen a reply or not, and
 * expected by a master entry (a related connection) or not. In the caller's network
 * namespace; tests run it in one of their own.
 */
#ifndef TLSFW_CTNL_H
#define TLSFW_CTNL_H

#include <stdbool.h>
#include <stdint.h>

struct mnl_socket;

/* A connection's tuple in the original direction (host order ports, v4-mapped IPv4). */
struct ctnl_tuple {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;	/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

struct ctnl {
	struct mnl_socket *nl;
	unsigned int portid, seq;
};

int ctnl_open(struct ctnl *c);
void ctnl_close(struct ctnl *c);
/* An entry for t; master: the tuple of an existing entry that expected it, or NULL. Returns 0
 * or -errno (-EEXIST: t or its reverse has an entry). */
int ctnl_create(struct ctnl *c, const struct ctnl_tuple *t, bool seen_reply,
		const struct ctnl_tuple *master);
/* A TCP entry for t that has seen a reply, in conntrack state `state` (enum tcp_conntrack),
 * its reply direction's flags set to reply_flags (IP_CT_TCP_FLAG_*). Its window tracking is
 * zero: td_maxack, what the reply direction acknowledged, is 0. Returns 0 or -errno. */
int ctnl_create_tcp(struct ctnl *c, const struct ctnl_tuple *t, uint8_t state, uint8_t reply_flags);
/* Deletes every entry of the namespace. */
int ctnl_flush(struct ctnl *c);

#endif
