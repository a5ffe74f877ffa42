// SPDX-License-Identifier: GPL-2.0
/* policy_check.c: shadowed rules (and rules that are not), defaults, every error; and the
 * terms the rule list derives from services, which the checker analyses. */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "rules.h"

#include "check.h"

#define HDR "version: 1\ninterfaces:\n  - name: lan0\nrules:\n"

struct ctx {
	struct policy p;
	struct plan_rule *rules; /* the rule list the lowering would build */
	struct diag d;
	int rc;
};

static void load(struct ctx *c, const char *text)
{
	diag_init(&c->d);
	c->rules = NULL;
	c->rc = policy_read_mem(&c->p, "c.conf", text, strlen(text), &c->d);
	if (!c->rc)
		c->rc = policy_check(&c->p, &c->d);
	if (!c->rc && c->d.errors) /* reported by the reader */
		c->rc = -EINVAL;
	if (c->rc)
		return;
	c->rules = calloc(c->p.n_rules + 1, sizeof(*c->rules));
	for (size_t i = 0; c->rules && i < c->p.n_rules; i++)
		CHECK(!rule_build(&c->p, &c->p.rules[i], &c->rules[i], NULL, NULL), "rule_build");
}

static void unload(struct ctx *c)
{
	for (size_t i = 0; c->rules && i < c->p.n_rules; i++)
		rule_free(&c->rules[i]);
	free(c->rules);
	policy_free(&c->p);
	diag_free(&c->d);
}

static void dump(const struct ctx *c)
{
	for (size_t i = 0; i < c->d.n; i++)
		fprintf(stderr, "    | %u:%u %s\n", c->d.recs[i].loc.line, c->d.recs[i].loc.col,
			c->d.recs[i].msg);
}

/* Does rule ri, through its terms, match protocol proto to dport (0: a packet without ports)? */
static int rule_matches(const struct ctx *c, size_t ri, unsigned int proto, unsigned int dport)
{
	const struct plan_rule *r = &c->rules[ri];

	for (size_t i = 0; i < r->n_terms; i++) {
		const struct rule_term *t = &r->terms[i];

		if (!proto_has(&t->protos, proto))
			continue;
		if (!dport && (t->has_dport || t->has_sport))
			continue;
		if (dport && t->has_dport && !ivls_find(&t->dport, dport))
			continue;
		return 1;
	}
	return 0;
}

static size_t terms_of(const struct ctx *c, size_t ri)
{
	return c->rules[ri].n_terms;
}

