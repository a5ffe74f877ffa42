// SPDX-License-Identifier: GPL-2.0
/*
 * Content inspection benchmark: ns per packet from BPF_PROG_TEST_RUN (repeat BENCH_REPEAT,
 * median of BENCH_RUNS) of selftests/bpf/content_prog.bpf.c's XDP and tc programs, next to
 * the bare xdp_pass / tc_pass programs on the same packets in the same run:
 * - a UDP datagram checked for QUIC (an Initial, a DNS query, a long header of no version);
 * - a ClientHello of about 1,800 bytes (X25519MLKEM768) in two segments, per segment, the
 *   server name in the first or in the second (each run starts from the flow state the
 *   segment finds, restored from a snapshot; the restore alone is the baseline);
 * - a segment of a flow whose facts are decided (one flow-table lookup);
 * - the server-name class computed again, for tables of 10 and of 10,000 names.
 * Also the verifier's work and the flow table's memory. Prints markdown on stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "content_run.h" /* before the skeleton: its types */
#include "content_prog.skel.h"
#include "content_gen.h"
#include "lib_bench.h"
#include "xdp_pass.skel.h"

#define LOG_SIZE (1 << 20)

struct bench {
	struct content_prog *skel;
	struct xdp_pass *base;
	struct crun r;
	unsigned int repeat, runs;
	char *log[CR_HOOKS];
	uint64_t rng;
};

/* One row: the packet in `mode` against `base_mode` and the bare program, both hooks. The six
 * are measured in turn, run by run (medians), so that a change of load on the machine falls
 * on all of them alike. */
static void row(struct bench *b, const char *what, const struct pkt *p, int mode, int base_mode)
{
	int bare[CR_HOOKS] = { bpf_program__fd(b->base->progs.xdp_pass),
			       bpf_program__fd(b->base->progs.tc_pass) };
	unsigned int runs = b->runs < 16 ? b->runs : 16;
	uint32_t v[3][CR_HOOKS][16], m[3][CR_HOOKS];

	for (unsigned int r = 0; r < runs; r++)
		for (int h = 0; h < CR_HOOKS; h++) {
			*b->r.mode = base_mode;
			v[0][h][r] = bench_ns(b->r.prog[h], p, b->repeat, 1);
			*b->r.mode = mode;
			v[1][h][r] = bench_ns(b->r.prog[h], p, b->repeat, 1);
			v[2][h][r] = bench_ns(bare[h], p, b->repeat, 1);
		}
	for (int k = 0; k < 3; k++)
		for (int h = 0; h < CR_HOOKS; h++) {
			m[k][h] = bench_median_u32(v[k][h], runs);
		}
	printf("| %s | %u | %u | %+d | %u | %u | %u | %+d | %u |\n", what, m[1][0], m[0][0],
	       (int)m[1][0] - (int)m[0][0], m[2][0], m[1][1], m[0][1], (int)m[1][1] - (int)m[0][1],
	       m[2][1]);
	fflush(stdout);
}

static int frame(struct pkt *p, uint8_t proto, uint32_t seq, uint8_t flags, const uint8_t *d,
		 size_t len)
{
	struct frame_opts o = { .family = 4,
				.proto = proto,
				.sport = 41000,
				.dport = 443,
				.seq = seq,
				.tcp_flags = flags,
				.data = d,
				.len = len };

	return frame_build(p, &o);
}

