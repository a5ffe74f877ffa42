// SPDX-License-Identifier: GPL-2.0
/*
 * The content tests' driver (lib_content.h): the test program loaded with the tests' name
 * lists, one TCP flow run segment by segment through a hook and through the reference at
 * once, and segment plans (cuts, random cuts with retransmissions, coalescing, reordering,
 * fragments).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib_content.h"

uint64_t ct_rng;
struct ct_env_s ct_env;
unsigned long ct_segments, ct_flows, ct_failures;
static uint16_t next_port = 20000;

const struct ref_pattern ct_patterns[N_PATTERNS] = {
	{ "dns.google", 0 },	     { "cloudflare-dns.com", 0 }, { "*.cloudflare-dns.com", 0 },
	{ "dns.quad9.net", 0 },	     { "admin.example.com", 1 },  { "*.example.com", 2 },
	{ "*.b.example.com", 3 },    { "x.b.example.com", 4 },	  { "*.com", 5 },
	{ "Mixed.Case.Example", 6 }, { "www.example.com", 7 },	  { "*.a.b.c.d.example.org", 8 },
};
int ct_table_of(struct name_table *t, const struct ref_pattern *p, size_t n, uint8_t gen)
{
	struct name_pattern *in = calloc(n ? n : 1, sizeof(*in));
	size_t bad = 0;
	int err;

	for (size_t i = 0; i < n; i++)
		in[i] = (struct name_pattern){ .pattern = p[i].pattern, .list = p[i].list };
	err = name_table_build(t, in, n, gen, gen_next(&ct_rng), &bad);
	free(in);
	return err;
}

/* Load the program (flows: its flow table size, 0 for the default) into e. */
int ct_env_load(struct ct_env_s *e, uint32_t flows)
{
	struct content_prog *s = content_prog__open();
	int err;

	if (!s)
		return -errno;
	if (flows)
		bpf_map__set_max_entries(s->maps.tlsfw_flows, flows);
	for (int h = 0; h < CR_HOOKS; h++) {
		e->log[h] = calloc(1, LOG_SIZE);
		bpf_program__set_log_buf(h ? s->progs.content_tc : s->progs.content_xdp, e->log[h],
					 LOG_SIZE);
		bpf_program__set_log_level(h ? s->progs.content_tc : s->progs.content_xdp, 4);
	}
	err = content_prog__load(s);
	if (err) {
		content_prog__destroy(s);
		return err;
	}
	e->skel = s;
	e->r = CRUN_OF(s);
	err = ct_table_of(&e->t, ct_patterns, N_PATTERNS, 0);
	return err ? err : crun_names(&e->r, 0, 1, &e->t);
}

void ct_env_free(struct ct_env_s *e)
{
	name_table_free(&e->t);
	content_prog__destroy(e->skel);
	for (int h = 0; h < CR_HOOKS; h++)
		free(e->log[h]);
	memset(e, 0, sizeof(*e));
}

/* ---- one flow, segment by segment, against the reference ---------------------------------- */

void ct_flow_key(struct tlsfw_flow_key *k, const struct fopts *fo, uint16_t sport)
{
	memset(k, 0, sizeof(*k));
	pkt_addr(fo->family == 6 ? "fd00::1" : "10.0.0.1", k->src);
	pkt_addr(fo->family == 6 ? "fd00::2" : "10.0.0.2", k->dst);
	k->sport = sport;
	k->dport = 443;
	k->proto = 6;
}

/* The facts got and the reference's agree; the flow keeps the name the reference read. */
static int agree(const char *what, int seg, const struct tlsfw_facts *g, const struct ref_facts *w,
		 const struct tlsfw_flow_key *k)
{
	int ok = g->tls == w->tls && g->hello == w->hello;
	struct tlsfw_flow f;

	if (ok && w->hello == TLSFW_HELLO_MALFORMED)
		ok = g->why == w->why;
	if (ok && (w->hello == TLSFW_HELLO_NAME || w->hello == TLSFW_HELLO_NO_NAME))
		ok = g->ech == w->ech;
	if (ok && w->hello == TLSFW_HELLO_NAME) {
		uint64_t lists = ref_name_lists(ct_patterns, N_PATTERNS, w->name);

		for (unsigned int l = 0; l < N_LISTS; l++)
			ok &= name_table_has(&ct_env.t, g->name_cls, l) == !!(lists & (1ull << l));
		ok &= !bpf_map_lookup_elem(ct_env.r.flows, k, &f) && f.hp.name_len == w->name_len &&
		      !memcmp(f.name, w->name, w->name_len);
	}
	if (!ok) {
		ct_failures++;
		fprintf(stderr,
			"FAIL %s, segment %d: got tls %d hello %d why %d ech %d class %u; want tls %d hello %d why %d ech %d name '%s'\n",
			what, seg, g->tls, g->hello, g->why, g->ech, g->name_cls, w->tls, w->hello,
			w->why, w->ech, w->name);
	}
	return ok;
}

