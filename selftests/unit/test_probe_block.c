// SPDX-License-Identifier: GPL-2.0
/*
 * on_fail: block. The drop rules of failing probes carry the probe's name and location, go
 * first in the lowering's rule list (the policy itself is not changed), lower into a plan that
 * drops exactly the probed destination and port, and bring only new messages. Then the whole
 * path against local servers: a plaintext server on an implicit-TLS port fails, a closed port
 * is unreachable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plan.h"
#include "plan_sim.h"
#include "policy.h"
#include "probe_block.h"
#include "ref_decide.h"

#include "check.h"

static int load(struct policy *p, struct diag *d, const char *text)
{
	diag_init(d);
	if (policy_read_mem(p, "block.conf", text, strlen(text), d))
		return -EINVAL;
	return policy_check(p, d);
}

static void same_with_given_rules(const struct policy *p, struct pol_rule *extra,
				  const struct plan *want)
{
	struct rule_list given = { 0 };
	struct plan pl = { 0 };
	char *a = NULL, *b = NULL;
	struct diag d;
	int err;

	diag_init(&d);
	err = policy_check_rules(p, &d, &given);
	CHECK(!err && given.n == p->n_rules, "the checker's list: %d, %zu rules", err, given.n);
	if (!err)
		err = policy_lower(
			p, &(struct lower_opts){ .extra = extra, .n_extra = 2, .rules = &given },
			&pl, &d);
	CHECK(!err && !given.v && !given.n, "lowered, the list taken over: %d", err);
	a = plan_text(want);
	b = plan_text(&pl);
	CHECK(pl.n_rules == want->n_rules && pl.n_probe_rules == 2 && a && b && !strcmp(a, b),
	      "the same plan with the checker's rules (%zu rules)", pl.n_rules);
	free(a);
	free(b);
	plan_free(&pl);
	rule_list_free(&given);
	diag_free(&d);
}

static void v4(struct pol_prefix *x, const char *a)
{
	memset(x, 0, sizeof(*x));
	x->addr[10] = x->addr[11] = 0xff;
	inet_pton(AF_INET, a, x->addr + 12);
	x->plen = 128;
	x->family = POL_FAM_V4;
}

static void v6(struct pol_prefix *x, const char *a)
{
	memset(x, 0, sizeof(*x));
	inet_pton(AF_INET6, a, x->addr);
	x->plen = 128;
	x->family = POL_FAM_V6;
}

static struct ref_pkt tcp_to(const struct pol_prefix *dst, uint16_t dport, uint8_t proto)
{
	struct ref_pkt k = { .family = dst->family == POL_FAM_V4 ? 4 : 6,
			     .proto = proto,
			     .has_ports = true,
			     .sport = 40000,
			     .dport = dport,
			     .ifname = "lan0",
			     .dir = TLSFW_DIR_INGRESS };

	memcpy(k.dst, dst->addr, 16);
	if (k.family == 4) {
		k.src[10] = k.src[11] = 0xff;
		k.src[12] = 10;
		k.src[15] = 1;
	} else {
		k.src[0] = 0xfd;
		k.src[15] = 1;
	}
	return k;
}

/* The plan's verdict and the reference scan's (over ref, the policy with the drop rules
 * first) agree, and name rule `want` (-1: default). */
static void expect_rule(const struct policy *p, const struct plan *pl, const struct ref_pkt *k,
			int want, const char *what)
{
	struct ref_verdict got = { 0 }, ref = ref_decide(p, k);
	int err = plan_sim_decide(pl, k, &got);

	CHECK(!err, "%s: plan_sim_decide %d", what, err);
	CHECK(got.rule == want, "%s: plan gives rule %d, want %d", what, got.rule, want);
	CHECK(ref.rule == want, "%s: reference gives rule %d, want %d", what, ref.rule, want);
}

static size_t count_msgs(const struct diag *d, enum diag_level lvl, const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		n += d->recs[i].level == lvl && strstr(d->recs[i].msg, needle);
	return n;
}

