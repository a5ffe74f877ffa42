// SPDX-License-Identifier: GPL-2.0
/*
 * Content inspection state, each with an exact expectation (BPF_PROG_TEST_RUN on the XDP and
 * tc programs of selftests/bpf/content_prog.bpf.c): server-name classes (exact names,
 * wildcards of one or more labels, case), a forged name-table entry whose key matches a
 * name that is not its own, name classes across generations and their epochs, the
 * ClientHello asked for late, flows without their SYN, SYN restarts, the reply direction,
 * statistics that move by exactly one, and the flow table's evictions (created minus present).
 * Needs root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "content_stats.h"
#include "lib_content.h"

/* The lists (bits) of class cls in table t. */
static uint64_t lists_of(const struct name_table *t, uint32_t cls)
{
	uint64_t m = 0;

	for (unsigned int l = 0; l < 64; l++)
		if (name_table_has(t, cls, l))
			m |= 1ull << l;
	return m;
}

/* A new flow whose ClientHello names `name` (NULL: none), whole in one segment. */
static int name_flow(const char *name, int hook, uint16_t sport, struct tlsfw_facts *g)
{
	static uint8_t buf[HELLO_MAX];
	struct hello_out h = { .buf = buf };
	struct fopts fo = { .hook = hook, .family = 4, .want = 1 };
	uint32_t isn = gen_next(&ct_rng);

	*ct_env.r.want = TLSFW_WANT_HELLO;
	if (hello_build(&h, &(struct hello_opts){ .sni = name }, &ct_rng) || h.len > SEG_MAX)
		return -EINVAL;
	if (ct_send_seg(&fo, sport, isn, 0x02, NULL, 0, 0, g))
		return -EIO;
	return ct_send_seg(&fo, sport, isn + 1, 0x18, h.buf, h.len, 0, g);
}

/* A segment without payload (an ACK) of flow sport: its facts now. */
static int ack(int hook, uint16_t sport, struct tlsfw_facts *g)
{
	return ct_send_seg(&(struct fopts){ .hook = hook, .family = 4 }, sport, 0, 0x10, NULL, 0, 0,
			   g);
}

#define B(l) (1ull << (l))

static void test_names(void)
{
	static const struct {
		const char *name;
		uint64_t lists;
	} cs[] = {
		{ "dns.google", B(0) },
		{ "DNS.Google", B(0) },
		{ "cloudflare-dns.com", B(0) | B(5) },
		{ "a.cloudflare-dns.com", B(0) | B(5) },
		{ "x.y.cloudflare-dns.com", B(0) | B(5) },
		{ "evilcloudflare-dns.com", B(5) },
		{ "example.com", B(5) },
		{ "admin.example.com", B(1) | B(2) | B(5) },
		{ "b.example.com", B(2) | B(5) },
		{ "x.b.example.com", B(2) | B(3) | B(4) | B(5) },
		{ "Y.B.Example.Com", B(2) | B(3) | B(5) },
		{ "mixed.case.example", B(6) },
		{ "www.example.com", B(2) | B(5) | B(7) },
		{ "deep.a.b.c.d.example.org", B(8) },
		{ "a.b.c.d.example.org", 0 },
		{ "example.net", 0 },
	};
	struct tlsfw_facts g;

	for (int hook = 0; hook < CR_HOOKS; hook++) {
		for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
			int err = name_flow(cs[i].name, hook, 30000 + i, &g);

			CHECK(!err && g.hello == TLSFW_HELLO_NAME &&
				      lists_of(&ct_env.t, g.name_cls) == cs[i].lists &&
				      (cs[i].lists || g.name_cls == 0),
			      "%s (hook %d): hello %d class %u lists %#llx, want %#llx", cs[i].name,
			      hook, g.hello, g.name_cls,
			      (unsigned long long)lists_of(&ct_env.t, g.name_cls),
			      (unsigned long long)cs[i].lists);
		}
		CHECK(!name_flow(NULL, hook, 30100, &g) && g.hello == TLSFW_HELLO_NO_NAME &&
			      g.name_cls == 0,
		      "no server_name: hello %d", g.hello);
	}
}

