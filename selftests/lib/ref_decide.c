// SPDX-License-Identifier: GPL-2.0
/*
 * Reference decision: read the rules as a user does, one after the other, and stop at the
 * first that matches. Deliberately naive: no terms, no classes, no shared helpers with
 * policy_lower.c, so that a bug there cannot hide by being repeated here.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../../bpf/tlsfw_abi.h"
#include "../../bpf/tlsfw_content_abi.h"
#include "catalog.h"
#include "ref_decide.h"

static bool in_ranges(const struct pol_ports *pp, uint16_t port)
{
	for (size_t i = 0; i < pp->n; i++)
		if (pp->r[i].lo <= port && port <= pp->r[i].hi)
			return true;
	return false;
}

/* The first plen bits of addr equal those of the prefix, and the families agree. */
static bool in_prefix(const struct pol_prefix *q, uint8_t family, const uint8_t *addr)
{
	unsigned int want = family == 4 ? POL_FAM_V4 : POL_FAM_V6;

	if (q->family != want)
		return false;
	for (unsigned int bit = 0; bit < q->plen; bit++) {
		unsigned int a = addr[bit / 8] >> (7 - bit % 8) & 1;
		unsigned int b = q->addr[bit / 8] >> (7 - bit % 8) & 1;

		if (a != b)
			return false;
	}
	return true;
}

static bool in_prefixes(const struct pol_prefixes *ps, uint8_t family, const uint8_t *addr)
{
	for (size_t i = 0; i < ps->n; i++)
		if (in_prefix(&ps->p[i], family, addr))
			return true;
	return false;
}

static bool service_matches(const struct pol_names *svcs, const struct ref_pkt *pkt)
{
	for (size_t i = 0; i < svcs->n; i++) {
		const struct service *s = catalog_find(svcs->v[i]);

		for (size_t k = 0; s && k < s->n_ports; k++)
			if (s->ports[k].proto == pkt->proto && s->ports[k].lo <= pkt->dport &&
			    pkt->dport <= s->ports[k].hi)
				return true;
	}
	return false;
}

/* icmp_type: the type as the packet's protocol numbers it, named or numbered in the rule. */
static bool icmp_type_matches(const struct pol_icmp_types *tt, const struct ref_pkt *pkt)
{
	if (!pkt->has_type || (pkt->proto != IPPROTO_ICMP && pkt->proto != IPPROTO_ICMPV6))
		return false;
	for (size_t i = 0; i < tt->n; i++)
		if ((pkt->proto == IPPROTO_ICMP ? tt->v[i].v4 : tt->v[i].v6) == pkt->icmp_type)
			return true;
	return false;
}

/* tlsfw.conf(5), ESSENTIALS, as written there. */
bool ref_essential(const struct ref_pkt *pkt)
{
	uint8_t t = pkt->icmp_type;

	if (pkt->family == 6 && pkt->proto == IPPROTO_ICMPV6 && pkt->has_type)
		return (t >= 133 && t <= 137 && pkt->hop_limit == 255) ||
		       ((t == 130 || t == 131 || t == 132 || t == 143) && pkt->hop_limit == 1);
	if (pkt->proto != IPPROTO_UDP || !pkt->has_ports)
		return false;
	if (pkt->family == 4)
		return pkt->dport == 67 || pkt->dport == 68;
	return pkt->dport == 546 || pkt->dport == 547;
}

int ref_plan_index(const struct policy *p, int rule)
{
	if (rule == REF_ESSENTIALS)
		return 0;
	return rule < 0 ? rule : rule + (p->essentials == POL_ALLOW);
}

bool ref_rule_matches(const struct pol_rule *r, const struct ref_pkt *pkt)
{
	bool wants_ports = r->has_sport || r->has_dport || r->services.n;

	if (r->family) {
		unsigned int fam = pkt->family == 4 ? POL_FAM_V4 : POL_FAM_V6;

		if (!(r->family & fam))
			return false;
	}
	if (r->ifaces.n) {
		bool found = false;

		for (size_t i = 0; i < r->ifaces.n; i++)
			if (!strcmp(r->ifaces.v[i], pkt->ifname))
				found = true;
		if (!found)
			return false;
	}
	if (r->direction) {
		unsigned int dir = pkt->dir == TLSFW_DIR_INGRESS ? POL_DIR_INGRESS : POL_DIR_EGRESS;

		if (!(r->direction & dir))
			return false;
	}
	if (r->has_proto && !(r->protos[pkt->proto / 8] & (1u << (pkt->proto % 8))))
		return false;
	/* POLICY.md: a rule with a port matches only TCP and UDP. */
	if (wants_ports) {
		if (!pkt->has_ports || (pkt->proto != IPPROTO_TCP && pkt->proto != IPPROTO_UDP))
			return false;
		if (r->has_sport && !in_ranges(&r->sport, pkt->sport))
			return false;
		if (r->has_dport && !in_ranges(&r->dport, pkt->dport))
			return false;
		if (r->services.n && !service_matches(&r->services, pkt))
			return false;
	}
	if (r->icmp_types.n && !icmp_type_matches(&r->icmp_types, pkt))
		return false;
	if (r->has_src && !in_prefixes(&r->src, pkt->family, pkt->src))
		return false;
	if (r->has_dst && !in_prefixes(&r->dst, pkt->family, pkt->dst))
		return false;
	return true;
}

/*
 * tlsfw.conf(5) on content rules: payload: quic matches a UDP datagram that is a QUIC long
 * header; require: tls matches a TCP segment of a flow whose first bytes are not a
 * ClientHello, of a flow without state under midstream: drop, and a segment beyond a gap
 * before the decision (dropped alone, whatever the action); never a RST.
 */
