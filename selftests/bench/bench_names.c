// SPDX-License-Identifier: GPL-2.0
/*
 * Name rules in the real program (issue 13): ns per packet of tlsfw_xdp from BPF_PROG_TEST_RUN
 * (repeat BENCH_REPEAT; BENCH_RUNS runs, each measuring every arm once, in turn), for a policy
 * whose `sni:` list holds 10, 1,000 or 10,000 names with wildcards of 0, 1 or 3 depths, on
 * the packets of a flow the rule decides (its SYN, a ClientHello in one segment, both
 * segments of an 1,800-byte ClientHello, a later segment) and on traffic no content rule
 * matches. Each packet is also measured under the same policy without the name rule (the
 * other generation, switched between runs) and against the bare xdp_pass.
 *
 * A repeat of one packet is its second sight (a SYN finds its flow, a segment a decided
 * flow), so the first-sight rows run through bench_wrap.bpf.c, which prepares each repeat
 * (a new 5-tuple, or the flow state the segment finds) and tail-calls tlsfw_xdp; the same
 * wrapper tail-calling xdp_pass is measured in the same run and subtracted, and the bare
 * program's own time added back. Prints markdown on stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_fill.h"
#include "content_gen.h"
#include "lib_bench.h"
#include "plan.h"
#include "policy.h"
#include "tlsfw.skel.h"
#include "xdp_pass.skel.h"
#include "bench_wrap.skel.h"

enum { MODE_NONE = 0, MODE_NEW_FLOW, MODE_RESTORE, MODE_LOOKUP }; /* bench_wrap.bpf.c */
enum { GEN_NAMES = 0, GEN_PORTS = 1 };
#define MAX_RUNS 16
#define REPEAT_DEFAULT 100000 /* without BENCH_REPEAT: a new flow's SYN costs about 1 us */
#define HELLO_TWO 1800	      /* bytes of the ClientHello in two segments (X25519MLKEM768) */
#define TLS_RECORD_HDR 5

struct bench {
	struct tlsfw *skel;
	struct xdp_pass *base;
	struct bench_wrap *wrap;
	struct bpf_maps m;
	unsigned int repeat, runs;
	int fd_x, fd_bare, fd_wrap, fd_next, fd_snap;
	uint64_t rng;
};

/* What a row measures: the packet, run directly or through the wrapper in mode. */
struct arm {
	const char *what;
	const struct pkt *p;
	int mode;
};

/* The server name every ClientHello sends: an exact entry of every list, five labels, so
 * that each wildcard depth in use costs its lookup. */
#define SNI "www.host0.b.example.com"

/* YAML: the name rule (n names, wildcards of `depths` label counts) when names, then the
 * port rules; the flows of the name rule's names are dropped. */
static char *gen_policy(unsigned int n, unsigned int depths, int names)
{
	static const char *const wild[] = { "*.w%u.com", "*.w%u.example.com",
					    "*.w%u.b.example.com" };
	size_t cap = 64 + 40 * (size_t)n + 512, len = 0;
	char *s = malloc(cap);

	len += snprintf(s, cap,
			"version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress, egress]\n"
			"default: allow\nrules:\n");
	if (names) {
		len += snprintf(s + len, cap - len,
				"  - name: names\n    proto: tcp\n    dport: 443\n    sni: [" SNI);
		for (unsigned int i = 1; i < n; i++) {
			/* the first `depths` entries after the SNI, then every tenth: wildcards */
			int w = depths && (i <= depths || i % 10 == 0);

			len += snprintf(s + len, cap - len, ", \"");
			if (w)
				len += snprintf(s + len, cap - len, wild[i % depths], i);
			else
				len += snprintf(s + len, cap - len, "host%u.b.example.com", i);
			len += snprintf(s + len, cap - len, "\"");
		}
		len += snprintf(s + len, cap - len, "]\n    action: drop\n");
	}
	snprintf(s + len, cap - len,
		 "  - name: block-quic\n    proto: udp\n    dport: 443\n    action: drop\n"
		 "  - name: allow-https\n    proto: tcp\n    dport: 443\n    action: allow\n");
	return s;
}

