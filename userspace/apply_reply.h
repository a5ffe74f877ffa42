/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a reject's answer is built (Documentation/architecture.md, "Reject everywhere"):
 * XDP answers with XDP_TX where that reaches the sender, and elsewhere hands the rejected
 * frame to tlsfw_tc_reply on tc ingress of the same device (bpf/tlsfw_abi.h, tlsfw_xdp_meta).
 * The choice is made per (interface, ingress) context before the generation is filled, and
 * written into its context word (TLSFW_DW_HANDOFF).
 */
#ifndef TLSFW_APPLY_REPLY_H
#define TLSFW_APPLY_REPLY_H

#include <stdbool.h>

#include "plan.h"

/*
 * Whether XDP_TX of device ifname reaches the sender. Known for devices with a bus (PCI,
 * virtio, ...), whose drivers transmit XDP_TX frames on their own queues; not for virtual
 * devices without one: a veth hands them to its peer's NAPI, which exists only while the
 * peer runs XDP or GRO (the peer is not ours to change). Asked with ETHTOOL_GDRVINFO; a
 * device that does not answer counts as virtual.
 */
bool reply_xdp_tx_reaches(const char *ifname);

/*
 * For each context class of pl (n_ctx_cls entries), whether an enforced `reject` rule can
 * decide one of its packets. Returns a calloc'ed array (NULL when out of memory).
 */
bool *reply_rejecting_classes(const struct plan *pl);

#endif
