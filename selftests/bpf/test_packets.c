// SPDX-License-Identifier: GPL-2.0
/*
 * Targeted data-plane tests: the shipped policies (read, checked and lowered by the real
 * stages, filled by bpf_fill), built packets run through tlsfw_xdp, tlsfw_tc_ingress and
 * tlsfw_tc_egress with BPF_PROG_TEST_RUN. Each case checks the program's return code, that
 * exactly the expected counters moved (by one packet and its length in bytes), and for reject
 * the reply frame field by field, checksums included.
 *
 * The same cases run with every combination table in its direct-indexed form and in its hash
 * form (tlsfw_abi.h, "fast path"), on a policy too large for the direct forms, and with the
 * interface context read from the direct words (ifindex below TLSFW_IFX_DIRECT) and from the
 * hash (above), on veth devices made in a private network namespace. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_fill.h"
#include "pkt.h"
#include "plan.h"
#include "policy.h"
#include "tlsfw.skel.h"
#include "percpu.h"
#include "treefile.h"

#define TC_ACT_UNSPEC (-1) /* tlsfw passes to the next filter */
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

enum { V_PASS, V_DROP, V_REPLY };
enum { H_XDP, H_TC_IN, H_TC_OUT, N_HOOKS };
static const char *const hook_names[N_HOOKS] = { "xdp", "tc-ingress", "tc-egress" };

/* ctx slots: ingress block 0, egress block 1 (the hook's direction) */
#define BLOCK(h) ((h) == H_TC_OUT ? 1 : 0)
#define N_WATCH (TLSFW_STAT_RULE0 + 256)

struct loaded { /* a policy and its plan: the plan points into the policy */
	struct policy pol;
	struct plan plan;
	struct diag d;
	uint32_t slot0; /* rule slots used: slot0 + rule index */
};

struct env {
	struct tlsfw *skel;
	struct bpf_maps m;
	int prog[N_HOOKS];
	int ncpu;
	const struct loaded *cur; /* policy of the active generation, for rule names */
	unsigned int failures, checks;
	uint32_t direct_max;   /* fill: fill_ids.direct_max (1: every table in its hash form) */
	uint32_t fill_ifindex; /* fill: the contexts' ifindex (0: 1, where test runs put packets) */
	uint32_t run_ifindex;  /* run: the packet's ifindex (0: the test run's default, 1) */
	uint32_t in_flags;     /* fill: context word flags of the ingress contexts */
};

static void fail(struct env *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	e->failures++;
}

/* A policy from its text, read, checked and lowered by the real stages. */
static int load_text(struct loaded *l, const char *file, const char *text, uint32_t slot0)
{
	int err;

	memset(l, 0, sizeof(*l));
	diag_init(&l->d);
	l->slot0 = slot0;
	err = policy_read_mem(&l->pol, file, text, strlen(text), &l->d);
	if (!err && l->d.errors)
		err = -EINVAL;
	if (!err)
		err = policy_check(&l->pol, &l->d);
	if (!err)
		err = policy_lower(&l->pol, NULL, &l->plan, &l->d);
	if (err || l->d.errors) {
		diag_print(&l->d, stderr);
		fprintf(stderr, "%s: read/check/lower failed: %d\n", file, err);
		return err ? err : -EINVAL;
	}
	return 0;
}

/* A shipped policy, with extra top-level keys appended (fragments: drop, ...). */
static int load_policy(struct loaded *l, const char *file, const char *extra, uint32_t slot0)
{
	size_t len = 0;
	char *text = tree_file(file, &len), *all;
	int err;

	if (!text) {
		memset(l, 0, sizeof(*l));
		diag_init(&l->d);
		fprintf(stderr, "cannot read %s (run from the source tree or set TLSFW_ROOT)\n",
			file);
		return -ENOENT;
	}
	if (asprintf(&all, "%s\n%s", text, extra ? extra : "") < 0) {
		free(text);
		return -ENOMEM;
	}
	free(text);
	err = load_text(l, file, all, slot0);
	free(all);
	return err;
}

static void free_policy(struct loaded *l)
{
	plan_free(&l->plan);
	policy_free(&l->pol);
	diag_free(&l->d);
}

/* Fill a generation: every context of the plan on ifindex 1 (where BPF_PROG_TEST_RUN puts
 * packets), plus egress with the ingress class when the policy has only ingress hooks. */
static int fill(struct env *e, const struct loaded *l, unsigned int gen)
{
	const struct plan *pl = &l->plan;
	struct plan p2 = *pl;
	struct plan_ctx ctx[TLSFW_MAX_CTX + 1];
	uint32_t ifindex[TLSFW_MAX_CTX + 1], ctx_slot[TLSFW_MAX_CTX + 1], *slots;
	uint32_t flags[TLSFW_MAX_CTX + 1] = {};
	bool have[2] = { false, false };
	struct fill_ids ids;
	struct diag d;
	size_t n = 0;
	int err;

	for (size_t i = 0; i < pl->n_ctx && n < 2; i++) {
		if (have[pl->ctx[i].dir & 1])
			continue;
		have[pl->ctx[i].dir & 1] = true;
		ctx[n] = pl->ctx[i];
		ifindex[n] = e->fill_ifindex ? e->fill_ifindex : 1;
		ctx_slot[n] = pl->ctx[i].dir & 1;
		n++;
	}
	for (int dir = 0; dir < 2 && n; dir++) {
		if (have[dir])
			continue;
		ctx[n] = ctx[0];
		ctx[n].dir = dir;
		ifindex[n] = e->fill_ifindex ? e->fill_ifindex : 1;
		ctx_slot[n] = dir;
		n++;
	}
	p2.ctx = ctx;
	p2.n_ctx = n;
	for (size_t i = 0; i < n; i++)
		flags[i] = ctx[i].dir == TLSFW_DIR_INGRESS ? e->in_flags : 0;
	slots = calloc(pl->n_rules + 1, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n_rules; i++)
		slots[i] = l->slot0 + i;
	ids = (struct fill_ids){ .rule_slot = slots,
				 .ifindex = ifindex,
				 .ctx_slot = ctx_slot,
				 .ctx_flags = flags,
				 .direct_max = e->direct_max };
	diag_init(&d);
	err = bpf_clear_gen(&e->m, gen);
	if (!err)
		err = bpf_fill_gen(&e->m, &p2, gen, &ids, &d);
	if (err) {
		diag_print(&d, stderr);
		fprintf(stderr, "fill gen %u: %s\n", gen, strerror(-err));
	}
	diag_free(&d);
	free(slots);
	return err;
}

