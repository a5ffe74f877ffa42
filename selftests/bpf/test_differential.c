// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane against the reference decision. Random policies (randpol), lowered by the
 * real stage 3 (half of them read and checked from YAML by the real stages 1 and 2), written
 * into the maps by the real bpf_fill; random packets (VLAN and QinQ tags, IPv4 options, IPv6
 * extension headers, first / later / tiny fragments, any protocol, addresses and ports aimed at
 * the policy) built by pkt_build and run with BPF_PROG_TEST_RUN through tlsfw_xdp and
 * tlsfw_tc_ingress (ingress) and tlsfw_tc_egress (egress). Every return code, and every
 * counter delta of every batch, must be what ref_decide() and the documented counting rules
 * (architecture.md, "Data plane") say. Policies with name rules (sni:, ech:, service: doh)
 * get ClientHello flows too (hello_flow.c), decided by ref_names.c; each name rule's flows
 * matched (tlsfw_rule_flows) must move as the reference says. Policies with state rules
 * (state:) run against conntrack entries the test makes (diff_state.c: in a network namespace
 * of its own, through ctnetlink), each packet's state known from how its entry was made: new,
 * established (either direction), related (an expected entry; ICMP errors carrying an entry's
 * packet), invalid (TCP flags without an entry; ICMP errors about no connection). Not
 * exercised: entries a conntrack helper expects (FTP), TCP window tracking. Every verdict of a
 * policy without name rules is also the plan's (plan_sim). Seeded (TLSFW_SEED); a failure
 * prints the seed, the policy, the packet and the segments of its TCP flow before it (or a
 * name flow's ClientHello). Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_fill.h"
#include "content_gen.h"
#include "content_run.h"
#include "diff_state.h"
#include "diff_traffic.h"
#include "hello_flow.h"
#include "pkt.h"
#include "plan.h"
#include "randpol.h"
#include "ref_content.h"
#include "ref_decide.h"
#include "ref_flowtab.h"
#include "tlsfw.skel.h"
#include "percpu.h"

#define N_POLICIES 250
#define PACKETS_PER_POLICY 480 /* spread over the policy's interfaces */
#define TC_ACT_UNSPEC (-1)     /* tlsfw passes to the next filter */
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define N_STATS (TLSFW_STAT_RULE0 + 64) /* watched counters per block: stats, 64 rule slots */
#define MAX_FAILURES 5
#define N_NAME_POLICIES 80  /* after the N_POLICIES: with name rules (sni:, ech:, doh) */
#define N_STATE_POLICIES 64 /* then with state rules, against conntrack entries (diff_state) */

enum hook { H_XDP, H_TC_IN, H_TC_OUT, N_HOOKS };
static const char *const hook_names[N_HOOKS] = { "xdp", "tc-ingress", "tc-egress" };

struct env {
	struct tlsfw *skel;
	struct bpf_maps m;
	int prog[N_HOOKS];
	int ncpu;
	unsigned int gen; /* generation of the next fill */
	uint32_t frag_id; /* fragment ids never repeat within a run */
	unsigned long packets, runs, failures;
	unsigned long frags, rejects_sent, defaults, monitors;
	unsigned long content, quic, tls_yes, tls_no, midstream, unordered; /* content cases */
	/* name cases: verdicts of name rules, ClientHellos decided by kind, flows matched,
	 * name policies run and refused by the lowering (too many name classes) */
	unsigned long names, hello[8], matched, split_flows, name_policies, refused;
	unsigned long passed, cut; /* flows passed and cut by require: tls rules */
	const char *flow_what;	   /* the name flow being built, for its shots */
	uint64_t base_seed;	   /* TLSFW_SEED, to replay a failure */
	struct hello_flow hf;	   /* the ClientHello flow being built */
	const struct policy *pol;  /* of the batch being built */
	struct ref_flowtab flows;  /* the reference's flow table, cleared with the kernel's */
	int flows_fd;
	struct diff_state ds;	/* conntrack entries and packets' states (state policies) */
	const struct plan *pl;	/* of the batch, when plan_sim can decide it (no names) */
	unsigned long plan_bad; /* packets the plan decides otherwise than the reference */
};

/* One frame and what must happen to it on one hook. */
struct shot {
	struct pkt p;
	struct ref_pkt ref;
	enum hook hook;
	int want_rc;
	int n_stats;
	uint8_t stats[6]; /* counters in the hook's block that move by one packet */
	const char *kind; /* "whole", "first", "later", "tiny", "orphan" */
	int vlans, opts, exts;
	int matched;	 /* rule slot whose flows matched (tlsfw_rule_flows) moves by one, or -1 */
	int passed, cut; /* rule slots whose flows passed / cut move by one, or -1 */
	char flow[256];	 /* the name flow's ClientHello and segments, or "" */
};

struct counters {
	uint64_t pk[2][N_STATS], by[2][N_STATS];
	uint64_t matched[64]; /* tlsfw_rule_flows.matched of slots 0..63 */
	uint64_t passed[64], cut[64];
};

struct batch {
	struct shot *v;
	size_t n, cap;
};

/* ---- the model: what the data plane must do ------------------------------------------ */

struct model {
	const struct policy *pol;
	enum hook hook;
	bool have_ctx;
};

static int rc_for(enum hook h, int verdict, bool reply_sent)
{
	if (verdict == TLSFW_ACT_ALLOW)
		return h == H_XDP ? XDP_PASS : TC_ACT_UNSPEC;
	if (verdict == TLSFW_ACT_REJECT && reply_sent)
		return h == H_XDP ? XDP_TX : TC_ACT_REDIRECT;
	return h == H_XDP ? XDP_DROP : TC_ACT_SHOT;
}

static void add_stat(struct shot *s, unsigned int stat)
{
	s->stats[s->n_stats++] = stat;
}

/*
 * tlsfw.conf(5), require: flows passed and cut, counted once. Not TLS: on the segment that
 * decides the TLS start (s->ref.tls_fresh), cut by the rule that decides it, if that is a
 * require rule. TLS: on the segment that decides the TLS start, or under name rules the one
 * that completes the ClientHello (s->ref.hello_fresh), passed by the first rule the flow would
 * meet were it not TLS, if that is a require rule and the segment's rule does not come first.
 */
static void expect_tls_flows(struct env *e, struct shot *s, const struct ref_verdict *v)
{
	struct ref_pkt nt = s->ref;
	struct ref_verdict w;

	if (s->ref.tls == TLSFW_TLS_NO && s->ref.tls_fresh) {
		if (v->rule >= 0 && e->pol->rules[v->rule].require_tls)
			s->cut = ref_plan_index(e->pol, v->rule);
		e->cut += s->cut >= 0;
		return;
	}
	if (s->ref.tls != TLSFW_TLS_YES || !(e->flows.want ? s->ref.hello_fresh : s->ref.tls_fresh))
		return;
	nt.tls = TLSFW_TLS_NO;
	if (nt.hello)
		nt.hello = TLSFW_HELLO_NOT_TLS;
	nt.name[0] = 0;
	w = ref_decide(e->pol, &nt);
	if (w.rule >= 0 && e->pol->rules[w.rule].require_tls && (v->rule == -1 || v->rule > w.rule))
		s->passed = ref_plan_index(e->pol, w.rule);
	e->passed += s->passed >= 0;
}

/* apply_rule + finish of decide.h, on the reference verdict. can_reply: a reject answer can
 * be built (not a fragment, not a TCP RST). */
static void expect_verdict(struct env *e, struct shot *s, const struct ref_verdict *v,
			   bool can_reply)
{
	uint8_t act = ref_effective(v);

	/* a later fragment has its first fragment's verdict, not one of its own facts */
	e->plan_bad += ds_verdict(&e->ds, e->pol, strcmp(s->kind, "later fragment") ? e->pl : NULL,
				  &s->ref, v);
	if (v->rule == -1) {
		add_stat(s, TLSFW_STAT_DEFAULT);
		e->defaults++;
	} else { /* rule slot = plan index here */
		const struct pol_rule *r = v->rule >= 0 ? &e->pol->rules[v->rule] : NULL;

		add_stat(s, TLSFW_STAT_RULE0 + ref_plan_index(e->pol, v->rule));
		if (r && (r->payload_quic || r->require_tls || ref_rule_has_names(r)))
			e->content++;
		if (r && ref_rule_has_names(r)) {
			e->names++;
			/* the segment that completes the ClientHello counts the flow once */
			if (s->ref.hello_fresh && s->ref.hello != TLSFW_HELLO_UNORDERED)
				s->matched = ref_plan_index(e->pol, v->rule);
			e->matched += s->matched >= 0;
		}
	}
	expect_tls_flows(e, s, v);
	if (v->rule != -1 && v->monitor) {
		add_stat(s, TLSFW_STAT_MONITOR);
		e->monitors++;
	}
	add_stat(s, act == TLSFW_ACT_ALLOW ? TLSFW_STAT_PASS :
		    act == TLSFW_ACT_DROP  ? TLSFW_STAT_DROP :
					     TLSFW_STAT_REJECT);
	if (act == TLSFW_ACT_REJECT) {
		add_stat(s, can_reply ? TLSFW_STAT_REJECT_SENT : TLSFW_STAT_REJECT_FAILED);
		e->rejects_sent += can_reply;
		/* require: tls and name rules reset both ends in tc: the server's RST fails (and
		 * counts) too; a later fragment follows its first one's verdict, not its rule's
		 * reply */
		if (!can_reply && s->hook != H_XDP &&
		    (e->pol->rules[v->rule].require_tls ||
		     ref_rule_has_names(&e->pol->rules[v->rule])) &&
		    strcmp(s->kind, "later fragment"))
			add_stat(s, TLSFW_STAT_REJECT_FAILED);
	}
	s->want_rc = rc_for(s->hook, act, can_reply);
}

static void expect_fixed(struct shot *s, unsigned int stat, int verdict)
{
	add_stat(s, stat);
	add_stat(s, verdict == TLSFW_ACT_ALLOW ? TLSFW_STAT_PASS : TLSFW_STAT_DROP);
	s->want_rc = rc_for(s->hook, verdict, false);
}

/* ---- packets ------------------------------------------------------------------------- */

static int build(struct shot *s, const struct pkt_opts *o, const char *kind)
{
	s->kind = kind;
	s->matched = s->passed = s->cut = -1;
	s->flow[0] = 0;
	s->vlans = o->n_vlan;
	s->opts = (int)o->ip4_opts;
	s->exts = o->n_ext;
	return pkt_build(&s->p, o);
}

static int push(struct batch *b, const struct shot *s)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct shot *v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = *s;
	return 0;
}

