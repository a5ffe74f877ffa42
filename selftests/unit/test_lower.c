// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3 on hand-written policies: exact classes and tables where they are small enough to
 * reason about, decisions (through the plan, as the data plane looks things up) where the
 * classes are an implementation detail, the size limits, and compile time at scale.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "plan.h"
#include "plan_sim.h"
#include "randpol.h"
#include "ref_decide.h"

#include "check.h"

struct fx {
	struct policy pol;
	struct plan plan;
	struct diag d;
	bool yaml; /* pol from the reader (policy_free) or randpol (randpol_free) */
	int err;
};

static const char head[] = "version: 1\n"
			   "interfaces:\n"
			   "  - name: lan0\n"
			   "    hooks: [ingress, egress]\n"
			   "  - name: wan0\n"
			   "    hooks: [ingress]\n";

/* Read, check and lower head + body; a checker error fails the test. */
static int fx_yaml(struct fx *f, const char *body)
{
	char *text;
	int err;

	memset(f, 0, sizeof(*f));
	f->yaml = true;
	diag_init(&f->d);
	if (asprintf(&text, "%s%s", head, body) < 0)
		return -ENOMEM;
	err = policy_read_mem(&f->pol, "hand.conf", text, strlen(text), &f->d);
	free(text);
	/* the tests below check the policy's own rules, unless the body says otherwise */
	if (!strstr(body, "essentials:"))
		f->pol.essentials = POL_DROP;
	if (!err)
		policy_check(&f->pol, &f->d);
	if (err || f->d.errors) {
		fprintf(stderr, "FAIL: the hand policy does not check:\n%s%s", head, body);
		diag_print(&f->d, stderr);
		failures++;
		return -EINVAL;
	}
	f->err = policy_lower(&f->pol, NULL, &f->plan, &f->d);
	if (f->err) {
		fprintf(stderr, "FAIL: policy_lower: %s\n", strerror(-f->err));
		diag_print(&f->d, stderr);
		failures++;
	}
	return f->err;
}

/* Lower a policy built in memory. */
static int fx_mem(struct fx *f)
{
	f->yaml = false;
	diag_init(&f->d);
	f->pol.essentials = POL_DROP;
	f->err = policy_lower(&f->pol, NULL, &f->plan, &f->d);
	return f->err;
}

static void fx_free(struct fx *f)
{
	plan_free(&f->plan);
	if (f->yaml)
		policy_free(&f->pol);
	else
		randpol_free(&f->pol);
	diag_free(&f->d);
}

static void addr(uint8_t *out, const char *s, uint8_t *family)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out + 12) == 1) {
		out[10] = out[11] = 0xff;
		*family = 4;
	} else if (inet_pton(AF_INET6, s, out) == 1) {
		*family = 6;
	} else {
		fprintf(stderr, "bad address in test: %s\n", s);
		abort();
	}
}

/* "udp 1234 443 10.0.0.1 10.0.0.2 lan0 in" -> packet; proto a number or tcp/udp/icmp;
 * for icmp and icmpv6 the two numbers are the type and the hop limit. */
static struct ref_pkt pkt(const char *desc)
{
	char proto[16], src[64], dst[64], ifname[16], dir[8];
	unsigned int sp, dp;
	struct ref_pkt p = { 0 };

	if (sscanf(desc, "%15s %u %u %63s %63s %15s %7s", proto, &sp, &dp, src, dst, ifname, dir) !=
	    7) {
		fprintf(stderr, "bad packet in test: %s\n", desc);
		abort();
	}
	p.proto = !strcmp(proto, "tcp")	   ? IPPROTO_TCP :
		  !strcmp(proto, "udp")	   ? IPPROTO_UDP :
		  !strcmp(proto, "icmp")   ? IPPROTO_ICMP :
		  !strcmp(proto, "icmpv6") ? IPPROTO_ICMPV6 :
					     (uint8_t)atoi(proto);
	p.has_ports = p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP;
	p.sport = sp;
	p.dport = dp;
	if (p.proto == IPPROTO_ICMP || p.proto == IPPROTO_ICMPV6) {
		p.has_type = true;
		p.icmp_type = sp;
		p.hop_limit = dp;
		p.sport = p.dport = 0;
	}
	addr(p.src, src, &p.family);
	addr(p.dst, dst, &p.family);
	p.ifname = strcmp(ifname, "lan0") ? "wan0" : "lan0";
	p.dir = strcmp(dir, "out") ? TLSFW_DIR_INGRESS : TLSFW_DIR_EGRESS;
	return p;
}