/* Read, check, lower and fill generation gen (not switched to). */
static int fill(struct bench *b, const char *yaml, unsigned int gen)
{
	uint32_t ifindex[TLSFW_MAX_CTX], ctx_slot[TLSFW_MAX_CTX], slots[16];
	struct policy pol = { 0 };
	struct plan pl = { 0 };
	struct fill_ids ids;
	struct diag d;
	int err;

	diag_init(&d);
	err = policy_read_mem(&pol, "bench.conf", yaml, strlen(yaml), &d);
	if (!err && !d.errors)
		err = policy_check(&pol, &d);
	if (!err && !d.errors)
		err = policy_lower(&pol, NULL, &pl, &d);
	if (!err && (d.errors || pl.n_ctx > TLSFW_MAX_CTX || pl.n_rules >= 16))
		err = -EINVAL;
	for (size_t i = 0; !err && i < pl.n_ctx; i++) {
		ifindex[i] = 1; /* where BPF_PROG_TEST_RUN puts packets */
		ctx_slot[i] = pl.ctx[i].dir;
	}
	for (size_t i = 0; i < 16; i++)
		slots[i] = i;
	ids = (struct fill_ids){ .rule_slot = slots, .ifindex = ifindex, .ctx_slot = ctx_slot };
	if (!err)
		err = bpf_clear_gen(&b->m, gen);
	if (!err)
		err = bpf_fill_gen(&b->m, &pl, gen, &ids, &d);
	diag_print(&d, stderr);
	diag_free(&d);
	plan_free(&pl);
	policy_free(&pol);
	return err;
}

static void set_next(struct bench *b, int prog_fd)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(b->fd_next, &zero, &prog_fd, BPF_ANY)) {
		fprintf(stderr, "bench_wrap: next: %s\n", strerror(errno));
		exit(1);
	}
}

/* The mean ns per packet of one run of arm a under generation gen (wrapped: to prog_fd). */
static uint32_t run_arm(struct bench *b, const struct arm *a, unsigned int gen, int prog_fd)
{
	bpf_set_gen(&b->m, gen);
	if (a->mode == MODE_NONE)
		return bench_ns(prog_fd, a->p, b->repeat, 1);
	set_next(b, prog_fd);
	b->wrap->bss->mode = a->mode;
	return bench_ns(b->fd_wrap, a->p, b->repeat, 1);
}

/*
 * One row: arm a under the name policy and under the port-only one, the wrapper's baseline
 * and the bare program, all in each run, in turn. Per run: the name policy's ns (wrapped:
 * minus the baseline, plus the bare program), the port-only's, their difference; medians and
 * the spread (min-max) of the name policy's.
 */
static void row(struct bench *b, const char *names, const char *depths, const struct arm *a)
{
	uint32_t x[MAX_RUNS], y[MAX_RUNS], dxy[MAX_RUNS], bare[MAX_RUNS], lo = ~0u, hi = 0;
	unsigned int n = b->runs;

	for (unsigned int r = 0; r < n; r++) {
		uint32_t vx = run_arm(b, a, GEN_NAMES, b->fd_x);
		uint32_t vy = run_arm(b, a, GEN_PORTS, b->fd_x);
		uint32_t w = a->mode ? run_arm(b, a, GEN_NAMES, b->fd_bare) : 0;

		bare[r] = bench_ns(b->fd_bare, a->p, b->repeat, 1);
		if (a->mode) { /* the wrapper alone out, the bare program's time in */
			vx = vx > w ? vx - w + bare[r] : bare[r];
			vy = vy > w ? vy - w + bare[r] : bare[r];
		}
		x[r] = vx;
		y[r] = vy;
		dxy[r] = vx - vy + 1000; /* kept positive for the sort */
		lo = vx < lo ? vx : lo;
		hi = vx > hi ? vx : hi;
	}
	bpf_set_gen(&b->m, GEN_NAMES);
	{
		uint32_t mx = bench_median_u32(x, n), my = bench_median_u32(y, n),
			 md = bench_median_u32(dxy, n), mb = bench_median_u32(bare, n);

		printf("| %s | %s | %s | %u | %u-%u | %u | %+d | %u | %.2f |\n", names, depths,
		       a->what, mx, lo, hi, my, (int)md - 1000, mb, mb ? (double)mx / mb : 0);
	}
	fflush(stdout);
}

