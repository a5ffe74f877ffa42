// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching and removing tlsfw's programs on one interface (hook.h): XDP with the kernel's
 * compare-and-swap, tc filters at tlsfw's own handle and priority, never anything else.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "hook.h"
#include "state.h"

uint32_t xdp_mode_flags(unsigned int attached)
{
	return attached == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

int xdp_swap(unsigned int ifindex, uint32_t mode, int expect_fd, int new_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = expect_fd);

	/* REPLACE: the kernel swaps only if expect_fd is still the attached program, so a
	 * program someone else attached in the meantime is never touched. */
	return bpf_xdp_attach(ifindex, new_fd, XDP_FLAGS_REPLACE | mode, &opts);
}

/* Where libbpf_why puts the kernel's extended ack ("veth: Peer MTU is too large to set
 * XDP"), which libbpf would print as a warning of its own. */
static char *why_buf;
static size_t why_len;

static int libbpf_why(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static const char ack[] = "Kernel error message: ";
	const char *at = strstr(fmt, ack);
	char line[256];
	size_t n;

	if (!at || level != LIBBPF_WARN)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	at = strstr(line, ack);
	if (!at)
		return 0;
	at += sizeof(ack) - 1;
	n = strcspn(at, "\n");
	snprintf(why_buf, why_len, "%.*s", (int)n, at);
	return 0;
}

/* With why, libbpf's messages until why_end: the kernel's extended ack into why, nothing on
 * stderr. Returns the print function to restore (NULL: none was replaced). */
static libbpf_print_fn_t why_begin(char *why, size_t len)
{
	if (!why || !len)
		return NULL;
	*why = 0;
	why_buf = why;
	why_len = len;
	return libbpf_set_print(libbpf_why);
}

static void why_end(char *why, libbpf_print_fn_t prev)
{
	if (!why || !why_buf)
		return;
	libbpf_set_print(prev);
	why_buf = NULL;
}

int xdp_add(unsigned int ifindex, uint32_t mode, int fd, char *why, size_t len)
{
	libbpf_print_fn_t prev = why_begin(why, len);
	/* UPDATE_IF_NOEXIST: never replace a program tlsfw did not install. */
	int err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_UPDATE_IF_NOEXIST | mode, NULL);

	why_end(why, prev);
	return err;
}

int hook_xdp_detach(unsigned int ifindex, unsigned int attached, int fd)
{
	return xdp_swap(ifindex, xdp_mode_flags(attached), fd, -1);
}

int tc_put(unsigned int ifindex, bool egress, int fd, bool replace, char *why, size_t len)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd, .handle = TLSFW_TC_HANDLE,
		    .priority = TLSFW_TC_PRIO, .flags = replace ? BPF_TC_F_REPLACE : 0);
	libbpf_print_fn_t prev = why_begin(why, len);
	int err = bpf_tc_attach(&hook, &opts);

	why_end(why, prev);
	return err;
}

int hook_tc_detach(unsigned int ifindex, bool egress)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TLSFW_TC_HANDLE, .priority = TLSFW_TC_PRIO);

	return bpf_tc_detach(&hook, &opts);
}

int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int tc_hook(unsigned int ifindex, bool *created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	/* An existing clsact is the normal case, not worth libbpf's kernel message. */
	libbpf_print_fn_t prev = libbpf_set_print(libbpf_quiet);
	int err = bpf_tc_hook_create(&hook);

	libbpf_set_print(prev);

	*created = !err;
	return err == -EEXIST ? 0 : err;
}

void tc_hook_destroy(unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	bpf_tc_hook_destroy(&hook);
}
