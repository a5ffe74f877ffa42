/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel calls that put tlsfw's programs on an interface and take them off again, shared
 * by apply (apply_bpf.c) and detach (backend_bpf.c). XDP is attached with netlink (it outlives
 * the process without a pin) and only ever replaced or removed when the attached program is
 * the expected one; tc filters live at tlsfw's handle and priority (state.h) on clsact.
 */
#ifndef TLSFW_HOOK_H
#define TLSFW_HOOK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>

/* XDP_FLAGS_SKB_MODE or XDP_FLAGS_DRV_MODE for a program attached as XDP_ATTACHED_*. */
uint32_t xdp_mode_flags(unsigned int attached);
/* Replace expect_fd by new_fd (-1: remove), only if expect_fd is still the attached one. */
int xdp_swap(unsigned int ifindex, uint32_t mode, int expect_fd, int new_fd);
/* Attach fd where no XDP program is attached in that mode. With why, a failure's reason as
 * the kernel words it (its extended ack, "" if it gave none) goes there instead of stderr. */
int xdp_add(unsigned int ifindex, uint32_t mode, int fd, char *why, size_t len);
/* Remove tlsfw's XDP program fd (attached as XDP_ATTACHED_DRV/SKB), only if still attached. */
int hook_xdp_detach(unsigned int ifindex, unsigned int attached, int fd);

/* Put fd at tlsfw's handle and priority on ingress or egress (replace: over ours). why as
 * for xdp_add. */
int tc_put(unsigned int ifindex, bool egress, int fd, bool replace, char *why, size_t len);
/* Remove tlsfw's tc filter (our handle and priority) from ingress or egress. */
int hook_tc_detach(unsigned int ifindex, bool egress);
/* Create the clsact qdisc if needed; *created says whether this call did (only then may an
 * undo remove it: a qdisc that existed may hold other people's filters). */
int tc_hook(unsigned int ifindex, bool *created);
void tc_hook_destroy(unsigned int ifindex);

/* A libbpf print hook that prints nothing: for calls whose failure is a normal answer. */
int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
