// SPDX-License-Identifier: GPL-2.0
/*
 * The explain engine over a plan: the rule list read first match first, as a user reads the
 * policy. The rule list is what both lowerings are built from (rules.h), so a rule matches
 * here exactly when the tables say it does; test_explain.c checks that against the programs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "explain.h"
#include "name_table.h"
#include "policy_sni.h"

const char *const explain_field_names[] = {
	[EXPLAIN_MATCHED] = "matched",
	[EXPLAIN_PROTO] = "proto",
	[EXPLAIN_FAMILY] = "family",
	[EXPLAIN_SPORT] = "sport",
	[EXPLAIN_DPORT] = "dport",
	[EXPLAIN_SRC] = "src",
	[EXPLAIN_DST] = "dst",
	[EXPLAIN_INTERFACE] = "interface",
	[EXPLAIN_DIRECTION] = "direction",
	[EXPLAIN_EMPTY] = "nothing",
	[EXPLAIN_STATE] = "state",
	[EXPLAIN_NEEDS_STATE] = "needs --state",
	[EXPLAIN_PAYLOAD] = "payload",
	[EXPLAIN_NEEDS_PAYLOAD] = "needs --payload",
	[EXPLAIN_NEEDS_SNI] = "needs --sni",
	[EXPLAIN_SNI] = "sni",
	[EXPLAIN_ECH] = "ech",
};

/* ---- the packet from the command line ---------------------------------------------------- */

static int parse_proto(const char *s, uint8_t *proto)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} names[] = { { "tcp", IPPROTO_TCP },
		      { "udp", IPPROTO_UDP },
		      { "icmp", IPPROTO_ICMP },
		      { "icmpv6", IPPROTO_ICMPV6 } };
	char *end;
	unsigned long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*proto = names[i].proto;
			return 0;
		}
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > 255)
		return -EINVAL;
	*proto = v;
	return 0;
}

/* "a.b.c.d", "a.b.c.d:port", "v6", "[v6]:port": address (v4-mapped), family, port (-1: none). */
static int parse_endpoint(const char *s, uint8_t addr[16], uint8_t *family, long *port)
{
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon = NULL;
	size_t n;

	*port = -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		n = close - s - 1;
		colon = close[1] ? close + 1 : NULL;
		s++;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address: no port */
		n = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (colon) {
		errno = 0;
		*port = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || errno || *port < 0 || *port > 65535)
			return -EINVAL;
	}
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, host, addr + 12) == 1) {
		addr[10] = addr[11] = 0xff;
		*family = 4;
		return 0;
	}
	*family = 6;
	return inet_pton(AF_INET6, host, addr) == 1 ? 0 : -EINVAL;
}

int explain_pkt_parse(struct explain_pkt *pkt, const char *const argv[3], char *msg, size_t len)
{
	uint8_t fam[2];
	long port[2];

	memset(pkt, 0, sizeof(*pkt));
	if (parse_proto(argv[0], &pkt->proto))
		return snprintf(
			       msg, len,
			       "unknown protocol '%s' (tcp, udp, icmp, icmpv6 or a number up to 255)",
			       argv[0]),
		       -EINVAL;
	pkt->has_ports = pkt->proto == IPPROTO_TCP || pkt->proto == IPPROTO_UDP;
	for (int i = 0; i < 2; i++) {
		const char *what = i ? "destination" : "source";

		if (parse_endpoint(argv[i + 1], i ? pkt->dst : pkt->src, &fam[i], &port[i]))
			return snprintf(msg, len,
					"bad %s '%s': want ADDRESS, ADDRESS:PORT or [IPV6]:PORT",
					what, argv[i + 1]),
			       -EINVAL;
		if (pkt->has_ports && port[i] < 0)
			return snprintf(msg, len, "the %s '%s' needs a port for %s", what,
					argv[i + 1], argv[0]),
			       -EINVAL;
		if (!pkt->has_ports && port[i] >= 0)
			return snprintf(msg, len,
					"the %s '%s' has a port, but only tcp and udp have ports",
					what, argv[i + 1]),
			       -EINVAL;
	}
	if (fam[0] != fam[1])
		return snprintf(msg, len, "source and destination are of different families"),
		       -EINVAL;
	pkt->family = fam[0];
	pkt->sport = pkt->has_ports ? port[0] : 0;
	pkt->dport = pkt->has_ports ? port[1] : 0;
	return 0;
}