/*
 * The content facts of shot s, built from o with payload data (len bytes), as the data plane
 * finds them when it reads them: the QUIC check of a UDP datagram; for TCP, the flow table,
 * which only a segment whose first rule is a content rule reads and updates. Counts the
 * cases met.
 */
static int shot_facts(struct env *e, struct shot *s, const struct pkt_opts *o, const uint8_t *data,
		      size_t len)
{
	struct ref_segment seg = { .flags = o->tcp_flags,
				   .seq = o->seq,
				   .data = data,
				   .len = len,
				   .fragment = o->frag == PKT_FRAG_FIRST };
	int err;

	s->ref.quic = s->ref.tls = s->ref.hello = s->ref.ech = 0;
	s->ref.rst = s->ref.hello_fresh = s->ref.tls_fresh = false;
	s->ref.name[0] = 0;
	if (!ref_inspects(e->pol, &s->ref))
		return 0;
	if (s->ref.proto == IPPROTO_UDP) {
		s->ref.quic = ref_quic(data, len);
		e->quic += s->ref.quic != TLSFW_QUIC_NONE;
		return 0;
	}
	if (s->ref.proto != IPPROTO_TCP)
		return 0;
	err = ref_flowtab_segment(&e->flows, &s->ref, &seg);
	e->tls_yes += s->ref.tls == TLSFW_TLS_YES;
	e->tls_no += s->ref.tls == TLSFW_TLS_NO;
	e->midstream += s->ref.tls == TLSFW_TLS_MIDSTREAM;
	e->unordered += s->ref.tls == TLSFW_TLS_UNORDERED;
	e->hello[s->ref.hello & 7] += s->ref.hello_fresh || s->ref.hello == TLSFW_HELLO_UNORDERED;
	return err;
}

