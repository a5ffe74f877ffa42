/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by lower_nft.c, nft_encode.c, apply_nft.c and nft_state.c: names, the table's
 * records and the netlink socket. */
#ifndef TLSFW_NFT_PRIV_H
#define TLSFW_NFT_PRIV_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Userdata records (nftnl_udata TLVs) after the comment that `nft list` prints; nft ignores
 * types it does not know. The kernel keeps at most 256 bytes of userdata, so a long policy
 * path keeps only its tail.
 *
 * The policy's records live on the empty chain NFT_POLICY_CHAIN, which every apply recreates
 * (the table itself is kept across apply, and the kernel does not update a table's
 * userdata). Each rule that owns a rule counter carries NFT_META_COUNTER and NFT_META_RULE:
 * counters are kept across apply when their name stays, so what may change with the policy
 * (action, mode, line) is read from the rules, which are always new.
 */
enum {
	NFT_META_FILE = 0xf0, /* policy file, NUL-terminated */
	NFT_META_SHA256,      /* 32 bytes */
	NFT_META_APPLIED,     /* uint64_t seconds since the epoch, host order */
	NFT_META_NRULES,      /* uint32_t */
	NFT_META_DEFAULT,     /* "allow" | "drop" */
	NFT_META_COUNTER,     /* rule: name of its rule counter, NUL-terminated */
	NFT_META_RULE,	      /* rule: "rule=R action=A mode=M line=N", NUL-terminated */
	NFT_META_TAG,	      /* policy chain: the generation of its sets, 'a' or 'b' */
	NFT_META_REJECTS,     /* policy chain: uint8_t, 1 when a rule in enforce mode rejects */
};
/* The policy chain's records fit the kernel's 256 bytes: each is 2 bytes of header and its
 * value, comment 48, path NFT_META_PATH_MAX + 1, sha256 32, applied 8, nrules 4, default 6,
 * tag 1, rejects 1: 253 bytes at most. */
#define NFT_META_PATH_MAX 136
#define NFT_POLICY_CHAIN "tlsfw_policy"
#define NFT_TABLE_COMMENT "tlsfw: see `tlsfw status`, chain " NFT_POLICY_CHAIN
/* Where reject rules go (not "reject": a keyword, which `nft -f` would not read back from
 * `nft list`). */
#define NFT_REJECT_CHAIN "tlsfw_reject"

/* "<if>_in" (base chain on the device's ingress hook), "<if>_out" (reached from forward and
 * output through the egress verdict map). */
void nft_chain_name(char *buf, size_t len, const char *ifname, bool egress);
/* "<rule>/<if>/<in|out>": '/' is in neither a rule nor an interface name, so it is unique. */
void nft_counter_name(char *buf, size_t len, const char *rule, const char *ifname, bool egress);
/* The interface's own counters, "<if>/<in|out>/<stat>" with stat a name of stats.c
 * ("default", "pass", "drop", "fragment-dropped", ...): never a rule's, whose third part is
 * in or out, and a name nft's parser reads back from `nft list`. Their comment says
 * "rule=(<stat>)". */
void nft_own_counter_name(char *buf, size_t len, const char *stat, const char *ifname, bool egress);
/* The policy chain's comment, "tlsfw: <file name>", from the policy file's path. */
void nft_records_comment(char *buf, size_t len, const char *path);

struct mnl_socket;

/* Receive buffer of the netlink socket: a dump of thousands of counters arrives in pieces of
 * up to this size. */
#define RECV_BUF (256 * 1024)
/* A netfilter netlink socket with extended acks; sndbuf: the size of the batch to send (0: a
 * request). Returns 0 or -errno. */
int nft_socket_open(struct mnl_socket **out, size_t sndbuf);
/* Close a socket that sent a batch, leaving the kernel's cleanup wait to a child
 * (apply_nft.c). */
void nft_socket_close(struct mnl_socket *nl);
/* Whether table inet NAME exists: 1, 0 (none, or no nf_tables), or -errno. A get request,
 * not a transaction: deleting an absent table costs an aborted transaction, whose
 * synchronize_rcu() took 10 ms here. */
int nft_table_present(const char *name);
/* Does table inet TABLE hold chain CHAIN and no other? 1 yes, 2 no (another chain, or none),
 * 0 no such table, or -errno. */
int nft_table_only_chain(const char *table, const char *chain);

#endif
