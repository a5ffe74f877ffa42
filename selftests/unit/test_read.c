// SPDX-License-Identifier: GPL-2.0
/* policy_read.c: every key into the model, with exact locations; errors where they belong. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#include "check.h"

#define CHECK_LOC(l, ln, cl, width)                                      \
	CHECK((l).line == (ln) && (l).col == (cl) && (l).len == (width), \
	      "loc %u:%u+%u, want %u:%u+%u", (l).line, (l).col, (l).len, (ln), (cl), (width))

static int has_proto(const uint8_t *set, unsigned int p)
{
	return set[p / 8] >> (p % 8) & 1;
}

static const char full[] = "version: 1\n"				       /* 1 */
			   "backend: nft\n"				       /* 2 */
			   "interfaces:\n"				       /* 3 */
			   "  - name: lan0\n"				       /* 4 */
			   "    hooks: [ingress, egress]\n"		       /* 5 */
			   "    xdp_mode: native\n"			       /* 6 */
			   "  - name: wan0\n"				       /* 7 */
			   "default: drop\n"				       /* 8 */
			   "fragments: allow\n"				       /* 9 */
			   "malformed: allow\n"				       /* 10 */
			   "rules:\n"					       /* 11 */
			   "  - name: r1\n"				       /* 12 */
			   "    proto: [tcp, udp, 47, icmpv6]\n"	       /* 13 */
			   "    sport: \"1000-2000\"\n"			       /* 14 */
			   "    dport: [22, 8000-8080, quic]\n"		       /* 15 */
			   "    src: [10.1.0.0/16, \"fd00::/8\", 192.0.2.1]\n" /* 16 */
			   "    dst: \"2001:db8::1\"\n"			       /* 17 */
			   "    family: ipv6\n"				       /* 18 */
			   "    direction: egress\n"			       /* 19 */
			   "    interface: [lan0, wan0]\n"		       /* 20 */
			   "    action: reject\n"			       /* 21 */
			   "    mode: monitor\n"			       /* 22 */
			   "  - name: r2\n"				       /* 23 */
			   "    service: [dot, doq]\n"			       /* 24 */
			   "    interface: lan0\n"			       /* 25 */
			   "    action: allow\n"			       /* 26 */
			   "probes:\n"					       /* 27 */
			   "  - name: p1\n"				       /* 28 */
			   "    target: mail.example.com:465\n"		       /* 29 */
			   "    starttls: none\n"			       /* 30 */
			   "    min_tls: \"1.3\"\n"			       /* 31 */
			   "    verify: false\n"			       /* 32 */
			   "    on_fail: block\n"			       /* 33 */
			   "  - name: p2\n"				       /* 34 */
			   "    target: \"[2001:db8::1]:imaps\"\n";	       /* 35 */

