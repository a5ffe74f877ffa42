// SPDX-License-Identifier: GPL-2.0
/*
 * explain.c and lockout.c without a kernel: the packet syntax, the field each rule fails on,
 * the lock-out guard's diagnostics, and explain_plan() against the reference decision
 * (ref_decide, which shares nothing with the rule list) on random policies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "lockout.h"
#include "plan.h"
#include "randpol.h"
#include "ref_decide.h"

#include "check.h"

struct ctx {
	struct policy p;
	struct plan pl;
	struct diag d;
};

static int load(struct ctx *c, const char *text)
{
	int err;

	memset(c, 0, sizeof(*c));
	diag_init(&c->d);
	err = policy_read_mem(&c->p, "x.conf", text, strlen(text), &c->d);
	err = err ?: policy_check(&c->p, &c->d);
	err = err ?: policy_lower(&c->p, NULL, &c->pl, &c->d);
	CHECK(!err && !c->d.errors, "policy does not compile");
	return err;
}

static void unload(struct ctx *c)
{
	plan_free(&c->pl);
	policy_free(&c->p);
	diag_free(&c->d);
}

static void pkt(struct explain_pkt *x, const char *proto, const char *src, const char *dst,
		const char *ifname, int dir)
{
	const char *argv[3] = { proto, src, dst };
	char msg[200];

	CHECK(!explain_pkt_parse(x, argv, msg, sizeof(msg)), "parse %s %s %s: %s", proto, src, dst,
	      msg);
	snprintf(x->ifname, sizeof(x->ifname), "%s", ifname);
	x->dir = dir;
}

static void test_parse(void)
{
	static const char *const bad[][3] = {
		{ "tcp", "10.0.0.1", "10.0.0.2:443" },	   /* no source port */
		{ "icmp", "10.0.0.1:5", "10.0.0.2" },	   /* a port for icmp */
		{ "tcp", "10.0.0.1:1", "[fd00::1]:2" },	   /* two families */
		{ "tcp", "10.0.0.1:70000", "10.0.0.2:1" }, /* port range */
		{ "sctpx", "10.0.0.1", "10.0.0.2" },	   /* protocol */
		{ "tcp", "fd00::1:80", "fd00::2:80" },	   /* IPv6 port without brackets */
		{ "udp", "[fd00::1:53", "[fd00::2]:53" },
	};
	struct explain_pkt x;
	char msg[200], s[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(explain_pkt_parse(&x, bad[i], msg, sizeof(msg)) == -EINVAL,
		      "accepted %s %s %s", bad[i][0], bad[i][1], bad[i][2]);
	pkt(&x, "udp", "[fd00::5]:5353", "[2001:db8::1]:443", "lan0", TLSFW_DIR_INGRESS);
	explain_pkt_str(&x, s, sizeof(s));
	CHECK_STR(s, "udp [fd00::5]:5353 -> [2001:db8::1]:443 on lan0 ingress");
	pkt(&x, "47", "10.0.0.5", "1.1.1.1", "wan0", TLSFW_DIR_EGRESS);
	explain_pkt_str(&x, s, sizeof(s));
	CHECK_STR(s, "47 10.0.0.5 -> 1.1.1.1 on wan0 egress");
	CHECK(x.family == 4 && !x.has_ports && x.src[10] == 0xff, "v4-mapped, no ports");
}