/* The plan decides desc as rule `want` (NULL: the default), and so does the reference. */
static void expect(const struct fx *f, const char *desc, const char *want)
{
	struct ref_pkt p = pkt(desc);
	struct ref_verdict got, ref = ref_decide(&f->pol, &p);
	const char *got_name, *ref_name;
	int err = plan_sim_decide(&f->plan, &p, &got);

	got_name = err			      ? "(lookup error)" :
		   got.rule == REF_ESSENTIALS ? "(essentials)" :
		   got.rule < 0		      ? "(default)" :
						f->pol.rules[got.rule].name;
	ref_name = ref.rule == REF_ESSENTIALS ? "(essentials)" :
		   ref.rule < 0		      ? "(default)" :
						f->pol.rules[ref.rule].name;
	CHECK(!strcmp(got_name, want ? want : "(default)"), "%s: plan says %s, want %s", desc,
	      got_name, want ? want : "(default)");
	CHECK(!strcmp(ref_name, want ? want : "(default)"), "%s: reference says %s, want %s", desc,
	      ref_name, want ? want : "(default)");
}

/* The whole plan of the simplest useful policy, as `tlsfw check --print-plan` shows it. */
static void test_block_quic(void)
{
	static const char want[] =
		"fields: dport\n"
		"default: allow\n"
		"malformed: drop\n"
		"fragments: follow\n"
		"classes: proto 2, sport 1, dport 2, src 1, dst 1, ctx 1, A 1, B 1\n"
		"entries: src 2, dst 2, comb1 1, comb2 1, comb3 1\n"
		"\n"
		"interfaces:\n"
		"  lan0 hooks ingress,egress xdp_mode auto\n"
		"  wan0 hooks ingress xdp_mode auto\n"
		"\n"
		"rules:\n"
		"  0 block-quic reject line 8\n"
		"\n"
		"proto:\n"
		"  ipv4 0-16 -> 0\n"
		"  ipv4 17-17 -> 1\n"
		"  ipv4 18-255 -> 0\n"
		"  ipv6 0-16 -> 0\n"
		"  ipv6 17-17 -> 1\n"
		"  ipv6 18-255 -> 0\n"
		"\n"
		"sport:\n"
		"  0-65535 -> 0\n"
		"  none -> 0\n"
		"\n"
		"dport:\n"
		"  0-442 -> 0\n"
		"  443-443 -> 1\n"
		"  444-65535 -> 0\n"
		"  none -> 0\n"
		"\n"
		"src:\n"
		"  0.0.0.0/0 -> 0\n"
		"  ::/0 -> 0\n"
		"\n"
		"dst:\n"
		"  0.0.0.0/0 -> 0\n"
		"  ::/0 -> 0\n"
		"\n"
		"ctx:\n"
		"  lan0 ingress -> 0\n"
		"  lan0 egress -> 0\n"
		"  wan0 ingress -> 0\n"
		"\n"
		"comb1 (proto, sport, dport -> A):\n"
		"  1 0 1 -> 0\n"
		"\n"
		"comb2 (src, dst, 0 -> B):\n"
		"  0 0 0 -> 0\n"
		"\n"
		"comb3 (ctx, A, B -> rule):\n"
		"  0 0 0 -> 0 block-quic\n";
	struct fx f;
	char *got;

	if (fx_yaml(&f, "rules:\n"
			"  - name: block-quic\n"
			"    proto: udp\n"
			"    dport: 443\n"
			"    action: reject\n"))
		goto out;
	got = plan_text(&f.plan);
	CHECK(!strcmp(got, want), "plan differs:\n--- got\n%s--- want\n%s", got, want);
	free(got);
	CHECK(f.plan.n_rules == 1 && f.plan.rules[0].action == TLSFW_ACT_REJECT &&
		      !f.plan.rules[0].monitor,
	      "rules table");
	expect(&f, "udp 5000 443 10.0.0.1 1.1.1.1 lan0 out", "block-quic");
	expect(&f, "udp 5000 443 fd00::1 2001:db8::1 wan0 in", "block-quic");
	expect(&f, "tcp 5000 443 10.0.0.1 1.1.1.1 lan0 out", NULL);
	expect(&f, "udp 5000 444 10.0.0.1 1.1.1.1 lan0 out", NULL);
	expect(&f, "icmp 0 0 10.0.0.1 1.1.1.1 lan0 out", NULL);
out:
	fx_free(&f);
}