static bool content_matches(const struct policy *p, const struct pol_rule *r,
			    const struct ref_pkt *pkt)
{
	if (r->payload_quic)
		return pkt->proto == IPPROTO_UDP && pkt->quic != TLSFW_QUIC_NONE;
	if (ref_rule_has_names(r))
		return ref_names_match(p, r, pkt);
	if (!r->require_tls)
		return true;
	if (pkt->proto != IPPROTO_TCP || pkt->rst)
		return false;
	return pkt->tls == TLSFW_TLS_NO || pkt->tls == TLSFW_TLS_UNORDERED ||
	       (pkt->tls == TLSFW_TLS_MIDSTREAM && p->midstream == POL_DROP);
}

/* tlsfw.conf(5), state: the four names, each one state of the packet's connection. */
bool ref_state_matches(const struct pol_rule *r, const struct ref_pkt *pkt)
{
	unsigned int bit;

	if (!r->state)
		return true;
	switch (pkt->ct) {
	case TLSFW_CT_NEW:
		bit = POL_ST_NEW;
		break;
	case TLSFW_CT_ESTABLISHED:
		bit = POL_ST_ESTABLISHED;
		break;
	case TLSFW_CT_RELATED:
		bit = POL_ST_RELATED;
		break;
	case TLSFW_CT_INVALID:
		bit = POL_ST_INVALID;
		break;
	default:
		return false;
	}
	return r->state & bit;
}

bool ref_has_names(const struct policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (ref_rule_has_names(&p->rules[i]))
			return true;
	return false;
}

bool ref_inspects(const struct policy *p, const struct ref_pkt *pkt)
{
	if (p->essentials == POL_ALLOW && ref_essential(pkt))
		return false;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pol_rule *r = &p->rules[i];
		bool content = r->payload_quic || r->require_tls || ref_rule_has_names(r);

		if (!ref_rule_matches(r, pkt) || (!content && !ref_state_matches(r, pkt)))
			continue;
		return content;
	}
	return false;
}

struct ref_verdict ref_decide(const struct policy *p, const struct ref_pkt *pkt)
{
	if (p->essentials == POL_ALLOW && ref_essential(pkt))
		return (struct ref_verdict){ REF_ESSENTIALS, TLSFW_ACT_ALLOW, 0 };
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pol_rule *r = &p->rules[i];
		uint8_t act = r->action;

		if (!ref_rule_matches(r, pkt) || !ref_state_matches(r, pkt) ||
		    !content_matches(p, r, pkt))
			continue;
		/* the retransmission in order decides: no reset for this one */
		if (r->require_tls && pkt->tls == TLSFW_TLS_UNORDERED)
			act = TLSFW_ACT_DROP;
		if (ref_rule_has_names(r) && pkt->hello == TLSFW_HELLO_UNORDERED)
			act = TLSFW_ACT_DROP; /* sni_unordered: drop, without a reset */
		if (ref_rule_has_names(r) && pkt->rst)
			act = TLSFW_ACT_ALLOW; /* a RST closes the flow the rule cuts */
		return (struct ref_verdict){ (int)i, act, r->mode == POL_MONITOR };
	}
	return (struct ref_verdict){ -1, p->default_action, 0 };
}

uint8_t ref_effective(const struct ref_verdict *v)
{
	return v->monitor ? TLSFW_ACT_ALLOW : v->action;
}

void ref_pkt_print(const struct ref_pkt *pkt, FILE *out)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	if (pkt->family == 4) {
		inet_ntop(AF_INET, pkt->src + 12, s, sizeof(s));
		inet_ntop(AF_INET, pkt->dst + 12, d, sizeof(d));
	} else {
		inet_ntop(AF_INET6, pkt->src, s, sizeof(s));
		inet_ntop(AF_INET6, pkt->dst, d, sizeof(d));
	}
	fprintf(out, "ipv%u proto %u", pkt->family, pkt->proto);
	if (pkt->has_ports)
		fprintf(out, " sport %u dport %u", pkt->sport, pkt->dport);
	else if (pkt->has_type)
		fprintf(out, " type %u hop limit %u", pkt->icmp_type, pkt->hop_limit);
	else
		fprintf(out, " (no ports)");
	if (pkt->quic || pkt->tls || pkt->rst)
		fprintf(out, " quic %u tls %u%s", pkt->quic, pkt->tls, pkt->rst ? " rst" : "");
	if (pkt->ct)
		fprintf(out, " state %s",
			pkt->ct <= POL_ST_COUNT ? pol_state_names[pkt->ct - 1] : "?");
	if (pkt->hello)
		fprintf(out, " hello %u%s%s%s%s", pkt->hello, pkt->ech ? " ech" : "",
			pkt->hello == TLSFW_HELLO_NAME ? " name " : "",
			pkt->hello == TLSFW_HELLO_NAME ? pkt->name : "",
			pkt->hello_fresh ? " (completes it)" : "");
	fprintf(out, " src %s dst %s on %s %s\n", s, d, pkt->ifname ? pkt->ifname : "?",
		pkt->dir == TLSFW_DIR_EGRESS ? "egress" : "ingress");
}

bool ref_same_flow(const struct ref_pkt *a, const struct ref_pkt *b)
{
	if (a->proto != IPPROTO_TCP || b->proto != IPPROTO_TCP || !a->has_ports || !b->has_ports ||
	    a->family != b->family)
		return false;
	return (!memcmp(a->src, b->src, 16) && !memcmp(a->dst, b->dst, 16) &&
		a->sport == b->sport && a->dport == b->dport) ||
	       (!memcmp(a->src, b->dst, 16) && !memcmp(a->dst, b->src, 16) &&
		a->sport == b->dport && a->dport == b->sport);
}
