// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane's fast path (tlsfw_abi.h): the cases of block-quic-port.conf (lib_packets.h)
 * with every combination table in its direct-indexed form and in its hash form, policies too
 * large for the direct forms, the interface context read from the direct words (ifindex below
 * TLSFW_IFX_DIRECT) and from the hash (above) on veth devices made in a private network
 * namespace, and the XDP -> tc handoff of a reject. Needs root.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib_packets.h"

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
 * Where this kernel refuses bpf_xdp_adjust_meta to XDP (architecture.md, "Kernels without XDP
 * metadata"): the record is a 14-byte header pushed in front of the unchanged frame
 * (tlsfw_abi.h, tlsfw_xdp_shim), no metadata.
 */
static void handoff_shim(struct env *e, const uint8_t *buf, const struct bpf_test_run_opts *o,
			 const struct xdp_md *ctx, const struct pkt *p)
{
	static const uint8_t dst[6] = { 0x06, 'T', 'L', 'S', 'F', 'W' };
	struct tlsfw_xdp_shim s;

	printf("handoff: no XDP metadata in this kernel: the record in front of the frame\n");
	if (ctx->data != 0 || o->data_size_out != sizeof(s) + p->len) {
		fail(e, "handoff: %u bytes of metadata and %u of frame, want 0 and %zu", ctx->data,
		     o->data_size_out, sizeof(s) + p->len);
		return;
	}
	memcpy(&s, buf, sizeof(s));
	if (memcmp(s.dst, dst, sizeof(dst)) || s.reply != TLSFW_REPLY_SENDER || s.ctx_slot != 0 ||
	    s.pad || s.pad2 || memcmp(&s.proto, p->buf + 12, 2)) /* the frame's, no VLAN */
		fail(e, "handoff: record %02x:%02x:%02x:%02x:%02x:%02x reply %u block %u proto %#x",
		     s.dst[0], s.dst[1], s.dst[2], s.dst[3], s.dst[4], s.dst[5], s.reply,
		     s.ctx_slot, ntohs(s.proto));
	if (memcmp(buf + sizeof(s), p->buf, p->len))
		fail(e, "handoff: the frame behind the record was changed");
}

/*
 * The XDP -> tc handoff (tlsfw_abi.h, tlsfw_xdp_meta): with TLSFW_DW_HANDOFF in the ingress
 * context word, XDP counts the reject (rule and verdict total, not REJECT_SENT: tc counts
 * that) and passes the frame unchanged behind the record (metadata, or the header of
 * handoff_shim where the kernel has none); the tc hooks build their replies themselves as
 * before. (tlsfw_tc_reply, the other half, needs a real skb: test_reject.sh covers it end to
 * end.)
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
	if (!bpf_xdp_meta_supported()) {
		handoff_shim(e, buf, &o, &ctx, &p);
		goto counters;
	}
	printf("handoff: XDP metadata (bpf_xdp_adjust_meta)\n");
	if (ctx.data != sizeof(m) || o.data_size_out != sizeof(m) + p.len)
		fail(e, "handoff: %u bytes of metadata before %u of frame, want %zu and %zu",
		     ctx.data, o.data_size_out - ctx.data, sizeof(m), p.len);
	memcpy(&m, buf, sizeof(m));
	if (m.magic != TLSFW_META_MAGIC || m.reply != TLSFW_REPLY_SENDER || m.ctx_slot != 0 ||
	    m.rule_slot != rule - TLSFW_STAT_RULE0)
		fail(e, "handoff: metadata magic %#x reply %u block %u rule %u", m.magic, m.reply,
		     m.ctx_slot, m.rule_slot);
	if (memcmp(buf + sizeof(m), p.buf, p.len))
		fail(e, "handoff: the frame was changed");
counters:
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
	struct loaded quic;
	struct env e = { 0 };
	int rc = env_open(&e);

	if (rc)
		return rc;
	if (load_policy(&quic, "policies/block-quic-port.conf", NULL, 0))
		return 1;

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

	rc = env_close(&e);
	free_policy(&quic);
	return rc;
}
