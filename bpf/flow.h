/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow table and the content facts of a TCP segment: content_tcp() is what the decision
 * calls (Documentation/architecture.md, "Content inspection").
 *
 * A flow is created by the client's SYN (no ACK), keyed by the 5-tuple as the client sends
 * it; a SYN with another ISN on the same 5-tuple is a new connection and restarts the state,
 * unless conntrack holds that connection open: then the next payload tells which connection
 * the server kept (flow_syn, flow_at_server), and a flow that has placed no byte follows
 * the server's stream where conntrack says it begins.
 * A segment's bytes are placed in the client's stream by their sequence number (offset from
 * ISN + 1; data in a SYN, TCP Fast Open, is at offset 0). The stream is followed in order
 * only while a fact is undecided:
 *   - bytes already seen (a retransmission, or the old part of an overlapping segment) are
 *     not parsed again; within the first six bytes they must be the same, else the flow is
 *     not TLS (TLSFW_WHY_CONFLICT: the gateway cannot know which copy the server took);
 *   - a segment beginning beyond the bytes seen (a gap: reordering or loss before the
 *     gateway) is UNORDERED for the undecided facts and leaves the state alone, so that the
 *     decision may drop it and the retransmission arrive in order;
 *   - once every fact the flow needs is decided, the flow is settled: a segment that cannot
 *     change a fact (flow_settled) gets the rule cached in the flow (decide.h, "decided
 *     flows"), one lookup.
 * A packet without flow state (a flow first seen without its SYN, or evicted) is MIDSTREAM.
 */
#ifndef TLSFW_FLOW_H
#define TLSFW_FLOW_H

#include "tlsfw_content_abi.h"
#include "parse.h"
#include "tls.h"
#include "names.h"
#include "ct.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TLSFW_FLOWS_DEFAULT); /* `flows:`, set before load */
	__type(key, struct tlsfw_flow_key);
	__type(value, struct tlsfw_flow);
} tlsfw_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TLSFW_CSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tlsfw_content_stats SEC(".maps");

/* What a new flow's value is copied from: read-only data, so no 352 bytes of stack. */
static const struct tlsfw_flow tlsfw_flow_zero;

static __always_inline void cstat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&tlsfw_content_stats, &idx);

	if (c)
		(*c)++;
}