static void quic_rows(struct bench *b)
{
	uint8_t d[1400];
	struct quic_opts q = { .version = 1, .dcid_len = 8, .scid_len = 8, .size = 1200 };
	struct pkt p;
	size_t n;

	if (quic_build(d, sizeof(d), &q, &b->rng) > 0 && !frame(&p, 17, 0, 0, d, 1200))
		row(b, "UDP: QUIC v1 Initial, 1,200 bytes", &p, CONTENT_FACTS, CONTENT_PARSE);
	n = dns_query(d, 0x1234, "www.example.com", 1);
	if (!frame(&p, 17, 0, 0, d, n))
		row(b, "UDP: DNS query, ID 0x1234 (first byte: not a long header)", &p,
		    CONTENT_FACTS, CONTENT_PARSE);
	n = dns_query(d, 0xc3c3, "www.example.com", 1);
	if (!frame(&p, 17, 0, 0, d, n))
		row(b, "UDP: DNS query, ID 0xc3c3 (version: none)", &p, CONTENT_FACTS,
		    CONTENT_PARSE);
	memset(d, 0, 64);
	d[0] = 0xc0; /* a long header of v1 whose connection ID lengths overrun the datagram */
	d[4] = 1;
	d[5] = 20;
	d[26] = 20;
	if (!frame(&p, 17, 0, 0, d, 64))
		row(b, "UDP: 64 bytes, long header, version 1, lengths do not fit", &p,
		    CONTENT_FACTS, CONTENT_PARSE);
}

/* The flow's state now, as the snapshot runs restore. */
static int snapshot(struct bench *b, const struct pkt *any)
{
	struct tlsfw_flow_key k = { .sport = 41000, .dport = 443, .proto = 6 };
	int snap = bpf_map__fd(b->skel->maps.tlsfw_snap);
	struct tlsfw_flow f;
	uint32_t zero = 0;

	pkt_addr("10.0.0.1", k.src);
	pkt_addr("10.0.0.2", k.dst);
	if (bpf_map_lookup_elem(b->r.flows, &k, &f))
		return -ENOENT;
	return bpf_map_update_elem(snap, &zero, &f, BPF_ANY);
}

static void hello_rows(struct bench *b, const char *what, const struct hello_opts *o)
{
	static uint8_t buf[HELLO_MAX];
	struct hello_out h = { .buf = buf };
	struct pkt syn, s1, s2;
	struct tlsfw_facts g;
	char name[128];
	size_t cut = 1400;

	if (hello_build(&h, o, &b->rng) || h.len <= cut) {
		fprintf(stderr, "%s: no ClientHello over one segment\n", what);
		return;
	}
	crun_flows_clear(&b->r);
	*b->r.want = TLSFW_WANT_HELLO;
	*b->r.mode = CONTENT_FACTS;
	frame(&syn, 6, 99, 0x02, NULL, 0);
	frame(&s1, 6, 100, 0x18, h.buf, cut);
	frame(&s2, 6, 100 + cut, 0x18, h.buf + cut, h.len - cut);
	crun_frame(&b->r, CR_XDP, &syn, &g);
	snapshot(b, &syn); /* after the SYN */
	snprintf(name, sizeof(name), "TCP: %s, %zu bytes: segment 1", what, h.len);
	row(b, name, &s1, CONTENT_RESTORE_FACTS, CONTENT_RESTORE);
	*b->r.mode = CONTENT_FACTS;
	crun_frame(&b->r, CR_XDP, &s1, &g);
	snapshot(b, &s1); /* after segment 1 */
	snprintf(name, sizeof(name), "TCP: %s: segment 2", what);
	row(b, name, &s2, CONTENT_RESTORE_FACTS, CONTENT_RESTORE);
	*b->r.mode = CONTENT_FACTS;
	crun_frame(&b->r, CR_XDP, &s2, &g);
	if (g.hello != TLSFW_HELLO_NAME) {
		fprintf(stderr, "%s: the ClientHello ended with hello %d\n", what, g.hello);
		exit(1);
	}
	snprintf(name, sizeof(name), "TCP: %s: a later segment (decided flow)", what);
	row(b, name, &s2, CONTENT_FACTS, CONTENT_PARSE);
}

