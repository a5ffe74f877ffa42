// SPDX-License-Identifier: GPL-2.0
/*
 * Data-plane benchmark: ns per packet from BPF_PROG_TEST_RUN (repeat BENCH_REPEAT, median of
 * BENCH_RUNS) for tlsfw_xdp and tlsfw_tc_egress on four packets, at 1, 100, 1,000 and 4,096
 * rules and with 100,000 prefixes, next to the bare xdp_pass / tc_pass programs on the same
 * packets in the same run. Policies are generated as YAML and go through the real read,
 * check, lower and fill. Also: the table forms bpf_fill chose (direct-indexed or hash, B
 * constant), program size, verifier work, fill time, and the cost of an in-program reject
 * against a drop. Prints markdown on stdout.
 *
 * BENCH_REPEAT / BENCH_RUNS in the environment shorten a run (for a quick look);
 * BENCH_ONLY=content runs the content inspection rows alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_fill.h"
#include "content_gen.h"
#include "lib_bench.h"
#include "pkt.h"
#include "plan.h"
#include "policy.h"
#include "tlsfw.skel.h"
#include "xdp_pass.skel.h"

#define N_PKTS 4
#define LOG_SIZE (1 << 20)

static const char *const pkt_names[N_PKTS] = {
	"UDP 443 (drop)",
	"TCP 443 (pass)",
	"IPv6 UDP 443 (drop)",
	"QinQ UDP 443 (drop)",
};

struct bench {
	struct tlsfw *skel;
	struct xdp_pass *base;
	struct bpf_maps m;
	struct pkt pkts[N_PKTS];
	unsigned int repeat, runs;
	unsigned int verif[4]; /* processed insns: xdp, tc ingress, tc egress, tc reply */
	char *logs[4];
};

/* Median over runs of the mean ns per packet of repeat runs. */
static uint32_t ns_per_pkt(struct bench *b, int prog_fd, const struct pkt *p)
{
	return bench_ns(prog_fd, p, b->repeat, b->runs);
}

/* Median of single runs: for reject, whose reply would be fed to the next repeat. */
static uint32_t ns_single(int prog_fd, const struct pkt *p, unsigned int n)
{
	uint32_t *v = calloc(n, sizeof(*v)), r;
	uint8_t out[PKT_MAX + 256];

	for (unsigned int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = p->len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			fprintf(stderr, "test run: %s\n", strerror(errno));
			exit(1);
		}
		v[i] = o.duration;
	}
	r = bench_median_u32(v, n);
	free(v);
	return r;
}

/* YAML for n rules (the last two are the QUIC ones) and optionally n_pfx prefixes. */
static char *gen_policy(unsigned int n, unsigned int n_pfx, const char *quic_action)
{
	size_t cap = 1 << 20, len = 0;
	char *s = malloc(cap);

#define OUT(...)                                                                               \
	do {                                                                                   \
		int k_;                                                                        \
		while ((k_ = snprintf(s + len, cap - len, __VA_ARGS__)) >= (int)(cap - len)) { \
			cap *= 2;                                                              \
			s = realloc(s, cap);                                                   \
		}                                                                              \
		len += k_;                                                                     \
	} while (0)

	OUT("version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress, egress]\n"
	    "default: allow\nrules:\n");
	/* prefixes: rules of 1,000 destinations each */
	for (unsigned int r = 0; r * 1000 < n_pfx; r++) {
		OUT("  - name: nets-%u\n    proto: tcp\n    dport: 22\n    action: drop\n    dst: [",
		    r);
		for (unsigned int i = 0; i < 1000 && r * 1000 + i < n_pfx; i++) {
			unsigned int k = r * 1000 + i;

			OUT("%s%u.%u.%u.0/24", i ? ", " : "", 11 + k / 65536, (k / 256) % 256,
			    k % 256);
		}
		OUT("]\n");
	}
	for (unsigned int i = 0; i + 2 < n; i++)
		OUT("  - name: r%u\n    proto: %s\n    dport: %u\n    action: drop\n", i,
		    i % 2 ? "tcp" : "udp", 1024 + i);
	OUT("  - name: block-quic\n    proto: udp\n    dport: 443\n    action: %s\n", quic_action);
	if (n > 1)
		OUT("  - name: allow-https\n    proto: tcp\n    dport: 443\n    action: allow\n");
#undef OUT
	return s;
}