/*
 * The unit of a decided flow's target: one lookup of the decided flow's key in the flow table
 * (the key the last snapshot() set), as the wrapper in MODE_LOOKUP minus the wrapper alone,
 * both before the bare program, in each run. The row's "over port-only" column is that cost.
 */
static void lookup_row(struct bench *b, const struct pkt *p)
{
	uint32_t d[MAX_RUNS], bare[MAX_RUNS], lo = ~0u, hi = 0, wl, w0;
	unsigned int n = b->runs;

	set_next(b, b->fd_bare);
	for (unsigned int r = 0; r < n; r++) {
		b->wrap->bss->mode = MODE_LOOKUP;
		wl = bench_ns(b->fd_wrap, p, b->repeat, 1);
		b->wrap->bss->mode = MODE_NONE;
		w0 = bench_ns(b->fd_wrap, p, b->repeat, 1);
		bare[r] = bench_ns(b->fd_bare, p, b->repeat, 1);
		d[r] = wl - w0 + 1000; /* kept positive for the sort */
		lo = wl - w0 < lo ? wl - w0 : lo;
		hi = wl - w0 > hi ? wl - w0 : hi;
	}
	printf("| | | one flow-table lookup of the decided flow (the target's unit) | - | %d-%d | - | "
	       "%+d | %u | - |\n",
	       (int)lo, (int)hi, (int)bench_median_u32(d, n) - 1000, bench_median_u32(bare, n));
	fflush(stdout);
}

static int frame(struct pkt *p, uint16_t dport, uint32_t seq, uint8_t flags, const uint8_t *d,
		 size_t len)
{
	struct frame_opts o = { .family = 4,
				.proto = 6,
				.sport = 41000,
				.dport = dport,
				.seq = seq,
				.tcp_flags = flags,
				.data = d,
				.len = len };

	return frame_build(p, &o);
}

/* One real run of p through prog_fd (generation GEN_NAMES); its XDP verdict. */
static uint32_t run_once(struct bench *b, int prog_fd, const struct pkt *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = p->len, .repeat = 1);

	bpf_set_gen(&b->m, GEN_NAMES);
	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		fprintf(stderr, "test run: %s\n", strerror(errno));
		exit(1);
	}
	return o.retval;
}

static uint32_t once(struct bench *b, const struct pkt *p)
{
	return run_once(b, b->fd_x, p);
}

/* The same through the wrapper in a's mode: a failed tail call would return XDP_ABORTED, and
 * a restore that did not happen would not decide the flow. */
static uint32_t wrapped_once(struct bench *b, const struct arm *a)
{
	set_next(b, b->fd_x);
	b->wrap->bss->mode = a->mode;
	return run_once(b, b->fd_wrap, a->p);
}

/* The flow table holds one flow: its state becomes what the wrapper restores. Returns its
 * parse state (enum tlsfw_flow_hello). */
static int snapshot(struct bench *b)
{
	int flows = bpf_map__fd(b->skel->maps.tlsfw_flows);
	struct tlsfw_flow f;
	uint32_t zero = 0;

	if (bpf_map_get_next_key(flows, NULL, &b->wrap->bss->key) ||
	    bpf_map_lookup_elem(flows, &b->wrap->bss->key, &f) ||
	    bpf_map_update_elem(b->fd_snap, &zero, &f, BPF_ANY)) {
		fprintf(stderr, "no flow to snapshot: %s\n", strerror(errno));
		exit(1);
	}
	return f.hello;
}

static void flows_clear(struct bench *b)
{
	int flows = bpf_map__fd(b->skel->maps.tlsfw_flows);
	struct tlsfw_flow_key k;

	while (!bpf_map_get_next_key(flows, NULL, &k))
		bpf_map_delete_elem(flows, &k);
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "bench_names: %s\n", what);
		exit(1);
	}
}

/* The packets of every configuration: frames and the flow states their rows start from. */
struct flows {
	struct pkt syn, one, s1, s2, later, udp, other;
	size_t one_len, two_len;
};

