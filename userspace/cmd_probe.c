// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw probe TARGET... | --policy POLICY: STARTTLS and implicit-TLS compliance.
 * Exit 0 every target compliant, 3 some target reachable but not compliant, 2 some target
 * unreachable or a system error (it wins over 3: nothing can be said about that target),
 * 1 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/ssl.h>

#include "probe.h"
#include "probe_domain.h"
#include "probe_policy.h"
#include "tlsfw.h"

static const char usage_line[] =
	"usage: tlsfw probe TARGET... [--starttls PROTO] [--json] [--timeout MS] [--concurrency N] [--ca FILE] [--name NAME] [--min-tls VER] [--require-tls] [--no-verify] [--warn-days N]\n"
	"       tlsfw probe --policy POLICY [--json] [--timeout MS] [--concurrency N] [--ca FILE] [--warn-days N] [--trust-anchor FILE]\n"
	"       tlsfw probe --domain DOMAIN [--trust-anchor FILE] [--ca FILE] [--json] [--timeout MS] [--concurrency N] [--min-tls VER] [--warn-days N]\n"
	"TARGET is host:port, [v6addr]:port or host:service (mail.example.com:submission)\n";

#define PROBE_ANCHORS_MAX 16 /* --trust-anchor files */

struct probe_cli {
	struct probe_opts o;
	const char *starttls, *name, *policy, *domain;
	const char *anchors[PROBE_ANCHORS_MAX];
	size_t n_anchors;
	int min_tls;
	bool json, require_tls, no_verify;
};

static int bad(const char *fmt, const char *a)
{
	fprintf(stderr, "tlsfw: ");
	fprintf(stderr, fmt, a);
	fprintf(stderr, "\n%s", usage_line);
	return -EINVAL;
}