/* Overlapping ranges give one class per elementary interval of distinct term sets. */
static void test_ranges(void)
{
	const uint32_t *d;
	struct fx f;

	if (fx_yaml(&f, "rules:\n"
			"  - name: wide\n"
			"    dport: \"1000-2000\"\n"
			"    action: drop\n"
			"  - name: narrow\n"
			"    dport: [1500, \"3000-3001\"]\n"
			"    sport: \"1-1023\"\n"
			"    action: allow\n"))
		goto out;
	d = f.plan.dport_cls;
	CHECK(f.plan.fields == (TLSFW_F_SPORT | TLSFW_F_DPORT), "fields %#x", f.plan.fields);
	/* {} for no ports and outside every range, {wide}, {narrow}; at 1500 both rules
	 * match, but wide comes first whatever the other fields say, so {wide, narrow} is cut
	 * to {wide} */
	CHECK(f.plan.n_dport_cls == 3, "dport classes %u", f.plan.n_dport_cls);
	CHECK(d[TLSFW_PORT_NONE] == d[0] && d[0] == d[999] && d[999] == d[2001] &&
		      d[2001] == d[2999] && d[2999] == d[3002] && d[3002] == d[65535],
	      "empty set is one class");
	CHECK(d[1000] == d[1499] && d[1499] == d[1501] && d[1501] == d[2000],
	      "1000-1499 and 1501-2000 share {wide}");
	CHECK(d[1500] == d[1000], "1500 decided by wide");
	CHECK(d[3000] == d[3001] && d[3000] != d[0] && d[3000] != d[1000], "3000-3001");
	CHECK(f.plan.sport_cls[1] == f.plan.sport_cls[1023] &&
		      f.plan.sport_cls[0] != f.plan.sport_cls[1] &&
		      f.plan.sport_cls[1024] == f.plan.sport_cls[0],
	      "sport classes");
	/* A port-less packet never matches a rule with ports. */
	CHECK(f.plan.sport_cls[TLSFW_PORT_NONE] != f.plan.sport_cls[1], "sport none");
	expect(&f, "tcp 80 1500 10.0.0.1 10.0.0.2 lan0 in", "wide");
	expect(&f, "tcp 2000 1500 10.0.0.1 10.0.0.2 lan0 in", "wide");
	expect(&f, "udp 80 3001 10.0.0.1 10.0.0.2 lan0 in", "narrow");
	expect(&f, "udp 1024 3001 10.0.0.1 10.0.0.2 lan0 in", NULL);
	expect(&f, "udp 1023 3002 10.0.0.1 10.0.0.2 lan0 in", NULL);
	expect(&f, "tcp 1 999 10.0.0.1 10.0.0.2 lan0 in", NULL);
	expect(&f, "47 0 0 10.0.0.1 10.0.0.2 lan0 in", NULL);
out:
	fx_free(&f);
}

static const struct plan_prefix *find_prefix(const struct plan_prefix *v, size_t n,
					     const char *cidr)
{
	struct pol_prefixes ps = { 0 };
	const struct plan_prefix *hit = NULL;

	if (randpol_add_cidr(&ps, cidr))
		abort();
	for (size_t i = 0; i < n && !hit; i++)
		if (v[i].plen == ps.p[0].plen && !memcmp(v[i].addr, ps.p[0].addr, 16))
			hit = &v[i];
	free(ps.p);
	return hit;
}

