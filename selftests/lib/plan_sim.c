// SPDX-License-Identifier: GPL-2.0
/* Plan look-ups in C; see plan_sim.h. */
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>

#include "plan_sim.h"

static bool covers(const struct plan_prefix *q, const uint8_t *addr)
{
	for (unsigned int bit = 0; bit < q->plen; bit++) {
		uint8_t m = 0x80 >> (bit % 8);

		if ((q->addr[bit / 8] ^ addr[bit / 8]) & m)
			return false;
	}
	return true;
}

long plan_sim_lpm(const struct plan_prefix *v, size_t n, const uint8_t *addr)
{
	long best = -1;
	int best_len = -1;

	for (size_t i = 0; i < n; i++) {
		if (v[i].plen > best_len && covers(&v[i], addr)) {
			best = v[i].cls;
			best_len = v[i].plen;
		}
	}
	return best;
}

long plan_sim_comb(const struct plan_comb *v, size_t n, uint32_t a, uint32_t b, uint32_t c)
{
	/* Linear on purpose: the plan promises sorted tables, but this must not rely on it. */
	for (size_t i = 0; i < n; i++)
		if (v[i].a == a && v[i].b == b && v[i].c == c)
			return v[i].out;
	return -1;
}

/* The dport value the parser gives the packet: a port, the ICMP type (with the hop-limit
 * class for ICMPv6, tlsfw_abi.h), or none. */
static uint32_t dkey(const struct ref_pkt *pkt)
{
	uint32_t hl;

	if (pkt->has_ports)
		return pkt->dport;
	if (!pkt->has_type || (pkt->proto != IPPROTO_ICMP && pkt->proto != IPPROTO_ICMPV6))
		return TLSFW_PORT_NONE;
	if (pkt->proto == IPPROTO_ICMP)
		return pkt->icmp_type;
	hl = pkt->family == 6 ? pkt->hop_limit : 0;
	return pkt->icmp_type | (hl == 255 ? TLSFW_ICMP6_HL255 :
				 hl == 1   ? TLSFW_ICMP6_HL1 :
					     TLSFW_ICMP6_HLOTHER);
}

/* The rule index the plan gives pkt under conntrack state ct and content class pc (proto_cls
 * slot (ct * TLSFW_PL_VALUES + pc) * 512 + ...), -1 for the default. Returns 0 or -ENOENT as
 * plan_sim_decide. */
static int classify(const struct plan *pl, const struct ref_pkt *pkt, unsigned int ct,
		    unsigned int pc, long *r)
{
	unsigned int fam = pkt->family == 6;
	uint32_t p, s = 0, d = 0, sa = 0, da = 0, x = 0;
	long a, b, k;
	bool found = false;

	for (size_t i = 0; i < pl->n_ctx; i++) {
		if (!strcmp(pl->ctx[i].ifname, pkt->ifname) && pl->ctx[i].dir == pkt->dir) {
			x = pl->ctx[i].cls;
			found = true;
		}
	}
	if (!found)
		return -ENOENT;
	/* without state and content rules only the first block is in use (plan_proto_slots) */
	if (plan_proto_slots(pl) == 512)
		ct = pc = 0;
	p = pl->proto_cls[(ct * TLSFW_PL_VALUES + pc) * 512 + fam * 256 + pkt->proto];
	if (pl->fields & TLSFW_F_SPORT)
		s = pl->sport_cls[pkt->has_ports ? pkt->sport : TLSFW_PORT_NONE];
	if (pl->fields & TLSFW_F_DPORT)
		d = pl->dport_cls[dkey(pkt)];
	if (pl->fields & TLSFW_F_SRC) {
		k = plan_sim_lpm(pl->src, pl->n_src, pkt->src);
		if (k < 0)
			return -ENOENT;
		sa = k;
	}
	if (pl->fields & TLSFW_F_DST) {
		k = plan_sim_lpm(pl->dst, pl->n_dst, pkt->dst);
		if (k < 0)
			return -ENOENT;
		da = k;
	}
	*r = -1;
	a = plan_sim_comb(pl->comb1, pl->n_comb1, p, s, d);
	b = plan_sim_comb(pl->comb2, pl->n_comb2, sa, da, 0);
	if (a >= 0 && b >= 0)
		*r = plan_sim_comb(pl->comb3, pl->n_comb3, x, a, b);
	return *r >= (long)pl->n_rules ? -ERANGE : 0;
}

/* The content class of pkt, as decide.h's inspect() takes it from tlsfw_cfg.fact_pl (no
 * ClientHello facts: no rule reads them yet); a RST has none. */
static unsigned int content_class(const struct plan *pl, const struct ref_pkt *pkt)
{
	unsigned int i = ((pkt->quic & 3) * 8 + (pkt->tls & 7)) * 8 * 2;
	unsigned int pc = pl->fact_pl[i];

	if (pc == TLSFW_PL_NOT_TLS && pkt->proto == IPPROTO_TCP && pkt->rst)
		pc = TLSFW_PL_PLAIN;
	return pc;
}

static bool is_content(const struct plan *pl, long r)
{
	return r >= 0 && (pl->rules[r].payload_quic || pl->rules[r].require_tls);
}

/*
 * The facts looked up as decide.h's decide_rule() does, each only when the rule found so far
 * reads it: the state (pkt->ct; a packet without one is NONE, which no state rule admits)
 * for a state rule, the content class for a content rule (first, when the rule is both), and
 * the state again when the content leads to a state rule.
 */
static int classify_facts(const struct plan *pl, const struct ref_pkt *pkt, unsigned int *pc,
			  long *r)
{
	unsigned int ct = TLSFW_CT_UNKNOWN, known = pkt->ct ? pkt->ct : TLSFW_CT_NONE;
	int err = classify(pl, pkt, ct, *pc, r);

	if (!err && *r >= 0 && pl->rules[*r].state && !is_content(pl, *r)) {
		ct = known;
		err = classify(pl, pkt, ct, *pc, r);
	}
	if (!err && is_content(pl, *r)) {
		*pc = content_class(pl, pkt);
		err = classify(pl, pkt, ct, *pc, r);
		if (!err && *r >= 0 && pl->rules[*r].state && ct == TLSFW_CT_UNKNOWN)
			err = classify(pl, pkt, known, *pc, r);
	}
	return err;
}

int plan_sim_decide(const struct plan *pl, const struct ref_pkt *pkt, struct ref_verdict *v)
{
	unsigned int pc = TLSFW_PL_UNKNOWN;
	long r, ess;
	int err;

	err = classify_facts(pl, pkt, &pc, &r);
	if (err)
		return err;
	*v = (struct ref_verdict){ -1, pl->default_action, 0 };
	if (r < 0)
		return 0;
	/* numbered as ref_decide numbers: the essentials rule apart, the others after it */
	ess = 0;
	for (long i = 0; i < r; i++)
		ess += pl->rules[i].essentials;
	*v = (struct ref_verdict){ pl->rules[r].essentials ? REF_ESSENTIALS : (int)(r - ess),
				   pl->rules[r].action, pl->rules[r].monitor };
	if (pc == TLSFW_PL_UNORDERED && pl->rules[r].require_tls)
		v->action = TLSFW_ACT_DROP;
	return 0;
}

char *plan_text(const struct plan *pl)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	plan_print(pl, f);
	fclose(f);
	return buf;
}
