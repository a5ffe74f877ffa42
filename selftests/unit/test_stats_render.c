// SPDX-License-Identifier: GPL-2.0
/*
 * The stats renderers on hand-made snapshots (no kernel): Prometheus text (exact golden,
 * label escaping), JSON keys, the table with rates, human units, rates across a replaced
 * policy, and --listen address parsing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "stats.h"

#include "check.h"

/* A snapshot of two rules on lan0 ingress and egress; counters scaled by k. */
static void make_snap(struct stats_snap *s, const char *const *names, size_t n, uint64_t k,
		      double t)
{
	memset(s, 0, sizeof(*s));
	s->enforced = true;
	s->backend = "bpf";
	snprintf(s->policy_file, sizeof(s->policy_file), "/etc/tlsfw/policy.conf");
	snprintf(s->policy_hash, sizeof(s->policy_hash), "sha256:abc");
	s->applied_at = 1700000000;
	s->default_action = TLSFW_ACT_ALLOW;
	s->n_rules = n;
	s->rules = calloc(n, sizeof(*s->rules));
	for (size_t r = 0; r < n; r++) {
		snprintf(s->rules[r].name, sizeof(s->rules[r].name), "%s", names[r]);
		s->rules[r].order = r;
		s->rules[r].slot = 10 + r;
		s->rules[r].action = r ? TLSFW_ACT_DROP : TLSFW_ACT_REJECT;
		s->rules[r].monitor = r == 1;
	}
	s->n_blocks = 2;
	s->blocks = calloc(2, sizeof(*s->blocks));
	for (size_t b = 0; b < 2; b++) {
		struct stats_block *bl = &s->blocks[b];

		snprintf(bl->ifname, sizeof(bl->ifname), "lan0");
		bl->dir = b;
		bl->hook = b ? TLSFW_HOOK_TC : TLSFW_HOOK_XDP_NATIVE;
		bl->rule = calloc(n, sizeof(*bl->rule));
		for (size_t r = 0; r < n; r++) {
			bl->rule[r].packets = k * (r + 1) * (b + 1);
			bl->rule[r].bytes = k * (r + 1) * (b + 1) * 100;
		}
		bl->stat[TLSFW_STAT_DEFAULT] = (struct tlsfw_counter){ 7 * k, 700 * k };
		bl->stat[TLSFW_STAT_PASS] = (struct tlsfw_counter){ 8 * k, 800 * k };
		bl->stat[TLSFW_STAT_MALFORMED_IHL] = (struct tlsfw_counter){ b, 60 * b };
	}
	s->taken.tv_sec = (time_t)t;
	s->taken.tv_nsec = (long)((t - (time_t)t) * 1e9);
}

static char *render(int which, const struct stats_snap *s, const struct stats_view *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (which == 0)
		err = stats_prom_write(s, f);
	else if (which == 1)
		err = stats_print_json(s, v, false, f);
	else
		err = stats_print_table(s, v, f);
	CHECK(err == 0, "renderer %d returned %d", which, err);
	fclose(f);
	return buf;
}

static const char *const two[] = { "block-quic", "would-drop-dns" };