/* Longest-prefix match: an entry's class carries the terms of every covering prefix. */
static void test_nested_prefixes(void)
{
	const struct plan_prefix *any4, *any6, *p8, *p16, *p24, *v6;
	struct fx f;

	if (fx_yaml(&f, "rules:\n"
			"  - name: host\n"
			"    dst: 10.1.2.3\n"
			"    dport: 22\n"
			"    action: allow\n"
			"  - name: net16\n"
			"    dst: 10.1.0.0/16\n"
			"    dport: 22\n"
			"    action: drop\n"
			"  - name: net8\n"
			"    dst: [10.0.0.0/8, \"fd00::/8\"]\n"
			"    proto: tcp\n"
			"    action: reject\n"
			"  - name: inner24\n"
			"    dst: 10.1.2.0/24\n"
			"    action: drop\n"))
		goto out;
	CHECK(f.plan.fields == (TLSFW_F_DPORT | TLSFW_F_DST), "fields %#x", f.plan.fields);
	CHECK(f.plan.n_dst == 7, "dst entries %zu (5 prefixes and 2 catch-alls)", f.plan.n_dst);
	any4 = find_prefix(f.plan.dst, f.plan.n_dst, "0.0.0.0/0");
	any6 = find_prefix(f.plan.dst, f.plan.n_dst, "::/0");
	p8 = find_prefix(f.plan.dst, f.plan.n_dst, "10.0.0.0/8");
	p16 = find_prefix(f.plan.dst, f.plan.n_dst, "10.1.0.0/16");
	p24 = find_prefix(f.plan.dst, f.plan.n_dst, "10.1.2.0/24");
	v6 = find_prefix(f.plan.dst, f.plan.n_dst, "fd00::/8");
	CHECK(any4 && any6 && p8 && p16 && p24 && v6 &&
		      find_prefix(f.plan.dst, f.plan.n_dst, "10.1.2.3/32"),
	      "every prefix and both catch-alls are entries");
	if (!any4 || !any6 || !p8 || !p16 || !p24 || !v6)
		goto out;
	/* {}, {net8}, {net16, net8}, {net16, net8, inner24}, {host, ...}; fd00::/8 is {net8} */
	CHECK(f.plan.n_dst_cls == 5, "dst classes %u", f.plan.n_dst_cls);
	CHECK(any4->cls == any6->cls, "both catch-alls hold no term");
	CHECK(p8->cls == v6->cls, "fd00::/8 and 10.0.0.0/8 are the same set {net8}");
	CHECK(p16->cls != p8->cls && p24->cls != p16->cls, "nested prefixes differ");
	expect(&f, "tcp 1 22 192.0.2.1 10.1.2.3 lan0 in", "host");
	expect(&f, "udp 1 22 192.0.2.1 10.1.2.3 lan0 in", "host");
	expect(&f, "udp 1 22 192.0.2.1 10.1.2.4 lan0 in", "net16");
	expect(&f, "udp 1 23 192.0.2.1 10.1.2.4 lan0 in", "inner24");
	expect(&f, "tcp 1 23 192.0.2.1 10.1.2.4 lan0 in", "net8");
	expect(&f, "tcp 1 23 192.0.2.1 10.200.0.1 lan0 in", "net8");
	expect(&f, "udp 1 23 192.0.2.1 10.200.0.1 lan0 in", NULL);
	expect(&f, "tcp 1 22 192.0.2.1 11.0.0.1 lan0 in", NULL);
	expect(&f, "tcp 1 22 ::1 fd00::1 lan0 in", "net8");
	expect(&f, "tcp 1 22 ::1 fe00::1 lan0 in", NULL);
out:
	fx_free(&f);
}

/* An IPv6 rule never matches IPv4 and the reverse, whatever the prefixes cover in bits. */
static void test_families(void)
{
	struct fx f;

	if (fx_yaml(&f, "rules:\n"
			"  - name: v6-any\n"
			"    src: \"::/0\"\n"
			"    action: drop\n"
			"  - name: v4-any\n"
			"    dst: 0.0.0.0/0\n"
			"    proto: icmp\n"
			"    action: reject\n"
			"  - name: only-v6\n"
			"    family: ipv6\n"
			"    proto: tcp\n"
			"    action: drop\n"
			"  - name: only-v4\n"
			"    family: ipv4\n"
			"    action: allow\n"))
		goto out;
	CHECK(f.plan.proto_cls[IPPROTO_TCP] != f.plan.proto_cls[256 + IPPROTO_TCP],
	      "tcp classes differ by family");
	expect(&f, "tcp 1 2 10.0.0.1 10.0.0.2 lan0 in", "only-v4");
	expect(&f, "icmp 0 0 10.0.0.1 10.0.0.2 lan0 in", "v4-any");
	expect(&f, "icmpv6 0 0 fd00::1 fd00::2 lan0 in", "v6-any");
	expect(&f, "tcp 1 2 fd00::1 fd00::2 wan0 in", "v6-any");
	/* ::ffff:0:0/96 is where IPv4 lives in the tries; no IPv6 entry may claim it */
	for (size_t i = 0; i < f.plan.n_src; i++)
		CHECK(f.plan.src[i].plen == 0 || f.plan.src[i].plen >= 96, "src entry %zu", i);
out:
	fx_free(&f);
}