/* The payload pkt_build wrote into s (its pattern; a first fragment's part of it). */
static const uint8_t *shot_payload(const struct shot *s, const struct pkt_opts *o, size_t *len)
{
	size_t at = s->p.l4_off + (o->proto == IPPROTO_TCP ? 20 : 8);

	*len = at < s->p.len ? s->p.len - at : 0;
	if (o->frag == PKT_NOFRAG && *len > o->payload)
		*len = o->payload;
	return s->p.buf + at;
}

/*
 * One random packet on iface (direction from the generator, or one the interface does not
 * hook), with its expected outcome on each hook of that direction; fragments come as a first
 * and a later fragment, or alone.
 */
static int make_packet(struct env *e, const struct policy *pol, const struct pol_iface *ifc,
		       struct rp_rng *r, struct batch *b)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	struct pkt_opts o = { 0 };
	struct ref_pkt ref;
	struct ref_verdict v;
	unsigned int hooks_mask;
	int kind = rp_below(r, 10); /* 0-6 whole, 7 fragment pair, 8 tiny first, 9 orphan later */
	bool rst = false, unhooked = false;
	uint32_t id = e->frag_id++ & 0xffff;
	int err = 0;

	do
		randpol_packet(pol, r, &ref);
	while (strcmp(ref.ifname, ifc->name));
	/* Now and then a direction the interface does not hook: no context, pass uncounted. */
	if (ifc->hooks != (POL_HOOK_INGRESS | POL_HOOK_EGRESS) && !rp_below(r, 20)) {
		ref.dir = ifc->hooks & POL_HOOK_INGRESS ? TLSFW_DIR_EGRESS : TLSFW_DIR_INGRESS;
		unhooked = true;
	}
	ref.proto = usable_proto(ref.proto, ref.family);
	ref.has_ports = ref.proto == IPPROTO_TCP || ref.proto == IPPROTO_UDP;
	if (!ref.has_ports)
		ref.sport = ref.dport = 0;
	/* the builder reads port 0 as "default" */
	if (ref.has_ports && !ref.sport)
		ref.sport = 1;
	if (ref.has_ports && !ref.dport)
		ref.dport = 1;
	if ((kind == 8) && !ref.has_ports)
		kind = 7; /* only TCP and UDP have a transport header to cut */

	opts_of(&ref, &o, src, dst);
	ref.has_type = ref.proto == IPPROTO_ICMP || ref.proto == IPPROTO_ICMPV6;
	o.icmp_type = ref.has_type ? ref.icmp_type + 1 : 0;
	o.hop_limit = ref.hop_limit ? ref.hop_limit : 64;
	ref.hop_limit = o.hop_limit;
	if (ref.proto == IPPROTO_TCP) {
		static const uint8_t flags[] = { 0x02, 0x10, 0x12, 0x18, 0x11, 0x04, 0x14 };

		o.tcp_flags = flags[rp_below(r, sizeof(flags))];
		o.seq = rp_next(r);
		o.ack = rp_next(r);
		rst = o.tcp_flags & 0x04;
	}
	o.frag_id = id;
	rand_encap(r, &o);
	ds_packet(&e->ds, r, &ref, &o, kind <= 6); /* only under a state policy */
	e->pol = pol;

	hooks_mask =
		ref.dir == TLSFW_DIR_INGRESS ? (1u << H_XDP) | (1u << H_TC_IN) : 1u << H_TC_OUT;
	for (int h = 0; h < N_HOOKS && !err; h++) {
		struct shot s = { .ref = ref, .hook = h };
		struct shot later = { .ref = ref, .hook = h };
		enum pol_frag fm = pol->fragments;
		const uint8_t *data;
		size_t len;

		if (!(hooks_mask & (1u << h)))
			continue;
		s.ref.ifname = ifc->name; /* policy storage outlives the batch */
		later.ref.ifname = ifc->name;
		if (kind <= 6) {
			err = build(&s, &o, "whole") ?: ds_embed(&e->ds, &s.p);
			data = shot_payload(&s, &o, &len);
			if (unhooked) {
				s.want_rc = rc_for(h, TLSFW_ACT_ALLOW, false);
			} else {
				err = err ?: shot_facts(e, &s, &o, data, len);
				v = ref_decide(pol, &s.ref);
				expect_verdict(e, &s, &v, !rst);
			}
			err = err ?: push(b, &s);
			continue;
		}
		if (kind == 9) {
			o.frag = PKT_FRAG_LATER;
			err = build(&s, &o, "orphan later fragment");
			if (unhooked)
				s.want_rc = rc_for(h, TLSFW_ACT_ALLOW, false);
			else if (fm == POL_FRAG_DROP)
				expect_fixed(&s, TLSFW_STAT_FRAG_DROPPED, TLSFW_ACT_DROP);
			else if (fm == POL_FRAG_ALLOW)
				expect_fixed(&s, TLSFW_STAT_FRAG_ALLOWED, TLSFW_ACT_ALLOW);
			else
				expect_fixed(&s, TLSFW_STAT_FRAG_NO_FIRST, TLSFW_ACT_DROP);
			err = err ?: push(b, &s);
			o.frag = PKT_NOFRAG;
			continue;
		}
		/* A first fragment (tiny when kind 8), then a later one of the same datagram. */
		o.frag = PKT_FRAG_FIRST;
		o.l4_cut = kind == 8 ? 1 + rp_below(r, ref.proto == IPPROTO_TCP ? 19 : 7) : 0;
		err = build(&s, &o, kind == 8 ? "tiny first fragment" : "first fragment");
		/* classified (so inspected) unless dropped as a fragment first */
		if (!err && !unhooked && fm != POL_FRAG_DROP && kind != 8) {
			data = shot_payload(&s, &o, &len);
			err = shot_facts(e, &s, &o, data, len);
			v = ref_decide(pol, &s.ref);
		}
		o.l4_cut = 0;
		o.frag = PKT_FRAG_LATER;
		err = err ?: build(&later, &o, "later fragment");
		o.frag = PKT_NOFRAG;
		if (unhooked) {
			s.want_rc = rc_for(h, TLSFW_ACT_ALLOW, false);
			later.want_rc = s.want_rc;
		} else if (fm == POL_FRAG_DROP) {
			expect_fixed(&s, TLSFW_STAT_FRAG_DROPPED, TLSFW_ACT_DROP);
			expect_fixed(&later, TLSFW_STAT_FRAG_DROPPED, TLSFW_ACT_DROP);
		} else {
			if (kind == 8)
				expect_fixed(&s, TLSFW_STAT_FRAG_TINY, TLSFW_ACT_DROP);
			else
				expect_verdict(e, &s, &v, false); /* no reply to a fragment */
			if (fm == POL_FRAG_ALLOW) {
				expect_fixed(&later, TLSFW_STAT_FRAG_ALLOWED, TLSFW_ACT_ALLOW);
			} else if (kind == 8) {
				expect_fixed(&later, TLSFW_STAT_FRAG_NO_FIRST, TLSFW_ACT_DROP);
			} else {
				add_stat(&later, TLSFW_STAT_FRAG_FOLLOWED);
				expect_verdict(e, &later, &v, false);
			}
		}
		err = err ?: push(b, &s);
		err = err ?: push(b, &later);
	}
	e->packets++;
	e->frags += kind >= 7;
	return err;
}