static void test_terms(void)
{
	struct ctx c;

	load(&c, HDR
	     "  - name: quic443\n    proto: udp\n    dport: 443\n    action: reject\n"	    /* 0 */
	     "  - name: noproto\n    dport: 53\n    action: drop\n"			    /* 1 */
	     "  - name: tcpicmp\n    proto: [tcp, icmp]\n    dport: 25\n    action: drop\n" /* 2 */
	     "  - name: dotdoq\n    service: [dot, doq]\n    action: drop\n"		    /* 3 */
	     "  - name: quic\n    service: quic\n    action: drop\n"			    /* 4 */
	     "  - name: mixed\n    service: [https, dns]\n    src: 10.0.0.0/8\n    action: allow\n" /* 5 */
	     "  - name: dnstcp\n    proto: tcp\n    service: dns\n    src: 10.0.0.0/8\n    action: allow\n" /* 6 */
	     "  - name: httpsdport\n    service: https\n    dport: [443, 8443]\n    src: 10.0.0.0/8\n    action: allow\n" /* 7 */
	     "  - name: ftps990\n    service: ftps\n    dport: 990\n    action: allow\n" /* 8 */
	     "  - name: any\n    action: allow\n"					 /* 9 */
	     "  - name: ping\n    proto: icmp\n    action: allow\n"			 /* 10 */
	     "  - name: sp\n    sport: 53\n    action: allow\n");			 /* 11 */
	CHECK(c.rc == 0 && c.d.errors == 0, "accepted (%d)", c.rc);
	if (c.rc) {
		dump(&c);
		unload(&c);
		return;
	}
	CHECK(terms_of(&c, 0) == 1, "one term");
	CHECK(protoset_count(&c.rules[0].terms[0].protos) == 1 &&
		      proto_has(&c.rules[0].terms[0].protos, IPPROTO_UDP),
	      "udp");
	CHECK(c.rules[0].terms[0].has_dport && c.rules[0].terms[0].dport.n == 1 &&
		      c.rules[0].terms[0].dport.v[0].lo == 443 &&
		      c.rules[0].terms[0].loc.line == c.p.rules[0].dport.loc.line &&
		      !c.rules[0].terms[0].has_sport,
	      "dport is the rule's");

	CHECK(terms_of(&c, 1) == 1, "one term");
	CHECK(rule_matches(&c, 1, IPPROTO_TCP, 53) && rule_matches(&c, 1, IPPROTO_UDP, 53) &&
		      !rule_matches(&c, 1, IPPROTO_ICMP, 0) &&
		      !rule_matches(&c, 1, IPPROTO_SCTP, 53),
	      "ports and no proto: tcp and udp only");

	CHECK(rule_matches(&c, 2, IPPROTO_TCP, 25) && !rule_matches(&c, 2, IPPROTO_ICMP, 0) &&
		      !rule_matches(&c, 2, IPPROTO_UDP, 25),
	      "[tcp, icmp] with a port: tcp");

	CHECK(terms_of(&c, 3) == 1, "dot and doq share port 853: one term, %zu", terms_of(&c, 3));
	CHECK(rule_matches(&c, 3, IPPROTO_TCP, 853) && rule_matches(&c, 3, IPPROTO_UDP, 853) &&
		      !rule_matches(&c, 3, IPPROTO_TCP, 854),
	      "dot, doq");
	CHECK(c.rules[3].terms[0].loc.line == c.p.rules[3].services.locs[0].line &&
		      c.rules[3].terms[0].loc.col == c.p.rules[3].services.locs[0].col,
	      "service ports are located at the service");

	CHECK(terms_of(&c, 4) == 1, "quic: one protocol, two ports: one term");
	CHECK(rule_matches(&c, 4, IPPROTO_UDP, 443) && rule_matches(&c, 4, IPPROTO_UDP, 80) &&
		      !rule_matches(&c, 4, IPPROTO_TCP, 443),
	      "quic");

	CHECK(terms_of(&c, 5) == 2, "https + dns: no cross product, %zu terms", terms_of(&c, 5));
	CHECK(rule_matches(&c, 5, IPPROTO_TCP, 443) && rule_matches(&c, 5, IPPROTO_TCP, 53) &&
		      rule_matches(&c, 5, IPPROTO_UDP, 53) &&
		      !rule_matches(&c, 5, IPPROTO_UDP, 443),
	      "udp/443 is named by no service");

	CHECK(rule_matches(&c, 6, IPPROTO_TCP, 53) && !rule_matches(&c, 6, IPPROTO_UDP, 53),
	      "proto intersects the service's protocols");
	CHECK(rule_matches(&c, 7, IPPROTO_TCP, 443) && !rule_matches(&c, 7, IPPROTO_TCP, 8443),
	      "dport intersects the service's ports");
	CHECK(rule_matches(&c, 8, IPPROTO_TCP, 990) && !rule_matches(&c, 8, IPPROTO_TCP, 989),
	      "ftps 989-990 with dport 990");

	CHECK(terms_of(&c, 9) == 1 && protoset_count(&c.rules[9].terms[0].protos) == 256 &&
		      !c.rules[9].terms[0].has_dport && !c.rules[9].terms[0].has_sport,
	      "any: one unconstrained term");
	CHECK(terms_of(&c, 10) == 1 && protoset_count(&c.rules[10].terms[0].protos) == 1 &&
		      proto_has(&c.rules[10].terms[0].protos, IPPROTO_ICMP) &&
		      !c.rules[10].terms[0].has_dport,
	      "icmp");
	CHECK(terms_of(&c, 11) == 1 && protoset_count(&c.rules[11].terms[0].protos) == 2 &&
		      c.rules[11].terms[0].has_sport && !c.rules[11].terms[0].has_dport,
	      "a sport alone also means tcp and udp");
	/* what is written above is also a lesson in shadowing */
	CHECK(c.d.warnings == 4 && strstr(c.d.recs[0].msg,
					  "rule 'dnstcp' can never match: rule 'noproto' (line 9)"),
	      "warnings: %u", c.d.warnings);
	unload(&c);
}