static const char policy_text[] =
	"version: 1\n"
	"interfaces:\n"
	"  - name: lan0\n"
	"default: allow\n"
	"rules:\n"
	"  - name: allow-mx\n" /* line 6: all of it is the probe's target */
	"    proto: tcp\n"
	"    dport: 25\n"
	"    dst: 192.0.2.25/32\n"
	"    action: allow\n"
	"  - name: smtp-net\n" /* line 11 */
	"    proto: tcp\n"
	"    dport: 25\n"
	"    dst: 192.0.2.0/24\n"
	"    action: reject\n"
	"  - name: web\n" /* line 16: services make several terms */
	"    service: [https, quic]\n"
	"    action: allow\n"
	"  - name: web-again\n" /* line 19: shadowed already by 'web' */
	"    service: https\n"
	"    action: drop\n"
	"probes:\n"
	"  - name: mx\n" /* line 23 */
	"    target: 192.0.2.25:25\n"
	"    on_fail: block\n"
	"  - name: site\n" /* line 26 */
	"    target: \"[2001:db8::1]:443\"\n"
	"    on_fail: warn\n"
	"  - name: dual\n" /* line 29 */
	"    target: dual.example:smtps\n"
	"    on_fail: block\n";

static void test_add_blocks(void)
{
	struct policy p, ref;
	struct plan pl = { 0 };
	struct diag d;
	struct probe_block b[2];
	struct pol_rule *rules = NULL;
	struct pol_prefix mx, other, d4, d6, site;
	size_t warnings, shadow_msgs;
	int err;

	err = load(&p, &d, policy_text);
	CHECK(!err && !d.errors, "policy loads: %d, %u errors", err, d.errors);
	if (err || d.errors) {
		diag_print(&d, stdout);
		goto out;
	}
	warnings = d.warnings;
	shadow_msgs = count_msgs(&d, DIAG_WARNING, "can never match");
	CHECK(shadow_msgs == 1, "the first check finds web-again shadowed (%zu)", shadow_msgs);

	memset(b, 0, sizeof(b));
	b[0].probe = 0;
	b[0].port = 25;
	v4(&b[0].dst[0], "192.0.2.25");
	b[0].n_dst = 1;
	b[1].probe = 2;
	b[1].port = 465;
	v4(&b[1].dst[0], "198.51.100.7");
	v6(&b[1].dst[1], "2001:db8::7");
	b[1].n_dst = 2;
	err = probe_block_rules(&p, b, 2, &rules);
	CHECK(!err, "probe_block_rules: %d", err);
	if (err)
		goto out;
	CHECK(!strcmp(rules[0].name, "mx") && !strcmp(rules[1].name, "dual"),
	      "drop rules in probe order: %s %s", rules[0].name, rules[1].name);
	CHECK(rules[0].probe == p.probes[0].name, "rule.probe points at the probe's name");
	CHECK(rules[0].action == POL_DROP && rules[0].mode == POL_ENFORCE, "drop, enforced");
	CHECK(rules[0].loc.line == 23 && rules[0].name_loc.line == 23,
	      "located at the probe (line %u)", rules[0].loc.line);
	CHECK(rules[0].action_loc.line == 25, "action at on_fail (line %u)",
	      rules[0].action_loc.line);
	CHECK(rules[1].dst.n == 2 && rules[1].dst.p[1].family == POL_FAM_V6,
	      "every address of the host");
	CHECK(p.n_rules == 4, "the policy keeps its %zu rules", p.n_rules);

	/* the lowering puts them first */
	err = policy_lower(&p, &(struct lower_opts){ .extra = rules, .n_extra = 2 }, &pl, &d);
	CHECK(!err, "lower: %d", err);
	if (err)
		goto out;
	CHECK(pl.n_rules == 7 && pl.n_probe_rules == 2,
	      "4 rules + 2 drop rules + the essentials rule, got %zu", pl.n_rules);
	CHECK(!strcmp(pl.rules[0].name, "mx") && pl.rules[0].line == 23 &&
		      !strcmp(pl.rules[1].name, "dual") && pl.rules[2].essentials &&
		      !strcmp(pl.rules[3].name, "allow-mx") &&
		      !strcmp(pl.rules[6].name, "web-again"),
	      "plan rules: mx, dual, (essentials), then the file's in their order");
	CHECK(pl.rules[0].n_terms == 1 && pl.rules[0].terms[0].has_dport &&
		      pl.rules[0].terms[0].dport.n == 1 && pl.rules[0].terms[0].dport.v[0].lo == 25,
	      "term dport 25");
	CHECK(proto_has(&pl.rules[0].terms[0].protos, IPPROTO_TCP) &&
		      protoset_count(&pl.rules[0].terms[0].protos) == 1,
	      "term tcp only");

	/* the same lowering taking over the checker's rules, as compile() does: the list is
	 * moved up in place for the rules in front; the plan prints the same */
	same_with_given_rules(&p, rules, &pl);

	/* messages: the first check's warnings once; the shadowing that is new */
	policy_check_probe_rules(&p, pl.rules, pl.n_rules, pl.n_probe_rules, &d);
	CHECK(count_msgs(&d, DIAG_WARNING, "rule 'web-again' can never match") == 1,
	      "the old warning is not repeated");
	CHECK(count_msgs(&d, DIAG_WARNING,
			 "rule 'allow-mx' can never match: rule 'mx' (line 23)") == 1,
	      "allow-mx is now shadowed by the drop rule of probe mx");
	CHECK(d.warnings == warnings + 1, "exactly one new warning (%u, was %zu)", d.warnings,
	      warnings);
	CHECK(!d.errors, "no errors");

	/* the reference decides over the policy with the drop rules put first by hand */
	ref = p;
	ref.rules = calloc(p.n_rules + 2, sizeof(*ref.rules));
	if (!ref.rules)
		goto out;
	memcpy(ref.rules, rules, 2 * sizeof(*rules));
	memcpy(ref.rules + 2, p.rules, p.n_rules * sizeof(*p.rules));
	ref.n_rules = p.n_rules + 2;
	v4(&mx, "192.0.2.25");
	v4(&other, "192.0.2.26");
	v4(&d4, "198.51.100.7");
	v6(&d6, "2001:db8::7");
	v6(&site, "2001:db8::1");
	{
		struct ref_pkt k;

		k = tcp_to(&mx, 25, IPPROTO_TCP);
		expect_rule(&ref, &pl, &k, 0, "tcp to the probed address and port");
		k = tcp_to(&mx, 26, IPPROTO_TCP);
		expect_rule(&ref, &pl, &k, -1, "another port of the probed address");
		k = tcp_to(&mx, 25, IPPROTO_UDP);
		expect_rule(&ref, &pl, &k, -1, "udp to the probed port");
		k = tcp_to(&other, 25, IPPROTO_TCP);
		expect_rule(&ref, &pl, &k, 3, "a neighbour of the probed address: smtp-net");
		k = tcp_to(&d4, 465, IPPROTO_TCP);
		expect_rule(&ref, &pl, &k, 1, "IPv4 address of dual");
		k = tcp_to(&d6, 465, IPPROTO_TCP);
		expect_rule(&ref, &pl, &k, 1, "IPv6 address of dual");
		k = tcp_to(&d6, 443, IPPROTO_TCP);
		expect_rule(&ref, &pl, &k, 4, "dual's host on 443: web");
		k = tcp_to(&site, 443, IPPROTO_TCP);
		expect_rule(&ref, &pl, &k, 4, "the warn probe's target is not blocked");
	}
	free(ref.rules);
out:
	plan_free(&pl);
	probe_rules_free(rules, 2);
	policy_free(&p);
	diag_free(&d);
}