/* ---- content: datagrams and flows --------------------------------------------------- */

#define FLOWS_PER_IFACE 40

/* One frame of a flow, on every hook of its direction: o gives the headers, data the
 * payload (copied over the builder's pattern). */
static int flow_frame(struct env *e, const struct pol_iface *ifc, const struct ref_pkt *ref,
		      struct pkt_opts *o, const uint8_t *data, size_t len, const char *kind,
		      struct batch *b)
{
	unsigned int hooks =
		ref->dir == TLSFW_DIR_INGRESS ? (1u << H_XDP) | (1u << H_TC_IN) : 1u << H_TC_OUT;
	int err = 0;

	o->payload = len;
	for (int h = 0; h < N_HOOKS && !err; h++) {
		struct shot s = { .ref = *ref, .hook = h };
		struct ref_verdict v;
		size_t n;

		if (!(hooks & (1u << h)))
			continue;
		s.ref.ifname = ifc->name;
		err = build(&s, o, kind);
		if (err) {
			fprintf(stderr, "cannot build a %s of %zu bytes\n", kind, len);
			break;
		}
		memcpy((uint8_t *)shot_payload(&s, o, &n), data, len);
		snprintf(s.flow, sizeof(s.flow), "%s", e->flow_what ? e->flow_what : "");
		s.ref.ct = ds_expect(&e->ds, &s.ref, o->tcp_flags);
		err = shot_facts(e, &s, o, data, len);
		v = ref_decide(e->pol, &s.ref);
		expect_verdict(e, &s, &v, !(o->tcp_flags & 0x04));
		err = err ?: push(b, &s);
	}
	e->packets++;
	return err;
}

/* A TCP flow from its SYN (Fast Open data now and then) or from mid-stream; its first bytes
 * in one segment, split after 1 to 5 bytes, or with the second part first (a gap), with a
 * retransmission that changes them now and then; then an ACK, more data, the server's reply
 * and a FIN or a RST. */
static int make_flow(struct env *e, const struct pol_iface *ifc, struct ref_pkt *ref,
		     struct pkt_opts *o, struct rp_rng *r, struct batch *b)
{
	uint8_t data[FLOW_DATA], other[FLOW_DATA];
	size_t len = tcp_first(r, data), cut = 1 + rp_below(r, rp_below(r, 2) ? 5 : len - 1);
	uint32_t isn = rp_next(r), off = 0;
	int order = rp_below(r, 4), err = 0;