void explain_pkt_str(const struct explain_pkt *pkt, char *buf, size_t len)
{
	char a[2][INET6_ADDRSTRLEN + 8], proto[8];
	const char *name = pkt->proto == IPPROTO_TCP	? "tcp" :
			   pkt->proto == IPPROTO_UDP	? "udp" :
			   pkt->proto == IPPROTO_ICMP	? "icmp" :
			   pkt->proto == IPPROTO_ICMPV6 ? "icmpv6" :
							  NULL;

	for (int i = 0; i < 2; i++) {
		const uint8_t *addr = i ? pkt->dst : pkt->src;
		char s[INET6_ADDRSTRLEN];
		unsigned int port = i ? pkt->dport : pkt->sport;

		if (pkt->family == 4)
			inet_ntop(AF_INET, addr + 12, s, sizeof(s));
		else
			inet_ntop(AF_INET6, addr, s, sizeof(s));
		if (!pkt->has_ports)
			snprintf(a[i], sizeof(a[i]), "%s", s);
		else
			snprintf(a[i], sizeof(a[i]), pkt->family == 4 ? "%s:%u" : "[%s]:%u", s,
				 port);
	}
	if (!name)
		snprintf(proto, sizeof(proto), "%u", pkt->proto);
	snprintf(buf, len, "%s %s -> %s on %s %s%s%s%s", name ? name : proto, a[0], a[1],
		 pkt->ifname, pkt->dir == TLSFW_DIR_EGRESS ? "egress" : "ingress",
		 pkt->hello ? ", ClientHello with server_name " : "",
		 !pkt->hello ? "" :
		 pkt->sni[0] ? pkt->sni :
			       "(none)",
		 pkt->hello && pkt->ech ? " and encrypted_client_hello" : "");
}

/* ---- the scan ------------------------------------------------------------------------------ */

static bool ports_admit(bool has, const struct ivls *s, const struct explain_pkt *pkt,
			uint16_t port)
{
	/* A term with ports matches only packets that carry them (slot 65536 is "no ports"). */
	return !has || (pkt->has_ports && ivls_find(s, port));
}

static bool addrs_admit(bool has, const struct rule_addrs *a, const uint8_t *addr)
{
	return !has || ivls_find(&a->merged, addr_key(addr));
}

uint32_t explain_dkey(const struct explain_pkt *pkt)
{
	uint32_t k;

	if (pkt->has_ports)
		return pkt->dport;
	if (!pkt->has_type)
		return TLSFW_PORT_NONE;
	k = pkt->icmp_type;
	if (pkt->proto == IPPROTO_ICMPV6)
		k |= pkt->hop_limit == 255 ? TLSFW_ICMP6_HL255 :
		     pkt->hop_limit == 1   ? TLSFW_ICMP6_HL1 :
					     TLSFW_ICMP6_HLOTHER;
	return k;
}

/* The dport constraint of term t: its ports, or its ICMP types as the data plane keys them
 * (either family's keys: the protocol keeps the two apart). */
static bool dport_admits(const struct rule_term *t, const struct explain_pkt *pkt)
{
	uint32_t k;

	if (!t->has_type)
		return ports_admit(t->has_dport, &t->dport, pkt, pkt->dport);
	if (!pkt->has_type)
		return false;
	k = explain_dkey(pkt);
	return ivls_find(&t->keys[RULE_V4], k) || ivls_find(&t->keys[RULE_V6], k);
}

/* The first field of r that pkt fails, in the order of enum explain_field (the terms are
 * alternatives: a field fails when no term that passed the fields before it admits it). */
static enum explain_field rule_fails(const struct plan *pl, const struct plan_rule *r,
				     const struct explain_pkt *pkt, uint32_t ctx_bit)
{
	unsigned int fam = pkt->family == 4 ? POL_FAM_V4 : POL_FAM_V6, k = pkt->family == 6;
	unsigned int dir = pkt->dir == TLSFW_DIR_EGRESS ? POL_DIR_EGRESS : POL_DIR_INGRESS;
	bool proto = false, sport = false, dport = false;

	if (!r->n_terms)
		return EXPLAIN_EMPTY;
	for (size_t i = 0; i < r->n_terms; i++) {
		const struct rule_term *t = &r->terms[i];

		if (!proto_has(&t->protos, pkt->proto) || (t->fams && !(t->fams & fam)))
			continue;
		proto = true;
		if (!ports_admit(t->has_sport, &t->sport, pkt, pkt->sport))
			continue;
		sport = true;
		dport |= dport_admits(t, pkt);
	}
	if (!proto)
		return EXPLAIN_PROTO;
	if (r->family && !(r->family & fam))
		return EXPLAIN_FAMILY;
	if (!sport)
		return EXPLAIN_SPORT;
	if (!dport)
		return EXPLAIN_DPORT;
	if (!addrs_admit(r->has_src, &r->src[k], pkt->src))
		return EXPLAIN_SRC;
	if (!addrs_admit(r->has_dst, &r->dst[k], pkt->dst))
		return EXPLAIN_DST;
	/* The rule's hooks (ctx) are its interfaces times its directions. */
	if (!(r->ctx & ctx_bit))
		return r->direction && !(r->direction & dir) ? EXPLAIN_DIRECTION :
							       EXPLAIN_INTERFACE;
	if (r->names && !pkt->hello && pkt->pl != TLSFW_PL_QUIC && pkt->pl != TLSFW_PL_NOT_TLS)
		return EXPLAIN_NEEDS_SNI;
	if (r->names && pkt->hello && !rule_admits_content(pl, r, pkt->pl))
		return (r->ech == POL_ECH_PRESENT && !pkt->ech) ||
				       (r->ech == POL_ECH_ABSENT && pkt->ech) ?
			       EXPLAIN_ECH :
			       EXPLAIN_SNI;
	if (rule_is_content(r) && pkt->pl == TLSFW_PL_UNKNOWN)
		return EXPLAIN_NEEDS_PAYLOAD;
	if (rule_is_content(r) && !rule_admits_content(pl, r, pkt->pl))
		return EXPLAIN_PAYLOAD;
	if (rule_is_state(r) && pkt->ct_state == TLSFW_CT_UNKNOWN)
		return EXPLAIN_NEEDS_STATE;
	if (rule_is_state(r) && !(r->state & (1u << (pkt->ct_state - 1))))
		return EXPLAIN_STATE;
	return EXPLAIN_MATCHED;
}