static void test_bad_blocks(void)
{
	struct policy p;
	struct diag d;
	struct probe_block b = { .probe = 0, .port = 25 };
	struct pol_rule *rules = NULL;
	size_t n = 0;
	int err;

	/* a probe with on_fail: block named like a rule */
	err = load(
		&p, &d,
		"version: 1\ninterfaces:\n  - name: lan0\nrules:\n  - name: mx\n    dport: 25\n    action: allow\n"
		"probes:\n  - name: mx\n    target: 192.0.2.25:25\n    on_fail: block\n");
	CHECK(!err, "loads: %d", err);
	err = probe_policy_check_blocks(&p, &d);
	CHECK(err == -EINVAL && d.errors == 1, "name clash: %d, %u errors", err, d.errors);
	CHECK(d.n && d.recs[d.n - 1].loc.line == 9 &&
		      strstr(d.recs[d.n - 1].msg, "would take the name of rule 'mx' (line 5)"),
	      "error at the probe's name: %s", d.n ? d.recs[d.n - 1].msg : "-");
	/* the same through probe_policy_run: no probe runs, the error stops it */
	err = probe_policy_run(&p, &d, NULL, &rules, &n);
	CHECK(err == -EINVAL && !n && !rules, "probe_policy_run stops at the clash: %d", err);
	/* a block without an address is refused */
	err = probe_block_rules(&p, &b, 1, &rules);
	CHECK(err == -EINVAL && !rules, "block without address: %d", err);
	policy_free(&p);
	diag_free(&d);

	/* warn probes never clash: nothing would be named after them */
	err = load(
		&p, &d,
		"version: 1\ninterfaces:\n  - name: lan0\nrules:\n  - name: mx\n    dport: 25\n    action: allow\n"
		"probes:\n  - name: mx\n    target: 192.0.2.25:25\n");
	CHECK(!err && !probe_policy_check_blocks(&p, &d), "warn probe named like a rule is fine");
	policy_free(&p);
	diag_free(&d);
}

/* ---- the whole path against local servers ------------------------------------------------ */

