/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy model: what stage 1 (policy_read.c) builds from YAML, stage 2 (policy_check.c)
 * validates, and stage 3 (policy_lower.c) turns into a plan. Every value keeps
 * the location libyaml recorded for it. The model never holds YAML objects.
 */
#ifndef TLSFW_POLICY_H
#define TLSFW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "diag.h"

enum pol_action { POL_ALLOW = 0, POL_DROP = 1, POL_REJECT = 2 }; /* == enum tlsfw_action */
enum pol_mode { POL_ENFORCE = 0, POL_MONITOR = 1 };
enum pol_frag { POL_FRAG_FOLLOW = 0, POL_FRAG_DROP = 1, POL_FRAG_ALLOW = 2 }; /* == tlsfw */
enum pol_backend { POL_BACKEND_BPF = 0, POL_BACKEND_NFT = 1 };
enum pol_xdp_mode { POL_XDP_AUTO = 0, POL_XDP_NATIVE, POL_XDP_GENERIC };

#define POL_HOOK_INGRESS 1u
#define POL_HOOK_EGRESS 2u
#define POL_DIR_INGRESS 1u /* rule direction mask; 0 = both */
#define POL_DIR_EGRESS 2u
#define POL_FAM_V4 1u /* family mask; 0 = both */
#define POL_FAM_V6 2u
/* state: bits, in the order of pol_state_names (bit i: TLSFW_CT_* value i + 1) */
#define POL_ST_NEW 1u
#define POL_ST_ESTABLISHED 2u
#define POL_ST_RELATED 4u
#define POL_ST_INVALID 8u
#define POL_ST_COUNT 4

struct pol_iface {
	char name[IFNAMSIZ];
	struct loc loc;	    /* of the name value */
	unsigned int hooks; /* POL_HOOK_*; default ingress */
	struct loc hooks_loc;
	enum pol_xdp_mode xdp_mode;
	struct loc xdp_mode_loc;
};

struct pol_ports { /* a list of inclusive ranges; a single port is lo == hi */
	struct pol_port_range {
		uint16_t lo, hi;
		struct loc loc;
	} * r;
	size_t n;
	struct loc loc; /* of the whole value */
};

struct pol_prefix {
	uint8_t addr[16]; /* IPv4 as v4-mapped IPv6 (::ffff:a.b.c.d) */
	uint8_t plen;	  /* in IPv6 bits: an IPv4 /24 is stored as 96 + 24 = 120 */
	uint8_t family;	  /* POL_FAM_V4 or POL_FAM_V6 */
	struct loc loc;
};

struct pol_prefixes {
	struct pol_prefix *p;
	size_t n;
	struct loc loc;
};

struct pol_names { /* a list of words as written (services, interfaces) */
	char **v;
	struct loc *locs;
	size_t n;
	struct loc loc;
};

/* One `icmp_type:` item: a name (the type it has in each family that defines it) or a
 * number (the same in both). -1: the name does not exist in that family. */
struct pol_icmp_type {
	int16_t v4, v6;
	struct loc loc;
};

struct pol_icmp_types {
	struct pol_icmp_type *v;
	size_t n;
	struct loc loc; /* of the whole value */
};

enum pol_ech {
	POL_ECH_ANY = 0,
	POL_ECH_PRESENT,
	POL_ECH_ABSENT,
};

struct pol_rule {
	char *name;
	struct loc loc; /* of the rule's mapping (the "- name:" item) */
	struct loc name_loc;

	/* proto: bitmap over IP protocol numbers. has_proto false: the rule said nothing. */
	bool has_proto;
	uint8_t protos[32];
	struct loc proto_loc;
	struct pol_proto_item { /* each protocol as written, in order */
		uint8_t proto;
		struct loc loc;
	} * proto_items;
	size_t n_proto_items;

	bool has_sport, has_dport;
	struct pol_ports sport, dport;
	struct pol_names services; /* as written; the lowering expands them */
	bool has_src, has_dst;
	struct pol_prefixes src, dst;
	unsigned int family; /* POL_FAM_* mask, 0 = any */
	struct loc family_loc;
	unsigned int direction; /* POL_DIR_* mask, 0 = any */
	struct loc direction_loc;
	struct pol_names ifaces;	  /* interface names; n == 0: every listed interface */
	struct pol_icmp_types icmp_types; /* icmp_type: n == 0: any (or not ICMP) */

	enum pol_action action;
	struct loc action_loc;
	enum pol_mode mode;
	struct loc mode_loc;

	/* Content matches (issue 12): the rule matches only packets whose payload says so. */
	bool payload_quic; /* payload: quic (UDP rules) */
	struct loc payload_loc;
	bool require_tls; /* require: tls (TCP rules): matches flows that do not start TLS */
	struct loc require_loc;
	/* Server names (issue 13, TCP rules): the ClientHello's server_name and ECH. */
	bool has_sni;	      /* sni: written */
	bool sni_none;	      /* sni: none: a ClientHello without server_name */
	struct pol_names sni; /* the names as written (and from @FILE), sni.loc the value's */
	bool sni_not;	      /* sni_match: not */
	struct loc sni_match_loc;
	unsigned int ech; /* enum pol_ech */
	struct loc ech_loc;
	/* Connection state (issue 17): POL_ST_* mask from the kernel's conntrack, 0 = any. */
	unsigned int state;
	struct loc state_loc;