/* A rule that is the OR of several (protocol, ports) pairs. */
static void test_services(void)
{
	struct pol_rule *r;
	struct fx f = { 0 };

	if (fx_yaml(&f, "rules:\n"
			"  - name: web3\n"
			"    service: [quic, dns]\n"
			"    action: reject\n"
			"  - name: tls\n"
			"    service: [dot, doq, https]\n"
			"    action: drop\n"))
		goto out;
	CHECK(f.plan.rules[0].n_terms == 2, "web3: terms %zu", f.plan.rules[0].n_terms);
	expect(&f, "udp 1 443 10.0.0.1 10.0.0.2 lan0 in", "web3");
	expect(&f, "udp 1 80 10.0.0.1 10.0.0.2 lan0 in", "web3");
	expect(&f, "tcp 1 80 10.0.0.1 10.0.0.2 lan0 in", NULL);
	expect(&f, "tcp 1 53 10.0.0.1 10.0.0.2 lan0 in", "web3");
	expect(&f, "udp 1 853 10.0.0.1 10.0.0.2 lan0 in", "tls");
	expect(&f, "tcp 1 853 10.0.0.1 10.0.0.2 lan0 in", "tls");
	expect(&f, "tcp 1 443 10.0.0.1 10.0.0.2 lan0 in", "tls");
	expect(&f, "udp 1 8443 10.0.0.1 10.0.0.2 lan0 in", NULL);
	fx_free(&f);

	/* The same in memory: same terms, same decisions. */
	randpol_init(&f.pol);
	randpol_add_iface(&f.pol, "lan0", POL_HOOK_INGRESS | POL_HOOK_EGRESS);
	randpol_add_iface(&f.pol, "wan0", POL_HOOK_INGRESS);
	randpol_add_rule(&f.pol, "web3", POL_REJECT, &r);
	randpol_add_name(&r->services, "quic");
	randpol_add_name(&r->services, "dns");
	randpol_add_rule(&f.pol, "tls", POL_DROP, &r);
	randpol_add_name(&r->services, "dot");
	randpol_add_name(&r->services, "doq");
	randpol_add_name(&r->services, "https");
	if (fx_mem(&f)) {
		CHECK(0, "policy_lower: %s", strerror(-f.err));
		goto out;
	}
	CHECK(f.plan.rules[0].n_terms + f.plan.rules[1].n_terms == 4, "terms %zu + %zu",
	      f.plan.rules[0].n_terms, f.plan.rules[1].n_terms);
	CHECK(f.plan.n_comb3 >= 1, "comb3");
	expect(&f, "udp 1 443 10.0.0.1 10.0.0.2 lan0 in", "web3");
	expect(&f, "tcp 1 80 10.0.0.1 10.0.0.2 lan0 in", NULL);
	expect(&f, "tcp 1 53 10.0.0.1 10.0.0.2 lan0 in", "web3");
	expect(&f, "udp 1 853 10.0.0.1 10.0.0.2 lan0 in", "tls");
	expect(&f, "udp 1 443 ::1 ::2 lan0 in", "web3");
	expect(&f, "tcp 1 443 ::1 ::2 lan0 in", "tls");
out:
	fx_free(&f);
}

/* (interface, direction) contexts: one entry per hooked pair, classes by rule scope. */
static void test_ctx(void)
{
	struct fx f;
	int lan_in = -1, lan_out = -1, wan_in = -1;

	if (fx_yaml(&f, "rules:\n"
			"  - name: from-wan\n"
			"    interface: wan0\n"
			"    dport: 22\n"
			"    action: drop\n"
			"  - name: leaving\n"
			"    direction: egress\n"
			"    dport: 22\n"
			"    action: reject\n"
			"  - name: lan-in\n"
			"    interface: [lan0]\n"
			"    direction: ingress\n"
			"    dport: 22\n"
			"    action: allow\n"
			"    mode: monitor\n"))
		goto out;
	CHECK(f.plan.n_ctx == 3, "ctx entries %zu", f.plan.n_ctx);
	for (size_t i = 0; i < f.plan.n_ctx; i++) {
		const struct plan_ctx *c = &f.plan.ctx[i];

		if (!strcmp(c->ifname, "lan0"))
			*(c->dir == TLSFW_DIR_INGRESS ? &lan_in : &lan_out) = c->cls;
		else if (!strcmp(c->ifname, "wan0") && c->dir == TLSFW_DIR_INGRESS)
			wan_in = c->cls;
	}
	CHECK(lan_in >= 0 && lan_out >= 0 && wan_in >= 0 && lan_in != lan_out && lan_in != wan_in &&
		      lan_out != wan_in,
	      "ctx classes lan0/in %d lan0/out %d wan0/in %d", lan_in, lan_out, wan_in);
	CHECK(f.plan.n_ctx_cls == 3, "ctx classes %u", f.plan.n_ctx_cls);
	CHECK(f.plan.rules[2].monitor == 1 && f.plan.rules[2].line == 16, "monitor rule line %u",
	      f.plan.rules[2].line);
	expect(&f, "tcp 1 22 10.0.0.1 10.0.0.2 wan0 in", "from-wan");
	expect(&f, "tcp 1 22 10.0.0.1 10.0.0.2 lan0 out", "leaving");
	expect(&f, "tcp 1 22 10.0.0.1 10.0.0.2 lan0 in", "lan-in");
	expect(&f, "tcp 1 23 10.0.0.1 10.0.0.2 lan0 in", NULL);
out:
	fx_free(&f);
}