static int parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int probe_min_tls_parse(const char *s)
{
	static const struct {
		const char *n;
		int v;
	} m[] = {
		{ "1.0", TLS1_VERSION },   { "1", TLS1_VERSION },     { "1.1", TLS1_1_VERSION },
		{ "1.2", TLS1_2_VERSION }, { "1.3", TLS1_3_VERSION },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!strcmp(s, m[i].n))
			return m[i].v;
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct probe_cli *cli)
{
	static const struct option opts[] = {
		{ "starttls", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "ca", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "min-tls", required_argument, NULL, 'm' },
		{ "require-tls", no_argument, NULL, 'r' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "policy", required_argument, NULL, 'p' },
		{ "warn-days", required_argument, NULL, 'w' },
		{ "domain", required_argument, NULL, 'd' },
		{ "trust-anchor", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	cli->o.timeout_ms = PROBE_DEFAULT_TIMEOUT_MS;
	cli->o.concurrency = PROBE_DEFAULT_CONCURRENCY;
	cli->o.warn_days = PROBE_DEFAULT_WARN_DAYS;
	cli->min_tls = TLS1_2_VERSION;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (probe_proto_by_name(optarg) < 0)
				return bad(
					"unknown --starttls '%s' (smtp, imap, pop3, ftp, ldap, xmpp, postgres, sieve, nntp or none)",
					optarg);
			cli->starttls = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		case 't':
			if (parse_int(optarg, 1, 600000, &cli->o.timeout_ms))
				return bad("--timeout takes milliseconds, 1-600000, not '%s'",
					   optarg);
			break;
		case 'c':
			if (parse_int(optarg, 1, 1024, &cli->o.concurrency))
				return bad("--concurrency takes 1-1024, not '%s'", optarg);
			break;
		case 'a':
			if (access(optarg, R_OK))
				return bad("cannot read CA file '%s'", optarg);
			cli->o.ca_file = optarg;
			break;
		case 'n':
			if (!*optarg || strlen(optarg) >= PROBE_NAME_MAX)
				return bad("bad --name '%s'", optarg);
			cli->name = optarg;
			break;
		case 'm':
			cli->min_tls = probe_min_tls_parse(optarg);
			if (cli->min_tls < 0)
				return bad("--min-tls takes 1.0, 1.1, 1.2 or 1.3, not '%s'",
					   optarg);
			break;
		case 'r':
			cli->require_tls = true;
			break;
		case 'V':
			cli->no_verify = true;
			break;
		case 'p':
			cli->policy = optarg;
			break;
		case 'w':
			if (parse_int(optarg, 0, 3650, &cli->o.warn_days))
				return bad("--warn-days takes 0-3650, not '%s'", optarg);
			break;
		case 'd':
			cli->domain = optarg;
			break;
		case 'T':
			if (cli->n_anchors == PROBE_ANCHORS_MAX)
				return bad("more than 16 --trust-anchor files ('%s')", optarg);
			cli->anchors[cli->n_anchors++] = optarg;
			break;
		case 'h':
			fputs(usage_line, stdout);
			return 1;
		case ':':
			return bad("option '%s' needs a value", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (cli->policy && optind < argc)
		return bad("give targets or --policy, not both ('%s')", argv[optind]);
	if (cli->domain && (optind < argc || cli->policy))
		return bad("give --domain alone, without targets or --policy ('%s')",
			   cli->policy ? cli->policy : argv[optind]);
	if (cli->n_anchors && !cli->domain && !cli->policy)
		return bad("%s",
			   "--trust-anchor is for --domain (and the domain probes of --policy)");
	if (!cli->policy && !cli->domain && optind >= argc)
		return bad("%s", "no target");
	return 0;
}

static int targets_from_args(const struct probe_cli *cli, int n, char **argv,
			     struct probe_target *t)
{
	char err[256];

	for (int i = 0; i < n; i++) {
		if (probe_target_parse(&t[i], argv[i], cli->starttls, err, sizeof(err)))
			return bad("%s", err);
		t[i].min_tls = cli->min_tls;
		t[i].verify = !cli->no_verify;
		t[i].require_tls |= cli->require_tls;
		if (cli->name)
			snprintf(t[i].name, sizeof(t[i].name), "%s", cli->name);
	}
	return 0;
}

/* What one probe command checks, and what it found. */
struct probe_run {
	struct probe_target *t;
	struct probe_result *r;
	size_t n_t;
	struct policy_domain *d;
	struct domain_result *dr;
	size_t n_d;
};

static void run_free(struct probe_run *run)
{
	for (size_t i = 0; run->dr && i < run->n_d; i++)
		domain_result_free(&run->dr[i]);
	free(run->t);
	free(run->r);
	free(run->d);
	free(run->dr);
}

/* The targets and domains: from the policy, the arguments or --domain. An exit status. */
static int collect(const struct probe_cli *cli, int argc, char **argv, struct probe_run *run)
{
	struct policy_probes pp;
	int ret;

	if (cli->policy) {
		ret = probe_policy_targets(cli->policy, &pp);
		if (ret)
			return ret == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
		run->t = pp.t;
		run->n_t = pp.n_t;
		run->d = pp.d;
		run->n_d = pp.n_d;
	} else if (cli->domain) {
		run->d = calloc(1, sizeof(*run->d));
		if (run->d) {
			snprintf(run->d->domain, sizeof(run->d->domain), "%s", cli->domain);
			run->d->min_tls = cli->min_tls;
			run->n_d = 1;
		}
	} else {
		run->n_t = argc - optind;
		run->t = calloc(run->n_t, sizeof(*run->t));
		if (run->t && targets_from_args(cli, run->n_t, argv + optind, run->t))
			return EXIT_BAD_INPUT;
	}
	run->r = calloc(run->n_t + 1, sizeof(*run->r));
	run->dr = calloc(run->n_d + 1, sizeof(*run->dr));
	if ((run->n_t && !run->t) || (cli->domain && !run->d) || !run->r || !run->dr) {
		fprintf(stderr, "tlsfw: out of memory\n");
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/* The targets, all at once; then each domain (probe_domain.c). An exit status. */
static int execute(const struct probe_cli *cli, struct probe_run *run)
{
	struct domain_opts o = {
		.probe = cli->o,
		.dns = { .root_anchor = DNS_ROOT_ANCHOR },
	};
	const char *anchors[PROBE_ANCHORS_MAX + 1];
	char err[512];
	int ret = probe_run(&cli->o, run->t, run->n_t, run->r);

	memcpy(anchors, cli->anchors, cli->n_anchors * sizeof(anchors[0]));

	if (ret) {
		fprintf(stderr, "tlsfw: cannot run probes: %s\n", strerror(-ret));
		return EXIT_SYSTEM;
	}
	for (size_t i = 0; i < run->n_d; i++) {
		/* the command line's anchors, then the probe's own (trust_anchor:) */
		o.dns.n_anchors = cli->n_anchors + (run->d[i].trust_anchor[0] != '\0');
		o.dns.anchors = anchors;
		anchors[cli->n_anchors] = run->d[i].trust_anchor;
		o.min_tls = run->d[i].min_tls;
		ret = domain_probe(&o, run->d[i].domain, &run->dr[i], err, sizeof(err));
		if (ret == -EINVAL) {
			bad("%s", err);
			return EXIT_BAD_INPUT;
		}
		if (ret) {
			fprintf(stderr, "tlsfw: %s\n", err);
			return EXIT_SYSTEM;
		}
		snprintf(run->dr[i].label, sizeof(run->dr[i].label), "%s", run->d[i].label);
	}
	return EXIT_OK;
}

/* 2 (something unreachable) wins over 3 (something not compliant or not protected). */
static int worst(const struct probe_run *run)
{
	int rc = EXIT_OK;

	for (size_t i = 0; i < run->n_t + run->n_d; i++) {
		int x = i < run->n_t ? (!run->r[i].reachable	     ? EXIT_SYSTEM :
					!probe_compliant(&run->r[i]) ? EXIT_NONCOMPLIANT :
								       EXIT_OK) :
				       domain_exit_code(&run->dr[i - run->n_t]);

		if (x == EXIT_SYSTEM || (x == EXIT_NONCOMPLIANT && rc == EXIT_OK))
			rc = x;
	}
	return rc;
}

static int report(const struct probe_cli *cli, const struct probe_run *run)
{
	struct json_object *root;
	int ret = 0;

	if (!cli->json) {
		probe_report_text(stdout, run->t, run->r, run->n_t);
		domain_report_text(stdout, run->dr, run->n_d);
		return worst(run);
	}
	root = json_object_new_object();
	if (!cli->domain)
		ret = probe_report_json_add(root, run->t, run->r, run->n_t);
	if (run->n_d)
		ret |= domain_report_json_add(root, run->dr, run->n_d,
					      cli->domain ? "summary" : "domain_summary");
	if (probe_json_print(stdout, root, ret)) {
		fprintf(stderr, "tlsfw: out of memory writing JSON\n");
		return EXIT_SYSTEM;
	}
	return worst(run);
}

int cmd_probe(int argc, char **argv)
{
	struct probe_cli cli = { 0 };
	struct probe_run run = { 0 };
	int ret, rc;

	ret = parse_args(argc, argv, &cli);
	if (ret)
		return ret > 0 ? EXIT_OK : EXIT_BAD_INPUT;
	rc = collect(&cli, argc, argv, &run);
	if (rc == EXIT_OK && cli.policy && !run.n_t && !run.n_d) {
		fprintf(stderr, "tlsfw: %s declares no probes\n", cli.policy);
	} else if (rc == EXIT_OK) {
		rc = execute(&cli, &run);
		if (rc == EXIT_OK)
			rc = report(&cli, &run);
	}
	run_free(&run);
	return rc;
}