	const char *probe; /* set for rules added by a failing probe (on_fail: block) */

	uint32_t log_rate; /* log: events per second, 0: no logging */
	struct loc log_loc;
};

struct pol_probe {
	char *name;
	struct loc loc, name_loc;
	char *target; /* "host:port", "[v6]:port", "host:service" as written */
	struct loc target_loc;
	char *domain; /* instead of target: a mail domain (MX, DANE, MTA-STS: probe --domain) */
	struct loc domain_loc;
	char *trust_anchor; /* domain probes: a DNSSEC trust anchor file for private zones */
	struct loc trust_anchor_loc;
	char *starttls; /* smtp|imap|...|none; NULL: from the port's catalog entry */
	struct loc starttls_loc;
	char *min_tls; /* "1.0" .. "1.3"; NULL: 1.2 */
	struct loc min_tls_loc;
	bool verify; /* default true */
	struct loc verify_loc;
	bool on_fail_block; /* on_fail: block (default warn) */
	struct loc on_fail_loc;
};

struct policy {
	const char *file; /* interned in the diag context */
	unsigned int version;
	struct loc version_loc;
	enum pol_backend backend;
	struct loc backend_loc;
	struct pol_iface *ifaces;
	size_t n_ifaces;
	struct loc ifaces_loc;
	enum pol_action default_action; /* allow | drop */
	struct loc default_loc;
	enum pol_frag fragments;
	struct loc fragments_loc;
	enum pol_action malformed; /* allow | drop */
	struct loc malformed_loc;
	enum pol_action midstream; /* allow | drop: TCP flows seen without their SYN */
	struct loc midstream_loc;
	uint32_t flows; /* flow table entries; 0: TLSFW_FLOWS_DEFAULT */
	struct loc flows_loc;
	enum pol_action sni_unordered; /* allow (default) | drop: segments beyond a gap before a
					* name rule decided */
	struct loc sni_unordered_loc;
	enum pol_action essentials; /* allow (default) | drop: see rule_essentials() */
	struct loc essentials_loc;  /* line 0: not written */
	struct pol_rule *rules;
	size_t n_rules;
	struct loc rules_loc;
	struct pol_probe *probes;
	size_t n_probes;
	uint8_t sha256[32]; /* of the file's bytes, for status and stats */
};

/* The first IP protocol at or after from in a rule's proto bitmap, 256 when none: a byte
 * at a time, so a walk over a rule's one or two protocols does not test 256 bits. */
static inline unsigned int pol_proto_next(const uint8_t protos[32], unsigned int from)
{
	for (; from < 256; from = (from | 7) + 1) {
		unsigned int b = protos[from / 8] >> (from % 8);

		if (b)
			return from + __builtin_ctz(b);
	}
	return 256;
}

/* Stage 1: read a policy file (path "-" = stdin) into *out. Problems go to d. Returns 0, or
 * a negative errno when the file could not be read or parsed at all (the model is then empty
 * but safe to free). Unknown keys and bad values are diagnosed, not fatal. */
int policy_read_file(struct policy *out, const char *path, struct diag *d);
/* Same, from memory (tests, fuzzing). name is used in locations. */
int policy_read_mem(struct policy *out, const char *name, const char *buf, size_t len,
		    struct diag *d);
void policy_free(struct policy *p);

/* Stage 2: validate; diagnostics only, p is left as it is. Returns 0 if no error was
 * recorded, -EINVAL if one was, -ENOMEM. */
int policy_check(const struct policy *p, struct diag *d);
struct rule_list;
/* The same, with its product: the rule list of p's rules (rules.h) that the analyses judged,
 * for the lowering (lower_opts.rules). *rules is filled only when 0 is returned, and then
 * only when the analyses ran (no hard limit exceeded); else it stays empty. */
int policy_check_rules(const struct policy *p, struct diag *d, struct rule_list *rules);

struct plan_rule;
/* After the lowering put the drop rules of failing probes (the first n_extra of rules, the
 * plan's rule list) ahead of the policy's own: warn about the policy's rules they shadow. */
void policy_check_probe_rules(const struct policy *p, const struct plan_rule *rules, size_t n_rules,
			      size_t n_extra, struct diag *d);

/* Printing the checked rule table for `tlsfw check`. */
void policy_print_table(const struct policy *p, FILE *out);
/* What rule r matches, as the table's MATCH column says it ("proto udp dport 443,80"; cut
 * with an ellipsis when long). Returns buf (512 bytes or more are enough). */
const char *policy_rule_match(const struct pol_rule *r, char *buf, size_t len);

/* Names of actions, modes, ... for printing (index by enum). */
extern const char *const pol_action_names[3];
extern const char *const pol_mode_names[2];
extern const char *const pol_frag_names[3];
extern const char *const pol_state_names[POL_ST_COUNT];
/* Format one prefix as written by users ("10.0.0.0/8", "fd00::/8"). buf >= 64 bytes. */
const char *pol_prefix_str(const struct pol_prefix *p, char *buf, size_t len);

#endif