	o->seq = isn;
	if (rp_below(r, 8)) { /* from the SYN */
		o->tcp_flags = 0x02;
		off = rp_below(r, 6) ? 0 : cut; /* Fast Open: the first part in the SYN */
		err = flow_frame(e, ifc, ref, o, data, off, off ? "SYN with data" : "SYN", b);
	}
	o->tcp_flags = 0x18;
	if (order == 0 && off < cut) { /* the second part first: beyond a gap */
		o->seq = isn + 1 + cut;
		err = err ?: flow_frame(e, ifc, ref, o, data + cut, len - cut, "after a gap", b);
	}
	if (off < cut) {
		o->seq = isn + 1 + off;
		err = err ?: flow_frame(e, ifc, ref, o, data + off, cut - off, "first bytes", b);
	}
	if (order == 1) { /* a retransmission of the first part, changed */
		memcpy(other, data, cut);
		other[rp_below(r, cut)] ^= 1 + rp_below(r, 255);
		o->seq = isn + 1;
		err = err ?: flow_frame(e, ifc, ref, o, other, cut, "changed retransmission", b);
	}
	o->seq = isn + 1 + cut;
	err = err ?: flow_frame(e, ifc, ref, o, data + cut, len - cut, "rest", b);
	o->tcp_flags = 0x10;
	o->seq = isn + 1 + len;
	err = err ?: flow_frame(e, ifc, ref, o, data, 0, "ACK", b);
	err = err ?: flow_frame(e, ifc, ref, o, data, rp_below(r, len), "later data", b);
	o->tcp_flags = rp_below(r, 2) ? 0x11 : 0x04;
	return err ?: flow_frame(e, ifc, ref, o, data, 0, o->tcp_flags == 0x04 ? "RST" : "FIN", b);
}

/* The server's answer on the same hook: the reverse 5-tuple, which has no state of its own. */
static int make_reply(struct env *e, const struct pol_iface *ifc, struct ref_pkt *ref,
		      struct pkt_opts *o, struct rp_rng *r, struct batch *b)
{
	struct ref_pkt rev = *ref;
	struct pkt_opts ro = *o;
	uint8_t data[FLOW_DATA];

	memcpy(rev.src, ref->dst, 16);
	memcpy(rev.dst, ref->src, 16);
	rev.sport = ref->dport;
	rev.dport = ref->sport;
	ro.src = o->dst;
	ro.dst = o->src;
	ro.sport = o->dport;
	ro.dport = o->sport;
	ro.tcp_flags = rp_below(r, 2) ? 0x12 : 0x18;
	ro.seq = rp_next(r);
	tcp_first(r, data);
	return flow_frame(e, ifc, &rev, &ro, data, ro.tcp_flags == 0x12 ? 0 : 6 + rp_below(r, 40),
			  "reply", b);
}

/* Datagrams and flows on iface aimed at the policy's rules, each frame with its outcome. */
static int make_content(struct env *e, const struct policy *pol, const struct pol_iface *ifc,
			struct rp_rng *r, struct batch *b)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	uint8_t buf[PKT_MAX];
	struct pkt_opts o = { 0 };
	struct ref_pkt ref;
	bool udp = rp_below(r, 3) == 0;
	int err;

	do
		randpol_packet(pol, r, &ref);
	while (strcmp(ref.ifname, ifc->name));
	ref.proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
	ref.has_ports = true;
	ref.has_type = false;
	ref.sport = ref.sport ?: 1;
	ref.dport = ref.dport ?: 1;
	opts_of(&ref, &o, src, dst);
	o.hop_limit = 64;
	rand_encap(r, &o);
	e->pol = pol;
	if (udp) {
		size_t len = udp_payload(r, buf, 1400);

		return flow_frame(e, ifc, &ref, &o, buf, len, "datagram", b);
	}
	err = make_flow(e, ifc, &ref, &o, r, b);
	return err || rp_below(r, 3) ? err : make_reply(e, ifc, &ref, &o, r, b);
}

/* ---- server names: ClientHello flows ------------------------------------------------ */

#define NAME_FLOWS_PER_IFACE 24

/* The segments of e->hf on every hook of their direction, from a 5-tuple aimed at the policy
 * (mostly port 443); then the server's reply now and then. */
static int name_flow_frames(struct env *e, const struct policy *pol, const struct pol_iface *ifc,
			    struct rp_rng *r, unsigned int split, struct batch *b)
{
	static const uint16_t dports[] = { 443, 443, 8443, 80 };
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], what[256];
	const struct hello_flow *f = &e->hf;
	struct pkt_opts o = { 0 };
	struct ref_pkt ref;
	uint32_t isn = rp_next(r);
	int err = 0;

	do
		randpol_packet(pol, r, &ref);
	while (strcmp(ref.ifname, ifc->name));
	ref.proto = IPPROTO_TCP;
	ref.has_ports = true;
	ref.has_type = false;
	ref.sport = ref.sport ?: 1;
	ref.dport = rp_below(r, 4) ? dports[rp_below(r, 4)] : ref.dport ?: 1;
	opts_of(&ref, &o, src, dst);
	o.hop_limit = 64;
	rand_encap(r, &o);
	e->pol = pol;
	for (int i = 0; i < f->n && !err; i++) {
		const struct hf_seg *g = &f->seg[i];

		o.tcp_flags = g->flags;
		o.seq = g->flags & 0x02 ? isn : isn + 1 + g->off;
		snprintf(what, sizeof(what), "%s; segment %d of %d, %u bytes at %u%s", f->what,
			 i + 1, f->n, g->len, g->off, split ? " (byte-split matrix)" : "");
		e->flow_what = what;
		err = flow_frame(e, ifc, &ref, &o, f->buf + g->off, g->len, g->kind, b);
	}
	e->flow_what = NULL;
	return err || rp_below(r, 3) ? err : make_reply(e, ifc, &ref, &o, r, b);
}

/* Name flows on iface: one ClientHello cut at every byte of its first HF_SPLIT (the
 * byte-split matrix: the same generator state gives the same ClientHello), then flows cut at
 * random points and sent out of order. */
static int make_name_flows(struct env *e, const struct policy *pol, const struct pol_iface *ifc,
			   struct rp_rng *r, struct batch *b)
{
	struct rp_rng same = *r;
	int err = 0;