/* "comb1/B/comb3" forms of generation 0: direct, hash, or fused into one direct table; B
 * constant or looked up. */
static void forms(struct bench *b, char *buf, size_t len)
{
	struct tlsfw_cfg c;

	if (bpf_get_cfg(&b->m, 0, &c)) {
		snprintf(buf, len, "?");
		return;
	}
	if (c.flags & TLSFW_CFG_FUSED) {
		snprintf(buf, len, "fused/const/fused");
		return;
	}
	snprintf(buf, len, "%s/%s/%s", c.flags & TLSFW_CFG_COMB1_DIRECT ? "direct" : "hash",
		 c.flags & TLSFW_CFG_B_CONST ? "const" : "tries+hash",
		 c.flags & TLSFW_CFG_COMB3_DIRECT ? "direct" : "hash");
}

struct scenario {
	const char *name;
	unsigned int rules, prefixes;
};

/* Read, check, lower and fill generation gen, and make it the one in force; fill time in ms. */
static int apply_gen(struct bench *b, const char *yaml, unsigned int gen, double *fill_ms,
		     struct plan *pl, struct policy *pol)
{
	uint32_t ifindex[TLSFW_MAX_CTX], ctx_slot[TLSFW_MAX_CTX], *slots;
	struct fill_ids ids;
	struct diag d;
	double t0;
	int err;

	diag_init(&d);
	err = policy_read_mem(pol, "bench.conf", yaml, strlen(yaml), &d);
	if (!err && !d.errors)
		err = policy_check(pol, &d);
	if (!err && !d.errors)
		err = policy_lower(pol, NULL, pl, &d);
	if (err || d.errors) {
		diag_print(&d, stderr);
		diag_free(&d);
		return err ? err : -EINVAL;
	}
	if (pl->n_ctx > TLSFW_MAX_CTX)
		return -E2BIG;
	for (size_t i = 0; i < pl->n_ctx; i++) {
		ifindex[i] = 1; /* where BPF_PROG_TEST_RUN puts packets */
		ctx_slot[i] = pl->ctx[i].dir;
	}
	slots = calloc(pl->n_rules + 1, sizeof(*slots));
	for (size_t i = 0; i < pl->n_rules; i++)
		slots[i] = i;
	ids = (struct fill_ids){ .rule_slot = slots, .ifindex = ifindex, .ctx_slot = ctx_slot };
	err = bpf_clear_gen(&b->m, gen);
	t0 = bench_now_ms();
	if (!err)
		err = bpf_fill_gen(&b->m, pl, gen, &ids, &d);
	*fill_ms = bench_now_ms() - t0;
	if (!err)
		err = bpf_set_gen(&b->m, gen);
	if (err)
		diag_print(&d, stderr);
	diag_free(&d);
	free(slots);
	return err;
}

static int apply(struct bench *b, const char *yaml, double *fill_ms, struct plan *pl,
		 struct policy *pol)
{
	return apply_gen(b, yaml, 0, fill_ms, pl, pol);
}