static __always_inline void flow_key(struct tlsfw_flow_key *k, const struct parsed *p)
{
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
	k->sport = p->sport;
	k->dport = p->dport;
	k->proto = p->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

static __always_inline void flow_init(struct tlsfw_flow *f, __u32 isn)
{
	f->isn = isn;
	f->next = 0;
	f->name_cache = 0;
	f->decided = 0;
	f->tls = TLSFW_TLS_UNDECIDED;
	f->hello = TLSFW_FH_IDLE;
	f->why = 0;
	f->ech = 0;
	f->syn_wait = 0;
	__builtin_memset(f->first, 0, sizeof(f->first));
	__builtin_memset(&f->hp, 0, sizeof(f->hp));
}

/* Payload bytes of a TCP segment that the receiver will take as stream data: none for a RST,
 * a fragment, or a header length the receiver refuses. */
static __always_inline __u32 tcp_payload(const struct parsed *p)
{
	if (p->frag != FRAG_NONE || (p->tcp_flags & TLSFW_TCP_RST) || p->tcp_doff < 20 ||
	    p->payload_off > p->ip_end)
		return 0;
	return p->ip_end - p->payload_off;
}

/* Conntrack's view of the server's stream (ct.h): TLSFW_CT_ACKED | its highest ack, or 0. */
static __always_inline __u64 flow_server_acked(void *ctx, int xdp, const struct parsed *p)
{
	return xdp ? tlsfw_ct_acked_xdp(ctx, p) : tlsfw_ct_acked_tc(ctx, p);
}

/*
 * The client's SYN: the flow's state, new or restarted for a new ISN; NULL if not stored.
 * A SYN with another ISN on a connection conntrack holds open (SYN_RECV..LAST_ACK) may be a
 * new connection (the server forgot the old one and answers with a SYN-ACK, conntrack
 * resynchronises) or not (the server keeps its connection and sends a challenge ACK, RFC
 * 5961: a spoofed SYN, or a client that wants its stream judged anew). The flow keeps its
 * state and the SYN waits (syn_wait): the next payload asks conntrack which (flow_at_server).
 * Without such an entry, or with data in the SYN (TCP Fast Open), the flow restarts here.
 */
static __always_inline struct tlsfw_flow *flow_syn(void *ctx, int xdp, const struct parsed *p,
						   const struct tlsfw_flow_key *k, __u32 isn)
{
	struct tlsfw_flow *f = bpf_map_lookup_elem(&tlsfw_flows, k);

	if (f) {
		if (f->isn == isn)
			return f;
		if (!tcp_payload(p) && (flow_server_acked(ctx, xdp, p) & TLSFW_CT_ACKED)) {
			f->syn_isn = isn;
			f->syn_wait = 1;
			return f;
		}
		flow_init(f, isn); /* a new connection on the same 5-tuple */
		cstat(TLSFW_CSTAT_FLOW_RESET);
		return f;
	}
	if (bpf_map_update_elem(&tlsfw_flows, k, &tlsfw_flow_zero, BPF_NOEXIST) == 0)
		cstat(TLSFW_CSTAT_FLOW_NEW);
	f = bpf_map_lookup_elem(&tlsfw_flows, k);
	if (!f) {
		cstat(TLSFW_CSTAT_FLOW_FAILED);
		return NULL;
	}
	if (f->tls == TLSFW_TLS_NONE) /* ours, or another CPU's that has not set it yet */
		flow_init(f, isn);
	return f;
}

/* The hello fact of the flow's parse state. */
static __always_inline __u8 flow_hello_fact(const struct tlsfw_flow *f)
{
	switch (f->hello) {
	case TLSFW_FH_IDLE: /* never started: ClientHello bytes went by unparsed, or none yet */
		if (f->tls == TLSFW_TLS_NO)
			return TLSFW_HELLO_NOT_TLS;
		return f->tls == TLSFW_TLS_YES ? TLSFW_HELLO_MIDSTREAM : TLSFW_HELLO_UNDECIDED;
	case TLSFW_FH_PARSING:
		return TLSFW_HELLO_UNDECIDED;
	case TLSFW_FH_NAME:
		return TLSFW_HELLO_NAME;
	case TLSFW_FH_NO_NAME:
		return TLSFW_HELLO_NO_NAME;
	case TLSFW_FH_MALFORMED:
		return TLSFW_HELLO_MALFORMED;
	default:
		return TLSFW_HELLO_NOT_TLS;
	}
}

static __always_inline void flow_malformed(struct tlsfw_flow *f, __u8 why)
{
	f->hello = TLSFW_FH_MALFORMED;
	f->why = why;
}

/* A retransmission changed the first bytes: neither TLS start nor ClientHello can be
 * trusted any more, whatever was decided. */
static __always_inline void flow_conflict(struct tlsfw_flow *f)
{
	f->tls = TLSFW_TLS_NO;
	flow_malformed(f, TLSFW_WHY_CONFLICT);
}

/* A fact of this flow is still open: its stream is followed. */
static __always_inline int flow_open(const struct tlsfw_flow *f)
{
	return f->tls == TLSFW_TLS_UNDECIDED || f->hello == TLSFW_FH_PARSING;
}

/* New in-order bytes [f->next, seg_off + plen), at packet offset pkt_off (of seg_off). The
 * ClientHello parse starts, when asked, with the packet that makes the TLS start YES, from
 * stream offset TLSFW_TLS_START: the six bytes before are known (tls_hello_start). */
static __always_inline void flow_advance(void *ctx, int xdp, struct tlsfw_flow *f, __u32 pkt_off,
					 __u32 seg_off, __u32 plen, __u32 want)
{
	__u32 end = seg_off + plen, from = f->next;

	if (f->tls == TLSFW_TLS_UNDECIDED && end >= TLSFW_TLS_START) {
		f->tls = tls_start_ok(f->first) ? TLSFW_TLS_YES : TLSFW_TLS_NO;
		if (f->tls == TLSFW_TLS_YES && (want & TLSFW_WANT_HELLO)) {
			tls_hello_start(f);
			from = TLSFW_TLS_START;
		}
	}
	if (f->hello == TLSFW_FH_PARSING && end > from)
		tls_hello_segment(ctx, xdp, f, pkt_off + (from - seg_off), pkt_off + plen);
	f->next = flow_open(f) ? end : TLSFW_NEXT_DONE;
}

/* The segment's payload (plen bytes at packet offset pkt_off, stream offset seg_off).
 * Returns 1 when it lies beyond a gap of an open flow (UNORDERED). A flow no longer open
 * has next == TLSFW_NEXT_DONE: nothing is beyond it, and all its first bytes were seen. */
static __always_inline int flow_segment(void *ctx, int xdp, struct tlsfw_flow *f, __u32 pkt_off,
					__u32 seg_off, __u32 plen, __u32 want)
{
	/* seq before isn + 1 wraps to a huge offset: like a gap, it is not the next byte */
	if (seg_off > f->next)
		return flow_open(f);
	if (seg_off < TLSFW_TLS_START && (f->tls != TLSFW_TLS_NO || f->why != TLSFW_WHY_CONFLICT) &&
	    tls_first_bytes(ctx, xdp, f, pkt_off, seg_off, plen)) {
		flow_conflict(f);
		return 0;
	}
	if (seg_off + plen > f->next && flow_open(f))
		flow_advance(ctx, xdp, f, pkt_off, seg_off, plen, want);
	return 0;
}

/*
 * Where does the server's stream begin? Asked by a payload segment of flow f at stream offset
 * seg_off when a SYN waits (flow_syn), or before the flow has placed any byte: a SYN with
 * another ISN may have restarted the flow while the server kept its connection and takes no
 * byte at the new ISN. Conntrack, which sees both directions, tells: the server's highest
 * acknowledgment (ct.h, tlsfw_ct_acked_*).
 * - A waiting SYN: if that acknowledgment is the SYN's ISN + 1 (the server took the new
 *   connection), or conntrack has no entry any more, the flow restarts at the SYN's ISN;
 *   otherwise the server kept its connection, and so does the flow: its state, its decision,
 *   the bytes it has placed (and so the place of the next one).
 * - A flow that has placed no byte: when the acknowledgment is not the flow's ISN + 1, the
 *   flow follows the server's stream from there (f->isn moves).
 * In both cases the bytes the server will take are the ones judged, and those it drops as
 * old are a gap. Without an entry (bridged frames, conntrack not tracking, TCP Fast Open's
 * SYN) the flow's own ISN stays. Returns the segment's stream offset.
 */
static __always_inline __u32 flow_at_server(void *ctx, int xdp, const struct parsed *p,
					    struct tlsfw_flow *f, __u32 seg_off)
{
	__u64 acked = flow_server_acked(ctx, xdp, p);
	__u32 start = (__u32)acked, data = f->isn + 1 + seg_off;

	if (f->syn_wait) {
		f->syn_wait = 0;
		if (!(acked & TLSFW_CT_ACKED) || start == f->syn_isn + 1) {
			flow_init(f, f->syn_isn);
			cstat(TLSFW_CSTAT_FLOW_RESET);
			return data - f->isn - 1;
		}
		if (f->next || f->tls != TLSFW_TLS_UNDECIDED)
			return seg_off;
	}
	if (!(acked & TLSFW_CT_ACKED) || start == f->isn + 1)
		return seg_off;
	f->isn = start - 1;
	cstat(TLSFW_CSTAT_FLOW_RESET);
	return data - start;
}

static __always_inline void facts_of(struct tlsfw_flow *f, __u32 gen, struct tlsfw_facts *out)
{
	__u64 cache;
	long cls;

	out->tls = f->tls;
	out->hello = flow_hello_fact(f);
	out->why = f->why;
	if (out->hello != TLSFW_HELLO_NAME && out->hello != TLSFW_HELLO_NO_NAME)
		return;
	out->ech = f->ech;
	if (out->hello == TLSFW_HELLO_NO_NAME)
		return;
	cache = f->name_cache;
	cls = names_class(f, gen);
	if (f->name_cache != cache)
		cstat(TLSFW_CSTAT_NAME_LOOKUP);
	if (cls < 0) { /* not a host name: found when the parse ends, so at most once */
		flow_malformed(f, TLSFW_WHY_NAME);
		out->hello = TLSFW_HELLO_MALFORMED;
		out->why = TLSFW_WHY_NAME;
		out->ech = 0;
		return;
	}
	out->name_cls = cls;
}

/*
 * The flow of a TCP packet p, NULL when it has none (a flow first seen without its SYN, or
 * evicted), and *seg_off, the stream offset of its payload. Creates the flow on the client's
 * SYN. want: TLSFW_WANT_NO_FLOW, the caller found none already. The caller has checked that p
 * is TCP with ports.
 */
static __always_inline struct tlsfw_flow *flow_find(void *ctx, int xdp, const struct parsed *p,
						    __u32 want, __u32 *seg_off)
{
	struct content_work *w = content_work();
	__u32 seq = bpf_ntohl(p->tcp_seq);
	struct tlsfw_flow *f;

	*seg_off = 0;
	if (!w)
		return NULL;
	flow_key(&w->key, p);
	if ((p->tcp_flags & (TLSFW_TCP_SYN | TLSFW_TCP_ACK | TLSFW_TCP_RST)) == TLSFW_TCP_SYN)
		return flow_syn(ctx, xdp, p, &w->key, seq);
	if (want & TLSFW_WANT_NO_FLOW)
		return NULL;
	f = bpf_map_lookup_elem(&tlsfw_flows, &w->key);
	if (f)
		*seg_off = seq - f->isn - 1;
	return f;
}

/*
 * A segment that cannot change the facts of its flow: no fact is open, and the segment
 * carries no bytes among the first TLSFW_TLS_START (a changed copy would be a CONFLICT), is
 * no SYN (a restart), no RST (classed apart, decide.h) and no fragment, and no SYN waits
 * (which connection the server keeps is open). Every such segment of the flow has the same
 * facts, so under one generation and context the same rule.
 */
static __always_inline int flow_settled(const struct tlsfw_flow *f, const struct parsed *p,
					__u32 seg_off)
{
	return f->next == TLSFW_NEXT_DONE && !f->syn_wait && p->frag == FRAG_NONE &&
	       !(p->tcp_flags & (TLSFW_TCP_SYN | TLSFW_TCP_RST)) &&
	       (seg_off >= TLSFW_TLS_START || !tcp_payload(p));
}

/*
 * The content facts of TCP packet p of flow f (from flow_find; NULL: MIDSTREAM) under
 * generation gen, into *out (zeroed first). want: TLSFW_WANT_HELLO to start parsing
 * ClientHellos.
 */
static __always_inline void flow_facts(void *ctx, int xdp, const struct parsed *p,
				       struct tlsfw_flow *f, __u32 seg_off, __u32 gen, __u32 want,
				       struct tlsfw_facts *out)
{
	__u32 plen;
	__u8 tls0, hello0;
	int gap = 0;

	__builtin_memset(out, 0, sizeof(*out));
	if (!f) {
		out->tls = TLSFW_TLS_MIDSTREAM;
		out->hello = TLSFW_HELLO_MIDSTREAM;
		cstat(TLSFW_CSTAT_MIDSTREAM);
		return;
	}
	tls0 = f->tls;
	hello0 = flow_hello_fact(f);
	plen = tcp_payload(p);
	if (f->syn_wait && !plen && p->frag == FRAG_NONE) {
		/* until a payload says which connection the server keeps: a new flow's handshake */
		out->tls = TLSFW_TLS_UNDECIDED;
		out->hello = TLSFW_HELLO_UNDECIDED;
		return;
	}
	if (plen && (f->syn_wait || (!f->next && f->tls == TLSFW_TLS_UNDECIDED)))
		seg_off = flow_at_server(ctx, xdp, p, f, seg_off);
	if (plen)
		gap = flow_segment(ctx, xdp, f, p->payload_off, seg_off, plen, want);
	else if (p->frag == FRAG_FIRST && !(p->tcp_flags & TLSFW_TCP_RST))
		gap = flow_open(f); /* its payload cannot be placed: like a gap (a RST has none) */
	facts_of(f, gen, out);
	if (out->tls != tls0)
		out->fresh |= TLSFW_FRESH_TLS;
	if (out->hello != hello0) {
		out->fresh |= TLSFW_FRESH_HELLO;
		if (out->hello == TLSFW_HELLO_MALFORMED)
			cstat(TLSFW_CSTAT_WHY0 + (out->why & 7));
		else if (out->hello == TLSFW_HELLO_NAME || out->hello == TLSFW_HELLO_NO_NAME)
			cstat(TLSFW_CSTAT_HELLO_DONE);
	}
	if (gap) {
		if (out->tls == TLSFW_TLS_UNDECIDED)
			out->tls = TLSFW_TLS_UNORDERED;
		if (out->hello == TLSFW_HELLO_UNDECIDED)
			out->hello = TLSFW_HELLO_UNORDERED;
		cstat(TLSFW_CSTAT_UNORDERED);
	}
}

/* The content facts of a TCP packet p: flow_find, then flow_facts. */
static __always_inline void content_tcp(void *ctx, int xdp, const struct parsed *p, __u32 gen,
					__u32 want, struct tlsfw_facts *out)
{
	struct tlsfw_flow *f;
	__u32 seg_off;

	if (p->proto != TLSFW_IPPROTO_TCP || !p->has_ports) {
		__builtin_memset(out, 0, sizeof(*out));
		return;
	}
	f = flow_find(ctx, xdp, p, want, &seg_off);
	flow_facts(ctx, xdp, p, f, seg_off, gen, want, out);
}

#endif /* TLSFW_FLOW_H */
