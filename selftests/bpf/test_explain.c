// SPDX-License-Identifier: GPL-2.0
/*
 * `tlsfw explain` against the data plane: 100 random policies (randpol; half read and checked
 * from YAML) x 100 packets. Each policy is lowered and filled into the real maps by bpf_fill
 * (every other policy with every table forced into its hash form), each packet is built as a
 * frame and run with BPF_PROG_TEST_RUN through tlsfw_xdp or tlsfw_tc_ingress (ingress) or
 * tlsfw_tc_egress (egress). The rule whose counter moved (or the default statistic), the
 * verdict total that moved and the return code must be what both engines say:
 * explain_plan() over the plan's rule list and explain_live_decide() over the maps. Packets in
 * a direction the interface does not hook must pass uncounted, and explain must say "not
 * hooked". Seeded (TLSFW_SEED); a failure prints the seed, the policy and the packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_fill.h"
#include "explain.h"
#include "explain_maps.h"
#include "percpu.h"
#include "pkt.h"
#include "plan.h"
#include "randpol.h"
#include "tlsfw.skel.h"

#define N_POLICIES 100
#define PACKETS_PER_POLICY 100
#define N_WATCH (TLSFW_STAT_RULE0 + 64) /* counters watched per block */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

enum hook { H_XDP, H_TC_IN, H_TC_OUT, N_HOOKS };

struct env {
	struct tlsfw *skel;
	struct bpf_maps m;
	int prog[N_HOOKS], ncpu;
	unsigned int gen;
	unsigned long packets, matched, defaults, unhooked, monitors, failures;
	unsigned long by_verdict[3];
};

/* Fill generation e->gen with pl's contexts of ifname on ifindex 1 (block 0 ingress, 1
 * egress), rule slot = rule index, and switch to it. */
static int fill(struct env *e, const struct plan *pl, const char *ifname, bool hashes)
{
	uint32_t ifindex[2] = { 1, 1 }, ctx_slot[2], *slots;
	struct plan p2 = *pl;
	struct plan_ctx ctx[2];
	struct fill_ids ids;
	struct diag d;
	size_t n = 0;
	int err;

	for (size_t i = 0; i < pl->n_ctx && n < 2; i++) {
		if (strcmp(pl->ctx[i].ifname, ifname))
			continue;
		ctx[n] = pl->ctx[i];
		ctx_slot[n++] = pl->ctx[i].dir;
	}
	p2.ctx = ctx;
	p2.n_ctx = n;
	slots = calloc(pl->n_rules + 1, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n_rules; i++)
		slots[i] = i;
	ids = (struct fill_ids){ .rule_slot = slots,
				 .ifindex = ifindex,
				 .ctx_slot = ctx_slot,
				 .direct_max = hashes ? 1 : 0 };
	diag_init(&d);
	err = bpf_clear_gen(&e->m, e->gen);
	err = err ?: bpf_fill_gen(&e->m, &p2, e->gen, &ids, &d);
	err = err ?: bpf_set_gen(&e->m, e->gen);
	if (err) {
		diag_print(&d, stderr);
		fprintf(stderr, "FAIL: fill generation %u: %s\n", e->gen, strerror(-err));
	}
	e->gen ^= 1;
	diag_free(&d);
	free(slots);
	return err;
}

/* A random packet of the policy on ifc, as explain takes it and as a frame. */
static int make_packet(const struct policy *pol, const struct pol_iface *ifc, struct rp_rng *r,
		       struct explain_pkt *x, struct pkt *frame)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	struct pkt_opts o = { 0 };
	struct ref_pkt ref;
	int af;

	do
		randpol_packet(pol, r, &ref);
	while (strcmp(ref.ifname, ifc->name));
	/* Protocol numbers the builder and the parser take as transports (see test_differential) */
	if (!ref.proto || (ref.family == 6 && (ref.proto == 43 || ref.proto == 44 ||
					       ref.proto == 51 || ref.proto == 60)))
		ref.proto = 253;
	memset(x, 0, sizeof(*x));
	x->family = ref.family;
	x->proto = ref.proto;
	x->has_ports = ref.proto == IPPROTO_TCP || ref.proto == IPPROTO_UDP;
	x->sport = x->has_ports ? (ref.sport ? ref.sport : 1) : 0;
	x->dport = x->has_ports ? (ref.dport ? ref.dport : 1) : 0;
	/* the builder always writes an ICMP type (echo request unless told) */
	x->has_type = ref.proto == IPPROTO_ICMP || ref.proto == IPPROTO_ICMPV6;
	x->icmp_type = ref.has_type ? ref.icmp_type : ref.proto == IPPROTO_ICMPV6 ? 128 : 8;
	x->hop_limit = ref.hop_limit ? ref.hop_limit : 64;
	memcpy(x->src, ref.src, 16);
	memcpy(x->dst, ref.dst, 16);
	snprintf(x->ifname, sizeof(x->ifname), "%s", ifc->name);
	x->dir = ref.dir;
	/* now and then the direction the interface does not hook */
	if (ifc->hooks != (POL_HOOK_INGRESS | POL_HOOK_EGRESS) && !rp_below(r, 10))
		x->dir = ifc->hooks & POL_HOOK_INGRESS ? TLSFW_DIR_EGRESS : TLSFW_DIR_INGRESS;
	af = x->family == 4 ? AF_INET : AF_INET6;
	o.family = x->family;
	o.src = inet_ntop(af, x->family == 4 ? x->src + 12 : x->src, s, sizeof(s));
	o.dst = inet_ntop(af, x->family == 4 ? x->dst + 12 : x->dst, d, sizeof(d));
	o.proto = x->proto;
	o.sport = x->sport;
	o.dport = x->dport;
	o.icmp_type = x->has_type ? x->icmp_type + 1 : 0;
	o.hop_limit = x->hop_limit;
	o.tcp_flags = 0x02; /* SYN: a reject can always be answered */
	o.payload = rp_below(r, 64);
	return pkt_build(frame, &o);
}

