// SPDX-License-Identifier: GPL-2.0
/*
 * Decided flows (bpf/decide.h, "Decided flows"): a settled segment of a flow whose facts are
 * decided takes the rule cached in its tlsfw_flows entry, tagged with the generation's epoch
 * and the interface context's class. Built TCP flows with a ClientHello run through
 * tlsfw_xdp, tlsfw_tc_ingress and tlsfw_tc_egress with BPF_PROG_TEST_RUN (lib_packets.h):
 *   - the cache is what decides: a flow's stored name changed behind the data plane's back
 *     does not change a settled segment's rule, but a segment that is not settled (the first
 *     bytes again) decides anew and rewrites the cache;
 *   - a changed retransmission of the first bytes (CONFLICT) replaces the cached rule;
 *   - a replaced policy never inherits a rule: after a fill of the other generation, and
 *     after a refill of the same one, a settled segment gets the new policy's rule;
 *   - the interface context is part of the tag: with a name rule per direction, the rule
 *     cached on XDP (ingress) is not taken on tc egress, and back;
 *   - epochs count up in steps of TLSFW_EPOCH_STEP.
 * Every case checks the verdict and that exactly the expected counters moved. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "content_gen.h"
#include "lib_packets.h"

#define POLICY(list, dir)                                                           \
	"version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress, egress]\n"   \
	"default: allow\nrules:\n  - name: names\n    proto: tcp\n    dport: 443\n" \
	"    sni: [" list "]\n" dir "    action: drop\n"

/* A name rule of direction egress: on tc egress the flow reaches the content code too. */
#define OUT_RULE(list)                                                               \
	"  - name: names-out\n    proto: tcp\n    dport: 443\n    sni: [" list "]\n" \
	"    direction: egress\n    action: drop\n"

#define ISN 1000u

static uint8_t hello_buf[HELLO_MAX];

struct flow {
	uint16_t sport;
	size_t hello_len;
	uint32_t data_seq; /* sequence number of the next data segment */
};

static void segment(struct env *e, int hook, const char *what, const struct flow *f, uint32_t seq,
		    uint8_t flags, const uint8_t *data, size_t len, int want, const long *stats)
{
	tcp_segment(e, hook, what, f->sport, seq, flags, data, len, want, stats);
}

/* A data segment after the ClientHello: settled once the flow's ClientHello is decided. */
static void data(struct env *e, int hook, const char *what, struct flow *f, int want,
		 const long *stats)
{
	static const uint8_t bytes[32] = { 23, 3, 3, 0, 27 };

	segment(e, hook, what, f, f->data_seq, 0x18, bytes, sizeof(bytes), want, stats);
	f->data_seq += sizeof(bytes);
}

/* SYN and a whole ClientHello naming name, on XDP: both pass (want: the hello's verdict). */
static void start(struct env *e, struct flow *f, const char *name, int want, const long *stats)
{
	struct hello_opts ho = { .sni = name };
	struct hello_out h = { .buf = hello_buf };
	uint64_t rng = 42;

	if (hello_build(&h, &ho, &rng) || h.len > 1400) {
		fprintf(stderr, "cannot build a ClientHello for %s\n", name);
		exit(1);
	}
	f->hello_len = h.len;
	f->data_seq = ISN + 1 + h.len;
	segment(e, H_XDP, "SYN", f, ISN, 0x02, NULL, 0, V_PASS,
		STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS));
	segment(e, H_XDP, "ClientHello", f, ISN + 1, 0x18, h.buf, h.len, want, stats);
}

/* The ClientHello again (a retransmission: the first bytes, so not settled); first: its
 * first byte as sent this time. */
static void hello_again(struct env *e, const char *what, const struct flow *f, uint8_t first,
			int want, const long *stats)
{
	uint8_t keep = hello_buf[0];

	hello_buf[0] = first;
	segment(e, H_XDP, what, f, ISN + 1, 0x18, hello_buf, f->hello_len, want, stats);
	hello_buf[0] = keep;
}

static void flow_key_of(const struct flow *f, struct tlsfw_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->src[10] = k->src[11] = k->dst[10] = k->dst[11] = 0xff;
	inet_pton(AF_INET, "10.0.0.1", k->src + 12);
	inet_pton(AF_INET, "10.0.0.2", k->dst + 12);
	k->sport = f->sport;
	k->dport = 443;
	k->proto = 6;
}

/* Change the flow's stored name behind the data plane's back (same length). */
static int rename_flow(const struct env *e, const struct flow *f, const char *name)
{
	struct tlsfw_flow_key k;
	struct tlsfw_flow v;

	flow_key_of(f, &k);
	if (bpf_map_lookup_elem(e->m.flows, &k, &v))
		return -errno;
	if (strlen(name) != v.hp.name_len || !v.decided)
		return -EINVAL;
	memcpy(v.name, name, strlen(name));
	v.name_cache = 0;
	return bpf_map_update_elem(e->m.flows, &k, &v, BPF_EXIST) ? -errno : 0;
}

static uint32_t epoch_of(const struct env *e, uint32_t gen)
{
	struct tlsfw_content_cfg c = { 0 };

	bpf_map_lookup_elem(e->m.content_cfg, &gen, &c);
	return c.epoch;
}