/* A table of n names (exact, and a wildcard zone for every tenth) in generation gen. */
static int names_fill(struct bench *b, unsigned int n, uint8_t gen, struct name_table *t)
{
	struct name_pattern *in = calloc(n, sizeof(*in));
	char(*s)[64] = calloc(n, 64);
	size_t bad;
	int err;

	for (unsigned int i = 0; i < n; i++) {
		if (i % 10 == 9)
			snprintf(s[i], 64, "*.zone%u.example.net", i);
		else
			snprintf(s[i], 64, "host%u.example%u.com", i, i % 97);
		in[i] = (struct name_pattern){ .pattern = s[i], .list = i % 7 };
	}
	err = name_table_build(t, in, n, gen, gen_next(&b->rng), &bad);
	if (!err)
		err = crun_names(&b->r, gen, 10 + gen, t);
	free(in);
	free(s);
	return err;
}

/* The name class computed again under 10 names (generation 0) and 10,000 (generation 1),
 * the two measured in turn, run by run, so that both see the same machine. */
static void name_rows(struct bench *b)
{
	static const char *const names[] = { "host5.example5.com", "a.b.zone9.example.net",
					     "nothere.example.org" };
	static const char *const kinds[] = { "exact hit", "wildcard hit", "miss" };
	static uint8_t buf[HELLO_MAX];
	struct hello_out h = { .buf = buf };
	struct name_table t10, t10k;
	struct pkt syn, s1;
	struct tlsfw_facts g;

	if (names_fill(b, 10, 0, &t10) || names_fill(b, 10000, 1, &t10k))
		return;
	printf("\n| name class computed again | XDP ns, 10 names | XDP ns, 10,000 names | ratio | tc ns, 10 names | tc ns, 10,000 names | ratio | parse only (XDP) |\n|---|---|---|---|---|---|---|---|\n");
	for (int k = 0; k < 3; k++) {
		uint32_t v[2][CR_HOOKS][16], med[2][CR_HOOKS], base;
		unsigned int runs = b->runs < 16 ? b->runs : 16;

		crun_flows_clear(&b->r);
		hello_build(&h, &(struct hello_opts){ .sni = names[k] }, &b->rng);
		*b->r.mode = CONTENT_FACTS;
		*b->r.gen = 0;
		frame(&syn, 6, 9, 0x02, NULL, 0);
		frame(&s1, 6, 10, 0x18, h.buf, h.len);
		crun_frame(&b->r, CR_XDP, &syn, &g);
		crun_frame(&b->r, CR_XDP, &s1, &g);
		for (unsigned int r = 0; r < runs; r++)
			for (int gen = 0; gen < 2; gen++)
				for (int hk = 0; hk < CR_HOOKS; hk++) {
					*b->r.gen = gen;
					*b->r.mode = CONTENT_NAME;
					v[gen][hk][r] = bench_ns(b->r.prog[hk], &s1, b->repeat, 1);
				}
		for (int gen = 0; gen < 2; gen++)
			for (int hk = 0; hk < CR_HOOKS; hk++) {
				med[gen][hk] = bench_median_u32(v[gen][hk], runs);
			}
		*b->r.mode = CONTENT_PARSE;
		base = bench_ns(b->r.prog[CR_XDP], &s1, b->repeat, b->runs);
		printf("| %s (%s) | %u | %u | %.2f | %u | %u | %.2f | %u |\n", kinds[k], names[k],
		       med[0][0], med[1][0], (double)med[1][0] / med[0][0], med[0][1], med[1][1],
		       (double)med[1][1] / med[0][1], base);
	}
	*b->r.gen = 0;
	name_table_free(&t10);
	name_table_free(&t10k);
}

static int load(struct bench *b)
{
	struct content_prog *s = content_prog__open();
	int err;

	if (!s)
		return -errno;
	for (int h = 0; h < CR_HOOKS; h++) {
		struct bpf_program *p = h ? s->progs.content_tc : s->progs.content_xdp;

		b->log[h] = calloc(1, LOG_SIZE);
		bpf_program__set_log_buf(p, b->log[h], LOG_SIZE);
		bpf_program__set_log_level(p, 4);
	}
	err = content_prog__load(s);
	if (err)
		return err;
	b->skel = s;
	b->r = CRUN_OF(s);
	b->base = xdp_pass__open_and_load();
	return b->base ? crun_names(&b->r, 0, 1, NULL) : -errno;
}