static void test_prom_golden(void)
{
	struct stats_snap s;
	char *out;

	make_snap(&s, two, 1, 3, 1.0);
	out = render(0, &s, NULL);
	CHECK_STR(
		out,
		"# HELP tlsfw_enforced 1 when a tlsfw policy is enforced in this network namespace, else 0.\n"
		"# TYPE tlsfw_enforced gauge\n"
		"tlsfw_enforced 1\n"
		"# HELP tlsfw_policy_info The enforced policy: file, sha256 hash, default verdict and backend; always 1.\n"
		"# TYPE tlsfw_policy_info gauge\n"
		"tlsfw_policy_info{file=\"/etc/tlsfw/policy.conf\",hash=\"sha256:abc\",default=\"allow\",backend=\"bpf\"} 1\n"
		"# HELP tlsfw_policy_applied_timestamp_seconds When the enforced policy was applied, in seconds since the Unix epoch.\n"
		"# TYPE tlsfw_policy_applied_timestamp_seconds gauge\n"
		"tlsfw_policy_applied_timestamp_seconds 1700000000\n"
		"# HELP tlsfw_policy_rules Rules in the enforced policy.\n"
		"# TYPE tlsfw_policy_rules gauge\n"
		"tlsfw_policy_rules 1\n"
		"# HELP tlsfw_interface_info Interfaces and directions the policy filters, with the hook that runs there; always 1.\n"
		"# TYPE tlsfw_interface_info gauge\n"
		"tlsfw_interface_info{interface=\"lan0\",direction=\"ingress\",hook=\"xdp-native\"} 1\n"
		"tlsfw_interface_info{interface=\"lan0\",direction=\"egress\",hook=\"tc\"} 1\n"
		"# HELP tlsfw_interface_lost 1 when nothing filters there any more: the interface was deleted since the policy was applied, or another tool removed tlsfw's programs.\n"
		"# TYPE tlsfw_interface_lost gauge\n"
		"tlsfw_interface_lost{interface=\"lan0\",direction=\"ingress\"} 0\n"
		"tlsfw_interface_lost{interface=\"lan0\",direction=\"egress\"} 0\n"
		"# HELP tlsfw_rule_info The rules of the enforced policy in policy order, with action and mode; always 1.\n"
		"# TYPE tlsfw_rule_info gauge\n"
		"tlsfw_rule_info{rule=\"block-quic\",action=\"reject\",mode=\"enforce\",order=\"1\"} 1\n"
		"# HELP tlsfw_rule_packets_total Packets a rule matched (monitor mode: would have matched).\n"
		"# TYPE tlsfw_rule_packets_total counter\n"
		"tlsfw_rule_packets_total{rule=\"block-quic\",action=\"reject\",interface=\"lan0\",direction=\"ingress\"} 3\n"
		"tlsfw_rule_packets_total{rule=\"block-quic\",action=\"reject\",interface=\"lan0\",direction=\"egress\"} 6\n"
		"# HELP tlsfw_rule_bytes_total Bytes of the frames a rule matched (monitor mode: would have matched), Ethernet header included.\n"
		"# TYPE tlsfw_rule_bytes_total counter\n"
		"tlsfw_rule_bytes_total{rule=\"block-quic\",action=\"reject\",interface=\"lan0\",direction=\"ingress\"} 300\n"
		"tlsfw_rule_bytes_total{rule=\"block-quic\",action=\"reject\",interface=\"lan0\",direction=\"egress\"} 600\n"
		"# HELP tlsfw_default_packets_total Packets no rule matched, decided by the default verdict.\n"
		"# TYPE tlsfw_default_packets_total counter\n"
		"tlsfw_default_packets_total{interface=\"lan0\",direction=\"ingress\"} 21\n"
		"tlsfw_default_packets_total{interface=\"lan0\",direction=\"egress\"} 21\n"
		"# HELP tlsfw_default_bytes_total Bytes of the frames no rule matched, decided by the default verdict.\n"
		"# TYPE tlsfw_default_bytes_total counter\n"
		"tlsfw_default_bytes_total{interface=\"lan0\",direction=\"ingress\"} 2100\n"
		"tlsfw_default_bytes_total{interface=\"lan0\",direction=\"egress\"} 2100\n"
		"# HELP tlsfw_verdict_packets_total Packets tlsfw decided, by final verdict: pass, drop, reject; monitor counts the passed packets a monitor-mode rule matched (also in pass).\n"
		"# TYPE tlsfw_verdict_packets_total counter\n"
		"tlsfw_verdict_packets_total{interface=\"lan0\",direction=\"ingress\",verdict=\"pass\"} 24\n"
		"tlsfw_verdict_packets_total{interface=\"lan0\",direction=\"ingress\",verdict=\"drop\"} 0\n"
		"tlsfw_verdict_packets_total{interface=\"lan0\",direction=\"ingress\",verdict=\"reject\"} 0\n"
		"tlsfw_verdict_packets_total{interface=\"lan0\",direction=\"ingress\",verdict=\"monitor\"} 0\n"
		"tlsfw_verdict_packets_total{interface=\"lan0\",direction=\"egress\",verdict=\"pass\"} 24\n"
		"tlsfw_verdict_packets_total{interface=\"lan0\",direction=\"egress\",verdict=\"drop\"} 0\n"
		"tlsfw_verdict_packets_total{interface=\"lan0\",direction=\"egress\",verdict=\"reject\"} 0\n"
		"tlsfw_verdict_packets_total{interface=\"lan0\",direction=\"egress\",verdict=\"monitor\"} 0\n"
		"# HELP tlsfw_verdict_bytes_total Bytes of the frames tlsfw decided, by final verdict: pass, drop, reject; monitor counts the passed packets a monitor-mode rule matched (also in pass).\n"
		"# TYPE tlsfw_verdict_bytes_total counter\n"
		"tlsfw_verdict_bytes_total{interface=\"lan0\",direction=\"ingress\",verdict=\"pass\"} 2400\n"
		"tlsfw_verdict_bytes_total{interface=\"lan0\",direction=\"ingress\",verdict=\"drop\"} 0\n"
		"tlsfw_verdict_bytes_total{interface=\"lan0\",direction=\"ingress\",verdict=\"reject\"} 0\n"
		"tlsfw_verdict_bytes_total{interface=\"lan0\",direction=\"ingress\",verdict=\"monitor\"} 0\n"
		"tlsfw_verdict_bytes_total{interface=\"lan0\",direction=\"egress\",verdict=\"pass\"} 2400\n"
		"tlsfw_verdict_bytes_total{interface=\"lan0\",direction=\"egress\",verdict=\"drop\"} 0\n"
		"tlsfw_verdict_bytes_total{interface=\"lan0\",direction=\"egress\",verdict=\"reject\"} 0\n"
		"tlsfw_verdict_bytes_total{interface=\"lan0\",direction=\"egress\",verdict=\"monitor\"} 0\n"
		"# HELP tlsfw_reason_packets_total Packets counted for a reason: malformed headers, fragments handled, reject answers sent or failed.\n"
		"# TYPE tlsfw_reason_packets_total counter\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"malformed-truncated\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"malformed-ihl\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"malformed-length\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"malformed-exthdr\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"malformed-vlan\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"fragment-tiny\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"fragment-without-first\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"fragment-followed\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"fragment-dropped\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"fragment-allowed\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"reject-sent\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"reject-failed\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"ingress\",reason=\"malformed-version\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"malformed-truncated\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"malformed-ihl\"} 1\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"malformed-length\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"malformed-exthdr\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"malformed-vlan\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"fragment-tiny\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"fragment-without-first\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"fragment-followed\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"fragment-dropped\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"fragment-allowed\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"reject-sent\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"reject-failed\"} 0\n"
		"tlsfw_reason_packets_total{interface=\"lan0\",direction=\"egress\",reason=\"malformed-version\"} 0\n");
	free(out);
	stats_snap_free(&s);
}