static void test_every_key(void)
{
	struct policy p;
	struct diag d;
	const struct pol_rule *r;
	static const uint8_t v4mapped[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 0
	};

	diag_init(&d);
	CHECK(policy_read_mem(&p, "full.conf", full, strlen(full), &d) == 0, "read");
	CHECK(d.errors == 0 && d.warnings == 0, "%u errors", d.errors);
	CHECK(!strcmp(p.file, "full.conf"), "file %s", p.file);
	CHECK(p.version == 1, "version");
	CHECK_LOC(p.version_loc, 1, 10, 1);
	CHECK(p.backend == POL_BACKEND_NFT, "backend");
	CHECK_LOC(p.backend_loc, 2, 10, 3);
	CHECK(p.n_ifaces == 2, "ifaces %zu", p.n_ifaces);
	CHECK(!strcmp(p.ifaces[0].name, "lan0") && !strcmp(p.ifaces[1].name, "wan0"), "names");
	CHECK_LOC(p.ifaces[0].loc, 4, 11, 4);
	CHECK(p.ifaces[0].hooks == (POL_HOOK_INGRESS | POL_HOOK_EGRESS), "hooks");
	CHECK_LOC(p.ifaces[0].hooks_loc, 5, 12, 1);
	CHECK(p.ifaces[0].xdp_mode == POL_XDP_NATIVE, "xdp_mode");
	CHECK_LOC(p.ifaces[0].xdp_mode_loc, 6, 15, 6);
	CHECK(p.ifaces[1].hooks == POL_HOOK_INGRESS, "default hooks");
	CHECK(p.ifaces[1].xdp_mode == POL_XDP_AUTO, "default xdp_mode");
	CHECK(p.default_action == POL_DROP, "default");
	CHECK_LOC(p.default_loc, 8, 10, 4);
	CHECK(p.fragments == POL_FRAG_ALLOW, "fragments");
	CHECK_LOC(p.fragments_loc, 9, 12, 5);
	CHECK(p.malformed == POL_ALLOW, "malformed");
	CHECK_LOC(p.malformed_loc, 10, 12, 5);

	CHECK(p.n_rules == 2, "rules %zu", p.n_rules);
	r = &p.rules[0];
	CHECK(!strcmp(r->name, "r1"), "name");
	CHECK_LOC(r->loc, 12, 5, 1);
	CHECK_LOC(r->name_loc, 12, 11, 2);
	CHECK(r->has_proto, "has_proto");
	CHECK_LOC(r->proto_loc, 13, 12, 1);
	for (unsigned int i = 0; i < 256; i++)
		CHECK(has_proto(r->protos, i) == (i == IPPROTO_TCP || i == IPPROTO_UDP || i == 47 ||
						  i == IPPROTO_ICMPV6),
		      "proto %u", i);
	CHECK(r->has_sport && r->sport.n == 1 && r->sport.r[0].lo == 1000 &&
		      r->sport.r[0].hi == 2000,
	      "sport");
	CHECK_LOC(r->sport.r[0].loc, 14, 12, 11);
	CHECK(r->has_dport && r->dport.n == 4, "dport %zu", r->dport.n);
	CHECK(r->dport.r[0].lo == 22 && r->dport.r[0].hi == 22, "22");
	CHECK(r->dport.r[1].lo == 8000 && r->dport.r[1].hi == 8080, "8000-8080");
	CHECK(r->dport.r[2].lo == 443 && r->dport.r[3].lo == 80, "quic gives 443 and 80");
	CHECK_LOC(r->dport.loc, 15, 12, 1);
	CHECK_LOC(r->dport.r[1].loc, 15, 17, 9);
	CHECK_LOC(r->dport.r[2].loc, 15, 28, 4);
	CHECK(r->has_src && r->src.n == 3, "src");
	CHECK(r->src.p[0].family == POL_FAM_V4 && r->src.p[0].plen == 96 + 16 &&
		      !memcmp(r->src.p[0].addr, v4mapped, 16),
	      "v4 stored v4-mapped with plen 96+16");
	CHECK_LOC(r->src.p[0].loc, 16, 11, 11);
	CHECK(r->src.p[1].family == POL_FAM_V6 && r->src.p[1].plen == 8 &&
		      r->src.p[1].addr[0] == 0xfd,
	      "fd00::/8");
	CHECK_LOC(r->src.p[1].loc, 16, 24, 10);
	CHECK(r->src.p[2].plen == 128 && r->src.p[2].addr[15] == 1, "a host is a /32");
	CHECK(r->has_dst && r->dst.n == 1 && r->dst.p[0].plen == 128 &&
		      r->dst.p[0].family == POL_FAM_V6,
	      "dst host /128");
	CHECK(r->family == POL_FAM_V6, "family");
	CHECK_LOC(r->family_loc, 18, 13, 4);
	CHECK(r->direction == POL_DIR_EGRESS, "direction");
	CHECK_LOC(r->direction_loc, 19, 16, 6);
	CHECK(r->ifaces.n == 2 && !strcmp(r->ifaces.v[1], "wan0"), "interface list");
	CHECK_LOC(r->ifaces.locs[1], 20, 23, 4);
	CHECK(r->action == POL_REJECT, "action");
	CHECK_LOC(r->action_loc, 21, 13, 6);
	CHECK(r->mode == POL_MONITOR, "mode");
	CHECK_LOC(r->mode_loc, 22, 11, 7);

	r = &p.rules[1];
	CHECK(!r->has_proto && !r->has_sport && !r->has_dport && !r->has_src && !r->has_dst,
	      "nothing said");
	CHECK(r->services.n == 2 && !strcmp(r->services.v[0], "dot") &&
		      !strcmp(r->services.v[1], "doq"),
	      "services as written");
	CHECK_LOC(r->services.locs[1], 24, 20, 3);
	CHECK(r->ifaces.n == 1 && !strcmp(r->ifaces.v[0], "lan0"), "interface scalar");
	CHECK(r->mode == POL_ENFORCE && r->family == 0 && r->direction == 0, "defaults");

	CHECK(p.n_probes == 2, "probes");
	CHECK(!strcmp(p.probes[0].name, "p1") &&
		      !strcmp(p.probes[0].target, "mail.example.com:465"),
	      "probe");
	CHECK_LOC(p.probes[0].target_loc, 29, 13, 20);
	CHECK(!strcmp(p.probes[0].starttls, "none") && !strcmp(p.probes[0].min_tls, "1.3"), "tls");
	CHECK(!p.probes[0].verify && p.probes[0].on_fail_block, "verify, on_fail");
	CHECK(p.probes[1].verify && !p.probes[1].on_fail_block && !p.probes[1].starttls &&
		      !p.probes[1].min_tls,
	      "probe defaults");
	CHECK(!strcmp(p.probes[1].target, "[2001:db8::1]:imaps"), "quoted target");
	policy_free(&p);
	policy_free(&p); /* idempotent */
	diag_free(&d);
}