/* Each rule fails on the field its name says; the last one decides. */
static void test_fields(void)
{
	static const char text[] =
		"version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress, egress]\n"
		"  - name: wan0\ndefault: drop\nrules:\n"
		"  - name: proto\n    proto: udp\n    action: allow\n"
		"  - name: family\n    proto: tcp\n    family: ipv6\n    action: allow\n"
		"  - name: sport\n    sport: 1-1023\n    action: allow\n"
		"  - name: dport\n    service: [dns, https]\n    action: allow\n"
		"  - name: src\n    src: 192.168.0.0/16\n    action: allow\n"
		"  - name: dst\n    dst: [\"fd00::/8\", 10.9.0.0/16]\n    action: allow\n"
		"  - name: interface\n    interface: wan0\n    action: allow\n"
		"  - name: direction\n    direction: egress\n    action: allow\n"
		"  - name: empty-icmp-port\n    proto: icmp\n    action: drop\n"
		"  - name: decides\n    dport: 22\n    action: reject\n    mode: monitor\n";
	/* the plan's first rule is the implicit (essentials) rule: not tcp */
	static const char *const want[] = { "proto", "proto", "family",	   "sport",	"dport",
					    "src",   "dst",   "interface", "direction", "proto" };
	struct explain_pkt x;
	struct explain e;
	struct ctx c;

	if (load(&c, text))
		return;
	pkt(&x, "tcp", "10.0.0.5:40000", "10.1.0.1:22", "lan0", TLSFW_DIR_INGRESS);
	CHECK(!explain_plan(&c.pl, &x, &e), "explain");
	CHECK(e.hooked && e.rule == 10 && e.n_skipped == 10, "rule %ld after %zu", e.rule,
	      e.n_skipped);
	for (size_t i = 0; i < e.n_skipped && i < 10; i++)
		CHECK(!strcmp(explain_field_names[e.skipped[i].failed], want[i]),
		      "rule %zu failed on %s, want %s", i, explain_field_names[e.skipped[i].failed],
		      want[i]);
	CHECK(e.decided.action == TLSFW_ACT_REJECT && e.decided.monitor &&
		      e.verdict == TLSFW_ACT_ALLOW && e.decided.line == 36,
	      "monitor: counted, passes (line %u)", e.decided.line);
	explain_free(&e);
	/* not hooked: wan0 has no egress hook */
	pkt(&x, "tcp", "10.0.0.5:40000", "10.1.0.1:23", "wan0", TLSFW_DIR_EGRESS);
	CHECK(!explain_plan(&c.pl, &x, &e) && !e.hooked && e.verdict == TLSFW_ACT_ALLOW,
	      "unhooked passes");
	explain_free(&e);
	/* the default */
	pkt(&x, "tcp", "10.0.0.5:40000", "10.1.0.1:23", "lan0", TLSFW_DIR_INGRESS);
	CHECK(!explain_plan(&c.pl, &x, &e) && e.rule == -1 && e.verdict == TLSFW_ACT_DROP &&
		      e.n_skipped == 11,
	      "default after every rule");
	explain_free(&e);
	unload(&c);
}

/* payload: and require: rules: taken as not matching without --payload (and said so), then
 * each admits its own class only. */
static void test_payload(void)
{
	static const char text[] = "version: 1\ninterfaces:\n  - name: lan0\ndefault: allow\n"
				   "rules:\n"
				   "  - name: quic\n    proto: udp\n    payload: quic\n"
				   "    action: reject\n"
				   "  - name: tls-only\n    proto: tcp\n    dport: 443\n"
				   "    require: tls\n    action: reject\n";
	static const struct {
		const char *proto, *dst;
		uint8_t pl;
		long rule;	    /* plan index (0 is (essentials)), -1: the default */
		const char *failed; /* of the content rule skipped, or NULL */
	} cases[] = {
		{ "udp", "10.1.0.1:443", TLSFW_PL_UNKNOWN, -1, "needs --payload" },
		{ "udp", "10.1.0.1:8443", TLSFW_PL_QUIC, 1, NULL },
		{ "udp", "10.1.0.1:443", TLSFW_PL_PLAIN, -1, "payload" },
		{ "tcp", "10.1.0.1:443", TLSFW_PL_UNKNOWN, -1, "needs --payload" },
		{ "tcp", "10.1.0.1:443", TLSFW_PL_PLAIN, -1, "payload" },
		{ "tcp", "10.1.0.1:443", TLSFW_PL_NOT_TLS, 2, NULL },
	};
	struct explain_pkt x;
	struct explain e;
	struct ctx c;

	if (load(&c, text))
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t k = !strcmp(cases[i].proto, "udp") ? 1 : 2; /* the content rule it meets */

		pkt(&x, cases[i].proto, "10.0.0.5:40000", cases[i].dst, "lan0", TLSFW_DIR_INGRESS);
		x.pl = cases[i].pl;
		CHECK(!explain_plan(&c.pl, &x, &e), "explain %zu", i);
		CHECK(e.rule == cases[i].rule, "case %zu: rule %ld, want %ld", i, e.rule,
		      cases[i].rule);
		if (cases[i].failed && e.n_skipped > k)
			CHECK(!strcmp(explain_field_names[e.skipped[k].failed], cases[i].failed),
			      "case %zu: failed on %s, want %s", i,
			      explain_field_names[e.skipped[k].failed], cases[i].failed);
		CHECK(!cases[i].failed || e.n_skipped > k, "case %zu: rule %zu not skipped", i, k);
		CHECK((cases[i].pl == TLSFW_PL_UNKNOWN) == (e.note != NULL), "case %zu: note", i);
		explain_free(&e);
	}
	unload(&c);
}