int ct_send_seg(const struct fopts *fo, uint16_t sport, uint32_t seq, uint8_t flags,
		const uint8_t *data, size_t len, int frag, struct tlsfw_facts *got)
{
	struct frame_opts o = { .family = fo->family,
				.vlans = fo->vlans,
				.proto = 6,
				.sport = sport,
				.dport = 443,
				.seq = seq,
				.tcp_flags = flags,
				.data = data,
				.len = len,
				.frag = frag ? PKT_FRAG_FIRST : 0 };
	struct pkt p;

	if (flags & 0x02 && len) /* Fast Open: the cookie option */
		o.tcp_opts = 12;
	if (frame_build(&p, &o))
		return -EINVAL;
	ct_segments++;
	return crun_frame(&ct_env.r, fo->hook, &p, got);
}

/* Runs the segments of stream through the hook and the reference; 0 when all agree. */
int ct_flow_run(const char *what, const uint8_t *stream, const struct seg *s, int n,
		const struct fopts *fo)
{
	uint32_t isn = gen_next(&ct_rng);
	uint16_t sport = next_port++;
	struct tlsfw_flow_key k;
	struct tlsfw_facts g;
	struct ref_facts w;
	struct ref_flow rf;
	int i = 0, bad = 0;
	int tfo = fo->tfo && n && s[0].off == 0 && !s[0].frag && s[0].len + 12 <= SEG_MAX;

	if (next_port > 60000)
		next_port = 20000;
	ct_flows++;
	ct_flow_key(&k, fo, sport);
	ref_flow_init(&rf, fo->want);
	*ct_env.r.want = fo->want ? TLSFW_WANT_HELLO : 0;
	if (ct_send_seg(fo, sport, isn, 0x02, tfo ? stream : NULL, tfo ? s[0].len : 0, 0, &g) ||
	    ref_flow_segment(&rf, 0, stream, tfo ? s[0].len : 0, 1, &w)) {
		ct_failures++;
		fprintf(stderr, "FAIL %s: the SYN did not run\n", what);
		ref_flow_free(&rf);
		return -1;
	}
	bad |= !agree(what, -1, &g, &w, &k);
	for (i = tfo; i < n && !bad; i++) {
		const uint8_t *d = s[i].data ? s[i].data : stream + s[i].off;

		if (ct_send_seg(fo, sport, isn + 1 + s[i].off, 0x18, d, s[i].len, s[i].frag, &g) ||
		    ref_flow_segment(&rf, s[i].off, d, s[i].len, !s[i].frag, &w)) {
			ct_failures++;
			fprintf(stderr, "FAIL %s: segment %d did not run\n", what, i);
			bad = 1;
			break;
		}
		bad |= !agree(what, i, &g, &w, &k);
	}
	ref_flow_free(&rf);
	return bad ? -1 : 0;
}

/* ---- segment plans ------------------------------------------------------------------------- */

/* Segments of len bytes of at most max each, cut after `first` bytes first. */
int ct_plan_cut(struct seg *s, size_t len, size_t first, size_t max)
{
	int n = 0;

	for (size_t off = 0; off < len && n < MAX_SEGS;) {
		size_t l = n == 0 && first ? first : max;

		if (l > len - off)
			l = len - off;
		s[n++] = (struct seg){ .off = off, .len = l };
		off += l;
	}
	return n;
}

int ct_plan_tiny(struct seg *s, size_t len, size_t tiny)
{
	int n = 0;

	for (size_t off = 0; off < len && n < MAX_SEGS;) {
		size_t l = off < tiny ? 1 + gen_below(&ct_rng, 7) : SEG_MAX;

		if (l > len - off)
			l = len - off;
		s[n++] = (struct seg){ .off = off, .len = l };
		off += l;
	}
	return n;
}