static int load(struct bench *b)
{
	struct bpf_program *progs[4];
	int err;

	b->skel = bpf_open();
	if (!b->skel)
		return -errno;
	progs[0] = b->skel->progs.tlsfw_xdp;
	progs[1] = b->skel->progs.tlsfw_tc_ingress;
	progs[2] = b->skel->progs.tlsfw_tc_egress;
	progs[3] = b->skel->progs.tlsfw_tc_reply;
	for (int i = 0; i < 4; i++) {
		b->logs[i] = calloc(1, LOG_SIZE);
		bpf_program__set_log_buf(progs[i], b->logs[i], LOG_SIZE);
		bpf_program__set_log_level(progs[i], 4); /* statistics only */
	}
	err = tlsfw__load(b->skel);
	if (err)
		return err;
	for (int i = 0; i < 4; i++) {
		const char *s = strstr(b->logs[i], "processed ");

		b->verif[i] = s ? strtoul(s + 10, NULL, 10) : 0;
	}
	b->base = xdp_pass__open_and_load();
	if (!b->base)
		return -errno;
	return bpf_maps_from_skel(&b->m, b->skel);
}

static void prog_size(int fd, unsigned int *xlated, unsigned int *jited)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	*xlated = *jited = 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		*xlated = info.xlated_prog_len / 8;
		*jited = info.jited_prog_len;
	}
}

/* ns per packet of one policy and packet, and the bare program on the same packet. */
static void content_row(struct bench *b, const char *what, const char *yaml, const struct pkt *p)
{
	int fd_x = bpf_program__fd(b->skel->progs.tlsfw_xdp);
	int fd_b = bpf_program__fd(b->base->progs.xdp_pass);
	struct policy pol = { 0 };
	struct plan pl = { 0 };
	uint32_t x, bx;
	double fill_ms;

	if (apply(b, yaml, &fill_ms, &pl, &pol)) {
		fprintf(stderr, "%s: cannot apply\n", what);
		exit(1);
	}
	x = ns_per_pkt(b, fd_x, p);
	bx = ns_per_pkt(b, fd_b, p);
	printf("| %s | %u | %u | %.2f |\n", what, x, bx, bx ? (double)x / bx : 0);
	plan_free(&pl);
	policy_free(&pol);
}

#define PAIR_ROUNDS_MAX 63

/*
 * The rounds of content_pair(): 12 x BENCH_RUNS + 1 (an odd count: the median is a round's),
 * at most PAIR_ROUNDS_MAX; 61 by default. With 15 rounds, the median difference of one row
 * moved from +1 to +12 ns between runs minutes apart (2026-12-07): more than the effects
 * issue 12's targets are about. A round of 1,000,000 repeats takes about 0.1 s.
 */