static void build_packets(struct bench *b, struct flows *fl)
{
	static uint8_t buf[HELLO_MAX];
	struct hello_out h = { .buf = buf };
	const size_t cut = 1400;

	check(!frame(&fl->syn, 443, 99, 0x02, NULL, 0), "SYN");
	check(!hello_build(&h, &(struct hello_opts){ .sni = SNI, .grease = 1, .shuffle = 1 },
			   &b->rng) &&
		      h.len <= 1400 && !frame(&fl->one, 443, 100, 0x18, h.buf, h.len),
	      "one-segment ClientHello");
	fl->one_len = h.len;
	check(!hello_build(&h,
			   &(struct hello_opts){ .sni = SNI,
						 .key_share = 1216,
						 .grease = 1,
						 .sni_last = 1,
						 .target = HELLO_TWO - TLS_RECORD_HDR },
			   &b->rng) &&
		      h.len > cut && !frame(&fl->s1, 443, 100, 0x18, h.buf, cut) &&
		      !frame(&fl->s2, 443, 100 + cut, 0x18, h.buf + cut, h.len - cut) &&
		      !frame(&fl->later, 443, 100 + h.len, 0x18, h.buf, 200),
	      "two-segment ClientHello");
	fl->two_len = h.len;
	pkt_build(&fl->udp, &(struct pkt_opts){ .payload = 64 });
	pkt_build(&fl->other,
		  &(struct pkt_opts){ .proto = 6, .dport = 80, .tcp_flags = 0x18, .payload = 200 });
}

/* The rows of one configuration (its policies filled in both generations). */
static void config_rows(struct bench *b, struct flows *fl, const char *names, const char *depths)
{
	char w1[96], w2[96], w3[96];
	struct arm a[] = {
		{ "SYN of a new flow (the rule's port)", &fl->syn, MODE_NEW_FLOW },
		{ "the same SYN again (its flow found)", &fl->syn, MODE_NONE },
		{ w1, &fl->one, MODE_RESTORE },
		{ w2, &fl->s1, MODE_RESTORE },
		{ w3, &fl->s2, MODE_RESTORE },
		{ "a later segment of the decided flow", &fl->later, MODE_NONE },
		{ "other traffic: UDP 443 (dropped by port)", &fl->udp, MODE_NONE },
		{ "other traffic: TCP 80 segment (default)", &fl->other, MODE_NONE },
	};

	snprintf(w1, sizeof(w1), "ClientHello in one segment (%zu bytes): decides", fl->one_len);
	snprintf(w2, sizeof(w2), "ClientHello of %zu bytes, segment 1 of 2", fl->two_len);
	snprintf(w3, sizeof(w3), "ClientHello of %zu bytes, segment 2 of 2: decides", fl->two_len);

	check(wrapped_once(b, &a[0]) == XDP_PASS, "the wrapped SYN did not pass");
	row(b, names, depths, &a[0]);
	/* one segment: from the state after the SYN */
	flows_clear(b);
	check(once(b, &fl->syn) == XDP_PASS, "the SYN did not pass");
	snapshot(b);
	row(b, "", "", &a[1]);
	row(b, "", "", &a[2]);
	check(once(b, &fl->one) == XDP_DROP, "the one-segment ClientHello was not dropped");
	/* two segments: segment 1 after the SYN, segment 2 after segment 1 */
	flows_clear(b);
	once(b, &fl->syn);
	snapshot(b);
	row(b, "", "", &a[3]);
	check(once(b, &fl->s1) == XDP_PASS, "segment 1 did not pass");
	check(snapshot(b) == TLSFW_FH_PARSING, "segment 1 ended the parse");
	check(wrapped_once(b, &a[4]) == XDP_DROP, "the wrapped segment 2 did not decide the flow");
	row(b, "", "", &a[4]);
	check(once(b, &fl->s2) == XDP_DROP, "segment 2 did not decide the flow");
	check(snapshot(b) == TLSFW_FH_NAME, "segment 2 did not find the name");
	for (size_t i = 5; i < sizeof(a) / sizeof(a[0]); i++)
		row(b, "", "", &a[i]);
	lookup_row(b, &fl->later);
}