/* Random cuts (small ones too), then with `mess` retransmissions, coalesced retransmissions,
 * swapped neighbours, fragments and segments from before the stream. */
int ct_plan_random(struct seg *s, size_t len, int mess)
{
	int n = 0;

	for (size_t off = 0; off < len && n < MAX_SEGS / 2;) {
		size_t l = gen_below(&ct_rng, 4) ? 1 + gen_below(&ct_rng, SEG_MAX) :
						   1 + gen_below(&ct_rng, 8);

		if (l > len - off)
			l = len - off;
		if ((len - off) / SEG_MAX >= (size_t)(MAX_SEGS / 2 - n - 1))
			l = len - off < SEG_MAX ? len - off : SEG_MAX;
		s[n++] = (struct seg){ .off = off, .len = l };
		off += l;
	}
	for (int k = 0; mess && k < 4 && n < MAX_SEGS - 2; k++) {
		int i = gen_below(&ct_rng, n), j;

		switch (gen_below(&ct_rng, 5)) {
		case 0: /* a retransmission, later */
			j = i + 1 + gen_below(&ct_rng, n - i);
			memmove(s + j + 1, s + j, (n - j) * sizeof(*s));
			s[j] = s[i];
			n++;
			break;
		case 1: /* a coalesced retransmission: this one and the next as one */
			if (i + 1 < n && s[i + 1].off == s[i].off + s[i].len && !s[i].data &&
			    !s[i + 1].data && s[i].len + s[i + 1].len <= SEG_MAX) {
				memmove(s + i + 3, s + i + 2, (n - i - 2) * sizeof(*s));
				s[i + 2] = (struct seg){ .off = s[i].off,
							 .len = s[i].len + s[i + 1].len };
				n++;
			}
			break;
		case 2: /* out of order */
			if (i + 1 < n) {
				struct seg t = s[i];

				s[i] = s[i + 1];
				s[i + 1] = t;
			}
			break;
		case 3: /* an IP fragment, then the same segment whole */
			memmove(s + i + 1, s + i, (n - i) * sizeof(*s));
			s[i].frag = 1;
			n++;
			break;
		default: /* bytes from before ISN + 1 */
			memmove(s + i + 1, s + i, (n - i) * sizeof(*s));
			s[i] = (struct seg){ .off = 0xffffff00u,
					     .len = 8,
					     .data = (const uint8_t *)"GARBAGE!" };
			n++;
		}
	}
	return n;
}

/* The stream through every kind of plan, on both hooks and in every framing. */
void ct_flow_plans(const char *what, const uint8_t *stream, size_t len, int splits64)
{
	struct seg s[MAX_SEGS];
	char name[160];
	int n;

	for (int k = 0; k < 8; k++) {
		struct fopts fo = { .hook = k & 1,
				    .family = k & 2 ? 6 : 4,
				    .vlans = (k >> 2) & 1 ? 2 : 0,
				    .want = 1,
				    .tfo = k == 5 };

		n = ct_plan_cut(s, len, 0, SEG_MAX);
		snprintf(name, sizeof(name), "%s, whole, framing %d", what, k);
		ct_flow_run(name, stream, s, n, &fo);
		n = ct_plan_random(s, len, k & 1);
		snprintf(name, sizeof(name), "%s, random %d", what, k);
		ct_flow_run(name, stream, s, n, &fo);
	}
	n = ct_plan_tiny(s, len, 1000); /* any number of segments: here, hundreds */
	snprintf(name, sizeof(name), "%s, tiny segments", what);
	ct_flow_run(name, stream, s, n, &(struct fopts){ .hook = CR_XDP, .family = 6, .want = 1 });
	for (size_t cut = 1; splits64 && cut <= 64 && cut < len; cut++) {
		struct fopts fo = { .hook = cut & 1, .family = 4, .want = 1 };

		n = ct_plan_cut(s, len, cut, SEG_MAX);
		snprintf(name, sizeof(name), "%s, cut at %zu", what, cut);
		ct_flow_run(name, stream, s, n, &fo);
	}
	/* without asking for the ClientHello: the hello fact is MIDSTREAM once TLS */
	n = ct_plan_cut(s, len, 3, SEG_MAX);
	snprintf(name, sizeof(name), "%s, hello not asked", what);
	ct_flow_run(name, stream, s, n, &(struct fopts){ .hook = CR_TC, .family = 4 });
}