static int use(struct env *e, const struct loaded *l, unsigned int gen)
{
	unsigned int g = 9;
	int err = fill(e, l, gen);

	if (!err)
		err = bpf_set_gen(&e->m, gen);
	if (!err)
		err = bpf_get_gen(&e->m, &g);
	if (!err && g != gen)
		err = -EIO;
	if (!err)
		e->cur = l;
	return err;
}

struct snap {
	uint64_t pk[2][N_WATCH], by[2][N_WATCH];
};

static int snapshot(struct env *e, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	for (int b = 0; b < 2; b++) {
		int err = percpu_counters_sum(e->m.counters, b * TLSFW_SLOTS_PER_CTX, N_WATCH,
					      e->ncpu, s->pk[b], s->by[b]);

		if (err)
			return err;
	}
	return 0;
}

static long rule_stat(struct env *e, const char *name)
{
	for (size_t i = 0; i < e->cur->plan.n_rules; i++)
		if (!strcmp(e->cur->plan.rules[i].name, name))
			return TLSFW_STAT_RULE0 + e->cur->slot0 + i;
	fprintf(stderr, "no rule '%s' in the plan\n", name);
	exit(1);
}

static int verdict_code(int hook, int v)
{
	if (hook == H_XDP)
		return v == V_PASS ? XDP_PASS : v == V_DROP ? XDP_DROP : XDP_TX;
	return v == V_PASS ? TC_ACT_UNSPEC : v == V_DROP ? TC_ACT_SHOT : TC_ACT_REDIRECT;
}

/*
 * Run one frame through a hook. want: the verdict; stats: the counters (indexes in the
 * hook's block) expected to move by exactly one packet, -1 terminated; every other watched
 * counter must stay. out/out_len receive the frame after the program (for replies).
 */
static void run(struct env *e, int hook, const char *what, const struct pkt *p, int want,
		const long *stats, uint8_t *out, uint32_t *out_len)
{
	uint8_t buf[PKT_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = p->len,
		    .data_out = buf, .data_size_out = sizeof(buf), .repeat = 1);
	struct xdp_md xctx = { .data_end = p->len, .ingress_ifindex = e->run_ifindex };
	struct __sk_buff sctx = { .ifindex = e->run_ifindex };
	struct snap a, b;
	int err;

	e->checks++;
	if (e->run_ifindex && hook == H_XDP) {
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
	} else if (e->run_ifindex) {
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
	}
	if (snapshot(e, &a)) {
		fail(e, "%s %s: cannot read counters", hook_names[hook], what);
		return;
	}
	err = bpf_prog_test_run_opts(e->prog[hook], &o);
	if (err) {
		fail(e, "%s %s: test run: %s", hook_names[hook], what, strerror(errno));
		return;
	}
	if ((int)o.retval != verdict_code(hook, want))
		fail(e, "%s %s: returned %u, want %d", hook_names[hook], what, o.retval,
		     verdict_code(hook, want));
	if (snapshot(e, &b)) {
		fail(e, "%s %s: cannot read counters", hook_names[hook], what);
		return;
	}
	for (int blk = 0; blk < 2; blk++) {
		for (uint32_t i = 0; i < N_WATCH; i++) {
			uint64_t dp = b.pk[blk][i] - a.pk[blk][i], db = b.by[blk][i] - a.by[blk][i];
			uint64_t wp = 0;

			for (const long *s = stats; blk == BLOCK(hook) && s && *s >= 0; s++)
				if ((uint32_t)*s == i)
					wp++;
			if (dp != wp || db != wp * p->len)
				fail(e,
				     "%s %s: counter %u of block %d moved by %lu packets / %lu bytes, want %lu / %lu",
				     hook_names[hook], what, i, blk, (unsigned long)dp,
				     (unsigned long)db, (unsigned long)wp,
				     (unsigned long)(wp * p->len));
		}
	}
	if (out) {
		memcpy(out, buf, o.data_size_out < sizeof(buf) ? o.data_size_out : sizeof(buf));
		*out_len = o.data_size_out;
	}
}

#define STATS(...) ((const long[]){ __VA_ARGS__, -1 })

static void build(struct env *e, struct pkt *p, const struct pkt_opts *o, const char *what)
{
	if (pkt_build(p, o)) {
		fprintf(stderr, "cannot build packet %s\n", what);
		exit(1);
	}
}

/* The same case on every hook (fragment ids kept apart per hook by the caller). */
static void all_hooks(struct env *e, const char *what, const struct pkt_opts *o, int want,
		      const long *stats)
{
	struct pkt p;

	build(e, &p, o, what);
	for (int h = 0; h < N_HOOKS; h++)
		run(e, h, what, &p, want, stats, NULL, NULL);
}

/* ---- reply checks ---------------------------------------------------------------------- */

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)b[0] << 8 | b[1];
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)get16(b) << 16 | get16(b + 2);
}

static void check_l2(struct env *e, const char *what, const struct pkt *in, const uint8_t *out)
{
	if (memcmp(out, in->buf + 6, 6) || memcmp(out + 6, in->buf, 6))
		fail(e, "%s: MAC addresses not swapped", what);
	if (memcmp(out + 12, in->buf + 12, in->l3_off - 12))
		fail(e, "%s: VLAN tags / EtherType not kept", what);
}

/* Reply IP header: addresses turned around, checksum; returns the L4 offset. */
static size_t check_ip(struct env *e, const char *what, const struct pkt *in, const uint8_t *out,
		       uint32_t len, int family, uint8_t proto)
{
	const uint8_t *ih = in->buf + in->l3_off, *oh = out + in->l3_off;

	if (family == 4) {
		if (oh[0] != 0x45 || oh[9] != proto || get16(oh + 2) != len - in->l3_off)
			fail(e, "%s: bad IPv4 header (vihl %#x proto %u len %u of %u)", what, oh[0],
			     oh[9], get16(oh + 2), len - (uint32_t)in->l3_off);
		if (pkt_csum(oh, 20, 0) != 0)
			fail(e, "%s: bad IPv4 header checksum", what);
		if (memcmp(oh + 12, ih + 16, 4) || memcmp(oh + 16, ih + 12, 4))
			fail(e, "%s: IPv4 addresses not turned around", what);
		return in->l3_off + 20;
	}
	if (oh[0] >> 4 != 6 || oh[6] != proto || get16(oh + 4) != len - in->l3_off - 40)
		fail(e, "%s: bad IPv6 header (next %u payload %u of %u)", what, oh[6],
		     get16(oh + 4), len - (uint32_t)in->l3_off - 40);
	if (memcmp(oh + 8, ih + 24, 16) || memcmp(oh + 24, ih + 8, 16))
		fail(e, "%s: IPv6 addresses not turned around", what);
	return in->l3_off + 40;
}