/* An entry whose key is the one of `name` but which stores `stored`, with class cls. */
static int forge(const char *name, const char *stored, uint32_t cls)
{
	struct tlsfw_name_key k = { .hash = name_hash(ct_env.t.seed, name, strlen(name)),
				    .kind = TLSFW_NAME_EXACT,
				    .len = strlen(name) };
	struct tlsfw_name_val v = { .cls = cls, .len = strlen(name) };

	memcpy(v.name, stored, strlen(stored));
	return bpf_map_update_elem(ct_env.r.names, &k, &v, BPF_ANY);
}

static void test_collision(void)
{
	const char *x = "evil.example.net";
	uint32_t cls = 0;
	struct tlsfw_facts g;

	for (size_t i = 0; i < ct_env.t.n; i++) /* dns.google's class: list 0 alone */
		if (lists_of(&ct_env.t, ct_env.t.vals[i].cls) == B(0))
			cls = ct_env.t.vals[i].cls;
	CHECK(cls, "no class of list 0 alone");
	/* the key of x, holding another name: x must not take its class */
	CHECK(!forge(x, "dns.google.xx.net", cls), "forge: %s", strerror(errno));
	for (int hook = 0; hook < CR_HOOKS; hook++)
		CHECK(!name_flow(x, hook, 30200 + hook, &g) && g.hello == TLSFW_HELLO_NAME &&
			      g.name_cls == 0,
		      "a forged entry of another name matched: class %u", g.name_cls);
	/* the control: the same key holding x itself does give the class */
	CHECK(!forge(x, x, cls), "forge: %s", strerror(errno));
	for (int hook = 0; hook < CR_HOOKS; hook++)
		CHECK(!name_flow(x, hook, 30210 + hook, &g) && g.name_cls == cls,
		      "the entry of the name itself did not match: class %u", g.name_cls);
	CHECK(!crun_names(&ct_env.r, 0, 1, &ct_env.t), "restore generation 0");
}

static void test_generations(void)
{
	static const struct ref_pattern b[] = { { "www.example.com", 3 }, { "*.example.com", 1 } };
	static const struct ref_pattern c[] = { { "*.com", 4 } };
	struct name_table tb, tc;
	uint64_t n0 = crun_stat(&ct_env.r, TLSFW_CSTAT_NAME_LOOKUP);
	struct tlsfw_facts g;
	const uint16_t sport = 30300;

	if (ct_table_of(&tb, b, 2, 1) || ct_table_of(&tc, c, 1, 0)) {
		CHECK(0, "tables");
		return;
	}
	*ct_env.r.gen = 0;
	CHECK(!name_flow("www.example.com", CR_XDP, sport, &g) &&
		      lists_of(&ct_env.t, g.name_cls) == (B(2) | B(5) | B(7)),
	      "generation 0: class %u", g.name_cls);
	CHECK(!ack(CR_TC, sport, &g) && lists_of(&ct_env.t, g.name_cls) == (B(2) | B(5) | B(7)),
	      "generation 0, again: class %u", g.name_cls);
	CHECK(crun_stat(&ct_env.r, TLSFW_CSTAT_NAME_LOOKUP) == n0 + 1,
	      "a segment of the same generation looked the name up again");
	/* a new policy in generation 1: the class is computed again from the name */
	CHECK(!crun_names(&ct_env.r, 1, 2, &tb), "fill generation 1");
	*ct_env.r.gen = 1;
	CHECK(!ack(CR_XDP, sport, &g) && lists_of(&tb, g.name_cls) == (B(1) | B(3)),
	      "generation 1: class %u lists %#llx", g.name_cls,
	      (unsigned long long)lists_of(&tb, g.name_cls));
	/* back to generation 0 as it was: its epoch is not the one cached */
	*ct_env.r.gen = 0;
	CHECK(!ack(CR_TC, sport, &g) && lists_of(&ct_env.t, g.name_cls) == (B(2) | B(5) | B(7)),
	      "generation 0 again: class %u", g.name_cls);
	/* generation 0 filled anew (new epoch): never the class of the old policy */
	CHECK(!crun_names(&ct_env.r, 0, 3, &tc), "refill generation 0");
	CHECK(!ack(CR_XDP, sport, &g) && lists_of(&tc, g.name_cls) == B(4),
	      "generation 0 refilled: class %u", g.name_cls);
	CHECK(crun_stat(&ct_env.r, TLSFW_CSTAT_NAME_LOOKUP) == n0 + 4,
	      "name lookups: %llu, want %llu",
	      (unsigned long long)crun_stat(&ct_env.r, TLSFW_CSTAT_NAME_LOOKUP),
	      (unsigned long long)n0 + 4);
	CHECK(!crun_names(&ct_env.r, 0, 4, &ct_env.t) && !crun_names(&ct_env.r, 1, 5, NULL),
	      "restore");
	name_table_free(&tb);
	name_table_free(&tc);
}