	rp_next(r);
	for (unsigned int k = 1; k < HF_SPLIT && !err; k++) {
		struct rp_rng g = same;

		err = hello_flow_new(&e->hf, &g, k);
		err = err ?: name_flow_frames(e, pol, ifc, r, k, b);
		e->split_flows++;
	}
	for (int i = 0; i < NAME_FLOWS_PER_IFACE && !err; i++) {
		err = hello_flow_new(&e->hf, r, 0);
		err = err ?: name_flow_frames(e, pol, ifc, r, 0, b);
	}
	return err;
}

/* ---- running ------------------------------------------------------------------------- */

static int snapshot(struct env *e, struct counters *c)
{
	int err = 0;

	memset(c, 0, sizeof(*c));
	for (uint32_t k = 0; k < 64; k++) {
		struct tlsfw_rule_flows f;

		if (bpf_map_lookup_elem(e->m.rule_flows, &k, &f))
			return -errno;
		c->matched[k] = f.matched;
		c->passed[k] = f.passed;
		c->cut[k] = f.cut;
	}
	for (int blk = 0; !err && blk < 2; blk++)
		err = percpu_counters_sum(e->m.counters, blk * TLSFW_SLOTS_PER_CTX, N_STATS,
					  e->ncpu, c->pk[blk], c->by[blk]);
	return err;
}