static void check_icmp(struct env *e, const char *what, const struct pkt *in, const uint8_t *out,
		       uint32_t len, int family)
{
	size_t l4 = check_ip(e, what, in, out, len, family, family == 4 ? 1 : 58);
	const uint8_t *ic = out + l4;
	size_t iplen = family == 4 ? get16(in->buf + in->l3_off + 2) :
				     40u + get16(in->buf + in->l3_off + 4);
	size_t q = family == 4 ? (size_t)(in->buf[in->l3_off] & 0xf) * 4 + 8 : 1232;
	uint32_t sum = 0;

	if (q > iplen)
		q = iplen;
	if (len != l4 + 8 + q) {
		fail(e, "%s: reply is %u bytes, want %zu (quote %zu)", what, len, l4 + 8 + q, q);
		return;
	}
	if (family == 4 && (ic[0] != 3 || ic[1] != 13))
		fail(e, "%s: ICMP type %u code %u, want 3/13", what, ic[0], ic[1]);
	if (family == 6 && (ic[0] != 1 || ic[1] != 1))
		fail(e, "%s: ICMPv6 type %u code %u, want 1/1", what, ic[0], ic[1]);
	if (family == 6)
		sum = pkt_pseudo_sum(6, out + in->l3_off + 8, out + in->l3_off + 24, 58, 8 + q);
	if (pkt_csum(ic, 8 + q, sum) != 0)
		fail(e, "%s: bad ICMP checksum", what);
	if (memcmp(ic + 8, in->buf + in->l3_off, q))
		fail(e, "%s: quote differs from the offending packet", what);
}

static void check_rst(struct env *e, const char *what, const struct pkt *in, const uint8_t *out,
		      uint32_t len, int family, size_t payload)
{
	size_t l4 = check_ip(e, what, in, out, len, family, 6);
	const uint8_t *th = out + l4, *it = in->buf + in->l4_off;
	uint8_t src[16], dst[16];
	uint32_t sum;

	if (len != l4 + 20) {
		fail(e, "%s: RST is %u bytes, want %zu", what, len, l4 + 20);
		return;
	}
	if (get16(th) != get16(it + 2) || get16(th + 2) != get16(it))
		fail(e, "%s: ports not turned around", what);
	if (it[13] & 0x10) { /* answering an ACK: <SEQ=SEG.ACK><CTL=RST> */
		if (th[13] != 0x04 || get32(th + 4) != get32(it + 8))
			fail(e, "%s: RST flags %#x seq %u, want 0x4 and %u", what, th[13],
			     get32(th + 4), get32(it + 8));
	} else { /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
		uint32_t want = get32(it + 4) + payload + !!(it[13] & 0x02) + !!(it[13] & 0x01);

		if (th[13] != 0x14 || get32(th + 4) != 0 || get32(th + 8) != want)
			fail(e, "%s: RST flags %#x seq %u ack %u, want 0x14, 0, %u", what, th[13],
			     get32(th + 4), get32(th + 8), want);
	}
	if (family == 4) {
		memcpy(src, out + in->l3_off + 12, 4);
		memcpy(dst, out + in->l3_off + 16, 4);
	} else {
		memcpy(src, out + in->l3_off + 8, 16);
		memcpy(dst, out + in->l3_off + 24, 16);
	}
	sum = pkt_pseudo_sum(family, src, dst, 6, 20);
	if (pkt_csum(th, 20, sum) != 0)
		fail(e, "%s: bad TCP checksum", what);
}

/* ---- cases ------------------------------------------------------------------------------ */

static void reject_case(struct env *e, const char *what, const struct pkt_opts *o, const char *rule,
			size_t payload)
{
	long st[] = { rule_stat(e, rule), TLSFW_STAT_REJECT, TLSFW_STAT_REJECT_SENT, -1 };
	uint8_t out[PKT_MAX + 256];
	uint32_t len = 0;
	struct pkt p;
	char name[160];

	build(e, &p, o, what);
	for (int h = 0; h < N_HOOKS; h++) {
		snprintf(name, sizeof(name), "%s %s", hook_names[h], what);
		run(e, h, what, &p, V_REPLY, st, out, &len);
		if (o->proto == 6)
			check_rst(e, name, &p, out, len, o->family ? o->family : 4, payload);
		else
			check_icmp(e, name, &p, out, len, o->family ? o->family : 4);
		check_l2(e, name, &p, out);
	}
}

static void block_quic(struct env *e)
{
	long quic = rule_stat(e, "block-quic"), https = rule_stat(e, "allow-https");
	const long *rej = STATS(quic, TLSFW_STAT_REJECT, TLSFW_STAT_REJECT_SENT);

	for (int fam = 4; fam <= 6; fam += 2) {
		char w[64];

		snprintf(w, sizeof(w), "IPv%d UDP 443", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .payload = 100 }, V_REPLY, rej);
		snprintf(w, sizeof(w), "IPv%d UDP 80", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .dport = 80 }, V_REPLY, rej);
		snprintf(w, sizeof(w), "IPv%d TCP 443", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .proto = 6 }, V_PASS,
			  STATS(https, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "IPv%d UDP 4433 (default)", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .dport = 4433 }, V_PASS,
			  STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "IPv%d ICMP echo (default)", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .proto = fam == 4 ? 1 : 58 },
			  V_PASS, STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "IPv%d UDP 443 in 802.1Q", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .n_vlan = 1, .vlan_id = { 10 } },
			  V_REPLY, rej);
		snprintf(w, sizeof(w), "IPv%d UDP 443 in QinQ", fam);
		all_hooks(e, w,
			  &(struct pkt_opts){ .family = fam,
					      .n_vlan = 2,
					      .vlan_tpid = { 0x88a8, 0x8100 },
					      .vlan_id = { 100, 10 } },
			  V_REPLY, rej);
		snprintf(w, sizeof(w), "IPv%d UDP 443 priority-tagged", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .n_vlan = 1 }, V_REPLY, rej);
		snprintf(w, sizeof(w), "IPv%d TCP 443 in QinQ", fam);
		all_hooks(e, w,
			  &(struct pkt_opts){ .family = fam,
					      .proto = 6,
					      .n_vlan = 2,
					      .vlan_tpid = { 0x88a8, 0x8100 } },
			  V_PASS, STATS(https, TLSFW_STAT_PASS));
	}
	all_hooks(e, "IPv4 UDP 443 with 40 bytes of options", &(struct pkt_opts){ .ip4_opts = 40 },
		  V_REPLY, rej);
	all_hooks(e, "IPv4 TCP 443 with options", &(struct pkt_opts){ .ip4_opts = 12, .proto = 6 },
		  V_PASS, STATS(https, TLSFW_STAT_PASS));
	all_hooks(e, "IPv6 UDP 443 behind hop-by-hop, routing, dst options, AH",
		  &(struct pkt_opts){ .family = 6, .n_ext = 4, .ext = { 0, 43, 60, 51 } }, V_REPLY,
		  rej);
	all_hooks(e, "IPv6 TCP 443 behind 8 extension headers",
		  &(struct pkt_opts){ .family = 6,
				      .proto = 6,
				      .n_ext = 8,
				      .ext = { 0, 60, 43, 51, 60, 43, 51, 60 } },
		  V_PASS, STATS(https, TLSFW_STAT_PASS));
	all_hooks(e, "IPv6 UDP 443 in QinQ behind extension headers",
		  &(struct pkt_opts){ .family = 6, .n_vlan = 2, .n_ext = 2, .ext = { 0, 60 } },
		  V_REPLY, rej);
	all_hooks(e, "ARP", &(struct pkt_opts){ .ethertype = 0x0806 }, V_PASS, NULL);
	all_hooks(e, "ARP in 802.1Q", &(struct pkt_opts){ .ethertype = 0x0806, .n_vlan = 1 },
		  V_PASS, NULL);
	all_hooks(e, "LLDP", &(struct pkt_opts){ .ethertype = 0x88cc }, V_PASS, NULL);
}