/* Reading text that must give exactly one error, at line:col, whose message holds want. */
static void expect_error(const char *text, unsigned int line, unsigned int col, const char *want)
{
	struct policy p;
	struct diag d;

	diag_init(&d);
	policy_read_mem(&p, "e.conf", text, strlen(text), &d);
	CHECK(d.errors == 1 && d.n >= 1 && d.recs[0].loc.line == line && d.recs[0].loc.col == col &&
		      strstr(d.recs[0].msg, want),
	      "for\n%s\nwant 1 error at %u:%u with '%s', got %u errors, first %u:%u '%s'", text,
	      line, col, want, d.errors, d.n ? d.recs[0].loc.line : 0, d.n ? d.recs[0].loc.col : 0,
	      d.n ? d.recs[0].msg : "");
	policy_free(&p);
	diag_free(&d);
}

#define HDR "version: 1\ninterfaces:\n  - name: lan0\nrules:\n  - name: a\n"

static void test_errors(void)
{
	expect_error(HDR "    action: dorp\n", 6, 13,
		     "unknown action 'dorp' (did you mean 'drop'?)");
	expect_error(HDR "    actoin: drop\n    action: drop\n", 6, 5,
		     "unknown key 'actoin' in a rule (did you mean 'action'?)");
	expect_error(HDR "    action: drop\n    action: allow\n", 7, 5,
		     "duplicate key 'action' in a rule (first at line 6)");
	expect_error(HDR "    action: [drop]\n", 6, 13,
		     "'action' takes a single value, not a list");
	expect_error(HDR "    action:\n", 6, 5, "'action' has no value");
	expect_error(HDR "    dport: 65536\n    action: drop\n", 6, 12,
		     "port 65536 is out of range");
	expect_error(HDR "    dport: 0\n    action: drop\n", 6, 12, "port 0 is not a valid port");
	expect_error(HDR "    dport: 9-1\n    action: drop\n", 6, 12,
		     "reversed port range '9-1' (did you mean '1-9'?)");
	expect_error(HDR "    dport: [80, htps]\n    action: drop\n", 6, 17,
		     "unknown port or service 'htps' (did you mean 'https'?)");
	expect_error(HDR "    proto: tcpp\n    action: drop\n", 6, 12,
		     "unknown protocol 'tcpp' (did you mean 'tcp'?)");
	expect_error(HDR "    proto: 256\n    action: drop\n", 6, 12,
		     "protocol number 256 is out of range");
	expect_error(HDR "    src: 10.0.0.256\n    action: drop\n", 6, 10,
		     "malformed address '10.0.0.256'");
	expect_error(HDR "    src: 10.0.0.0/33\n    action: drop\n", 6, 10, "too long for IPv4");
	expect_error(HDR "    src: \"::ffff:1.2.3.4\"\n    action: drop\n", 6, 10, "IPv4-mapped");
	expect_error(HDR "    family: ip4\n    action: drop\n", 6, 13,
		     "unknown family 'ip4' (did you mean 'ipv4'?)");
	expect_error(HDR "    direction: egres\n    action: drop\n", 6, 16,
		     "did you mean 'egress'?");
	expect_error(HDR "    mode: enforced\n    action: drop\n", 6, 11,
		     "did you mean 'enforce'?");
	expect_error(HDR "    dport: {a: 1}\n    action: drop\n", 6, 12, "not a mapping");
	expect_error(HDR "    proto: []\n    action: drop\n", 6, 12, "'proto' is an empty list");
	expect_error(HDR "    action: drop\n    dport: *x\n", 7, 12, "aliases are not supported");
	expect_error(HDR "    dport: [80, 443\n    action: drop\n", 7, 11, "invalid YAML");
	expect_error("version: 1\nrules:\n  - name: a\n", 3, 5, "missing key 'action' in rule 'a'");
	expect_error("version: 1\nrules:\n  - action: drop\n", 3, 5,
		     "missing key 'name' in a rule");
	expect_error("version: 1\ninterfaces:\n  - name: a-very-long-name-0\n", 3, 11,
		     "is too long (at most 15 characters)");
	expect_error("version: 1\ninterfaces:\n  - name: lan0\n    hooks: [up]\n", 4, 13,
		     "unknown hook 'up'");
	expect_error("version: 1\ninterfaces: lan0\n", 2, 13,
		     "'interfaces' must be a list of interfaces");
	expect_error("version: 1\nrules:\n  - drop\n", 3, 5,
		     "each item of 'rules' must be a mapping");
	expect_error("version: x\n", 1, 10, "version must be a number");
	expect_error("version: 1\ndefault: reject\n", 2, 10,
		     "unknown default verdict 'reject' (expected allow or drop)");
	expect_error(
		"version: 1\nbogus: 1\n", 2, 1,
		"unknown key 'bogus' in the policy (expected version, backend, interfaces, default, fragments, malformed, rules, probes, midstream, flows, essentials or sni_unordered)");
	expect_error("version: 1\n---\nversion: 1\n", 2, 1, "one YAML document");
	expect_error("- 1\n", 1, 1, "a policy is a mapping");
	expect_error("", 0, 0, "the policy is empty");
	expect_error("version: 1\nprobes:\n  - name: p\n    target: a:1\n    verify: yes\n", 5, 13,
		     "unknown verify value 'yes'");
}