/* backend: nft counts IP packets: the HELP of the byte counters says so */
static void test_prom_nft_bytes(void)
{
	struct stats_snap s;
	char *out;

	make_snap(&s, two, 2, 1, 1.0);
	s.backend = "nft";
	s.ip_bytes = true;
	out = render(0, &s, NULL);
	CHECK(strstr(out, "# HELP tlsfw_rule_bytes_total Bytes of the IP packets a rule matched") &&
		      !strstr(out, "Ethernet header included"),
	      "nft byte counters described as frames:\n%s", out);
	free(out);
	stats_snap_free(&s);
}

static void test_prom_escaping(void)
{
	struct stats_snap s;
	char *out;

	make_snap(&s, two, 1, 1, 1.0);
	snprintf(s.policy_file, sizeof(s.policy_file), "/srv/a\"b\\c\nd.conf");
	out = render(0, &s, NULL);
	CHECK(strstr(out, "tlsfw_policy_info{file=\"/srv/a\\\"b\\\\c\\nd.conf\",") != NULL,
	      "label value not escaped:\n%s", out);
	free(out);
	stats_snap_free(&s);

	memset(&s, 0, sizeof(s));
	out = render(0, &s, NULL);
	CHECK_STR(
		out,
		"# HELP tlsfw_enforced 1 when a tlsfw policy is enforced in this network namespace, else 0.\n"
		"# TYPE tlsfw_enforced gauge\n"
		"tlsfw_enforced 0\n");
	free(out);
}