static void test_defaults(void)
{
	struct ctx c;
	const char *text =
		"version: 1\ninterfaces:\n  - name: lan0\nrules:\n  - name: a\n    dport: 1\n    action: drop\n";
	uint8_t md[32];

	load(&c, text);
	CHECK(c.rc == 0, "accepted");
	CHECK(c.p.ifaces[0].hooks == POL_HOOK_INGRESS && c.p.ifaces[0].xdp_mode == POL_XDP_AUTO,
	      "interface defaults");
	CHECK(c.p.default_action == POL_ALLOW && c.p.fragments == POL_FRAG_FOLLOW &&
		      c.p.malformed == POL_DROP && c.p.backend == POL_BACKEND_BPF,
	      "policy defaults");
	CHECK(c.p.rules[0].mode == POL_ENFORCE && c.p.rules[0].family == 0 &&
		      c.p.rules[0].direction == 0,
	      "rule defaults");
	EVP_Digest(text, strlen(text), md, NULL, EVP_sha256(), NULL);
	CHECK(!memcmp(md, c.p.sha256, 32), "sha256 of the file bytes");
	unload(&c);

	/* check only reports: the policy it was given is left as it was */
	struct policy p = { 0 }, before;
	struct pol_iface f = { .name = "x0" };
	struct diag d;

	p.version = 1;
	p.version_loc.line = 1;
	p.ifaces = &f;
	p.n_ifaces = 1;
	before = p;
	diag_init(&d);
	CHECK(policy_check(&p, &d) == 0 && !memcmp(&p, &before, sizeof(p)) && f.hooks == 0,
	      "the policy is left as it was");
	diag_free(&d);
}

/* The warnings of text: exactly n, and the first holds want (when n > 0). */
static void expect_warnings(const char *what, const char *text, unsigned int n, const char *want)
{
	struct ctx c;

	load(&c, text);
	CHECK(c.rc == 0 && c.d.errors == 0, "%s: accepted", what);
	CHECK(c.d.warnings == n && (!n || (c.d.n && strstr(c.d.recs[0].msg, want))),
	      "%s: %u warnings, want %u with '%s'", what, c.d.warnings, n, want ? want : "");
	if (c.d.warnings != n || c.d.errors)
		dump(&c);
	unload(&c);
}