/* The ClientHello asked for only after the TLS start was decided: MIDSTREAM, for good. */
static void test_want_late(void)
{
	static uint8_t buf[HELLO_MAX];
	struct hello_out h = { .buf = buf };
	struct fopts fo = { .hook = CR_TC, .family = 6 };
	uint32_t isn = 77;
	struct tlsfw_facts g;

	hello_build(&h, &(struct hello_opts){ .sni = "dns.google" }, &ct_rng);
	*ct_env.r.want = 0;
	ct_send_seg(&fo, 30400, isn, 0x02, NULL, 0, 0, &g);
	ct_send_seg(&fo, 30400, isn + 1, 0x18, h.buf, 100, 0, &g);
	CHECK(g.tls == TLSFW_TLS_YES && g.hello == TLSFW_HELLO_MIDSTREAM, "not asked: %d %d", g.tls,
	      g.hello);
	*ct_env.r.want = TLSFW_WANT_HELLO;
	ct_send_seg(&fo, 30400, isn + 101, 0x18, h.buf + 100, h.len - 100, 0, &g);
	CHECK(g.tls == TLSFW_TLS_YES && g.hello == TLSFW_HELLO_MIDSTREAM, "asked late: %d %d",
	      g.tls, g.hello);
}

static void test_midstream_restart(void)
{
	struct fopts fo = { .hook = CR_XDP, .family = 4, .want = 1 };
	uint64_t mid = crun_stat(&ct_env.r, TLSFW_CSTAT_MIDSTREAM);
	uint64_t fresh = crun_stat(&ct_env.r, TLSFW_CSTAT_FLOW_NEW);
	uint64_t reset = crun_stat(&ct_env.r, TLSFW_CSTAT_FLOW_RESET);
	uint64_t done = crun_stat(&ct_env.r, TLSFW_CSTAT_HELLO_DONE);
	struct tlsfw_facts g;

	CHECK(!ct_send_seg(&fo, 30500, 1000, 0x18, (const uint8_t *)"\x16\x03\x01\x00\x10\x01", 6,
			   0, &g) &&
		      g.tls == TLSFW_TLS_MIDSTREAM && g.hello == TLSFW_HELLO_MIDSTREAM,
	      "data without a SYN: %d %d", g.tls, g.hello);
	CHECK(!ack(CR_TC, 30501, &g) && g.tls == TLSFW_TLS_MIDSTREAM, "an ACK without a SYN");
	CHECK(!ct_send_seg(&fo, 30502, 1000, 0x12, NULL, 0, 0, &g) && g.tls == TLSFW_TLS_MIDSTREAM,
	      "a SYN-ACK (the reply direction) is not the client's SYN");
	CHECK(crun_stat(&ct_env.r, TLSFW_CSTAT_MIDSTREAM) == mid + 3, "midstream statistic");
	CHECK(!name_flow("dns.google", CR_XDP, 30503, &g) && g.hello == TLSFW_HELLO_NAME, "a flow");
	CHECK(crun_stat(&ct_env.r, TLSFW_CSTAT_FLOW_NEW) == fresh + 1 &&
		      crun_stat(&ct_env.r, TLSFW_CSTAT_HELLO_DONE) == done + 1,
	      "created and done statistics");
	/* a RST carries no stream data; the flow's facts stay */
	CHECK(!ct_send_seg(&fo, 30503, 1, 0x14, (const uint8_t *)"GET /", 5, 0, &g) &&
		      g.hello == TLSFW_HELLO_NAME,
	      "RST: %d", g.hello);
	/* a new connection on the same 5-tuple (another ISN) starts again */
	CHECK(!name_flow("example.net", CR_TC, 30503, &g) && g.hello == TLSFW_HELLO_NAME &&
		      g.name_cls == 0,
	      "restart: hello %d class %u", g.hello, g.name_cls);
	CHECK(crun_stat(&ct_env.r, TLSFW_CSTAT_FLOW_RESET) == reset + 1 &&
		      crun_stat(&ct_env.r, TLSFW_CSTAT_FLOW_NEW) == fresh + 1,
	      "restart statistics");
}