static void test_json(void)
{
	struct stats_snap s;
	struct stats_view v = {};
	json_object *doc, *rules, *r, *x;
	char *out;

	make_snap(&s, two, 2, 5, 1.0);
	out = render(1, &s, &v);
	doc = json_tokener_parse(out);
	CHECK(doc != NULL, "not JSON:\n%s", out);
	if (doc) {
		CHECK(json_object_object_get_ex(doc, "rules", &rules) &&
			      json_object_array_length(rules) == 4,
		      "4 rules (2 rules x 2 blocks)");
		r = json_object_array_get_idx(rules, 3);
		CHECK(r && json_object_object_get_ex(r, "name", &x) &&
			      !strcmp(json_object_get_string(x), "would-drop-dns"),
		      "rule order");
		CHECK(r && json_object_object_get_ex(r, "mode", &x) &&
			      !strcmp(json_object_get_string(x), "monitor"),
		      "mode");
		CHECK(r && json_object_object_get_ex(r, "direction", &x) &&
			      !strcmp(json_object_get_string(x), "egress"),
		      "direction");
		CHECK(r && json_object_object_get_ex(r, "packets", &x) &&
			      json_object_get_int64(x) == 20,
		      "packets");
		CHECK(r && json_object_object_get_ex(r, "bytes", &x) &&
			      json_object_get_int64(x) == 2000,
		      "bytes");
		CHECK(!json_object_object_get_ex(r, "packets_per_second", &x),
		      "no rates without --watch");
		CHECK(json_object_object_get_ex(doc, "reasons", &x) &&
			      json_object_array_length(x) == 1,
		      "only non-zero reasons");
		CHECK(json_object_object_get_ex(doc, "policy", &x) &&
			      json_object_object_get_ex(x, "hash", &x) &&
			      !strcmp(json_object_get_string(x), "sha256:abc"),
		      "policy hash");
		/* one id for a hook everywhere: status --json and the Prometheus label agree */
		CHECK(json_object_object_get_ex(doc, "interfaces", &x) &&
			      (x = json_object_array_get_idx(x, 0)) &&
			      json_object_object_get_ex(x, "hook", &x) &&
			      !strcmp(json_object_get_string(x), "xdp-native"),
		      "hook id of XDP native: %s", x ? json_object_get_string(x) : "none");
		json_object_put(doc);
	}
	free(out);
	stats_snap_free(&s);
}

static void test_human(void)
{
	char b[32];

	stats_human(999, false, false, b, sizeof(b));
	CHECK_STR(b, "999");
	stats_human(1000, false, false, b, sizeof(b));
	CHECK_STR(b, "1.0k");
	stats_human(1234567, false, false, b, sizeof(b));
	CHECK_STR(b, "1.2M");
	stats_human(999960, false, false, b, sizeof(b));
	CHECK_STR(b, "1.0M");
	stats_human(1023, true, false, b, sizeof(b));
	CHECK_STR(b, "1023 B");
	stats_human(3650722201ull, true, false, b, sizeof(b));
	CHECK_STR(b, "3.4 GiB");
	stats_human(3650722201ull, true, true, b, sizeof(b));
	CHECK_STR(b, "3650722201 B");
	stats_human(UINT64_MAX, false, false, b, sizeof(b));
	CHECK_STR(b, "18.4E");
}

