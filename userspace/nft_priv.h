/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by nft_build.c and apply_nft.c: names and the table's metadata records. */
#ifndef TLSFW_NFT_PRIV_H
#define TLSFW_NFT_PRIV_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Table userdata records (nftnl_udata TLVs) after the comment that `nft list` prints. nft
 * ignores types it does not know. The kernel keeps at most 256 bytes of userdata, so a long
 * policy path keeps only its tail.
 */
enum {
	NFT_META_FILE = 0xf0,     /* policy file, NUL-terminated */
	NFT_META_SHA256,          /* 32 bytes */
	NFT_META_APPLIED,         /* uint64_t seconds since the epoch, host order */
	NFT_META_NRULES,          /* uint32_t */
	NFT_META_DEFAULT,         /* "allow" | "drop" */
};
#define NFT_META_PATH_MAX 140

/* "<if>_in" (base chain on the device's ingress hook), "<if>_out" (reached from forward and
 * output through the egress verdict map). */
void nft_chain_name(char *buf, size_t len, const char *ifname, bool egress);
/* "<rule>/<if>/<in|out>": '/' is in neither a rule nor an interface name, so it is unique. */
void nft_counter_name(char *buf, size_t len, const char *rule, const char *ifname, bool egress);

#endif