/* The kernel's account of a map's memory (fdinfo "memlock"). */
static unsigned long long memlock(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* One segment holding a whole ClientHello of n more (empty) extensions: the cost of a field. */
static void field_rows(struct bench *b)
{
	static uint8_t buf[HELLO_MAX];
	struct hello_out h = { .buf = buf };
	struct pkt syn, s1;
	struct tlsfw_facts g;
	char what[80];

	for (int n = 0; n <= 100; n += 100) {
		crun_flows_clear(&b->r);
		hello_build(
			&h,
			&(struct hello_opts){ .sni = "www.example.com", .n_extra = n, .tls12 = 1 },
			&b->rng);
		*b->r.mode = CONTENT_FACTS;
		frame(&syn, 6, 99, 0x02, NULL, 0);
		frame(&s1, 6, 100, 0x18, h.buf, h.len);
		crun_frame(&b->r, CR_XDP, &syn, &g);
		snapshot(b, &syn);
		snprintf(what, sizeof(what),
			 "TCP: ClientHello of %d extensions, %zu bytes, one segment", h.n_ext,
			 h.len);
		row(b, what, &s1, CONTENT_RESTORE_FACTS, CONTENT_RESTORE);
		*b->r.want = 0;
		snprintf(what, sizeof(what), "TCP: the same, TLS start only");
		row(b, what, &s1, CONTENT_RESTORE_FACTS, CONTENT_RESTORE);
		*b->r.want = TLSFW_WANT_HELLO;
	}
}

static void facts_table(struct bench *b)
{
	printf("| packet | XDP ns | XDP baseline | XDP extra | bare XDP | tc ns | tc baseline | tc extra | bare tc |\n");
	printf("|---|---|---|---|---|---|---|---|---|\n");
	quic_rows(b);
	hello_rows(b, "ClientHello, name in segment 1",
		   &(struct hello_opts){ .sni = "www.example.com",
					 .key_share = 1216,
					 .grease = 1,
					 .ech = 1,
					 .padding_first = 0 });
	hello_rows(b, "ClientHello, name in segment 2",
		   &(struct hello_opts){ .sni = "www.example.com",
					 .key_share = 1216,
					 .grease = 1,
					 .ech = 1,
					 .sni_last = 1 });
	field_rows(b);
}

int main(void)
{
	struct bench b = { .rng = 0xbe4c4 };
	int err;

	bench_env(&b.repeat, &b.runs);
	err = load(&b);
	if (err) {
		fprintf(stderr, "cannot load the programs: %s\n", strerror(-err));
		return 1;
	}
	printf("Each row: ns per packet (median of %u runs of %u BPF_PROG_TEST_RUN repeats) of the content test program, of its baseline (the same packet parsed only, or with the flow state restored only), the difference, and the bare program on the same packet, in the same run.\n\n",
	       b.runs, b.repeat);
	facts_table(&b);
	name_rows(&b);
	printf("\n| program | verifier processed insns |\n|---|---|\n");
	for (int h = 0; h < CR_HOOKS; h++) {
		const char *s = strstr(b.log[h], "processed ");

		printf("| %s | %lu |\n", h ? "content_tc" : "content_xdp",
		       s ? strtoul(s + 10, NULL, 10) : 0);
	}
	printf("\nFlow table: %u entries by default, %llu bytes of kernel memory (%llu per entry).\n",
	       bpf_map__max_entries(b.skel->maps.tlsfw_flows), memlock(b.r.flows),
	       memlock(b.r.flows) / bpf_map__max_entries(b.skel->maps.tlsfw_flows));
	content_prog__destroy(b.skel);
	xdp_pass__destroy(b.base);
	for (int h = 0; h < CR_HOOKS; h++)
		free(b.log[h]);
	return 0;
}