static void test_no_rules(void)
{
	struct fx f;

	if (fx_yaml(&f, "default: drop\nfragments: drop\nmalformed: allow\n"))
		goto out;
	CHECK(f.plan.fields == 0, "fields %#x", f.plan.fields);
	CHECK(f.plan.default_action == TLSFW_ACT_DROP && f.plan.frag_mode == TLSFW_FRAG_DROP &&
		      f.plan.malformed_action == TLSFW_ACT_ALLOW,
	      "globals");
	CHECK(!f.plan.n_comb1 && !f.plan.n_comb2 && !f.plan.n_comb3, "no combinations");
	CHECK(f.plan.n_src == 2 && f.plan.n_dst == 2, "catch-alls only");
	expect(&f, "tcp 1 22 10.0.0.1 10.0.0.2 lan0 in", NULL);
out:
	fx_free(&f);
}

/*
 * A rule after a catch-all can never decide, and the cut drops it from every class. Without
 * the cut, "everything" is in every class, so all 101 x 101 (A, B) pairs would be stored.
 */
static void test_catchall_cut(void)
{
	char body[65536];
	size_t n = 0;
	struct fx f;

	n += snprintf(body + n, sizeof(body) - n,
		      "rules:\n  - name: ssh\n    dport: 22\n    action: drop\n"
		      "  - name: everything\n    action: allow\n");
	for (int i = 0; i < 200; i++)
		n += snprintf(body + n, sizeof(body) - n,
			      "  - name: r%d\n    %s: %s%d%s\n    action: drop\n", i,
			      i % 2 ? "dport" : "dst", i % 2 ? "" : "10.", i % 2 ? 1000 + i : i,
			      i % 2 ? "" : ".0.0/16");
	if (fx_yaml(&f, body))
		goto out;
	CHECK(f.plan.n_comb3 <= 4 && f.plan.n_a_cls <= 2 && f.plan.n_b_cls <= 2,
	      "comb3 %zu, A %u, B %u", f.plan.n_comb3, f.plan.n_a_cls, f.plan.n_b_cls);
	expect(&f, "tcp 1 22 1.0.0.1 10.0.0.2 lan0 in", "ssh");
	expect(&f, "tcp 1 1001 1.0.0.1 10.0.0.2 lan0 in", "everything");
	expect(&f, "47 0 0 1.0.0.1 11.0.0.2 lan0 in", "everything");
out:
	fx_free(&f);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Too many prefixes: -E2BIG, and the error names the rule that went over. */
static void test_too_many_prefixes(void)
{
	struct pol_rule *r;
	struct fx f = { 0 };
	char cidr[64];

	randpol_init(&f.pol);
	randpol_add_iface(&f.pol, "lan0", POL_HOOK_INGRESS);
	randpol_add_rule(&f.pol, "small", POL_DROP, &r);
	r->has_dport = true;
	randpol_add_range(&r->dport, 22, 22);
	randpol_add_rule(&f.pol, "fits", POL_DROP, &r);
	r->has_dst = true;
	for (unsigned int i = 0; i < 100000; i++) {
		snprintf(cidr, sizeof(cidr), "%u.%u.%u.0/24", 11 + i / 65536, i / 256 % 256,
			 i % 256);
		CHECK(randpol_add_cidr(&r->dst, cidr) == 0, "%s", cidr);
	}
	randpol_add_rule(&f.pol, "overflows", POL_DROP, &r);
	r->has_dst = true;
	for (unsigned int i = 0; i < 40000; i++) {
		snprintf(cidr, sizeof(cidr), "fd00:%x::/32", i);
		CHECK(randpol_add_cidr(&r->dst, cidr) == 0, "%s", cidr);
	}
	randpol_add_rule(&f.pol, "after", POL_DROP, &r);
	CHECK(fx_mem(&f) == -E2BIG, "policy_lower returned %d", f.err);
	CHECK(f.d.errors == 1 && f.d.n == 1 && f.d.recs[0].loc.line == f.pol.rules[2].loc.line &&
		      strstr(f.d.recs[0].msg, "'overflows'") && strstr(f.d.recs[0].msg, "dst"),
	      "diagnostic: %s", f.d.n ? f.d.recs[0].msg : "(none)");
	fx_free(&f);
}

/*
 * Rules on ports alone interleaved with rules on addresses alone: the first match depends on
 * both A and B, so comb3 needs |A| x |B| entries and eventually exceeds its map. The error
 * must name the first rule whose addition overflows: the policy up to the rule before it
 * lowers, the policy up to it does not.
 */
static void test_too_many_combinations(void)
{
	struct pol_rule *r;
	struct fx f = { 0 };
	char name[32], cidr[64];
	unsigned int line;
	size_t blamed = 0;

	randpol_init(&f.pol);
	randpol_add_iface(&f.pol, "lan0", POL_HOOK_INGRESS | POL_HOOK_EGRESS);
	for (unsigned int i = 0; i < 1100; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		randpol_add_rule(&f.pol, name, POL_DROP, &r);
		if (i % 2) {
			r->has_dport = true;
			randpol_add_range(&r->dport, 1000 + i, 1000 + i);
		} else {
			r->has_dst = true;
			snprintf(cidr, sizeof(cidr), "10.%u.%u.0/24", i / 256, i % 256);
			randpol_add_cidr(&r->dst, cidr);
		}
		if (i % 5 == 0)
			r->direction = POL_DIR_INGRESS;
	}
	CHECK(fx_mem(&f) == -E2BIG, "policy_lower returned %d", f.err);
	CHECK(f.d.n == 1 && strstr(f.d.recs[0].msg, "comb3"), "diagnostic: %s",
	      f.d.n ? f.d.recs[0].msg : "(none)");
	if (f.d.n != 1)
		goto out;
	line = f.d.recs[0].loc.line;
	for (size_t i = 0; i < f.pol.n_rules; i++)
		if (f.pol.rules[i].loc.line == line)
			blamed = i;
	CHECK(blamed > 0, "blamed line %u", line);
	printf("comb3 overflow blamed on rule %zu of %zu\n", blamed, f.pol.n_rules);
	{
		/* the same policy, cut after the blamed rule and before it */
		size_t n_rules = f.pol.n_rules;
		struct plan pl;
		struct diag d;
		int err;

		diag_init(&d);
		f.pol.n_rules = blamed + 1;
		err = policy_lower(&f.pol, NULL, &pl, &d);
		CHECK(err == -E2BIG, "up to the blamed rule: %d", err);
		plan_free(&pl);
		f.pol.n_rules = blamed;
		err = policy_lower(&f.pol, NULL, &pl, &d);
		CHECK(err == 0 && pl.n_comb3 <= TLSFW_MAX_COMB / 2, "before the blamed rule: %d",
		      err);
		plan_free(&pl);
		diag_free(&d);
		f.pol.n_rules = n_rules;
	}
out:
	fx_free(&f);
}

/* An IPv6 prefix inside ::ffff:0:0/96 would match IPv4 packets in the data plane. */
static void test_v4_mapped(void)
{
	struct pol_rule *r;
	struct fx f = { 0 };

	randpol_init(&f.pol);
	randpol_add_iface(&f.pol, "lan0", POL_HOOK_INGRESS);
	randpol_add_rule(&f.pol, "mapped", POL_DROP, &r);
	r->has_src = true;
	randpol_add_cidr(&r->src, "::ffff:10.0.0.0/104");
	CHECK(fx_mem(&f) == -EINVAL && f.d.errors == 1, "policy_lower returned %d", f.err);
	fx_free(&f);
}

/* The sizes the brief names; generous bounds (ASan build), real numbers are printed. */
static void test_scale(void)
{
	static const unsigned int counts[] = { 1, 100, 1000, 4096 };
	struct pol_rule *r;
	char name[32], cidr[64];

	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		struct fx f = { 0 };
		double t0;

		randpol_init(&f.pol);
		randpol_add_iface(&f.pol, "lan0", POL_HOOK_INGRESS | POL_HOOK_EGRESS);
		for (unsigned int i = 0; i < counts[k]; i++) {
			snprintf(name, sizeof(name), "r%u", i);
			randpol_add_rule(&f.pol, name, POL_DROP, &r);
			randpol_add_proto(r, i % 2 ? IPPROTO_TCP : IPPROTO_UDP);
			r->has_dport = true;
			randpol_add_range(&r->dport, 1000 + i, 1000 + i);
		}
		t0 = now();
		CHECK(fx_mem(&f) == 0, "policy_lower: %d", f.err);
		printf("%4u rules, one dport each: %.3f s, dport classes %u, comb1 %zu, comb3 %zu\n",
		       counts[k], now() - t0, f.plan.n_dport_cls, f.plan.n_comb1, f.plan.n_comb3);
		CHECK(now() - t0 < 5, "too slow");
		CHECK(f.plan.n_comb3 == counts[k], "comb3 %zu", f.plan.n_comb3);
		if (counts[k] == 4096) {
			expect(&f, "tcp 1 5095 10.0.0.1 10.0.0.2 lan0 in", "r4095");
			expect(&f, "udp 1 5095 10.0.0.1 10.0.0.2 lan0 in", NULL);
			expect(&f, "udp 1 1000 10.0.0.1 10.0.0.2 lan0 out", "r0");
		}
		fx_free(&f);
	}
	{
		struct fx f = { 0 };
		double t0;

		randpol_init(&f.pol);
		randpol_add_iface(&f.pol, "lan0", POL_HOOK_INGRESS);
		randpol_add_rule(&f.pol, "blocklist", POL_DROP, &r);
		r->has_dst = true;
		for (unsigned int i = 0; i < 100000; i++) {
			if (i % 2)
				snprintf(cidr, sizeof(cidr), "%u.%u.%u.0/24", 11 + i / 65536,
					 i / 256 % 256, i % 256);
			else
				snprintf(cidr, sizeof(cidr), "2001:db8:%x:%x::/64", i / 65536,
					 i % 65536);
			randpol_add_cidr(&r->dst, cidr);
		}
		randpol_add_rule(&f.pol, "web", POL_ALLOW, &r);
		r->has_dport = true;
		randpol_add_range(&r->dport, 443, 443);
		t0 = now();
		CHECK(fx_mem(&f) == 0, "policy_lower: %d", f.err);
		printf("100,000 prefixes in one rule: %.3f s, dst entries %zu, dst classes %u, comb3 %zu\n",
		       now() - t0, f.plan.n_dst, f.plan.n_dst_cls, f.plan.n_comb3);
		CHECK(now() - t0 < 5, "too slow");
		CHECK(f.plan.n_dst == 100002 && f.plan.n_dst_cls == 2, "dst %zu entries %u classes",
		      f.plan.n_dst, f.plan.n_dst_cls);
		fx_free(&f);
	}
}