/* Half a second of the programs before the first figure: the first rows measured cold. */
static void warm_up(struct bench *b, const struct flows *fl)
{
	double t0 = bench_now_ms();

	while (bench_now_ms() - t0 < 500) {
		bench_ns(b->fd_x, &fl->later, 10000, 1);
		bench_ns(b->fd_bare, &fl->later, 10000, 1);
	}
}

static int load(struct bench *b)
{
	struct bpf_map *flows;
	int err;

	b->skel = bpf_open();
	if (!b->skel)
		return -errno;
	err = tlsfw__load(b->skel);
	if (err)
		return err;
	b->base = xdp_pass__open_and_load();
	b->wrap = bench_wrap__open();
	if (!b->base || !b->wrap)
		return -errno;
	flows = b->wrap->maps.tlsfw_flows;
	err = bpf_map__reuse_fd(flows, bpf_map__fd(b->skel->maps.tlsfw_flows));
	if (!err)
		err = bench_wrap__load(b->wrap);
	if (err)
		return err;
	b->fd_x = bpf_program__fd(b->skel->progs.tlsfw_xdp);
	b->fd_bare = bpf_program__fd(b->base->progs.xdp_pass);
	b->fd_wrap = bpf_program__fd(b->wrap->progs.bench_wrap);
	b->fd_next = bpf_map__fd(b->wrap->maps.next);
	b->fd_snap = bpf_map__fd(b->wrap->maps.tlsfw_snap);
	return bpf_maps_from_skel(&b->m, b->skel);
}

int main(void)
{
	static const unsigned int counts[] = { 10, 1000, 10000 };
	static const unsigned int depths[] = { 0, 1, 3 };
	struct bench b = { .rng = 0x5e1 };
	struct flows fl;
	int err;

	bench_env(&b.repeat, &b.runs);
	if (!getenv("BENCH_REPEAT"))
		b.repeat = REPEAT_DEFAULT;
	err = load(&b);
	if (err) {
		fprintf(stderr, "cannot load the programs: %s\n", strerror(-err));
		return 1;
	}
	build_packets(&b, &fl);
	warm_up(&b, &fl);
	b.wrap->bss->sport_off = fl.syn.l4_off;
	b.wrap->bss->saddr_off = fl.syn.l3_off + 12;

	printf("Each row: ns per packet of `tlsfw_xdp` (median of %u runs of %u BPF_PROG_TEST_RUN repeats; min-max of the runs), under a policy whose name rule (`sni:`, TCP 443, drop) lists the ClientHello's name among N names with wildcards of D label depths, then the same packet under the same policy without the name rule (\"port-only\", the other generation, measured in the same runs) and the difference (median of the runs' differences), and the bare `xdp_pass` on the same packet; ratio: name policy / bare. Rows through the wrapper (SYN, ClientHello segments): each repeat is a first sight, the wrapper's own time taken out (see the text above). The last row of each configuration: the cost of one flow-table lookup of the decided flow's key (the wrapper doing it, less the wrapper alone), the unit of the target for a decided flow's segment.\n\n",
	       b.runs, b.repeat);
	printf("| names | wildcard depths | packet | ns | min-max | port-only ns | over port-only | bare XDP ns | ratio |\n");
	printf("|---|---|---|---|---|---|---|---|---|\n");
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
		for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
			char *with = gen_policy(counts[c], depths[d], 1);
			char *without = gen_policy(counts[c], depths[d], 0);
			char nm[32], dp[16];
			if (fill(&b, with, GEN_NAMES) || fill(&b, without, GEN_PORTS)) {
				fprintf(stderr, "%u names, %u depths: cannot fill\n", counts[c],
					depths[d]);
				return 1;
			}
			snprintf(nm, sizeof(nm), "%u", counts[c]);
			snprintf(dp, sizeof(dp), "%u", depths[d]);
			config_rows(&b, &fl, nm, dp);
			free(with);
			free(without);
		}
	tlsfw__destroy(b.skel);
	xdp_pass__destroy(b.base);
	bench_wrap__destroy(b.wrap);
	return 0;
}
