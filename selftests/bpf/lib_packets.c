// SPDX-License-Identifier: GPL-2.0
/* The packet tests' harness and shared cases: see lib_packets.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "content_gen.h"
#include "lib_packets.h"
#include "percpu.h"
#include "treefile.h"

const char *const hook_names[N_HOOKS] = { "xdp", "tc-ingress", "tc-egress" };

int env_open(struct env *e)
{
	struct bpf_maps m2;
	int err;

	e->ncpu = libbpf_num_possible_cpus();
	if (getuid() != 0) {
		fprintf(stderr, "test_packets needs root (BPF_PROG_TEST_RUN, map creation)\n");
		return 1;
	}
	e->skel = bpf_open();
	if (e->skel && tlsfw__load(e->skel)) {
		tlsfw__destroy(e->skel);
		e->skel = NULL;
	}
	if (!e->skel) {
		fprintf(stderr, "cannot load the tlsfw skeleton: %s\n", strerror(errno));
		return 1;
	}
	err = bpf_maps_from_skel(&e->m, e->skel);
	if (err) {
		fprintf(stderr, "bpf_maps_from_skel: %s\n", strerror(-err));
		return 1;
	}
	e->prog[H_XDP] = bpf_program__fd(e->skel->progs.tlsfw_xdp);
	e->prog[H_TC_IN] = bpf_program__fd(e->skel->progs.tlsfw_tc_ingress);
	e->prog[H_TC_OUT] = bpf_program__fd(e->skel->progs.tlsfw_tc_egress);
	/* the maps can be found from a program alone, as `tlsfw stats` does */
	err = bpf_maps_from_prog_fd(&m2, e->prog[H_TC_OUT]);
	if (err)
		fail(e, "bpf_maps_from_prog_fd: %s", strerror(-err));
	else
		bpf_maps_close(&m2);
	return 0;
}

int env_close(struct env *e)
{
	tlsfw__destroy(e->skel);
	printf("%u checks, %u failures\n", e->checks, e->failures);
	return e->failures ? 1 : 0;
}

void fail(struct env *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	e->failures++;
}

int load_text(struct loaded *l, const char *file, const char *text, uint32_t slot0)
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

int load_policy(struct loaded *l, const char *file, const char *extra, uint32_t slot0)
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

void free_policy(struct loaded *l)
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

int use(struct env *e, const struct loaded *l, unsigned int gen)
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

int snapshot(struct env *e, struct snap *s)
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

long rule_stat(struct env *e, const char *name)
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

void run(struct env *e, int hook, const char *what, const struct pkt *p, int want,
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

void build(struct env *e, struct pkt *p, const struct pkt_opts *o, const char *what)
{
	if (pkt_build(p, o)) {
		fprintf(stderr, "cannot build packet %s\n", what);
		exit(1);
	}
}

void all_hooks(struct env *e, const char *what, const struct pkt_opts *o, int want,
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

/* ---- cases both tests run ---------------------------------------------------------------- */

void reject_case(struct env *e, const char *what, const struct pkt_opts *o, const char *rule,
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

void block_quic(struct env *e)
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

void rejects(struct env *e)
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

void fragments(struct env *e, uint32_t id_base)
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

void tcp_segment(struct env *e, int hook, const char *what, uint16_t sport, uint32_t seq,
		 uint8_t flags, const uint8_t *data, size_t len, int want, const long *stats)
{
	tcp_segment_of(e, hook, what, 4, sport, seq, flags, data, len, want, stats);
}

void tcp_segment_of(struct env *e, int hook, const char *what, int family, uint16_t sport,
		    uint32_t seq, uint8_t flags, const uint8_t *data, size_t len, int want,
		    const long *stats)
{
	struct frame_opts o = { .family = family,
				.proto = 6,
				.sport = sport,
				.dport = 443,
				.seq = seq,
				.tcp_flags = flags,
				.data = data,
				.len = len };
	struct pkt p;

	if (frame_build(&p, &o)) {
		fprintf(stderr, "cannot build %s\n", what);
		exit(1);
	}
	run(e, hook, what, &p, want, stats, NULL, NULL);
}