static void malformed(struct env *e)
{
	int drop = e->cur->plan.malformed_action == TLSFW_ACT_ALLOW ? V_PASS : V_DROP;
	long total = drop == V_PASS ? TLSFW_STAT_PASS : TLSFW_STAT_DROP;
	/* poke: 1 IHL 4, 2 wrong version, 3 total length 16; xdp_only: BPF_PROG_TEST_RUN of tc
	 * programs refuses frames without a whole IP header (it reads it for socket lookup) */
	struct {
		const char *what;
		struct pkt_opts o;
		long stat;
		int poke, xdp_only;
	} c[] = {
		{ "IPv4 cut in the IP header",
		  { .truncate = 14 + 10 },
		  TLSFW_STAT_MALFORMED_TRUNCATED,
		  0,
		  1 },
		{ "IPv4 cut in the options",
		  { .ip4_opts = 20, .truncate = 14 + 30 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv4 cut in the UDP header",
		  { .payload = 60, .truncate = 14 + 20 + 4 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv4 cut in the TCP header",
		  { .proto = 6, .payload = 40, .truncate = 14 + 20 + 12 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv4 UDP header cut short by its IP length",
		  { .l4_cut = 4 },
		  TLSFW_STAT_MALFORMED_TRUNCATED },
		{ "IPv4 TCP header cut short by its IP length",
		  { .proto = 6, .l4_cut = 12 },
		  TLSFW_STAT_MALFORMED_TRUNCATED },
		{ "IPv4 IHL 4", { 0 }, TLSFW_STAT_MALFORMED_IHL, 1 },
		{ "IPv4 version 5", { 0 }, TLSFW_STAT_MALFORMED_VERSION, 2 },
		{ "IPv4 total length below the header", { 0 }, TLSFW_STAT_MALFORMED_LENGTH, 3 },
		{ "IPv6 cut in the IP header",
		  { .family = 6, .truncate = 14 + 20 },
		  TLSFW_STAT_MALFORMED_TRUNCATED,
		  0,
		  1 },
		{ "IPv6 cut in an extension header",
		  { .family = 6, .n_ext = 2, .ext = { 0, 60 }, .truncate = 14 + 40 + 12 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv6 cut in the UDP header",
		  { .family = 6, .truncate = 14 + 40 + 4 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv6 UDP header cut short by its IP length",
		  { .family = 6, .n_ext = 1, .ext = { 60 }, .l4_cut = 6 },
		  TLSFW_STAT_MALFORMED_TRUNCATED },
		{ "IPv6 9 extension headers",
		  { .family = 6, .n_ext = 9, .ext = { 0, 60, 60, 60, 60, 60, 60, 60, 60 } },
		  TLSFW_STAT_MALFORMED_EXTHDR },
		{ "IPv6 version 4", { .family = 6 }, TLSFW_STAT_MALFORMED_VERSION, 2 },
		{ "3 VLAN tags", { .n_vlan = 3 }, TLSFW_STAT_MALFORMED_VLAN },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct pkt p;

		build(e, &p, &c[i].o, c[i].what);
		if (c[i].poke == 1)
			p.buf[p.l3_off] = 0x44;
		if (c[i].poke == 2)
			p.buf[p.l3_off] = c[i].o.family == 6 ? 0x40 : 0x55;
		if (c[i].poke == 3) {
			p.buf[p.l3_off + 2] = 0;
			p.buf[p.l3_off + 3] = 16;
		}
		for (int h = 0; h < (c[i].xdp_only ? 1 : N_HOOKS); h++)
			run(e, h, c[i].what, &p, drop, STATS(c[i].stat, total), NULL, NULL);
	}
	/* not IP: a frame cut inside its VLAN tag is left alone, uncounted */
	all_hooks(e, "cut in the VLAN tag", &(struct pkt_opts){ .n_vlan = 1, .truncate = 16 },
		  V_PASS, NULL);
}

static void rejects(struct env *e)
{
	reject_case(e, "reject IPv4 UDP 443", &(struct pkt_opts){ .payload = 200 }, "block-quic",
		    0);
	reject_case(e, "reject IPv4 UDP 443 odd length", &(struct pkt_opts){ .payload = 3 },
		    "block-quic", 0);
	reject_case(e, "reject IPv4 UDP 443 with options",
		    &(struct pkt_opts){ .ip4_opts = 40, .payload = 50 }, "block-quic", 0);
	reject_case(e, "reject IPv4 UDP 443 in QinQ",
		    &(struct pkt_opts){
			    .n_vlan = 2, .vlan_tpid = { 0x88a8, 0x8100 }, .vlan_id = { 5, 6 } },
		    "block-quic", 0);
	reject_case(e, "reject IPv6 UDP 443", &(struct pkt_opts){ .family = 6, .payload = 333 },
		    "block-quic", 0);
	reject_case(e, "reject IPv6 UDP 443 big (quote cut at 1280)",
		    &(struct pkt_opts){ .family = 6, .payload = 1400 }, "block-quic", 0);
	reject_case(e, "reject IPv6 UDP 443 in 802.1Q behind extension headers",
		    &(struct pkt_opts){ .family = 6,
					.n_vlan = 1,
					.vlan_id = { 7 },
					.n_ext = 3,
					.ext = { 0, 43, 51 },
					.payload = 21 },
		    "block-quic", 0);
}

static void reject_tcp(struct env *e, struct loaded *rej)
{
	/* a policy rejecting TCP 443: block-quic with the https rule turned into reject */
	reject_case(e, "reject IPv4 TCP SYN", &(struct pkt_opts){ .proto = 6, .seq = 1000 },
		    "allow-https", 0);
	reject_case(e, "reject IPv4 TCP ACK with data",
		    &(struct pkt_opts){
			    .proto = 6, .tcp_flags = 0x18, .seq = 5, .ack = 77777, .payload = 100 },
		    "allow-https", 100);
	reject_case(e, "reject IPv4 TCP FIN without ACK",
		    &(struct pkt_opts){ .proto = 6,
					.tcp_flags = 0x01,
					.seq = 0xfffffff0,
					.payload = 20,
					.ip4_opts = 8 },
		    "allow-https", 20);
	reject_case(e, "reject IPv6 TCP SYN in QinQ",
		    &(struct pkt_opts){ .family = 6, .proto = 6, .n_vlan = 2, .seq = 42 },
		    "allow-https", 0);
	reject_case(e, "reject IPv6 TCP ACK behind extension headers",
		    &(struct pkt_opts){ .family = 6,
					.proto = 6,
					.tcp_flags = 0x10,
					.ack = 99,
					.n_ext = 2,
					.ext = { 0, 60 },
					.payload = 10 },
		    "allow-https", 10);
	/* a reset is never answered */
	all_hooks(e, "reject IPv4 TCP RST: no answer",
		  &(struct pkt_opts){ .proto = 6, .tcp_flags = 0x04 }, V_DROP,
		  STATS(rule_stat(e, "allow-https"), TLSFW_STAT_REJECT, TLSFW_STAT_REJECT_FAILED));
}

/* Fragments under the plan's mode; id_base keeps the datagrams of each call apart. */
static void fragments(struct env *e, uint32_t id_base)
{
	int mode = e->cur->plan.frag_mode;
	long quic = rule_stat(e, "block-quic"), https = rule_stat(e, "allow-https");

	for (int fam = 4; fam <= 6; fam += 2) {
		for (int h = 0; h < N_HOOKS; h++) {
			uint32_t id = id_base + fam * 100 + h * 10;
			struct pkt p;
			char w[96];

#define FRAG(what_, opts_, want_, ...)                                        \
	do {                                                                  \
		snprintf(w, sizeof(w), "IPv%d %s (fragments %s)", fam, what_, \
			 pol_frag_names[mode]);                               \
		struct pkt_opts o_ = opts_;                                   \
		build(e, &p, &o_, w);                                         \
		run(e, h, w, &p, want_, STATS(__VA_ARGS__), NULL, NULL);      \
	} while (0)

			if (mode == TLSFW_FRAG_DROP) {
				FRAG("UDP 443 first fragment",
				     ((struct pkt_opts){ .family = fam,
							 .frag = PKT_FRAG_FIRST,
							 .frag_id = id }),
				     V_DROP, TLSFW_STAT_FRAG_DROPPED, TLSFW_STAT_DROP);
				FRAG("later fragment",
				     ((struct pkt_opts){ .family = fam,
							 .frag = PKT_FRAG_LATER,
							 .frag_id = id }),
				     V_DROP, TLSFW_STAT_FRAG_DROPPED, TLSFW_STAT_DROP);
				FRAG("TCP 443 first fragment",
				     ((struct pkt_opts){ .family = fam,
							 .proto = 6,
							 .frag = PKT_FRAG_FIRST,
							 .frag_id = id + 1 }),
				     V_DROP, TLSFW_STAT_FRAG_DROPPED, TLSFW_STAT_DROP);
				continue;
			}
			/* the first fragment is decided by the rules; a reject cannot be answered */
			FRAG("UDP 443 first fragment",
			     ((struct pkt_opts){ .family = fam,
						 .frag = PKT_FRAG_FIRST,
						 .frag_id = id,
						 .payload = 32 }),
			     V_DROP, quic, TLSFW_STAT_REJECT, TLSFW_STAT_REJECT_FAILED);
			FRAG("TCP 443 first fragment",
			     ((struct pkt_opts){ .family = fam,
						 .proto = 6,
						 .frag = PKT_FRAG_FIRST,
						 .frag_id = id + 1 }),
			     V_PASS, https, TLSFW_STAT_PASS);
			FRAG("tiny first fragment (4 bytes of UDP)",
			     ((struct pkt_opts){ .family = fam,
						 .frag = PKT_FRAG_FIRST,
						 .frag_id = id + 2,
						 .l4_cut = 4 }),
			     V_DROP, TLSFW_STAT_FRAG_TINY, TLSFW_STAT_DROP);
			FRAG("tiny first fragment (12 bytes of TCP)",
			     ((struct pkt_opts){ .family = fam,
						 .proto = 6,
						 .frag = PKT_FRAG_FIRST,
						 .frag_id = id + 3,
						 .l4_cut = 12 }),
			     V_DROP, TLSFW_STAT_FRAG_TINY, TLSFW_STAT_DROP);
			if (mode == TLSFW_FRAG_ALLOW) {
				FRAG("later fragment of UDP 443",
				     ((struct pkt_opts){ .family = fam,
							 .frag = PKT_FRAG_LATER,
							 .frag_id = id }),
				     V_PASS, TLSFW_STAT_FRAG_ALLOWED, TLSFW_STAT_PASS);
				FRAG("later fragment without first",
				     ((struct pkt_opts){ .family = fam,
							 .frag = PKT_FRAG_LATER,
							 .frag_id = id + 4 }),
				     V_PASS, TLSFW_STAT_FRAG_ALLOWED, TLSFW_STAT_PASS);
				continue;
			}
			FRAG("later fragment of UDP 443",
			     ((struct pkt_opts){
				     .family = fam, .frag = PKT_FRAG_LATER, .frag_id = id }),
			     V_DROP, TLSFW_STAT_FRAG_FOLLOWED, quic, TLSFW_STAT_REJECT,
			     TLSFW_STAT_REJECT_FAILED);
			FRAG("last fragment of UDP 443",
			     ((struct pkt_opts){ .family = fam,
						 .frag = PKT_FRAG_LATER,
						 .frag_id = id,
						 .frag_off = 2960 }),
			     V_DROP, TLSFW_STAT_FRAG_FOLLOWED, quic, TLSFW_STAT_REJECT,
			     TLSFW_STAT_REJECT_FAILED);
			FRAG("later fragment of TCP 443",
			     ((struct pkt_opts){ .family = fam,
						 .proto = 6,
						 .frag = PKT_FRAG_LATER,
						 .frag_id = id + 1 }),
			     V_PASS, TLSFW_STAT_FRAG_FOLLOWED, https, TLSFW_STAT_PASS);
			FRAG("later fragment of the tiny first",
			     ((struct pkt_opts){
				     .family = fam, .frag = PKT_FRAG_LATER, .frag_id = id + 2 }),
			     V_DROP, TLSFW_STAT_FRAG_NO_FIRST, TLSFW_STAT_DROP);
			FRAG("later fragment without first",
			     ((struct pkt_opts){
				     .family = fam, .frag = PKT_FRAG_LATER, .frag_id = id + 4 }),
			     V_DROP, TLSFW_STAT_FRAG_NO_FIRST, TLSFW_STAT_DROP);
			FRAG("later fragment, other protocol",
			     ((struct pkt_opts){ .family = fam,
						 .proto = 6,
						 .frag = PKT_FRAG_LATER,
						 .frag_id = id }),
			     V_DROP, TLSFW_STAT_FRAG_NO_FIRST, TLSFW_STAT_DROP);
#undef FRAG
		}
	}
}

static void block_dot(struct env *e)
{
	long dot = rule_stat(e, "block-dot"), dns = rule_stat(e, "allow-dns");

	for (int fam = 4; fam <= 6; fam += 2) {
		char w[64];

		snprintf(w, sizeof(w), "IPv%d TCP 853", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .proto = 6, .dport = 853 },
			  V_DROP, STATS(dot, TLSFW_STAT_DROP));
		snprintf(w, sizeof(w), "IPv%d UDP 853", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .dport = 853 }, V_DROP,
			  STATS(dot, TLSFW_STAT_DROP));
		snprintf(w, sizeof(w), "IPv%d UDP 53", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .dport = 53 }, V_PASS,
			  STATS(dns, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "IPv%d TCP 53", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .proto = 6, .dport = 53 },
			  V_PASS, STATS(dns, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "IPv%d UDP 443 (default under block-dot)", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam }, V_PASS,
			  STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "IPv%d TCP 853 from port 853 in 802.1Q", fam);
		all_hooks(e, w,
			  &(struct pkt_opts){ .family = fam,
					      .proto = 6,
					      .sport = 853,
					      .dport = 853,
					      .n_vlan = 1 },
			  V_DROP, STATS(dot, TLSFW_STAT_DROP));
	}
}

/* ---- fast path: direct-indexed and hash forms, context fallback --------------------------- */

#define FORMS                                                              \
	(TLSFW_CFG_B_CONST | TLSFW_CFG_NO_MATCH | TLSFW_CFG_COMB1_DIRECT | \
	 TLSFW_CFG_COMB3_DIRECT | TLSFW_CFG_FUSED)

/* The forms bpf_fill chose for generation gen must be want (TLSFW_CFG_* bits of FORMS). */
static void want_forms(struct env *e, unsigned int gen, uint32_t want, const char *what)
{
	struct tlsfw_cfg c;

	e->checks++;
	if (bpf_get_cfg(&e->m, gen, &c)) {
		fail(e, "%s: cannot read the configuration of generation %u", what, gen);
		return;
	}
	if ((c.flags & FORMS) != want)
		fail(e, "%s: configuration flags %#x, want %#x", what, c.flags & FORMS, want);
}

/*
 * n pairs of rules, too many classes for the direct forms: u<k> drops UDP from port 20000 + k
 * to port 30000 + k (sport x dport classes: comb1 beyond TLSFW_DIRECT_WORDS); t<k> drops TCP
 * from port 50000 + k to port 40000 + k; with addrs both only to 10.(k / 256).(k % 256).0/24
 * (then A x B classes put comb3 beyond it too, and B is no longer constant). Every rule has
 * all the fields so that the tables stay small in entries (the lowering's limit) while their
 * class products are large.
 */
static char *big_policy(unsigned int n, bool addrs)
{
	size_t cap = 256 + n * 320, len; /* a pair takes under 220 bytes */
	char *s = malloc(cap);

	if (!s)
		return NULL;
	len = snprintf(
		s, cap,
		"version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress, egress]\ndefault: allow\nrules:\n");
	for (unsigned int k = 0; k < n; k++) {
		len += snprintf(
			s + len, cap - len,
			"  - name: u%u\n    proto: udp\n    sport: %u\n    dport: %u\n    action: drop\n",
			k, 20000 + k, 30000 + k);
		if (addrs)
			len += snprintf(s + len, cap - len, "    dst: [10.%u.%u.0/24]\n", k / 256,
					k % 256);
		len += snprintf(
			s + len, cap - len,
			"  - name: t%u\n    proto: tcp\n    sport: %u\n    dport: %u\n    action: drop\n",
			k, 50000 + k, 40000 + k);
		if (addrs)
			len += snprintf(s + len, cap - len, "    dst: [10.%u.%u.0/24]\n", k / 256,
					k % 256);
	}
	return s;
}

static void big_cases(struct env *e, bool addrs)
{
	static const unsigned int ks[] = { 0, 7, 100 };
	char w[128], dst[32];

	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		unsigned int k = ks[i];
		char u[16], t[16];

		snprintf(u, sizeof(u), "u%u", k);
		snprintf(t, sizeof(t), "t%u", k);
		snprintf(dst, sizeof(dst), "10.%u.%u.9", k / 256, k % 256);
		snprintf(w, sizeof(w), "big policy: UDP %u -> %u", 20000 + k, 30000 + k);
		all_hooks(e, w,
			  &(struct pkt_opts){ .dst = dst, .sport = 20000 + k, .dport = 30000 + k },
			  V_DROP, STATS(rule_stat(e, u), TLSFW_STAT_DROP));
		snprintf(w, sizeof(w), "big policy: UDP %u -> %u (default)", 20000 + k, 30001 + k);
		all_hooks(e, w,
			  &(struct pkt_opts){ .dst = dst, .sport = 20000 + k, .dport = 30001 + k },
			  V_PASS, STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "big policy: TCP to %s port %u", dst, 40000 + k);
		all_hooks(e, w,
			  &(struct pkt_opts){
				  .proto = 6, .dst = dst, .sport = 50000 + k, .dport = 40000 + k },
			  V_DROP, STATS(rule_stat(e, t), TLSFW_STAT_DROP));
		snprintf(w, sizeof(w), "big policy: TCP to 10.200.0.1 port %u (%s)", 40000 + k,
			 addrs ? "default" : "rule");
		if (addrs)
			all_hooks(e, w,
				  &(struct pkt_opts){ .proto = 6,
						      .dst = "10.200.0.1",
						      .sport = 50000 + k,
						      .dport = 40000 + k },
				  V_PASS, STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS));
		else
			all_hooks(e, w,
				  &(struct pkt_opts){ .proto = 6,
						      .dst = "10.200.0.1",
						      .sport = 50000 + k,
						      .dport = 40000 + k },
				  V_DROP, STATS(rule_stat(e, t), TLSFW_STAT_DROP));
	}
	all_hooks(e, "big policy: IPv6 UDP 443 (default)", &(struct pkt_opts){ .family = 6 },
		  V_PASS, STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS));
}