/* A table of 64 flows and 200 SYNs: exactly the flows no longer present are MIDSTREAM. */
static void test_flow_table(void)
{
	struct ct_env_s big = ct_env;
	struct tlsfw_facts g;
	long live, mid = 0;
	uint64_t made;
	int err;

	CHECK(bpf_map__max_entries(big.skel->maps.tlsfw_flows) == TLSFW_FLOWS_DEFAULT,
	      "default flow table size");
	memset(&ct_env, 0, sizeof(ct_env));
	err = ct_env_load(&ct_env, TLSFW_FLOWS_MIN);
	CHECK(!err, "load with flows: %d", TLSFW_FLOWS_MIN);
	if (err) {
		ct_env = big;
		return;
	}
	for (int i = 0; i < 200; i++)
		ct_send_seg(&(struct fopts){ .hook = i & 1, .family = 4 }, 40000 + i, 5, 0x02, NULL,
			    0, 0, &g);
	made = crun_stat(&ct_env.r, TLSFW_CSTAT_FLOW_NEW);
	live = crun_flows_count(&ct_env.r);
	CHECK(made == 200 && live > 0 && live <= TLSFW_FLOWS_MIN, "created %llu, present %ld",
	      (unsigned long long)made, live);
	for (int i = 0; i < 200; i++) {
		struct tlsfw_flow_key k;
		struct tlsfw_flow f;
		int present;

		ct_flow_key(&k, &(struct fopts){ .family = 4 }, 40000 + i);
		present = !bpf_map_lookup_elem(ct_env.r.flows, &k, &f);
		ct_send_seg(&(struct fopts){ .hook = i & 1, .family = 4 }, 40000 + i, 6, 0x18,
			    (const uint8_t *)"\x16\x03\x01\x02\x00\x01", 6, 0, &g);
		mid += g.tls == TLSFW_TLS_MIDSTREAM;
		CHECK(present ? g.tls == TLSFW_TLS_YES : g.tls == TLSFW_TLS_MIDSTREAM,
		      "flow %d, present %d: tls %d", i, present, g.tls);
	}
	CHECK(mid == (long)made - live, "evicted flows seen as mid-stream: %ld, want %ld", mid,
	      (long)made - live);
	{ /* what `tlsfw stats` will read */
		struct content_stats cs;

		CHECK(!content_stats_read(ct_env.r.stats, ct_env.r.flows, &cs) &&
			      cs.flows == (uint64_t)live && cs.evicted == made - live &&
			      cs.stat[TLSFW_CSTAT_FLOW_NEW] == made &&
			      cs.stat[TLSFW_CSTAT_MIDSTREAM] == (uint64_t)mid,
		      "content_stats_read: %llu present, %llu evicted",
		      (unsigned long long)cs.flows, (unsigned long long)cs.evicted);
	}
	printf("flow table of %d: 200 created, %ld present, %ld evicted\n", TLSFW_FLOWS_MIN, live,
	       (long)made - live);
	ct_env_free(&ct_env);
	ct_env = big;
}

int main(void)
{
	const char *seed = getenv("TLSFW_SEED");
	int err;

	ct_rng = seed ? strtoull(seed, NULL, 0) : 0x57a7e;
	err = ct_env_load(&ct_env, 0);
	if (err) {
		fprintf(stderr, "cannot load content_prog: %s\n", strerror(-err));
		return 1;
	}
	test_names();
	test_collision();
	test_generations();
	test_want_late();
	test_midstream_restart();
	test_flow_table();
	ct_env_free(&ct_env);
	failures += ct_failures;
	return check_report("test_content_state");
}