#define DEFAULT_PASS STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS)
#define NAMES_DROP STATS(rule_stat(e, "names"), TLSFW_STAT_DROP)

static void cache_decides(struct env *e)
{
	struct flow f = { .sport = 40001 };

	start(e, &f, "b.example", V_PASS, DEFAULT_PASS);
	data(e, H_XDP, "decided flow (b.example, list a.example)", &f, V_PASS, DEFAULT_PASS);
	if (rename_flow(e, &f, "a.example")) {
		fail(e, "cannot rename the flow");
		return;
	}
	data(e, H_XDP, "settled segment after a rename: the cached rule", &f, V_PASS, DEFAULT_PASS);
	data(e, H_TC_IN, "settled segment on tc ingress: the cached rule", &f, V_PASS,
	     DEFAULT_PASS);
	hello_again(e, "the ClientHello again: decided anew from the stored name", &f, 22, V_DROP,
		    NAMES_DROP);
	data(e, H_XDP, "settled segment: the rule cached by the retransmission", &f, V_DROP,
	     NAMES_DROP);
}

/* Fill generation gen with l and switch to it; its epoch into *epoch. */
static int switch_to(struct env *e, const struct loaded *l, unsigned int gen, uint32_t *epoch)
{
	if (use(e, l, gen)) {
		fail(e, "cannot fill generation %u", gen);
		return -1;
	}
	*epoch = epoch_of(e, gen);
	return 0;
}

static void replaced(struct env *e, const struct loaded *a, const struct loaded *b)
{
	struct flow f = { .sport = 40002 };
	uint32_t e0, e1, e2;

	if (switch_to(e, a, 0, &e0))
		return;
	start(e, &f, "b.example", V_PASS, DEFAULT_PASS);
	data(e, H_XDP, "policy a, settled", &f, V_PASS, DEFAULT_PASS);
	data(e, H_XDP, "policy a, settled again", &f, V_PASS, DEFAULT_PASS);
	if (switch_to(e, b, 1, &e1))
		return;
	data(e, H_XDP, "policy b in generation 1: its rule, not the cached pass", &f, V_DROP,
	     NAMES_DROP);
	data(e, H_XDP, "policy b, settled again", &f, V_DROP, NAMES_DROP);
	if (switch_to(e, a, 0, &e2))
		return;
	data(e, H_XDP, "policy a refilled in generation 0: not the cached drop", &f, V_PASS,
	     DEFAULT_PASS);
	if (!e0 || e0 % TLSFW_EPOCH_STEP || e1 != e0 + TLSFW_EPOCH_STEP ||
	    e2 != e1 + TLSFW_EPOCH_STEP)
		fail(e, "epochs %#x, %#x, %#x: want a nonzero multiple of %u counting up", e0, e1,
		     e2, TLSFW_EPOCH_STEP);
}

/* A retransmission of the first bytes that differs (CONFLICT: which copy the server took is
 * unknown) changes the facts of a decided flow: every name rule admits it (fail closed), and
 * the rule cached before must not be taken after it. */
static void conflict(struct env *e)
{
	struct flow f = { .sport = 40004 };

	start(e, &f, "b.example", V_PASS, DEFAULT_PASS);
	data(e, H_XDP, "decided flow, not in the list", &f, V_PASS, DEFAULT_PASS);
	data(e, H_XDP, "settled, cached", &f, V_PASS, DEFAULT_PASS);
	hello_again(e, "first bytes again, changed: CONFLICT", &f, 23, V_DROP, NAMES_DROP);
	data(e, H_XDP, "settled after the CONFLICT: not the cached pass", &f, V_DROP, NAMES_DROP);
	data(e, H_TC_IN, "and on tc ingress", &f, V_DROP, NAMES_DROP);
}

static void contexts(struct env *e)
{
	struct flow f = { .sport = 40003 };

	start(e, &f, "b.example", V_DROP, NAMES_DROP);
	data(e, H_XDP, "ingress rule on XDP", &f, V_DROP, NAMES_DROP);
	data(e, H_TC_OUT, "the same flow on tc egress: not in the egress rule's list", &f, V_PASS,
	     DEFAULT_PASS);
	data(e, H_TC_OUT, "tc egress again", &f, V_PASS, DEFAULT_PASS);
	data(e, H_XDP, "XDP again: the ingress rule", &f, V_DROP, NAMES_DROP);
	data(e, H_TC_IN, "tc ingress: the ingress rule", &f, V_DROP, NAMES_DROP);
}

int main(void)
{
	struct loaded a, b, in;
	struct env e = { 0 };
	int rc = env_open(&e);

	if (rc)
		return rc;
	if (load_text(&a, "a.conf", POLICY("a.example", ""), 0) ||
	    load_text(&b, "b.conf", POLICY("b.example", ""), 8) ||
	    load_text(&in, "in.conf",
		      POLICY("b.example", "    direction: ingress\n") OUT_RULE("c.example"), 16))
		return 1;
	if (use(&e, &a, 0))
		return 1;
	cache_decides(&e);
	conflict(&e);
	replaced(&e, &a, &b);
	if (use(&e, &in, 1))
		return 1;
	contexts(&e);
	rc = env_close(&e);
	free_policy(&a);
	free_policy(&b);
	free_policy(&in);
	return rc;
}