/*
 * Policies whose class products exceed the direct forms must decide the same through the
 * hash forms; and with addresses but fewer rules, comb1 and comb3 are direct but not fused.
 */
static int too_big(struct env *e)
{
	static const struct {
		unsigned int n;
		bool addrs;
		uint32_t forms;
		const char *name;
	} c[] = {
		/* without addresses comb3 still fits: one table in each form */
		{ 1100, false, TLSFW_CFG_B_CONST | TLSFW_CFG_COMB3_DIRECT, "big.conf" },
		{ 1100, true, 0, "big-addrs.conf" },
		{ 128, true, TLSFW_CFG_COMB1_DIRECT | TLSFW_CFG_COMB3_DIRECT, "addrs.conf" },
	};
	struct loaded big;
	char *yaml;
	int err;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		yaml = big_policy(c[i].n, c[i].addrs);
		if (!yaml)
			return -ENOMEM;
		err = load_text(&big, c[i].name, yaml, 0);
		free(yaml);
		if (!err)
			err = use(e, &big, i & 1);
		if (err) {
			free_policy(&big);
			return err;
		}
		want_forms(e, i & 1, c[i].forms, c[i].name);
		big_cases(e, c[i].addrs);
		e->cur = NULL;
		free_policy(&big);
	}
	return 0;
}