static void test_shadowing(void)
{
	/* covered */
	expect_warnings(
		"catch-all",
		HDR
		"  - name: all\n    action: drop\n  - name: web\n    service: https\n    action: allow\n",
		1, "rule 'web' can never match: rule 'all' (line 5) matches first");
	expect_warnings("union of ports",
			HDR
			"  - name: low\n    proto: tcp\n    dport: 1-1023\n    action: allow\n"
			"  - name: high\n    proto: tcp\n    dport: 1024-65535\n    action: drop\n"
			"  - name: some\n    proto: tcp\n    dport: [80, 8080]\n    action: drop\n",
			1, "rules 'low' (line 5) and 'high' (line 9) match first");
	/* c covers x but in dport, and its ports lie around x's without one in common: it takes
	 * none of x's packets, so moving x above it would not help; it is not named */
	expect_warnings("union of ports names only rules sharing packets",
			HDR "  - name: a\n    proto: tcp\n    dport: 80\n    action: allow\n"
			    "  - name: b\n    proto: tcp\n    dport: 81\n    action: allow\n"
			    "  - name: c\n    proto: tcp\n    dport: [79, 82]\n    action: allow\n"
			    "  - name: x\n    proto: tcp\n    dport: [80, 81]\n    action: drop\n",
			1, "rules 'a' (line 5) and 'b' (line 9) match first");
	expect_warnings("union of prefixes names only rules sharing packets",
			HDR "  - name: a\n    src: 10.0.0.0/9\n    action: allow\n"
			    "  - name: b\n    src: 10.128.0.0/9\n    action: allow\n"
			    "  - name: c\n    src: [9.0.0.0/8, 11.0.0.0/8]\n    action: allow\n"
			    "  - name: x\n    src: 10.0.0.0/8\n    action: drop\n",
			1, "rules 'a' (line 5) and 'b' (line 8) match first");
	expect_warnings("union of prefixes",
			HDR "  - name: a\n    src: 10.0.0.0/9\n    action: allow\n"
			    "  - name: b\n    src: 10.128.0.0/9\n    action: allow\n"
			    "  - name: c\n    src: [10.0.0.0/8, 10.1.2.0/24]\n    action: drop\n",
			1, "rule 'c' can never match");
	expect_warnings("union of protocols",
			HDR "  - name: t\n    proto: tcp\n    dport: 53\n    action: allow\n"
			    "  - name: u\n    proto: udp\n    dport: 53\n    action: allow\n"
			    "  - name: both\n    dport: 53\n    action: drop\n",
			1, "rule 'both' can never match");
	expect_warnings("union of interfaces",
			"version: 1\ninterfaces:\n  - name: lan0\n  - name: wan0\nrules:\n"
			"  - name: l\n    interface: lan0\n    action: allow\n"
			"  - name: w\n    interface: wan0\n    action: allow\n"
			"  - name: all\n    action: drop\n",
			1, "rule 'all' can never match");
	expect_warnings("union of families",
			HDR "  - name: v4\n    family: ipv4\n    action: allow\n"
			    "  - name: v6\n    family: ipv6\n    action: allow\n"
			    "  - name: all\n    dport: 80\n    action: drop\n",
			1, "rule 'all' can never match");
	expect_warnings("service covers dport",
			HDR "  - name: dns\n    service: dns\n    action: allow\n"
			    "  - name: d53\n    dport: 53\n    dst: 10.0.0.0/8\n    action: drop\n",
			1, "rule 'dns' (line 5)");
	expect_warnings("egress hook absent: ingress-only rule covers all",
			HDR "  - name: in\n    direction: ingress\n    action: allow\n"
			    "  - name: all\n    action: drop\n",
			1, "rule 'all' can never match");
	expect_warnings("monitor rules match first too",
			HDR "  - name: m\n    proto: udp\n    action: drop\n    mode: monitor\n"
			    "  - name: q\n    service: quic\n    action: reject\n",
			1, "rule 'q' can never match");
	expect_warnings("protocols with and without ports",
			HDR "  - name: t\n    proto: tcp\n    action: allow\n"
			    "  - name: i\n    proto: icmp\n    action: allow\n"
			    "  - name: ti\n    proto: [tcp, icmp]\n    action: drop\n",
			1, "rules 't' (line 5) and 'i' (line 8) match first");
	expect_warnings(
		"many services, all shadowed",
		HDR
		"  - name: all-tcp\n    proto: tcp\n    action: allow\n"
		"  - name: mail\n    service: [smtp, submission, submissions, imap, imaps, pop3, pop3s, ldap, ldaps, ftp, ftps, nntp, nntps, xmpp, postgres, sieve, https-alt, http, https, dot, smtp, smtp]\n    action: drop\n",
		1, "rule 'mail' can never match: rule 'all-tcp'");
	expect_warnings("family by address",
			HDR "  - name: v4\n    src: 0.0.0.0/0\n    action: allow\n"
			    "  - name: v4only\n    family: ipv4\n    dport: 22\n    action: drop\n",
			1, "rule 'v4only' can never match");

	/* not covered */
	expect_warnings("partial ports",
			HDR "  - name: a\n    proto: tcp\n    dport: 1-100\n    action: allow\n"
			    "  - name: b\n    proto: tcp\n    dport: 50-150\n    action: drop\n",
			0, NULL);
	expect_warnings("port 0 is still a port",
			HDR "  - name: a\n    proto: tcp\n    dport: 1-65535\n    action: allow\n"
			    "  - name: b\n    proto: tcp\n    action: drop\n",
			0, NULL);
	expect_warnings("narrower source first",
			HDR "  - name: a\n    src: 10.0.0.0/16\n    action: allow\n"
			    "  - name: b\n    src: 10.0.0.0/8\n    action: drop\n",
			0, NULL);
	expect_warnings("other interface",
			"version: 1\ninterfaces:\n  - name: lan0\n  - name: wan0\nrules:\n"
			"  - name: l\n    interface: lan0\n    action: allow\n"
			"  - name: all\n    action: drop\n",
			0, NULL);
	expect_warnings(
		"egress first, both directions later",
		"version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress, egress]\nrules:\n"
		"  - name: out\n    direction: egress\n    action: allow\n"
		"  - name: all\n    action: drop\n",
		0, NULL);
	expect_warnings("ipv4 first, any family later",
			HDR "  - name: v4\n    family: ipv4\n    action: allow\n"
			    "  - name: all\n    action: drop\n",
			0, NULL);
	expect_warnings("ipv6 prefix does not cover ipv4",
			HDR "  - name: v6\n    src: \"::/0\"\n    action: allow\n"
			    "  - name: v4\n    src: 10.0.0.0/8\n    action: drop\n",
			0, NULL);
	expect_warnings("tcp rule does not cover icmp",
			HDR "  - name: t\n    proto: tcp\n    action: allow\n"
			    "  - name: all\n    proto: [tcp, icmp]\n    action: drop\n",
			0, NULL);
	expect_warnings("dst differs",
			HDR "  - name: a\n    dst: 192.0.2.0/24\n    action: allow\n"
			    "  - name: b\n    src: 192.0.2.0/24\n    action: drop\n",
			0, NULL);
	expect_warnings("services split by proto",
			HDR "  - name: dot\n    service: dot\n    action: drop\n"
			    "  - name: doq\n    service: doq\n    action: drop\n",
			0, NULL);

	/* a broken earlier rule covers nothing; the error is reported, not a shadow */
	{
		struct ctx c;

		load(&c, HDR
		     "  - name: all\n    action: dorp\n  - name: web\n    dport: 443\n    action: allow\n");
		CHECK(c.d.errors == 1 && c.d.warnings == 0, "broken rule shadows nothing");
		unload(&c);
		load(&c, HDR
		     "  - name: all\n    action: drop\n  - name: bad\n    dport: 99999\n    action: allow\n  - name: web\n    dport: 443\n    action: allow\n");
		CHECK(c.d.errors == 1 && c.d.warnings == 1,
		      "errors and shadow warnings in one run");
		unload(&c);
	}
}