struct outcome {
	bool counted;
	long rule; /* -1: default */
	int verdict;
	int rc;
};

static int run(struct env *e, enum hook h, const struct pkt *frame, struct outcome *out)
{
	uint64_t pk[2][N_WATCH], by[N_WATCH];
	uint8_t buf[PKT_MAX + 256];
	int blk = h == H_TC_OUT, moved = 0, err = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame->buf, .data_size_in = frame->len,
		    .data_out = buf, .data_size_out = sizeof(buf), .repeat = 1);

	for (int t = 0; t < 2 && !err; t++) {
		err = percpu_counters_sum(e->m.counters, blk * TLSFW_SLOTS_PER_CTX, N_WATCH,
					  e->ncpu, pk[t], by);
		if (!t && !err && bpf_prog_test_run_opts(e->prog[h], &o))
			err = -errno;
	}
	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->rc = o.retval;
	out->rule = -2;
	for (int i = 0; i < N_WATCH; i++) {
		uint64_t d = pk[1][i] - pk[0][i];

		if (!d)
			continue;
		moved++;
		if (i == TLSFW_STAT_DEFAULT)
			out->rule = -1;
		else if (i >= TLSFW_STAT_RULE0)
			out->rule = i - TLSFW_STAT_RULE0;
		else if (i >= TLSFW_STAT_PASS && i <= TLSFW_STAT_REJECT)
			out->verdict = i - TLSFW_STAT_PASS;
	}
	out->counted = moved > 0;
	return 0;
}

static int want_rc(enum hook h, int verdict)
{
	if (verdict == TLSFW_ACT_ALLOW)
		return h == H_XDP ? XDP_PASS : TC_ACT_UNSPEC;
	if (verdict == TLSFW_ACT_REJECT)
		return h == H_XDP ? XDP_TX : TC_ACT_REDIRECT;
	return h == H_XDP ? XDP_DROP : TC_ACT_SHOT;
}

/* Both engines against what the program did. Returns the number of disagreements. */
static int compare(struct env *e, const struct plan *pl, const struct explain_live *live,
		   enum hook h, const struct explain_pkt *x, const struct outcome *dp)
{
	struct explain_live_verdict lv;
	struct explain ex;
	char why[512] = "";
	int err;

	err = explain_plan(pl, x, &ex);
	if (err)
		return fprintf(stderr, "FAIL: explain: %s\n", strerror(-err)), 1;
	err = explain_live_decide(live, 1, x, &lv);
	if (err)
		snprintf(why, sizeof(why), "explain_live_decide: %s", strerror(-err));
	else if (ex.hooked != dp->counted || lv.hooked != dp->counted)
		snprintf(why, sizeof(why), "hooked: plan %d, maps %d, data plane counted %d",
			 ex.hooked, lv.hooked, dp->counted);
	else if (dp->counted &&
		 (ex.rule != dp->rule || (lv.matched ? (long)lv.rule_slot : -1) != dp->rule))
		snprintf(why, sizeof(why), "rule: plan %ld, maps %ld, data plane %ld", ex.rule,
			 lv.matched ? (long)lv.rule_slot : -1L, dp->rule);
	else if (dp->counted && ex.verdict != dp->verdict)
		snprintf(why, sizeof(why), "verdict: explain %d, data plane %d", ex.verdict,
			 dp->verdict);
	else if (dp->rc != want_rc(h, ex.verdict))
		snprintf(why, sizeof(why), "return code %d, want %d for verdict %d", dp->rc,
			 want_rc(h, ex.verdict), ex.verdict);
	if (!why[0]) {
		e->unhooked += !ex.hooked;
		e->defaults += ex.hooked && ex.rule < 0;
		e->matched += ex.hooked && ex.rule >= 0;
		e->monitors += ex.hooked && ex.rule >= 0 && ex.decided.monitor;
		e->by_verdict[ex.verdict]++;
	} else {
		char p[160];

		explain_pkt_str(x, p, sizeof(p));
		fprintf(stderr, "FAIL: %s\n  packet %s (hook %d)\n", why, p, h);
		explain_print(&ex, x, stderr);
	}
	explain_free(&ex);
	return why[0] != 0;
}