static void test_lockout(void)
{
	static const char text[] = "version: 1\ninterfaces:\n  - name: lan0\n  - name: wan0\n"
				   "    hooks: [egress]\ndefault: allow\nrules:\n"
				   "  - name: ok\n    service: https\n    action: allow\n"
				   "  - name: cut\n    dport: 22\n    src: 10.0.0.0/8\n"
				   "    action: drop\n";
	struct explain_pkt x;
	struct compiled cp = { 0 };
	struct ctx c;
	struct diag w;

	if (load(&c, text))
		return;
	diag_init(&w);
	CHECK(lockout_session(NULL, &x, &w) == -ENOENT && !w.n, "no session");
	CHECK(lockout_session("1.2.3.4 22", &x, &w) == -EINVAL && w.n == 1 && w.warnings == 1 &&
		      strstr(w.recs[0].msg, "the lock-out guard cannot check this session"),
	      "short: a warning");
	CHECK(!lockout_session("::ffff:10.0.0.2 41000 ::ffff:10.1.0.2 22", &x, &w) && w.n == 1 &&
		      x.family == 4 && x.sport == 41000 && x.dport == 22,
	      "v4-mapped session");
	diag_free(&w);
	cp.pol = c.p;
	cp.plan = c.pl;
	/* both hooks decide by 'cut': one error, at its name (line 11) */
	CHECK(lockout_guard(&cp, "10.0.0.2 41000 10.1.0.2 22", DIAG_ERROR, &c.d) == 1 &&
		      c.d.errors == 1 && c.d.recs[c.d.n - 1].loc.line == 11 &&
		      strstr(c.d.recs[c.d.n - 1].msg, "rule 'cut' would drop"),
	      "refused at the rule");
	/* from elsewhere the session is not cut */
	CHECK(lockout_guard(&cp, "192.0.2.1 41000 10.1.0.2 22", DIAG_ERROR, &c.d) == 0,
	      "another client");
	CHECK(lockout_guard(&cp, "10.0.0.2 41000 10.1.0.2 2222", DIAG_WARNING, &c.d) == 0,
	      "another port");
	unload(&c);
}

/* explain_plan against the reference on random policies. */
static void test_random(void)
{
	struct randpol_opts o = {
		.max_rules = 12, .services = true, .monitor = true, .valid = true
	};
	unsigned long n = 0;

	for (int i = 0; i < 300; i++) {
		struct policy p;
		struct plan pl = { 0 };
		struct diag d;
		struct rp_rng r;

		rp_seed(&r, 7000 + i);
		diag_init(&d);
		if (randpol_new(&p, &r, &o) || policy_lower(&p, NULL, &pl, &d)) {
			CHECK(0, "policy %d", i);
			goto next;
		}
		for (int k = 0; k < 300; k++) {
			struct ref_pkt rp;
			struct explain_pkt x = { 0 };
			struct ref_verdict v;
			struct explain e;

			randpol_packet(&p, &r, &rp);
			x.family = rp.family;
			x.proto = rp.proto;
			x.has_ports = rp.has_ports;
			x.sport = rp.sport;
			x.dport = rp.dport;
			x.has_type = rp.has_type;
			x.icmp_type = rp.icmp_type;
			x.hop_limit = rp.hop_limit;
			memcpy(x.src, rp.src, 16);
			memcpy(x.dst, rp.dst, 16);
			snprintf(x.ifname, sizeof(x.ifname), "%s", rp.ifname);
			x.dir = rp.dir;
			v = ref_decide(&p, &rp);
			CHECK(!explain_plan(&pl, &x, &e), "explain");
			CHECK(e.hooked && e.rule == ref_plan_index(&p, v.rule) &&
				      e.verdict == ref_effective(&v),
			      "policy %d packet %d: explain %ld, reference %d", i, k, e.rule,
			      ref_plan_index(&p, v.rule));
			/* every skipped rule really does not match, and says why (the plan's
			 * rule list starts with the essentials rule when it is on) */
			for (size_t j = 0; j < e.n_skipped; j++) {
				size_t off = p.essentials == POL_ALLOW;

				CHECK(e.skipped[j].failed != EXPLAIN_MATCHED &&
					      (j < off ? !ref_essential(&rp) :
							 !ref_rule_matches(&p.rules[j - off], &rp)),
				      "policy %d rule %zu", i, j);
			}
			explain_free(&e);
			n++;
		}
next:
		plan_free(&pl);
		randpol_free(&p);
		diag_free(&d);
	}
	CHECK(n == 90000, "%lu packets", n);
}

int main(void)
{
	test_parse();
	test_fields();
	test_payload();
	test_lockout();
	test_random();
	return check_report("test_explain");
}