/* The essentials rule and icmp_type: under default drop, on both hooks. */
static void test_essentials(void)
{
	struct fx f;

	if (fx_yaml(&f, "default: drop\nessentials: allow\nrules:\n"
			"  - name: ping\n    proto: [icmp, icmpv6]\n"
			"    icmp_type: [echo-request, nd-neighbor-solicit]\n    action: allow\n"
			"  - name: no-dhcp\n    dport: [67, 68, 546, 547]\n    action: drop\n"))
		return;
	CHECK(f.plan.n_rules == 3 && f.plan.rules[0].essentials, "essentials first");
	expect(&f, "icmpv6 135 255 fe80::1 ff02::1:ff00:1 lan0 in", "(essentials)");
	expect(&f, "icmpv6 135 64 fe80::1 fd00::2 lan0 in", "ping");
	expect(&f, "icmpv6 136 254 fd00::1 fd00::2 wan0 in", NULL);
	expect(&f, "icmpv6 134 255 fe80::1 ff02::1 lan0 out", "(essentials)");
	expect(&f, "icmpv6 143 1 fe80::1 ff02::16 lan0 out", "(essentials)");
	expect(&f, "icmpv6 143 255 fe80::1 ff02::16 lan0 out", NULL);
	expect(&f, "icmpv6 130 1 fe80::1 ff02::1 wan0 in", "(essentials)");
	expect(&f, "icmpv6 128 64 fd00::1 fd00::2 lan0 in", "ping");
	expect(&f, "icmpv6 129 64 fd00::1 fd00::2 lan0 in", NULL);
	expect(&f, "icmp 8 64 10.0.0.1 10.0.0.2 lan0 in", "ping");
	expect(&f, "icmp 0 64 10.0.0.1 10.0.0.2 lan0 in", NULL);
	/* ICMP type 135 is not ICMPv6's neighbour solicitation */
	expect(&f, "icmp 135 255 10.0.0.1 10.0.0.2 lan0 in", NULL);
	expect(&f, "udp 68 67 0.0.0.0 255.255.255.255 lan0 in", "(essentials)");
	expect(&f, "udp 67 68 10.0.0.1 10.0.0.2 wan0 in", "(essentials)");
	expect(&f, "udp 546 547 fe80::1 ff02::1:2 lan0 in", "(essentials)");
	expect(&f, "udp 68 67 fe80::1 fd00::2 lan0 in", "no-dhcp");
	expect(&f, "udp 547 546 10.0.0.1 10.0.0.2 lan0 in", "no-dhcp");
	expect(&f, "tcp 68 67 10.0.0.1 10.0.0.2 lan0 in", "no-dhcp");
	fx_free(&f);
}

int main(void)
{
	test_essentials();
	test_block_quic();
	test_ranges();
	test_nested_prefixes();
	test_families();
	test_services();
	test_ctx();
	test_no_rules();
	test_catchall_cut();
	test_too_many_prefixes();
	test_too_many_combinations();
	test_v4_mapped();
	test_scale();
	if (failures) {
		printf("%d checks failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