static int run_shot(struct env *e, const struct shot *s, int *rc)
{
	uint8_t out[PKT_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = s->p.buf, .data_size_in = s->p.len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	e->runs++;
	if (bpf_prog_test_run_opts(e->prog[s->hook], &o))
		return -errno;
	*rc = o.retval;
	return 0;
}

static void print_shot(const struct shot *s, const char *what)
{
	fprintf(stderr,
		"  %s%s on %s (%d VLAN tags, %d IPv4 option bytes, %d IPv6 ext headers, %zu bytes): ",
		what, s->kind, hook_names[s->hook], s->vlans, s->opts, s->exts, s->p.len);
	ref_pkt_print(&s->ref, stderr);
	if (s->flow[0])
		fprintf(stderr, "  flow: %s\n", s->flow);
}

static void print_policy(const struct env *e, const struct policy *pol, uint64_t seed)
{
	char *yaml = randpol_yaml(pol);

	fprintf(stderr, "policy (seed %llu; replay with TLSFW_SEED=%llu):\n%s\n",
		(unsigned long long)seed, (unsigned long long)e->base_seed, yaml ? yaml : "(none)");
	free(yaml);
}

/* Expected counter deltas of shots [from, to). */
static void expected(const struct batch *b, size_t from, size_t to, struct counters *want)
{
	memset(want, 0, sizeof(*want));
	for (size_t i = from; i < to; i++) {
		const struct shot *s = &b->v[i];
		int blk = s->hook == H_TC_OUT ? 1 : 0;

		for (int k = 0; k < s->n_stats; k++) {
			want->pk[blk][s->stats[k]]++;
			want->by[blk][s->stats[k]] += s->p.len;
		}
		if (s->matched >= 0 && s->matched < 64)
			want->matched[s->matched]++;
		if (s->passed >= 0 && s->passed < 64)
			want->passed[s->passed]++;
		if (s->cut >= 0 && s->cut < 64)
			want->cut[s->cut]++;
	}
}

/* Compare deltas; print each difference (up to a few) and return how many. */
static int diff_counters(const struct counters *a, const struct counters *b,
			 const struct counters *want, bool print)
{
	int n = 0;

	for (int blk = 0; blk < 2; blk++) {
		for (int i = 0; i < N_STATS; i++) {
			uint64_t dp = b->pk[blk][i] - a->pk[blk][i],
				 db = b->by[blk][i] - a->by[blk][i];

			if (dp == want->pk[blk][i] && db == want->by[blk][i])
				continue;
			if (print && n < 8)
				fprintf(stderr,
					"  counter %d of block %d moved by %llu packets / %llu bytes, want %llu / %llu\n",
					i, blk, (unsigned long long)dp, (unsigned long long)db,
					(unsigned long long)want->pk[blk][i],
					(unsigned long long)want->by[blk][i]);
			n++;
		}
	}
	for (int k = 0; k < 64; k++) {
		const char *what[] = { "matched", "passed", "cut" };
		uint64_t d[] = { b->matched[k] - a->matched[k], b->passed[k] - a->passed[k],
				 b->cut[k] - a->cut[k] },
			 w[] = { want->matched[k], want->passed[k], want->cut[k] };

		for (int i = 0; i < 3; i++) {
			if (d[i] == w[i])
				continue;
			if (print && n < 8)
				fprintf(stderr,
					"  flows %s of rule slot %d moved by %llu, want %llu\n",
					what[i], k, (unsigned long long)d[i],
					(unsigned long long)w[i]);
			n++;
		}
	}
	return n;
}

/* Both flow tables empty: the kernel's and the reference's. */
static void flows_clear(struct env *e)
{
	crun_flows_clear(&(struct crun){ .flows = e->flows_fd });
	ref_flowtab_clear(&e->flows);
}

/* Fill a generation with plan's contexts of one interface on ifindex 1, and switch to it. */
static int fill_iface(struct env *e, const struct plan *pl, const char *ifname)
{
	struct plan p2 = *pl;
	struct plan_ctx ctx[2];
	uint32_t ifindex[2] = { 1, 1 }, ctx_slot[2], *slots;
	struct fill_ids ids;
	struct diag d;
	size_t n = 0;
	int err;

	for (size_t i = 0; i < pl->n_ctx && n < 2; i++) {
		if (strcmp(pl->ctx[i].ifname, ifname))
			continue;
		ctx[n] = pl->ctx[i];
		ctx_slot[n] = pl->ctx[i].dir; /* block 0 ingress, 1 egress */
		n++;
	}
	p2.ctx = ctx;
	p2.n_ctx = n;
	slots = calloc(pl->n_rules + 1, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n_rules; i++)
		slots[i] = i;
	ids = (struct fill_ids){ .rule_slot = slots, .ifindex = ifindex, .ctx_slot = ctx_slot };
	diag_init(&d);
	err = bpf_clear_gen(&e->m, e->gen);
	if (!err)
		err = bpf_fill_gen(&e->m, &p2, e->gen, &ids, &d);
	if (!err)
		err = bpf_set_gen(&e->m, e->gen);
	if (err) {
		diag_print(&d, stderr);
		fprintf(stderr, "fill generation %u: %s\n", e->gen, strerror(-err));
	}
	e->gen ^= 1;
	diag_free(&d);
	free(slots);
	return err;
}

/* Run a batch; on a counter mismatch, refill and replay one shot at a time to name it. */
static int run_batch(struct env *e, const struct policy *pol, const struct plan *pl,
		     const char *ifname, const struct batch *b, uint64_t seed)
{
	struct counters before, after, want;
	int bad = 0, rc, err;

	err = snapshot(e, &before);
	for (size_t i = 0; !err && i < b->n; i++) {
		const struct shot *s = &b->v[i];

		err = run_shot(e, s, &rc);
		if (!err && rc != s->want_rc) {
			fprintf(stderr, "FAIL: returned %d, want %d\n", rc, s->want_rc);
			print_shot(s, "");
			bad++;
		}
	}
	err = err ?: snapshot(e, &after);
	if (err) {
		fprintf(stderr, "FAIL: test run or counters: %s\n", strerror(-err));
		return -1;
	}
	expected(b, 0, b->n, &want);
	if (diff_counters(&before, &after, &want, false)) {
		fprintf(stderr, "FAIL: counters of the batch on %s differ; replaying one by one\n",
			ifname);
		bad++;
		if (fill_iface(e, pl, ifname))
			return -1;
		flows_clear(e);
		for (size_t i = 0; i < b->n; i++) {
			if (snapshot(e, &before) || run_shot(e, &b->v[i], &rc) ||
			    snapshot(e, &after))
				return -1;
			expected(b, i, i + 1, &want);
			if (diff_counters(&before, &after, &want, true)) {
				print_shot(&b->v[i], "");
				for (size_t k = 0; k < i; k++) /* what its flow's state came from */
					if (ref_same_flow(&b->v[k].ref, &b->v[i].ref))
						print_shot(&b->v[k], "earlier in its flow: ");
				break;
			}
		}
	}
	if (bad)
		print_policy(e, pol, seed);
	return bad ? -1 : 0;
}

/* The lowering refuses lists that overlap in more ways than the data plane has name classes
 * for (at most 26): such a policy is counted as refused, not run. */
static bool refused(struct env *e, const struct diag *d, int err, const struct policy *pol)
{
	if (err != -E2BIG || !ref_has_names(pol) || d->n != 1 ||
	    !strstr(d->recs[0].msg, "the lists overlap in"))
		return false;
	e->refused++;
	return true;
}

static int one_policy(struct env *e, uint64_t seed, bool valid, bool content, bool names,
		      bool state)
{
	struct randpol_opts o = { .max_rules = 12,
				  .services = true,
				  .monitor = true,
				  .valid = valid,
				  .content = content,
				  .names = names,
				  .state = state };
	struct policy mem, read, *pol = &mem;
	struct plan pl = { 0 };
	struct diag d;
	struct rp_rng r;
	char *yaml = NULL;
	int err, ret = -1;

	rp_seed(&r, seed);
	if (randpol_new(&mem, &r, &o))
		return -1;
	diag_init(&d);
	memset(&read, 0, sizeof(read));
	/* Valid policies go through the real reader and checker. */
	if (valid) {
		yaml = randpol_yaml(&mem);
		err = yaml ? policy_read_mem(&read, "random.conf", yaml, strlen(yaml), &d) :
			     -ENOMEM;
		if (!err)
			policy_check(&read, &d);
		if (err || d.errors) {
			diag_print(&d, stderr);
			fprintf(stderr, "FAIL: the checker refused a valid policy\n");
			print_policy(e, &mem, seed);
			goto out;
		}
		pol = &read;
	}
	err = policy_lower(pol, NULL, &pl, &d);
	if (err && refused(e, &d, err, pol)) {
		ret = 0;
		goto out;
	}
	if (err) {
		diag_print(&d, stderr);
		fprintf(stderr, "FAIL: policy_lower: %s\n", strerror(-err));
		print_policy(e, &mem, seed);
		goto out;
	}
	ret = 0;
	e->pl = ref_has_names(pol) ? NULL : &pl;
	e->plan_bad = 0;
	e->flows.want = ref_has_names(pol) ? TLSFW_WANT_HELLO : 0;
	e->name_policies += e->flows.want != 0;
	for (size_t i = 0; i < pol->n_ifaces && !ret; i++) {
		struct batch b = { 0 };
		size_t n = PACKETS_PER_POLICY / pol->n_ifaces;

		flows_clear(e);
		if (state)
			ret = ds_batch(&e->ds, pol, &pol->ifaces[i], &r);
		for (size_t k = 0; k < n && !ret; k++)
			ret = make_packet(e, pol, &pol->ifaces[i], &r, &b);
		for (size_t k = 0; content && k < FLOWS_PER_IFACE && !ret; k++)
			ret = make_content(e, pol, &pol->ifaces[i], &r, &b);
		if (names && !ret)
			ret = make_name_flows(e, pol, &pol->ifaces[i], &r, &b);
		flows_clear(e); /* the reference's ran ahead while the batch was built */
		if (ret)
			fprintf(stderr, "FAIL: building packets (seed %llu): %s\n",
				(unsigned long long)seed, strerror(-ret));
		if (!ret)
			ret = fill_iface(e, &pl, pol->ifaces[i].name);
		if (!ret)
			ret = run_batch(e, pol, &pl, pol->ifaces[i].name, &b, seed);
		free(b.v);
	}
	if (!ret && e->plan_bad) {
		print_policy(e, &mem, seed);
		ret = -1;
	}
out:
	plan_free(&pl);
	if (valid)
		policy_free(&read);
	randpol_free(&mem);
	diag_free(&d);
	free(yaml);
	return ret;
}

int main(void)
{
	const char *env = getenv("TLSFW_SEED");
	uint64_t base = env ? strtoull(env, NULL, 0) : 1;
	struct env e = { .ncpu = libbpf_num_possible_cpus(), .frag_id = 1, .base_seed = base };
	uint8_t *hello_buf = malloc(HELLO_MAX);
	int err;

	if (!hello_buf)
		return 1;
	e.hf.buf = hello_buf;
	err = ds_open(&e.ds);
	if (err) {
		fprintf(stderr, "FAIL: a network namespace with ctnetlink: %s\n", strerror(-err));
		return 1;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	e.skel = bpf_open();
	if (e.skel && tlsfw__load(e.skel)) {
		tlsfw__destroy(e.skel);
		e.skel = NULL;
	}
	if (!e.skel) {
		fprintf(stderr, "FAIL: cannot load the tlsfw skeleton: %s (needs root)\n",
			strerror(errno));
		return 1;
	}
	err = bpf_maps_from_skel(&e.m, e.skel);
	if (err) {
		fprintf(stderr, "FAIL: bpf_maps_from_skel: %s\n", strerror(-err));
		tlsfw__destroy(e.skel);
		return 1;
	}
	e.prog[H_XDP] = bpf_program__fd(e.skel->progs.tlsfw_xdp);
	e.prog[H_TC_IN] = bpf_program__fd(e.skel->progs.tlsfw_tc_ingress);
	e.prog[H_TC_OUT] = bpf_program__fd(e.skel->progs.tlsfw_tc_egress);
	e.flows_fd = bpf_map__fd(e.skel->maps.tlsfw_flows);

	for (int i = 0; i < N_POLICIES && e.failures < MAX_FAILURES; i++) {
		uint64_t seed = base * 1000003u + i;

		if (one_policy(&e, seed, i % 2 == 0, i % 4 >= 2, false, false))
			e.failures++;
	}
	/* server names, with content rules in half of them */
	for (int i = 0; i < N_NAME_POLICIES && e.failures < MAX_FAILURES; i++) {
		uint64_t seed = base * 1000003u + N_POLICIES + i;

		if (one_policy(&e, seed, i % 2 == 0, i % 4 >= 2, true, false))
			e.failures++;
	}
	/* state rules, with content rules in half of them and name rules in an eighth */
	for (int i = 0; i < N_STATE_POLICIES && e.failures < MAX_FAILURES; i++) {
		uint64_t seed = base * 1000003u + N_POLICIES + N_NAME_POLICIES + i;

		if (one_policy(&e, seed, i % 2 == 0, i % 4 >= 2, i % 8 == 7, true))
			e.failures++;
	}
	printf("%d policies, %lu packets (%lu fragment cases), %lu test runs: %lu defaults, %lu monitor matches, %lu rejects answered\n",
	       N_POLICIES, e.packets, e.frags, e.runs, e.defaults, e.monitors, e.rejects_sent);
	printf("content: %lu verdicts of content rules; inspected: %lu QUIC, TLS start %lu yes, %lu no, %lu mid-stream, %lu unordered; flows %lu passed, %lu cut\n",
	       e.content, e.quic, e.tls_yes, e.tls_no, e.midstream, e.unordered, e.passed, e.cut);
	printf("names: %lu policies (%lu refused: too many name classes), %lu verdicts of name rules, %lu flows matched; ClientHellos %lu with a name, %lu without, %lu malformed, %lu unordered segments; %lu byte-split flows\n",
	       e.name_policies, e.refused, e.names, e.matched, e.hello[TLSFW_HELLO_NAME],
	       e.hello[TLSFW_HELLO_NO_NAME], e.hello[TLSFW_HELLO_MALFORMED],
	       e.hello[TLSFW_HELLO_UNORDERED], e.split_flows);
	ds_print(&e.ds);
	ds_close(&e.ds);
	free(hello_buf);
	ref_flowtab_clear(&e.flows);
	free(e.flows.v);
	tlsfw__destroy(e.skel);
	if (e.failures) {
		printf("FAIL: %lu policies disagree with the reference\n", e.failures);
		return 1;
	}
	/* Not vacuous: the interesting paths were taken. */
	if (e.packets < 100000 || !e.defaults || !e.monitors || !e.rejects_sent || !e.frags ||
	    e.content < 1000 || !e.quic || !e.tls_yes || !e.tls_no || !e.midstream ||
	    !e.unordered || !e.passed || !e.cut || e.name_policies < N_NAME_POLICIES * 3 / 4 ||
	    e.refused * 10 > N_NAME_POLICIES || e.names < 1000 || !e.matched ||
	    !e.hello[TLSFW_HELLO_NAME] || !e.hello[TLSFW_HELLO_NO_NAME] ||
	    !e.hello[TLSFW_HELLO_MALFORMED] || !e.hello[TLSFW_HELLO_UNORDERED] || ds_thin(&e.ds)) {
		printf("FAIL: too little coverage\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