static struct explain_rule rule_view(const struct plan_rule *r, enum explain_field failed)
{
	return (struct explain_rule){ .name = r->name,
				      .line = r->name_loc.line ? r->name_loc.line : r->line,
				      .action = r->action,
				      .monitor = r->monitor,
				      .builtin = r->essentials,
				      .failed = failed };
}

uint8_t explain_hello_pl(const struct explain_pkt *pkt, bool names, uint32_t cls)
{
	unsigned int slot = !pkt->sni[0] ? 0 : 1 + cls;

	/* without name rules the data plane does not read the ClientHello's names */
	if (!names)
		return TLSFW_PL_PLAIN;
	return TLSFW_PL_NAME0 + slot * 2 + pkt->ech;
}

int explain_plan(const struct plan *pl, const struct explain_pkt *in, struct explain *out)
{
	bool egress = in->dir == TLSFW_DIR_EGRESS;
	struct explain_pkt q = *in, *pkt = &q;
	uint32_t ctx_bit = 0, cls = 0;

	if (q.hello && q.sni[0] && pl->has_names)
		cls = name_class_of(q.sni, pl->names.seed, pl->names.wild_mask, 0, name_table_find,
				    (void *)&pl->names);
	if (q.hello)
		q.pl = explain_hello_pl(&q, pl->has_names, cls);

	memset(out, 0, sizeof(*out));
	out->file = pl->file;
	out->rule = -1;
	out->default_action = pl->default_action;
	for (size_t i = 0; i < pl->n_ifaces && i < TLSFW_MAX_IFACES; i++) {
		if (strcmp(pl->ifaces[i].name, pkt->ifname))
			continue;
		out->hooked = pl->ifaces[i].hooks & (egress ? POL_HOOK_EGRESS : POL_HOOK_INGRESS);
		ctx_bit = RULE_CTX(i, egress);
	}
	if (!out->hooked) {
		out->verdict = TLSFW_ACT_ALLOW;
		return 0;
	}
	out->skipped = calloc(pl->n_rules ? pl->n_rules : 1, sizeof(*out->skipped));
	if (!out->skipped)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n_rules; i++) {
		enum explain_field f = rule_fails(pl, &pl->rules[i], pkt, ctx_bit);

		if (f == EXPLAIN_MATCHED) {
			out->rule = i;
			out->decided = rule_view(&pl->rules[i], f);
			break;
		}
		out->skipped[out->n_skipped++] = rule_view(&pl->rules[i], f);
		if (f == EXPLAIN_NEEDS_STATE)
			out->note =
				"state rules were taken as not matching: give --state new|established|related|invalid";
		if (f == EXPLAIN_NEEDS_PAYLOAD)
			out->note =
				"payload: and require: rules were taken as not matching: give --payload quic|tls|other";
		if (f == EXPLAIN_NEEDS_SNI)
			out->note =
				"sni: and ech: rules were taken as not matching: give --sni NAME|none (and --ech for a ClientHello with encrypted_client_hello)";
	}
	if (out->rule < 0)
		out->verdict = out->default_action;
	else
		out->verdict = out->decided.monitor ? TLSFW_ACT_ALLOW : out->decided.action;
	return 0;
}

void explain_free(struct explain *e)
{
	if (!e)
		return;
	free(e->skipped);
	e->skipped = NULL;
	e->n_skipped = 0;
}
