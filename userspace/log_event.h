/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `tlsfw log`: one data plane event (tlsfw_abi.h, struct tlsfw_log_event) as a line of text
 * or one JSON object, with the names the metadata maps give (log_print.c).
 */
#ifndef TLSFW_LOG_EVENT_H
#define TLSFW_LOG_EVENT_H

#include <stdint.h>
#include <stdio.h>

#include "../bpf/tlsfw_abi.h"

/* What an event's numbers are called; the names are already resolved by the caller. */
struct log_names {
	const char *ifname;	  /* the interface of ifindex */
	const char *rule;	  /* the rule of rule_slot */
	uint64_t mono_to_real_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
};

/* One line: "TIME IFACE DIR PROTO SRC -> DST rule RULE VERDICT". 0 or -EIO. */
int log_print_text(const struct tlsfw_log_event *e, const struct log_names *n, FILE *out);
/* One json-c object on one line. 0, -ENOMEM or -EIO. */
int log_print_json(const struct tlsfw_log_event *e, const struct log_names *n, FILE *out);

#endif