/*
 * The XDP -> tc handoff (tlsfw_abi.h, tlsfw_xdp_meta): with TLSFW_DW_HANDOFF in the ingress
 * context word, XDP counts the reject (rule and verdict total, not REJECT_SENT: tc counts
 * that) and passes the frame unchanged behind the metadata record; the tc hooks build their
 * replies themselves as before. (tlsfw_tc_reply, the other half, needs a real skb with
 * metadata: test_reject.sh covers it end to end.)
 */
static void handoff(struct env *e, const struct loaded *quic)
{
	struct tlsfw_xdp_meta m;
	uint8_t buf[PKT_MAX + 256];
	struct xdp_md ctx = {}, ctx_in = {};
	struct pkt p;
	long rule;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_out = buf, .data_size_out = sizeof(buf),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx), .repeat = 1);
	struct snap a, b;

	e->in_flags = TLSFW_DW_HANDOFF;
	if (use(e, quic, 1)) {
		fail(e, "handoff: cannot fill");
		e->in_flags = 0;
		return;
	}
	rule = rule_stat(e, "block-quic");
	build(e, &p, &(struct pkt_opts){ .payload = 100 }, "handoff");
	o.data_in = p.buf;
	o.data_size_in = p.len;
	ctx_in.data_end = p.len;
	ctx_in.ingress_ifindex = 1;
	o.ctx_in = &ctx_in;
	o.ctx_size_in = sizeof(ctx_in);
	e->checks++;
	if (snapshot(e, &a) || bpf_prog_test_run_opts(e->prog[H_XDP], &o) || snapshot(e, &b)) {
		fail(e, "handoff: test run: %s", strerror(errno));
		goto out;
	}
	if (o.retval != XDP_PASS)
		fail(e, "handoff: XDP returned %u, want XDP_PASS", o.retval);
	if (ctx.data != sizeof(m) || o.data_size_out != sizeof(m) + p.len)
		fail(e, "handoff: %u bytes of metadata before %u of frame, want %zu and %u",
		     ctx.data, o.data_size_out - ctx.data, sizeof(m), p.len);
	memcpy(&m, buf, sizeof(m));
	if (m.magic != TLSFW_META_MAGIC || m.reply != TLSFW_REPLY_SENDER || m.ctx_slot != 0 ||
	    m.rule_slot != rule - TLSFW_STAT_RULE0)
		fail(e, "handoff: metadata magic %#x reply %u block %u rule %u", m.magic, m.reply,
		     m.ctx_slot, m.rule_slot);
	if (memcmp(buf + sizeof(m), p.buf, p.len))
		fail(e, "handoff: the frame was changed");
	for (uint32_t i = 0; i < N_WATCH; i++) {
		uint64_t want = i == rule || i == TLSFW_STAT_REJECT;

		if (b.pk[0][i] - a.pk[0][i] != want || b.pk[1][i] != a.pk[1][i])
			fail(e, "handoff: counter %u moved by %lu, want %lu", i,
			     (unsigned long)(b.pk[0][i] - a.pk[0][i]), (unsigned long)want);
	}
	/* tc decides and answers by itself, whatever the context word says */
	run(e, H_TC_IN, "handoff flag on tc ingress", &p, V_REPLY,
	    STATS(rule, TLSFW_STAT_REJECT, TLSFW_STAT_REJECT_SENT), NULL, NULL);