static void test_entry_points(void)
{
	struct policy p;
	struct diag d;
	int err;

	diag_init(&d);
	err = policy_read_file(&p, "/nonexistent/tlsfw.conf", &d);
	CHECK(err == -ENOENT, "read_file of a missing file: %d", err);
	CHECK(d.errors == 1 && d.recs[0].loc.line == 0 && strstr(d.recs[0].msg, "No such file"),
	      "says why");
	policy_free(&p);
	diag_free(&d);

	diag_init(&d);
	err = policy_read_mem(&p, "s.conf", "a: [\n", 5, &d);
	CHECK(err == -EINVAL && d.errors == 1, "syntax error: %d", err);
	CHECK(p.n_rules == 0 && p.file && !strcmp(p.file, "s.conf"), "model empty but usable");
	policy_free(&p);
	diag_free(&d);

	/* NUL bytes and deep nesting: refused, never a crash */
	diag_init(&d);
	err = policy_read_mem(&p, "n.conf", "version: 1\0\n", 12, &d);
	CHECK(d.errors >= 1, "a NUL is diagnosed (%d)", err);
	policy_free(&p);
	diag_free(&d);

	char deep[400];

	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	diag_init(&d);
	err = policy_read_mem(&p, "d.conf", deep, strlen(deep), &d);
	CHECK(err < 0 && d.errors >= 1, "deep nesting refused (%d)", err);
	policy_free(&p);
	diag_free(&d);
}