static void test_rates(void)
{
	static const char *const renamed[] = { "block-quic", "renamed-rule" };
	struct stats_snap a, b, c;
	struct stats_rate r;
	struct stats_view v = { .exact = true, .rates = true };
	char *out;

	make_snap(&a, two, 2, 100, 10.0);
	make_snap(&b, two, 2, 300, 12.0);
	CHECK(stats_rate(&b, &a, 0, 0, &r) && r.packets == 100 && r.bytes == 10000, "rate: %f %f",
	      r.packets, r.bytes);
	CHECK(stats_rate(&b, &a, 1, 1, &r) && r.packets == 400, "egress rule 2: %f", r.packets);
	CHECK(stats_rate(&b, &a, 0, -1, &r) && r.packets == 700, "default: %f", r.packets);
	CHECK(!stats_rate(&b, NULL, 0, 0, &r), "no previous snapshot, no rate");
	CHECK(!stats_rate(&b, &b, 0, 0, &r), "zero interval, no rate");
	/* counters went down (reset): count from zero */
	CHECK(stats_rate(&a, &b, 0, 0, &r) == false, "negative interval");
	make_snap(&c, renamed, 2, 50, 13.0);
	CHECK(stats_rate(&c, &b, 0, 0, &r) && r.packets == 50, "reset counter: %f", r.packets);
	CHECK(!stats_rate(&c, &b, 0, 1, &r), "a renamed rule has no rate");

	v.prev = &a;
	out = render(2, &b, &v);
	CHECK(strstr(out, "PACKETS/S") && strstr(out, "100.0/s") && strstr(out, "10000.0 B/s"),
	      "table rates:\n%s", out);
	CHECK(strstr(out, "reasons: malformed-ihl 1") != NULL, "reasons line:\n%s", out);
	free(out);
	v.prev = &b;
	out = render(2, &c, &v);
	CHECK(strstr(out, "renamed-rule") && strstr(out, " -\n"), "unknown rate shows '-':\n%s",
	      out);
	free(out);
	v.prev = NULL;
	v.exact = false;
	out = render(2, &a, &v);
	CHECK(strstr(out, "PACKETS/S") && strstr(out, " -  "), "first watch refresh:\n%s", out);
	free(out);
	stats_snap_free(&a);
	stats_snap_free(&b);
	stats_snap_free(&c);
}

/* --watch --json: measured numbers are rounded (milliseconds, tenths of a packet per second),
 * not printed with every binary digit of a double (0.10021735300000001). */
static void test_json_rates(void)
{
	struct stats_view v = { .rates = true };
	struct stats_snap a, b;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	make_snap(&a, two, 1, 100, 10.0);
	make_snap(&b, two, 1, 300, 10.100217353);
	v.prev = &a;
	f = open_memstream(&out, &len);
	CHECK(stats_print_json(&b, &v, true, f) == 0, "render");
	fclose(f);
	CHECK(strstr(out, "\"interval_seconds\":0.100}") != NULL, "interval rounded:\n%s", out);
	CHECK(strstr(out, "\"packets_per_second\":1995.7,") != NULL, "rate rounded:\n%s", out);
	free(out);
	stats_snap_free(&a);
	stats_snap_free(&b);
}

static void test_listen_parse(void)
{
	static const char *const bad[] = { "9567", "::1:80",  ":0",  ":65536", "[::1]80", "a:b:c",
					   ":",	   "[::1:80", ":-1", ":+80",   ":80x" };
	struct stats_listen l;
	struct diag d;

	diag_init(&d);
	CHECK(!stats_listen_parse(":9567", &l, &d), ":9567 refused");
	CHECK_STR(l.text, "127.0.0.1:9567");
	CHECK(l.addr.sa.sa_family == AF_INET && ntohs(l.addr.in4.sin_port) == 9567, "port");
	CHECK(!stats_listen_parse("0.0.0.0:80", &l, &d), "0.0.0.0:80 refused");
	CHECK_STR(l.text, "0.0.0.0:80");
	CHECK(!stats_listen_parse("[::1]:9100", &l, &d), "[::1]:9100 refused");
	CHECK_STR(l.text, "[::1]:9100");
	CHECK(l.addr.sa.sa_family == AF_INET6 && l.addrlen == sizeof(l.addr.in6), "v6");
	CHECK(!stats_listen_parse("[::]:9100", &l, &d), "[::]:9100 refused");
	CHECK(d.n == 0, "good addresses said something: %zu records", d.n);
	CHECK_STR(l.text, "[::]:9100");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = d.n;

		CHECK(stats_listen_parse(bad[i], &l, &d) == -EINVAL, "'%s' accepted", bad[i]);
		CHECK(d.n == n + 1 && !strncmp(d.recs[n].msg, "--listen: ", 10),
		      "message for '%s': %s", bad[i], d.n > n ? d.recs[n].msg : "none");
	}
	diag_free(&d);
}

int main(void)
{
	test_prom_golden();
	test_prom_escaping();
	test_prom_nft_bytes();
	test_json();
	test_human();
	test_rates();
	test_json_rates();
	test_listen_parse();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("stats render: all checks passed\n");
	return 0;
}