static int read_back(const struct policy *mem, struct policy *read, struct diag *d)
{
	char *yaml = randpol_yaml(mem);
	int err = yaml ? policy_read_mem(read, "random.conf", yaml, strlen(yaml), d) : -ENOMEM;

	if (!err && policy_check(read, d))
		err = -EINVAL;
	free(yaml);
	return err;
}

static int one_policy(struct env *e, uint64_t seed, bool from_yaml, bool hashes)
{
	struct randpol_opts o = {
		.max_rules = 12, .services = true, .monitor = true, .valid = true
	};
	struct policy mem, read, *pol = &mem;
	struct plan pl = { 0 };
	struct rp_rng r;
	struct diag d;
	int bad = 0, err;

	rp_seed(&r, seed);
	if (randpol_new(&mem, &r, &o))
		return 1;
	diag_init(&d);
	memset(&read, 0, sizeof(read));
	err = from_yaml ? read_back(&mem, &read, &d) : 0;
	if (from_yaml)
		pol = &read;
	err = err ?: policy_lower(pol, NULL, &pl, &d);
	if (err) {
		diag_print(&d, stderr);
		fprintf(stderr, "FAIL: seed %llu: compile: %s\n", (unsigned long long)seed,
			strerror(-err));
		bad = 1;
	}
	for (size_t i = 0; !bad && i < pol->n_ifaces; i++) {
		size_t n = PACKETS_PER_POLICY / pol->n_ifaces +
			   (i < PACKETS_PER_POLICY % pol->n_ifaces);

		struct explain_live live = { 0 };

		/* the maps as a later `tlsfw explain` finds them: read once per fill */
		bad = fill(e, &pl, pol->ifaces[i].name, hashes) || explain_live_open(&live, &e->m);
		for (size_t k = 0; k < n && !bad; k++) {
			struct explain_pkt x;
			struct pkt frame;
			struct outcome dp;
			enum hook h;

			bad = make_packet(pol, &pol->ifaces[i], &r, &x, &frame);
			h = x.dir == TLSFW_DIR_EGRESS ? H_TC_OUT : k % 2 ? H_TC_IN : H_XDP;
			bad = bad ?: run(e, h, &frame, &dp);
			if (bad) {
				fprintf(stderr, "FAIL: build or run a packet: %s\n",
					strerror(-bad));
				break;
			}
			e->packets++;
			bad = compare(e, &pl, &live, h, &x, &dp);
		}
		explain_live_close(&live);
	}
	if (bad) {
		char *yaml = randpol_yaml(&mem);

		fprintf(stderr, "policy (seed %llu):\n%s\n", (unsigned long long)seed,
			yaml ? yaml : "?");
		free(yaml);
	}
	plan_free(&pl);
	if (from_yaml)
		policy_free(&read);
	randpol_free(&mem);
	diag_free(&d);
	return bad != 0;
}

int main(void)
{
	const char *env = getenv("TLSFW_SEED");
	uint64_t base = env ? strtoull(env, NULL, 0) : 1;
	struct env e = { .ncpu = libbpf_num_possible_cpus() };

	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	e.skel = bpf_open();
	if (e.skel && tlsfw__load(e.skel)) {
		tlsfw__destroy(e.skel);
		e.skel = NULL;
	}
	if (!e.skel || bpf_maps_from_skel(&e.m, e.skel)) {
		fprintf(stderr, "FAIL: cannot load the tlsfw skeleton: %s (needs root)\n",
			strerror(errno));
		return 1;
	}
	e.prog[H_XDP] = bpf_program__fd(e.skel->progs.tlsfw_xdp);
	e.prog[H_TC_IN] = bpf_program__fd(e.skel->progs.tlsfw_tc_ingress);
	e.prog[H_TC_OUT] = bpf_program__fd(e.skel->progs.tlsfw_tc_egress);
	for (int i = 0; i < N_POLICIES && e.failures < 5; i++)
		e.failures += one_policy(&e, base * 1000003u + i, i % 2 == 0, i % 4 >= 2);
	tlsfw__destroy(e.skel);
	printf("%d policies, %lu packets: %lu matched a rule (%lu monitor), %lu default, %lu not hooked; verdicts allow %lu drop %lu reject %lu\n",
	       N_POLICIES, e.packets, e.matched, e.monitors, e.defaults, e.unhooked,
	       e.by_verdict[0], e.by_verdict[1], e.by_verdict[2]);
	if (e.failures)
		return printf("FAIL: %lu policies where explain and the data plane disagree\n",
			      e.failures),
		       1;
	/* Not vacuous: every kind of answer was compared. */
	if (e.packets != N_POLICIES * PACKETS_PER_POLICY || e.matched < 1000 || !e.defaults ||
	    !e.unhooked || !e.monitors || !e.by_verdict[0] || !e.by_verdict[1] || !e.by_verdict[2])
		return printf("FAIL: too little coverage\n"), 1;
	printf("ok\n");
	return 0;
}