out:
	e->in_flags = 0;
}

/*
 * The interface context from the direct words (ifindex below TLSFW_IFX_DIRECT) and from the
 * tlsfw_ctx hash (at or above it), in a private network namespace holding a veth pair with
 * ifindexes 7 and 5000: each is decided only where the generation names it.
 */
static void ctx_fallback(struct env *e, const struct loaded *quic)
{
	static const struct {
		uint32_t fill;
		const char *where;
	} c[] = {
		{ 5000, "the tlsfw_ctx hash" },
		{ 7, "the direct words" },
	};
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	char w[128];

	e->checks++;
	if (self < 0 || unshare(CLONE_NEWNET)) {
		fail(e, "context fallback: cannot make a network namespace: %s", strerror(errno));
		goto out;
	}
	if (system("ip link add name tlsfw-c2-big index 5000 type veth peer name tlsfw-c2-small index 7")) {
		fail(e, "context fallback: cannot make a veth pair with ifindexes 5000 and 7");
		goto out;
	}
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint32_t other = c[i].fill == 7 ? 5000 : 7;

		e->fill_ifindex = c[i].fill;
		e->run_ifindex = 0;
		if (use(e, quic, i & 1)) {
			fail(e, "context fallback: cannot fill");
			goto out;
		}
		e->run_ifindex = c[i].fill;
		snprintf(w, sizeof(w), "UDP 443 on ifindex %u (context from %s)", c[i].fill,
			 c[i].where);
		all_hooks(e, w, &(struct pkt_opts){ 0 }, V_REPLY,
			  STATS(rule_stat(e, "block-quic"), TLSFW_STAT_REJECT,
				TLSFW_STAT_REJECT_SENT));
		e->run_ifindex = other;
		snprintf(w, sizeof(w), "UDP 443 on ifindex %u (not in the policy)", other);
		all_hooks(e, w, &(struct pkt_opts){ 0 }, V_PASS, NULL);
		e->run_ifindex = 0;
		snprintf(w, sizeof(w), "UDP 443 on ifindex 1 (not in the policy)");
		all_hooks(e, w, &(struct pkt_opts){ 0 }, V_PASS, NULL);
	}
