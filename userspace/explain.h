/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `tlsfw explain`: which rule decides one packet, and why the rules before it did not. Two
 * engines give the same answer by different roads:
 *
 *  - explain_plan() reads the compiled rule list (rules.h, the list both lowerings are built
 *    from) first match first, and names for every earlier rule the first field that failed;
 *  - explain_live_decide() (explain_maps.c) does the data plane's own look-ups (bpf/decide.h,
 *    classify) on the active generation of the enforced maps, and yields the rule slot.
 *
 * The lock-out guard (lockout.h) and `explain POLICY` use the first; `explain` without a
 * policy uses the second for the verdict and the first, over the recorded policy file when it
 * still hashes the same, for the reasons. selftests/bpf/test_explain.c holds both to
 * BPF_PROG_TEST_RUN of the real programs.
 */
#ifndef TLSFW_EXPLAIN_H
#define TLSFW_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>

#include "plan.h"

/* The fields a rule can fail on, in the order they are tried. */
enum explain_field {
	EXPLAIN_MATCHED = 0,
	EXPLAIN_PROTO,
	EXPLAIN_FAMILY,
	EXPLAIN_SPORT,
	EXPLAIN_DPORT,
	EXPLAIN_SRC,
	EXPLAIN_DST,
	EXPLAIN_INTERFACE,
	EXPLAIN_DIRECTION,
	EXPLAIN_EMPTY,	       /* the rule matches nothing at all (check warned about it) */
	EXPLAIN_STATE,	       /* state: does not list the packet's --state */
	EXPLAIN_NEEDS_STATE,   /* a state rule, and no --state given: taken as not matching */
	EXPLAIN_PAYLOAD,       /* payload: / require: does not admit the packet's --payload */
	EXPLAIN_NEEDS_PAYLOAD, /* a content rule, and no --payload given: taken as not matching */
	EXPLAIN_NEEDS_SNI,     /* a name rule (sni:, ech:), and no --sni given: not matching */
	EXPLAIN_SNI,	       /* sni: (with sni_match:) does not admit the --sni name */
	EXPLAIN_ECH,	       /* ech: does not admit the ClientHello (--ech or not) */
};

extern const char *const explain_field_names[];

/* A packet as the data plane's parser leaves it (struct parsed), reduced to what rules
 * match. Matches still to come take their packet facts here, given as options of `explain`:
 * a payload class (`--payload quic`), the ClientHello's server name (`--sni NAME`), the
 * conntrack state (`--state S`). */
struct explain_pkt {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	bool has_ports; /* TCP and UDP */
	uint16_t sport, dport;
	/* ICMP, ICMPv6: the message type and the hop limit, which the data plane classifies
	 * where a destination port would be (tlsfw_abi.h, TLSFW_ICMP6_*); without a type the
	 * packet matches no rule that names types */
	bool has_type;
	uint8_t icmp_type, hop_limit;
	uint8_t src[16], dst[16]; /* IPv4 v4-mapped */
	char ifname[IFNAMSIZ];
	uint8_t dir;	  /* enum tlsfw_dir */
	uint8_t ct_state; /* --state: TLSFW_CT_*, TLSFW_CT_UNKNOWN when not given */
	uint8_t pl;	  /* --payload: TLSFW_PL_*, TLSFW_PL_UNKNOWN when not given */
	/* --sni NAME|none [--ech]: the flow's ClientHello, which decides name rules; its name
	 * class depends on the policy's name table (explain_hello_pl) */
	bool hello, ech;
	char sni[TLSFW_SNI_MAX + 1]; /* lower case; "": no server_name */
};

/* The content class (TLSFW_PL_*) of pkt's ClientHello under a generation whose name table
 * gives `cls` for pkt->sni (0: in no list); names: the generation has name rules. */
uint8_t explain_hello_pl(const struct explain_pkt *pkt, bool names, uint32_t cls);

/* A rule as an explanation names it: from the plan, or from the enforced rule records. */
struct explain_rule {
	const char *name;
	uint32_t line; /* 0: unknown */
	uint8_t action, monitor;
	bool builtin; /* the essentials rule: no line unless the policy sets essentials: */
	enum explain_field failed; /* for rules before the deciding one */
};

struct explain {
	const char *file; /* the policy file the lines are in, or NULL */
	bool hooked;	  /* the policy hooks the packet's interface and direction */
	long rule;	  /* index of the deciding rule in the plan, -1: the default */
	struct explain_rule decided;
	uint8_t default_action;
	uint8_t verdict;	      /* what happens: a monitor-mode rule lets the packet pass */
	struct explain_rule *skipped; /* the rules before the deciding one, in order */
	size_t n_skipped;
	bool reasons_unknown; /* only the verdict is known (explain_maps without the file) */
	const char *note;     /* said under the explanation, or NULL */
};

/*
 * PROTO SRC[:PORT] DST[:PORT] as written on the command line: PROTO tcp, udp, icmp, icmpv6 or
 * a number; ports required for tcp and udp, refused for the others; IPv6 with a port as
 * [addr]:port. 0, or -EINVAL with msg saying which argument is wrong.
 */
int explain_pkt_parse(struct explain_pkt *pkt, const char *const argv[3], char *msg, size_t len);

/* The value the data plane classifies in the dport table: the port, the ICMP key, or
 * TLSFW_PORT_NONE. */
uint32_t explain_dkey(const struct explain_pkt *pkt);

/* The first-match scan over pl's rule list. out is freed with explain_free(). 0 or -ENOMEM. */
int explain_plan(const struct plan *pl, const struct explain_pkt *pkt, struct explain *out);
void explain_free(struct explain *e);

void explain_print(const struct explain *e, const struct explain_pkt *pkt, FILE *out);
/* One JSON document. 0 or -ENOMEM. */
int explain_print_json(const struct explain *e, const struct explain_pkt *pkt, FILE *out);
/* "tcp 10.0.0.5:5353 -> 1.1.1.1:443 on lan0 ingress" */
void explain_pkt_str(const struct explain_pkt *pkt, char *buf, size_t len);

#endif