struct server {
	int fd;
	uint16_t port;
	atomic_bool stop;
	pthread_t th;
};

/* Answers every connection in plaintext, as a web server would on a TLS port. */
static void *serve(void *arg)
{
	static const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	struct server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		int c;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (write(c, reply, sizeof(reply) - 1) < 0)
			perror("write");
		usleep(50000);
		close(c);
	}
	return NULL;
}

static int listen_local(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		perror("listen_local");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port where nothing listens: bound, then closed. */
static uint16_t closed_port(void)
{
	uint16_t port = 0;
	int fd = listen_local(&port);

	if (fd >= 0)
		close(fd);
	return port;
}

static void test_apply_blocks(void)
{
	struct server s = { 0 };
	struct probe_opts o = { .timeout_ms = 2000, .concurrency = 4 };
	struct pol_rule *rules = NULL;
	size_t n = 0;
	struct policy p;
	struct diag d;
	char text[1024];
	uint16_t dead_block, dead_warn;
	int err;

	s.fd = listen_local(&s.port);
	CHECK(s.fd >= 0, "local server");
	if (s.fd < 0)
		return;
	dead_block = closed_port();
	dead_warn = closed_port();
	if (pthread_create(&s.th, NULL, serve, &s)) {
		CHECK(0, "pthread_create");
		close(s.fd);
		return;
	}
	snprintf(
		text, sizeof(text),
		"version: 1\ninterfaces:\n  - name: lan0\ndefault: allow\n"
		"rules:\n  - name: allow-all-tcp\n    proto: tcp\n    action: allow\n"
		"probes:\n"
		"  - name: plain\n    target: 127.0.0.1:%u\n    starttls: none\n    on_fail: block\n"
		"  - name: dead\n    target: 127.0.0.1:%u\n    starttls: none\n    on_fail: block\n"
		"  - name: dead-warn\n    target: 127.0.0.1:%u\n    starttls: none\n",
		s.port, dead_block, dead_warn);
	err = load(&p, &d, text);
	CHECK(!err, "loads: %d", err);
	if (!err) {
		err = probe_policy_run(&p, &d, &o, &rules, &n);
		CHECK(!err, "probe_policy_run: %d", err);
		diag_print(&d, stdout);
	}
	if (!err) {
		CHECK(n == 2 && p.n_rules == 1, "two drop rules (%zu), the policy's one rule", n);
		CHECK(n == 2 && !strcmp(rules[0].name, "plain") && !strcmp(rules[1].name, "dead"),
		      "order: plain, dead (fail closed)");
		CHECK(n && rules[0].has_dport && rules[0].dport.r[0].lo == s.port &&
			      rules[0].dst.n == 1 && rules[0].dst.p[0].addr[12] == 127 &&
			      rules[0].dst.p[0].plen == 128,
		      "plain: tcp/%u to 127.0.0.1/32", s.port);
		CHECK(count_msgs(&d, DIAG_WARNING, "probe 'plain' failed") == 1 &&
			      count_msgs(&d, DIAG_WARNING, "is not compliant") == 1,
		      "plain reported not compliant");
		CHECK(count_msgs(&d, DIAG_NOTE, "handshake:") == 1, "a note with the failed check");
		CHECK(count_msgs(&d, DIAG_WARNING, "probe 'dead' failed") == 1 &&
			      count_msgs(&d, DIAG_WARNING, "is unreachable") == 2,
		      "dead and dead-warn reported unreachable");
		CHECK(count_msgs(&d, DIAG_WARNING, "on_fail: warn, so nothing is blocked") == 1,
		      "dead-warn only warns");
		CHECK(count_msgs(&d, DIAG_WARNING, "on_fail: block drops tcp/") == 2,
		      "two blocks announced");
		CHECK(!d.errors, "no errors");
	}
	atomic_store(&s.stop, true);
	pthread_join(s.th, NULL);
	close(s.fd);
	probe_rules_free(rules, n);
	policy_free(&p);
	diag_free(&d);

	/* every probe passing or none declared: the policy is left as it was */
	err = load(
		&p, &d,
		"version: 1\ninterfaces:\n  - name: lan0\nrules:\n  - name: a\n    dport: 1\n    action: drop\n");
	CHECK(!err && !probe_policy_run(&p, &d, &o, &rules, &n) && !n && !rules && !d.warnings,
	      "no probes: no rules");
	policy_free(&p);
	diag_free(&d);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0); /* every FAIL line out, even before a crash */
	test_add_blocks();
	test_bad_blocks();
	test_apply_blocks();
	if (failures) {
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("all on_fail: block checks passed\n");
	return 0;
}