static void test_other_warnings(void)
{
	expect_warnings("empty rules", "version: 1\ninterfaces:\n  - name: lan0\nrules: []\n", 1,
			"the policy has no rules");
	expect_warnings("no interfaces", "version: 1\nrules:\n  - name: a\n    action: drop\n", 1,
			"lists no interfaces");
}

/* text must give an error holding want at line:col (among others, maybe). */
static void expect_error(const char *text, unsigned int line, unsigned int col, const char *want)
{
	struct ctx c;
	int found = 0;

	load(&c, text);
	for (size_t i = 0; i < c.d.n; i++)
		found |= c.d.recs[i].level == DIAG_ERROR && c.d.recs[i].loc.line == line &&
			 c.d.recs[i].loc.col == col && strstr(c.d.recs[i].msg, want);
	CHECK(found && c.rc == -EINVAL, "want an error at %u:%u with '%s' (rc %d)", line, col, want,
	      c.rc);
	if (!found)
		dump(&c);
	unload(&c);
}

static void test_errors(void)
{
	char *big;
	size_t len = 0;

	expect_error("interfaces:\n  - name: lan0\n", 0, 0, "missing 'version: 1'");
	expect_error("version: 3\n", 1, 10, "unsupported version 3");
	expect_error(HDR "  - name: a\n    src: 10.0.0.1/8\n    action: drop\n", 6, 10,
		     "host bits set (did you mean 10.0.0.0/8?)");
	expect_error(HDR "  - name: a\n    family: ipv4\n    dst: \"fd00::/8\"\n    action: drop\n",
		     7, 10, "is an IPv6 address but the rule says family: ipv4");
	expect_error(HDR
		     "  - name: a\n    src: \"fd00::/8\"\n    dst: 10.0.0.0/8\n    action: drop\n",
		     7, 10, "src holds only IPv6 addresses and dst only IPv4 ones");
	expect_error(HDR "  - name: a\n    service: imap4\n    action: drop\n", 6, 14,
		     "unknown service 'imap4' (did you mean 'imap'?)");
	expect_error(HDR "  - name: a\n    proto: udp\n    service: https\n    action: drop\n", 7,
		     14, "the rule's proto excludes it");
	expect_error(HDR "  - name: a\n    dport: 80\n    service: https\n    action: drop\n", 7,
		     14, "the rule's dport excludes it");
	expect_error(HDR "  - name: a\n    proto: icmp\n    dport: 1\n    action: drop\n", 7, 12,
		     "its proto carries none");
	expect_error(HDR "  - name: A\n    action: drop\n", 5, 11, "invalid rule name 'A'");
	expect_error(HDR "  - name: a\n    action: drop\n  - name: a\n    action: drop\n", 7, 11,
		     "duplicate rule name 'a' (first at line 5)");
	expect_error(
		HDR
		"  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    action: drop\n",
		5, 11, "is too long");
	expect_error("version: 1\ninterfaces:\n  - name: a/b\n", 3, 11,
		     "invalid interface name 'a/b'");
	expect_error("version: 1\ninterfaces:\n  - name: x\n  - name: x\n", 4, 11,
		     "interface 'x' is listed twice (first at line 3)");
	expect_error(
		HDR "  - name: a\n    interface: lan9\n    action: drop\n", 6, 16,
		"names interface 'lan9', which the policy does not list (did you mean 'lan0'?)");
	expect_error(HDR "  - name: a\n    direction: egress\n    action: drop\n", 6, 16,
		     "does not hook egress");
	expect_error(
		HDR
		"  - name: a\n    action: drop\nprobes:\n  - name: p\n    target: example.com\n",
		9, 13, "has no port");
	expect_error(
		HDR
		"  - name: a\n    action: drop\nprobes:\n  - name: p\n    target: \"::1:443\"\n",
		9, 13, "in brackets");
	expect_error(
		HDR
		"  - name: a\n    action: drop\nprobes:\n  - name: p\n    target: \"[::1]:0\"\n",
		9, 13, "out of range");
	expect_error(HDR
		     "  - name: a\n    action: drop\nprobes:\n  - name: p\n    target: a.b:smpt\n",
		     9, 13, "did you mean 'smtp'?");
	expect_error(
		HDR
		"  - name: a\n    action: drop\nprobes:\n  - name: p\n    target: a.b:25\n    starttls: tls\n",
		10, 15, "unknown starttls protocol 'tls'");
	expect_error(
		HDR
		"  - name: a\n    action: drop\nprobes:\n  - name: p\n    target: a.b:25\n    min_tls: 1.5\n",
		10, 14, "unsupported TLS version '1.5'");
	expect_error(HDR
		     "  - name: a\n    action: drop\nprobes:\n  - name: Bad\n    target: a.b:25\n",
		     8, 11, "invalid probe name 'Bad'");

	/* 17 interfaces */
	big = calloc(1, 1 << 20);
	len = sprintf(big, "version: 1\ninterfaces:\n");
	for (int i = 0; i < 17; i++)
		len += sprintf(big + len, "  - name: v%d\n", i);
	expect_error(big, 19, 11, "too many interfaces");
	/* 4097 rules */
	len = sprintf(big, HDR);
	for (int i = 0; i < 4097; i++)
		len += sprintf(big + len, "  - name: r%d\n    dport: %d\n    action: drop\n", i,
			       i + 1);
	expect_error(big, 5 + 4096 * 3, 5, "too many rules: a policy holds at most 4096");
	/* 64 probes: each failing one would add a rule beyond the slots (TLSFW_IMPLICIT_RULES) */
	len = sprintf(big, HDR "  - name: a\n    action: drop\nprobes:\n");
	for (int i = 0; i < 64; i++)
		len += sprintf(big + len, "  - name: p%d\n    target: a.b:%d\n", i, 1000 + i);
	expect_error(big, 8 + 63 * 2, 5, "too many probes: a policy holds at most 63");
	free(big);
}

int main(void)
{
	test_terms();
	test_defaults();
	test_shadowing();
	test_other_warnings();
	test_errors();
	if (failures) {
		fprintf(stderr, "test_check: %d failures\n", failures);
		return 1;
	}
	printf("test_check: ok\n");
	return 0;
}