static unsigned int pair_rounds(const struct bench *b)
{
	return b->runs * 12 + 1 > PAIR_ROUNDS_MAX ? PAIR_ROUNDS_MAX : b->runs * 12 + 1;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/*
 * One packet under a content policy and under the port-only policy, filled into the two
 * generations and measured in alternating runs of b->repeat, pair_rounds() rounds: the
 * medians of each and of the bare program, and the median and quartiles of the rounds'
 * differences. The two are measured within a millisecond of each other, so the machine's
 * changes of speed between rows (tens of ns on a shared virtual machine: performance.md) do
 * not enter the difference, the figure issue 12's targets are about. Half the rounds have the
 * content policy in generation 1, the other half in generation 0 (the generations' tables lie
 * apart in memory, and which one a policy has moved single rows by a few ns). warm: packets
 * run once under the content policy before the first half (a flow's SYN and first bytes: its
 * state; the second half finds the flow and decides it again under its new generation).
 */
static void content_pair(struct bench *b, const char *what, const char *yaml, const char *base_yaml,
			 const struct pkt *warm, size_t n_warm, const struct pkt *p)
{
	int fd_x = bpf_program__fd(b->skel->progs.tlsfw_xdp);
	int fd_b = bpf_program__fd(b->base->progs.xdp_pass);
	unsigned int rounds = pair_rounds(b), r = 0;
	uint32_t x[PAIR_ROUNDS_MAX], base[PAIR_ROUNDS_MAX], bare[PAIR_ROUNDS_MAX];
	int32_t diff[PAIR_ROUNDS_MAX];
	double fill_ms;

	for (int half = 0; half < 2; half++) {
		unsigned int content_gen = !half;
		struct policy pol[2] = { 0 };
		struct plan pl[2] = { 0 };

		if (apply_gen(b, base_yaml, !content_gen, &fill_ms, &pl[0], &pol[0]) ||
		    apply_gen(b, yaml, content_gen, &fill_ms, &pl[1], &pol[1])) {
			fprintf(stderr, "%s: cannot apply\n", what);
			exit(1);
		}
		for (size_t i = 0; content_gen && i < n_warm; i++)
			ns_single(fd_x, &warm[i], 1);
		for (unsigned int end = content_gen ? rounds / 2 : rounds; r < end; r++) {
			bpf_set_gen(&b->m, content_gen);
			x[r] = bench_ns(fd_x, p, b->repeat, 1);
			bpf_set_gen(&b->m, !content_gen);
			base[r] = bench_ns(fd_x, p, b->repeat, 1);
			bare[r] = bench_ns(fd_b, p, b->repeat, 1);
			diff[r] = (int32_t)x[r] - (int32_t)base[r];
		}
		for (int g = 0; g < 2; g++) {
			plan_free(&pl[g]);
			policy_free(&pol[g]);
		}
	}
	qsort(diff, rounds, sizeof(*diff), cmp_i32);
	printf("| %s | %u | %u | %+d | %+d to %+d | %u |\n", what, bench_median_u32(x, rounds),
	       bench_median_u32(base, rounds), diff[rounds / 2], diff[rounds / 4],
	       diff[3 * rounds / 4], bench_median_u32(bare, rounds));
}

/* A UDP 443 frame carrying a QUIC v1 client Initial of 1,200 bytes with a token of token_len. */
static void quic_initial_pkt(struct pkt *p, size_t token_len, uint64_t *rng)
{
	uint8_t q[1400];
	int n;

	pkt_build(p, &(struct pkt_opts){ .payload = 1200 });
	n = quic_build(q, sizeof(q),
		       &(struct quic_opts){ .version = TLSFW_QUIC_V1,
					    .dcid_len = 8,
					    .scid_len = 8,
					    .token_len = token_len,
					    .size = 1200 },
		       rng);
	if (n != 1200) {
		fprintf(stderr, "quic_build: %d\n", n);
		exit(1);
	}
	memcpy(p->buf + p->l4_off + 8, q, n);
}

/*
 * Content inspection in the decision (issue 12): a packet no content rule can inspect, a
 * UDP datagram checked for QUIC (an Initial, dropped; other UDP, passed), a TCP segment of a
 * known flow under require: tls, each against the port-only policy on the same packet.
 */
static void content_paths(struct bench *b)
{
	static const char *const head = "version: 1\ninterfaces:\n  - name: lan0\n"
					"    hooks: [ingress, egress]\ndefault: allow\nrules:\n";
	static const char *const port_rules =
		"  - name: block-quic\n    proto: udp\n    dport: 443\n    action: drop\n"
		"  - name: allow-https\n    proto: tcp\n    dport: 443\n    action: allow\n";
	static const char *const other_content =
		"  - name: quic-8443\n    proto: udp\n    dport: 8443\n    payload: quic\n"
		"    action: drop\n  - name: tls-9443\n    proto: tcp\n    dport: 9443\n"
		"    require: tls\n    action: reject\n";
	static const char *const quic_any =
		"  - name: quic-anywhere\n    proto: udp\n    payload: quic\n    action: drop\n";
	static const char *const quic_443 =
		"  - name: quic-443\n    proto: udp\n    dport: 443\n    payload: quic\n"
		"    action: drop\n";
	static const char *const tls_only =
		"  - name: tls-only\n    proto: tcp\n    dport: 443\n    require: tls\n"
		"    action: reject\n";
	static const uint8_t hello[6] = { 0x16, 0x03, 0x01, 0x00, 0xc8, 0x01 };
	struct pkt initial, token, udp, flow[2], seg;
	uint64_t rng = 1;
	char y[2048], base[1024];

	quic_initial_pkt(&initial, 0, &rng);
	quic_initial_pkt(&token, 32, &rng);
	pkt_build(&udp, &(struct pkt_opts){ .payload = 64 });
	pkt_build(&flow[0], &(struct pkt_opts){ .proto = 6, .sport = 40001, .seq = 1000 });
	pkt_build(&flow[1], &(struct pkt_opts){ .proto = 6,
						.sport = 40001,
						.tcp_flags = 0x18,
						.seq = 1001,
						.payload = 200 });
	memcpy(flow[1].buf + flow[1].l4_off + 20, hello, sizeof(hello));
	pkt_build(&seg, &(struct pkt_opts){ .proto = 6,
					    .sport = 40001,
					    .tcp_flags = 0x10,
					    .seq = 1201,
					    .payload = 64 });

	printf("\nContent inspection in the decision (tlsfw_xdp; ns per packet as above). Each "
	       "row against the port-only policy (block UDP 443, allow TCP 443) on the same "
	       "packet, the two filled into the two generations and measured in alternating "
	       "runs (%u rounds of %u repeats); over port-only: the median of the rounds' "
	       "differences, issue 12's figure, and their quartiles (half the rounds lie "
	       "between):\n\n",
	       pair_rounds(b), b->repeat);
	printf("| path | XDP ns | port-only ns | over port-only | quartiles | bare XDP ns |\n"
	       "|---|---|---|---|---|---|\n");
	snprintf(base, sizeof(base), "%s%s", head, port_rules);
	snprintf(y, sizeof(y), "%s%s%s", head, port_rules, other_content);
	content_pair(b, "content rules on other ports: a QUIC Initial to UDP 443, not inspected", y,
		     base, NULL, 0, &initial);
	snprintf(y, sizeof(y), "%s%s%s", head, quic_any, port_rules);
	content_pair(b, "payload: quic: the same Initial, checked and dropped", y, base, NULL, 0,
		     &initial);
	content_pair(b, "payload: quic: an Initial with a 32-byte token, checked and dropped", y,
		     base, NULL, 0, &token);
	content_pair(b, "payload: quic: 64-byte UDP 443, checked, not QUIC, dropped by port", y,
		     base, NULL, 0, &udp);
	snprintf(y, sizeof(y), "%s%s%s", head, quic_443, port_rules);
	content_pair(b, "payload: quic on UDP 443: the Initial, checked and dropped", y, base, NULL,
		     0, &initial);
	content_pair(
		b, "payload: quic on UDP 443: 64-byte UDP 443, checked, not QUIC, dropped by port",
		y, base, NULL, 0, &udp);
	snprintf(y, sizeof(y), "%s%s%s", head, tls_only, port_rules);
	content_pair(b,
		     "require: tls: a TCP 443 segment of a flow that started TLS (one flow lookup)",
		     y, base, flow, 2, &seg);
}

/* Open every rule's log bucket (no rate limit): each packet of a log: rule makes an event. */
static void log_unlimited(struct bench *b)
{
	struct tlsfw_log_rule lr = { .burst = 1, .interval_ns = 0 };

	for (uint32_t k = 0; k < 4; k++)
		bpf_map_update_elem(b->m.log_rules, &k, &lr, BPF_ANY);
}

static int log_drop(void *ctx, void *data, size_t size)
{
	return 0;
}

/* ns per event written: runs of LOG_BATCH packets (the ring holds about 3,600 events), the
 * ring drained between runs; median of the runs. */
#define LOG_BATCH 2000
static uint32_t log_written_ns(struct bench *b, int fd, const struct pkt *p)
{
	struct ring_buffer *rb = ring_buffer__new(b->m.log_ring, log_drop, NULL, NULL);
	unsigned int n = b->repeat / LOG_BATCH ? b->repeat / LOG_BATCH : 1;
	uint32_t *v = calloc(n, sizeof(*v)), r;

	if (!rb || !v) {
		fprintf(stderr, "log ring: %s\n", strerror(errno));
		exit(1);
	}
	for (unsigned int i = 0; i < n; i++) {
		ring_buffer__consume(rb);
		v[i] = bench_ns(fd, p, LOG_BATCH, 1);
	}
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	r = bench_median_u32(v, n);
	free(v);
	return r;
}

/*
 * log: (issue 15): a dropped UDP 443 datagram under the port-only policy, with no rule
 * logging, with another rule logging, and with its own rule logging: every event suppressed
 * by the rate limit, written (ring drained), or lost (ring full).
 */
static void log_paths(struct bench *b)
{
	static const char *const head = "version: 1\ninterfaces:\n  - name: lan0\n"
					"    hooks: [ingress, egress]\ndefault: allow\nrules:\n";
	int fd_x = bpf_program__fd(b->skel->progs.tlsfw_xdp);
	int fd_b = bpf_program__fd(b->base->progs.xdp_pass);
	struct policy pol = { 0 };
	struct plan pl = { 0 };
	uint32_t w, full, bx;
	double fill_ms;
	struct pkt udp;
	char y[1024];

	pkt_build(&udp, &(struct pkt_opts){ .payload = 64 });
	printf("\nlog: on the deciding rule or not (tlsfw_xdp, UDP 443 dropped; ns per packet as above):\n\n");
	printf("| path | XDP ns | bare XDP ns | ratio |\n|---|---|---|---|\n");
	snprintf(y, sizeof(y), "%s%s", head,
		 "  - name: block-quic\n    proto: udp\n    dport: 443\n    action: drop\n"
		 "  - name: allow-https\n    proto: tcp\n    dport: 443\n    action: allow\n");
	content_row(b, "port-only policy, no rule logs", y, &udp);
	snprintf(y, sizeof(y), "%s%s", head,
		 "  - name: block-quic\n    proto: udp\n    dport: 443\n    action: drop\n"
		 "  - name: allow-https\n    proto: tcp\n    dport: 443\n    action: allow\n"
		 "    log: true\n");
	content_row(b, "another rule logs, not the deciding one", y, &udp);
	snprintf(y, sizeof(y), "%s%s", head,
		 "  - name: block-quic\n    proto: udp\n    dport: 443\n    action: drop\n"
		 "    log: 10/s\n"
		 "  - name: allow-https\n    proto: tcp\n    dport: 443\n    action: allow\n");
	content_row(b, "log: 10/s on the deciding rule: suppressed by the rate limit", y, &udp);
	if (apply(b, y, &fill_ms, &pl, &pol)) {
		fprintf(stderr, "log: cannot apply\n");
		exit(1);
	}
	log_unlimited(b);
	w = log_written_ns(b, fd_x, &udp);
	full = ns_per_pkt(b, fd_x, &udp); /* nothing drains: the ring is full at once */
	bx = ns_per_pkt(b, fd_b, &udp);
	printf("| log: without limit: event written (ring drained every %u) | %u | %u | %.2f |\n",
	       LOG_BATCH, w, bx, bx ? (double)w / bx : 0);
	printf("| log: without limit: event lost (ring full) | %u | %u | %.2f |\n", full, bx,
	       bx ? (double)full / bx : 0);
	plan_free(&pl);
	policy_free(&pol);
}

int main(void)
{
	static const struct scenario sc[] = {
		{ "1 rule", 1, 0 },
		{ "100 rules", 100, 0 },
		{ "1,000 rules", 1000, 0 },
		{ "4,096 rules", 4096, 0 },
		{ "100,000 prefixes (+2 rules)", 2, 100000 },
	};
	struct bench b = { 0 };
	int fd_xdp, fd_tc, fd_bx, fd_bt;
	uint32_t first[N_PKTS][2] = { { 0 } };
	int err;

	bench_env(&b.repeat, &b.runs);
	err = load(&b);
	if (err) {
		fprintf(stderr, "cannot load the programs: %s\n", strerror(-err));
		return 1;
	}
	fd_xdp = bpf_program__fd(b.skel->progs.tlsfw_xdp);
	fd_tc = bpf_program__fd(b.skel->progs.tlsfw_tc_egress);
	fd_bx = bpf_program__fd(b.base->progs.xdp_pass);
	fd_bt = bpf_program__fd(b.base->progs.tc_pass);

	pkt_build(&b.pkts[0], &(struct pkt_opts){ .payload = 64 });
	pkt_build(&b.pkts[1], &(struct pkt_opts){ .proto = 6, .payload = 64 });
	pkt_build(&b.pkts[2], &(struct pkt_opts){ .family = 6, .payload = 64 });
	pkt_build(&b.pkts[3], &(struct pkt_opts){ .n_vlan = 2,
						  .vlan_tpid = { 0x88a8, 0x8100 },
						  .vlan_id = { 100, 10 },
						  .payload = 64 });

	printf("Each cell: ns per packet (median of %u runs of %u BPF_PROG_TEST_RUN repeats), then the ratio to the bare program (xdp_pass / tc_pass) on the same packet in the same run.\n\n",
	       b.runs, b.repeat);
	printf("| policy | fill ms | comb1/2/3 entries | comb1/B/comb3 | packet | XDP ns | bare XDP ns | XDP ratio | tc ns | bare tc ns | tc ratio |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
	if (getenv("BENCH_ONLY") && !strcmp(getenv("BENCH_ONLY"), "content")) {
		content_paths(&b);
		printf("\nverifier processed insns: xdp %u, tc ingress %u, tc egress %u\n",
		       b.verif[0], b.verif[1], b.verif[2]);
		return 0;
	}
	for (size_t s = 0; s < sizeof(sc) / sizeof(sc[0]); s++) {
		char *yaml = gen_policy(sc[s].rules, sc[s].prefixes, "drop");
		struct policy pol = { 0 };
		struct plan pl = { 0 };
		double fill_ms = 0;
		char fm[48];

		err = apply(&b, yaml, &fill_ms, &pl, &pol);
		free(yaml);
		if (err) {
			fprintf(stderr, "%s: cannot apply: %s\n", sc[s].name, strerror(-err));
			return 1;
		}
		forms(&b, fm, sizeof(fm));
		for (int k = 0; k < N_PKTS; k++) {
			uint32_t x = ns_per_pkt(&b, fd_xdp, &b.pkts[k]);
			uint32_t bx = ns_per_pkt(&b, fd_bx, &b.pkts[k]);
			uint32_t t = ns_per_pkt(&b, fd_tc, &b.pkts[k]);
			uint32_t bt = ns_per_pkt(&b, fd_bt, &b.pkts[k]);

			if (s == 0) {
				first[k][0] = x;
				first[k][1] = t;
			}
			printf("| %s | %.1f | %zu/%zu/%zu | %s | %s | %u | %u | %.2f | %u | %u | %.2f |\n",
			       k ? "" : sc[s].name, fill_ms, pl.n_comb1, pl.n_comb2, pl.n_comb3, fm,
			       pkt_names[k], x, bx, bx ? (double)x / bx : 0, t, bt,
			       bt ? (double)t / bt : 0);
			fflush(stdout);
		}
		if (sc[s].rules == 4096 && !sc[s].prefixes) {
			double wx = 0, wt = 0;

			for (int k = 0; k < N_PKTS; k++) {
				wx += (double)ns_per_pkt(&b, fd_xdp, &b.pkts[k]) / first[k][0];
				wt += (double)ns_per_pkt(&b, fd_tc, &b.pkts[k]) / first[k][1];
			}
			printf("| 4,096 vs 1 rule | | | | mean over the packets | %.2fx | | | %.2fx | | |\n",
			       wx / N_PKTS, wt / N_PKTS);
		}
		plan_free(&pl);
		policy_free(&pol);
	}

	content_paths(&b);
	log_paths(&b);

	/* reject against drop, single runs (a repeat would feed the reply back in) */
	{
		char *yaml = gen_policy(2, 0, "reject");
		struct policy pol = { 0 };
		struct plan pl = { 0 };
		double fill_ms;
		struct pkt syn;
		uint32_t rej_x, rej_t, rst_x, rst_t, drop_x, drop_t, pass_x;
		const unsigned int n = 20000;

		err = apply(&b, yaml, &fill_ms, &pl, &pol);
		free(yaml);
		if (err)
			return 1;
		rej_x = ns_single(fd_xdp, &b.pkts[0], n);
		rej_t = ns_single(fd_tc, &b.pkts[0], n);
		plan_free(&pl);
		policy_free(&pol);
		yaml = gen_policy(2, 0, "drop");
		memset(&pol, 0, sizeof(pol));
		memset(&pl, 0, sizeof(pl));
		if (apply(&b, yaml, &fill_ms, &pl, &pol))
			return 1;
		free(yaml);
		drop_x = ns_single(fd_xdp, &b.pkts[0], n);
		drop_t = ns_single(fd_tc, &b.pkts[0], n);
		pass_x = ns_single(fd_bx, &b.pkts[0], n);
		plan_free(&pl);
		policy_free(&pol);
		/* TCP: RST for a SYN to a rejected port */
		yaml = gen_policy(2, 0, "drop");
		{
			char *at = strstr(yaml, "allow-https");
			char *act = at ? strstr(at, "action: allow") : NULL;
			char *y2 = NULL;

			if (!act ||
			    asprintf(&y2, "%.*saction: reject\n", (int)(act - yaml), yaml) < 0)
				return 1;
			free(yaml);
			yaml = y2;
		}
		memset(&pol, 0, sizeof(pol));
		memset(&pl, 0, sizeof(pl));
		if (apply(&b, yaml, &fill_ms, &pl, &pol))
			return 1;
		free(yaml);
		pkt_build(&syn, &(struct pkt_opts){ .proto = 6 });
		rst_x = ns_single(fd_xdp, &syn, n);
		rst_t = ns_single(fd_tc, &syn, n);
		plan_free(&pl);
		policy_free(&pol);
		printf("\nReject against drop (median of %u single runs each: the time includes the test-run timer, so only differences mean something):\n\n",
		       n);
		printf("| verdict | XDP ns | tc egress ns |\n|---|---|---|\n");
		printf("| bare xdp_pass | %u | |\n", pass_x);
		printf("| drop UDP 443 | %u | %u |\n", drop_x, drop_t);
		printf("| reject UDP 443 (ICMP) | %u | %u |\n", rej_x, rej_t);
		printf("| reject TCP 443 SYN (RST) | %u | %u |\n", rst_x, rst_t);
	}

	{
		unsigned int xl, jl;
		const char *names[4] = { "tlsfw_xdp", "tlsfw_tc_ingress", "tlsfw_tc_egress",
					 "tlsfw_tc_reply" };
		int fds[4] = { fd_xdp, bpf_program__fd(b.skel->progs.tlsfw_tc_ingress), fd_tc,
			       bpf_program__fd(b.skel->progs.tlsfw_tc_reply) };

		printf("\n| program | xlated insns | jited bytes | verifier processed insns |\n|---|---|---|---|\n");
		for (int i = 0; i < 4; i++) {
			prog_size(fds[i], &xl, &jl);
			printf("| %s | %u | %u | %u |\n", names[i], xl, jl, b.verif[i]);
		}
		prog_size(fd_bx, &xl, &jl);
		printf("| xdp_pass | %u | %u | |\n", xl, jl);
	}
	tlsfw__destroy(b.skel);
	xdp_pass__destroy(b.base);
	for (int i = 0; i < 4; i++)
		free(b.logs[i]);
	return 0;
}