out:
	e->fill_ifindex = 0;
	e->run_ifindex = 0;
	if (self >= 0) {
		if (setns(self, CLONE_NEWNET))
			fail(e, "cannot return to the original network namespace: %s",
			     strerror(errno));
		close(self);
	}
}

int main(void)
{
	struct loaded quic, quic_drop, quic_allow, quic_rej, dot;
	struct env e = { .ncpu = libbpf_num_possible_cpus() };
	int err;

	if (getuid() != 0) {
		fprintf(stderr, "test_packets needs root (BPF_PROG_TEST_RUN, map creation)\n");
		return 1;
	}
	if (load_policy(&quic, "policies/block-quic-port.conf", NULL, 0) ||
	    load_policy(&quic_drop, "policies/block-quic-port.conf", "fragments: drop\n", 0) ||
	    load_policy(&quic_allow, "policies/block-quic-port.conf", "fragments: allow\n", 0) ||
	    load_policy(&dot, "policies/block-dot.conf", NULL, 100))
		return 1;
	/* block-quic with "action: allow" of allow-https turned into reject, for the RST */
	{
		size_t len;
		char *t = tree_file("policies/block-quic-port.conf", &len), *at, *rt;

		if (!t || !(at = strstr(t, "service: https"))) {
			fprintf(stderr,
				"block-quic-port.conf: no https rule to turn into reject\n");
			return 1;
		}
		at = strstr(at, "action: allow");
		if (!at || asprintf(&rt, "%.*saction: reject%s", (int)(at - t), t,
				    at + strlen("action: allow")) < 0)
			return 1;
		free(t);
		t = rt;
		memset(&quic_rej, 0, sizeof(quic_rej));
		diag_init(&quic_rej.d);
		if (policy_read_mem(&quic_rej.pol, "block-quic-rej", t, strlen(t), &quic_rej.d) ||
		    policy_check(&quic_rej.pol, &quic_rej.d) ||
		    policy_lower(&quic_rej.pol, NULL, &quic_rej.plan, &quic_rej.d)) {
			diag_print(&quic_rej.d, stderr);
			return 1;
		}
		free(t);
	}

	e.skel = bpf_open();
	if (e.skel && tlsfw__load(e.skel)) {
		tlsfw__destroy(e.skel);
		e.skel = NULL;
	}
	if (!e.skel) {
		fprintf(stderr, "cannot load the tlsfw skeleton: %s\n", strerror(errno));
		return 1;
	}
	err = bpf_maps_from_skel(&e.m, e.skel);
	if (err) {
		fprintf(stderr, "bpf_maps_from_skel: %s\n", strerror(-err));
		return 1;
	}
	e.prog[H_XDP] = bpf_program__fd(e.skel->progs.tlsfw_xdp);
	e.prog[H_TC_IN] = bpf_program__fd(e.skel->progs.tlsfw_tc_ingress);
	e.prog[H_TC_OUT] = bpf_program__fd(e.skel->progs.tlsfw_tc_egress);

	/* the maps can be found from a program alone, as `tlsfw stats` does */
	{
		struct bpf_maps m2;

		err = bpf_maps_from_prog_fd(&m2, e.prog[H_TC_OUT]);
		if (err)
			fail(&e, "bpf_maps_from_prog_fd: %s", strerror(-err));
		else
			bpf_maps_close(&m2);
	}

	if (use(&e, &quic, 0))
		return 1;
	block_quic(&e);
	malformed(&e);
	rejects(&e);
	fragments(&e, 10000);

	/* generation switch: block-dot into generation 1, flip, the verdicts change */
	if (use(&e, &dot, 1))
		return 1;
	block_dot(&e);
	/* and back: generation 0 was left as it was */
	e.cur = &quic;
	if (bpf_set_gen(&e.m, 0))
		return 1;
	all_hooks(&e, "IPv4 UDP 443 after switching back", &(struct pkt_opts){ .payload = 1 },
		  V_REPLY,
		  STATS(rule_stat(&e, "block-quic"), TLSFW_STAT_REJECT, TLSFW_STAT_REJECT_SENT));

	if (use(&e, &quic_drop, 1))
		return 1;
	fragments(&e, 20000);
	if (use(&e, &quic_allow, 0))
		return 1;
	fragments(&e, 30000);
	if (use(&e, &quic_rej, 1))
		return 1;
	reject_tcp(&e, &quic_rej);

	/* the shipped policy goes into the fused direct form (B constant); the hash forms
	 * (every table's fallback) give the same verdicts and counts */
	if (use(&e, &quic, 0))
		return 1;
	want_forms(&e, 0, TLSFW_CFG_B_CONST | TLSFW_CFG_COMB1_DIRECT | TLSFW_CFG_FUSED,
		   "block-quic");
	e.direct_max = 1;
	if (use(&e, &quic, 1))
		return 1;
	want_forms(&e, 1, TLSFW_CFG_B_CONST, "block-quic, hash forms");
	block_quic(&e);
	rejects(&e);
	fragments(&e, 40000);
	e.direct_max = 0;
	if (too_big(&e))
		return 1;
	ctx_fallback(&e, &quic);
	handoff(&e, &quic);

	/* clearing a generation leaves no entry of it behind: packets get no context */
	if (use(&e, &quic, 0) || bpf_clear_gen(&e.m, 1))
		return 1;
	if (bpf_set_gen(&e.m, 1))
		return 1;
	all_hooks(&e, "IPv4 UDP 443 on a cleared generation", &(struct pkt_opts){ 0 }, V_PASS,
		  NULL);
	bpf_set_gen(&e.m, 0);

	tlsfw__destroy(e.skel);
	free_policy(&quic);
	free_policy(&quic_drop);
	free_policy(&quic_allow);
	free_policy(&quic_rej);
	free_policy(&dot);
	printf("%u checks, %u failures\n", e.checks, e.failures);
	return e.failures ? 1 : 0;
}