/* The error about path: one error, at the whole file, holding want. */
static void expect_unreadable(const char *path, const char *want)
{
	struct policy p;
	struct diag d;
	int err;

	diag_init(&d);
	err = policy_read_file(&p, path, &d);
	CHECK(err < 0 && d.errors == 1 && d.recs[0].loc.line == 0 && strstr(d.recs[0].msg, want),
	      "%s: %d, '%s', want '%s'", path, err, d.n ? d.recs[0].msg : "", want);
	policy_free(&p);
	diag_free(&d);
}

/* What is not a policy file is refused before it is read, and never blocks; too much input
 * names the limit. */
static void test_files(void)
{
	char fifo[] = "/tmp/tlsfw-test-fifo-XXXXXX";
	int fd = mkstemp(fifo);
	pid_t pid;
	int status;

	CHECK(fd >= 0, "mkstemp");
	close(fd);
	unlink(fifo);
	CHECK(!mkfifo(fifo, 0600), "mkfifo");
	/* nobody writes: a read would wait forever */
	expect_unreadable(fifo, "a named pipe, not a regular file");
	unlink(fifo);
	expect_unreadable("/dev/zero", "a character device, not a regular file");
	expect_unreadable("/dev/zero", "256 MiB");
	expect_unreadable("/tmp", "a directory, not a regular file");
	/* standard input is read as it comes, up to the limit */
	pid = fork();
	if (!pid) {
		struct policy p;
		struct diag d;
		int z = open("/dev/zero", O_RDONLY);

		diag_init(&d);
		if (z < 0 || dup2(z, 0) < 0)
			_exit(2);
		policy_read_file(&p, "-", &d);
		_exit(d.errors == 1 && strstr(d.recs[0].msg, "larger than the 256 MiB limit") ? 0 :
												1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      !WEXITSTATUS(status),
	      "stdin from /dev/zero: larger than the 256 MiB limit");
}

/* The table `tlsfw check` prints for the policy text (len bytes), in a malloc'd string of *n
 * bytes. */
static char *table_of(const char *name, const char *text, size_t len, size_t *n)
{
	char *out = NULL;
	struct policy p;
	struct diag d;
	FILE *f;

	*n = 0;
	diag_init(&d);
	CHECK(!policy_read_mem(&p, name, text, len, &d) && !d.errors, "%s reads", name);
	f = open_memstream(&out, n);
	policy_print_table(&p, f);
	fclose(f);
	policy_free(&p);
	diag_free(&d);
	return out;
}

/* The MATCH column of `tlsfw check` is cut at its width, visibly. */
static void test_table_cut(void)
{
	char *text = NULL, *out;
	size_t len = 0, n;
	FILE *f;

	f = open_memstream(&text, &len);
	fprintf(f, "version: 1\ninterfaces:\n  - name: lan0\nrules:\n  - name: many\n"
		   "    proto: tcp\n    dport: [");
	for (int i = 0; i < 200; i++)
		fprintf(f, "%s%d", i ? ", " : "", 1000 + i);
	fprintf(f, "]\n    action: drop\n");
	fclose(f);
	out = table_of("cut.conf", text, len, &n);
	CHECK(n > 4 && !strcmp(out + n - 4, "\xe2\x80\xa6\n"), "the cut row ends with an ellipsis");
	CHECK(strstr(out, "1000,1001,1002"), "and starts with the first ports");
	free(out);
	free(text);
}

/*
 * The rows, byte for byte as "%4zu  %-*s  %-6s  %-7s  %5u  %s\n" prints them (the table is
 * written without printf, policy_print.c): names of several widths, port ranges, both modes,
 * and a match column cut where the printf version cut it (at 508 bytes, then the ellipsis).
 */
static void test_table_rows(void)
{
	char *text = NULL, *out, want[1024], full[4096];
	size_t len = 0, n, fl = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	fprintf(f, "version: 1\ninterfaces:\n  - name: lan0\nrules:\n"
		   "  - name: a\n    proto: udp\n    dport: [53, 1000-1003, 65535]\n"
		   "    action: drop\n"
		   "  - name: a-rather-long-rule-name\n    proto: tcp\n    sport: 1-1023\n"
		   "    mode: monitor\n    action: reject\n"
		   "  - name: cut\n    proto: tcp\n    dport: [");
	for (int i = 0; i < 120; i++)
		fprintf(f, "%s%d-%d", i ? ", " : "", 10000 + 10 * i, 10003 + 10 * i);
	fprintf(f, "]\n    action: drop\n");
	fclose(f);
	out = table_of("rows.conf", text, len, &n);
	snprintf(want, sizeof(want), "%4zu  %-*s  %-6s  %-7s  %5u  %s\n", (size_t)1, 23, "a",
		 "drop", "enforce", 5u, "proto udp dport 53,1000-1003,65535");
	CHECK(strstr(out, want), "row 1 as printf prints it: '%s'", want);
	snprintf(want, sizeof(want), "%4zu  %-*s  %-6s  %-7s  %5u  %s\n", (size_t)2, 23,
		 "a-rather-long-rule-name", "reject", "monitor", 9u, "proto tcp sport 1-1023");
	CHECK(strstr(out, want), "row 2 as printf prints it: '%s'", want);
	fl = (size_t)snprintf(full, sizeof(full), "proto tcp dport ");
	for (int i = 0; i < 120; i++)
		fl += (size_t)snprintf(full + fl, sizeof(full) - fl, "%s%d-%d", i ? "," : "",
				       10000 + 10 * i, 10003 + 10 * i);
	/* the column with its leading space was cut at 508 bytes: 507 of them after it */
	snprintf(want, sizeof(want), "%4zu  %-*s  %-6s  %-7s  %5u  %.507s\xe2\x80\xa6\n", (size_t)3,
		 23, "cut", "drop", "enforce", 14u, full);
	CHECK(fl > 507 && strstr(out, want), "row 3 cut as printf cut it: '%s'", want);
	free(out);
	free(text);
}

/* The MATCH column shows the name keys (sni:, sni_match:, ech:) after the others. */
static void test_table_names(void)
{
	static const char text[] =
		"version: 1\ninterfaces:\n  - name: lan0\nrules:\n"
		"  - name: a\n    service: https\n    sni: [dns.google, \"*.Example.com\"]\n    action: reject\n"
		"  - name: b\n    proto: tcp\n    dport: 8443\n    sni: [admin.test]\n    sni_match: not\n    state: new\n    action: reject\n"
		"  - name: c\n    proto: tcp\n    sni: none\n    ech: absent\n    action: drop\n";
	char *out = NULL, m[256];
	size_t n = 0;
	struct policy p;
	struct diag d;
	FILE *f;

	diag_init(&d);
	CHECK(!policy_read_mem(&p, "names.conf", text, sizeof(text) - 1, &d) && !d.errors, "reads");
	f = open_memstream(&out, &n);
	policy_print_table(&p, f);
	fclose(f);
	CHECK(strstr(out, "service https sni dns.google,*.Example.com\n"),
	      "a: sni list as written");
	CHECK(!strcmp(policy_rule_match(&p.rules[1], m, sizeof(m)),
		      "proto tcp dport 8443 state new sni not admin.test"),
	      "b: sni not, after state (got '%s')", m);
	CHECK(!strcmp(policy_rule_match(&p.rules[2], m, sizeof(m)),
		      "proto tcp sni none ech absent"),
	      "c: sni none, ech absent (got '%s')", m);
	free(out);
	policy_free(&p);
	diag_free(&d);
}

int main(void)
{
	test_every_key();
	test_errors();
	test_entry_points();
	test_files();
	test_table_cut();
	test_table_rows();
	test_table_names();
	if (failures) {
		fprintf(stderr, "test_read: %d failures\n", failures);
		return 1;
	}
	printf("test_read: ok\n");
	return 0;
}
