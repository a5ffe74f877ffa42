/* SPDX-License-Identifier: GPL-2.0 */
/*
 * apply, status and detach for the nftables backend (nft_cmd.c); stats reads the table through
 * stats_collect_nft() (stats_nft.c). nft_cmd_status returns -ENOENT, printing nothing, when
 * table inet tlsfw does not exist (the caller goes on with the BPF backend's view), else an
 * exit status (EXIT_OK, or EXIT_SYSTEM after printing why).
 */
#ifndef TLSFW_NFT_CMD_H
#define TLSFW_NFT_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "plan.h"
#include "policy.h"

int nft_cmd_status(bool json);

/* `tlsfw apply` of a checked policy with backend: nft: takes the namespace lock, sends the
 * batch, prints diagnostics and the outcome. Returns an exit status. */
int nft_cmd_apply(const struct policy *pol, const struct plan *plan, const char *path, bool dry_run,
		  struct diag *d);
/* `tlsfw detach [IFACE...]`: -ENOENT (nothing printed) when no table inet tlsfw exists; else
 * an exit status. The caller holds the namespace lock (apply_lock). */
int nft_cmd_detach(char **ifnames, int n);
/* For a BPF apply (cmd_apply.c, under the namespace lock): -EBUSY with msg set while table
 * inet tlsfw exists (one backend per namespace), else 0 (also when nf_tables cannot be
 * read: no table of ours can be in the way then). */
int nft_in_force(char *msg, size_t len);

#endif
