// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw probe TARGET... | --policy POLICY: STARTTLS and implicit-TLS compliance.
 * Exit 0 every target compliant, 3 some target reachable but not compliant, 2 some target
 * unreachable or a system error (it wins over 3: nothing can be said about that target),
 * 1 bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include "lazy_openssl.h"

#include "cli.h"
#include "names.h"
#include "probe.h"
#include "probe_domain.h"
#include "probe_policy.h"
#include "tlsfw.h"

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
	cli_usage_error(&cli_probe, fmt, a);
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

static int parse_opt(struct probe_cli *cli, int key, const char *arg)
{
	switch (key) {
	case 's':
		if (probe_proto_by_name(arg) < 0)
			return bad(
				"unknown --starttls '%s' (smtp, imap, pop3, ftp, ldap, xmpp, postgres, sieve, nntp or none)",
				arg);
		cli->starttls = arg;
		break;
	case 'j':
		cli->json = true;
		break;
	case 't':
		if (parse_int(arg, 1, 600000, &cli->o.timeout_ms))
			return bad("--timeout takes milliseconds, 1-600000, not '%s'", arg);
		break;
	case 'c':
		if (parse_int(arg, 1, 1024, &cli->o.concurrency))
			return bad("--concurrency takes 1-1024, not '%s'", arg);
		break;
	case 'a':
		if (access(arg, R_OK))
			return bad("cannot read CA file '%s'", arg);
		cli->o.ca_file = arg;
		break;
	case 'n':
		if (!*arg || strlen(arg) >= PROBE_NAME_MAX)
			return bad("bad --name '%s'", arg);
		cli->name = arg;
		break;
	case 'm':
		cli->min_tls = probe_min_tls_parse(arg);
		if (cli->min_tls < 0)
			return bad("--min-tls takes 1.0, 1.1, 1.2 or 1.3, not '%s'", arg);
		break;
	case 'r':
		cli->require_tls = true;
		break;
	case 'V':
		cli->no_verify = true;
		break;
	case 'p':
		cli->policy = arg;
		break;
	case 'w':
		if (parse_int(arg, 0, 3650, &cli->o.warn_days))
			return bad("--warn-days takes 0-3650, not '%s'", arg);
		break;
	case 'd':
		cli->domain = arg;
		break;
	case 'T':
		if (cli->n_anchors == PROBE_ANCHORS_MAX)
			return bad("more than 16 --trust-anchor files ('%s')", arg);
		cli->anchors[cli->n_anchors++] = arg;
		break;
	}
	return 0;
}

/* Returns 0 to go on, or the exit status (+1: stop with EXIT_OK after --help). */
static int parse_args(int argc, char **argv, struct probe_cli *cli, struct cli_parse *p)
{
	const char *arg;
	int key;

	cli->o.timeout_ms = PROBE_DEFAULT_TIMEOUT_MS;
	cli->o.concurrency = PROBE_DEFAULT_CONCURRENCY;
	cli->o.warn_days = PROBE_DEFAULT_WARN_DAYS;
	cli->min_tls = TLS1_2_VERSION;
	cli_begin(p, &cli_probe, argc, argv);
	while ((key = cli_next(p, &arg)) >= 0)
		if (parse_opt(cli, key, arg))
			return -EINVAL;
	if (key == CLI_STOP)
		return p->status ? -EINVAL : 1;
	if (cli->policy && p->n_args)
		return bad("give targets or --policy, not both ('%s')", p->args[0]);
	if (cli->domain && (p->n_args || cli->policy))
		return bad("give --domain alone, without targets or --policy ('%s')",
			   cli->policy ? cli->policy : p->args[0]);
	if (cli->n_anchors && !cli->domain && !cli->policy)
		return bad("%s",
			   "--trust-anchor is for --domain (and the domain probes of --policy)");
	if (!cli->policy && !cli->domain && !p->n_args)
		return bad("%s", "no target");
	return 0;
}

/* A stage refused what the command line gave it: its record in d, printed as a usage error. */
static int bad_arg(const struct diag *d)
{
	return bad("%s", d->n ? d->recs[d->n - 1].msg : "?");
}

static int targets_from_args(const struct probe_cli *cli, int n, char **argv,
			     struct probe_target *t)
{
	struct diag d;
	const struct probe_diag pd = { .d = &d };
	int ret = 0;

	diag_init(&d);
	for (int i = 0; i < n; i++) {
		const struct target_spec ts = { .spec = argv[i], .starttls = cli->starttls };

		ret = probe_target_parse(&t[i], &ts, &pd);
		if (ret) {
			bad_arg(&d);
			break;
		}
		t[i].min_tls = cli->min_tls;
		t[i].verify = !cli->no_verify;
		t[i].require_tls |= cli->require_tls;
		if (cli->name)
			snprintf(t[i].name, sizeof(t[i].name), "%s", cli->name);
	}
	diag_free(&d);
	return ret;
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
static int collect(const struct probe_cli *cli, const struct cli_parse *p, struct probe_run *run)
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
		run->n_t = p->n_args;
		run->t = calloc(run->n_t, sizeof(*run->t));
		if (run->t && targets_from_args(cli, run->n_t, p->args, run->t))
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
	struct diag d;
	const struct probe_diag pd = { .d = &d };
	int ret = probe_run(&cli->o, run->t, run->n_t, run->r), rc = EXIT_OK;

	memcpy(anchors, cli->anchors, cli->n_anchors * sizeof(anchors[0]));

	if (ret) {
		fprintf(stderr, "tlsfw: cannot run probes: %s\n", strerror(-ret));
		return EXIT_SYSTEM;
	}
	diag_init(&d);
	for (size_t i = 0; i < run->n_d && rc == EXIT_OK; i++) {
		/* the command line's anchors, then the probe's own (trust_anchor:) */
		o.dns.n_anchors = cli->n_anchors + (run->d[i].trust_anchor[0] != '\0');
		o.dns.anchors = anchors;
		anchors[cli->n_anchors] = run->d[i].trust_anchor;
		o.min_tls = run->d[i].min_tls;
		ret = domain_probe(&o, run->d[i].domain, &run->dr[i], &pd);
		if (ret)
			rc = ret == -EINVAL ? (bad_arg(&d), EXIT_BAD_INPUT) : EXIT_SYSTEM;
		snprintf(run->dr[i].label, sizeof(run->dr[i].label), "%s", run->d[i].label);
	}
	if (rc == EXIT_SYSTEM)
		diag_print(&d, stderr);
	diag_free(&d);
	return rc;
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

static int cmd_probe(int argc, char **argv)
{
	struct probe_cli cli = { 0 };
	struct probe_run run = { 0 };
	struct cli_parse p;
	int ret, rc;

	ret = parse_args(argc, argv, &cli, &p);
	if (ret)
		return ret > 0 ? EXIT_OK : EXIT_BAD_INPUT;
	rc = collect(&cli, &p, &run);
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

static const char *const forms[] = {
	"TARGET ... [--starttls] [--json] [--timeout] [--concurrency] [--ca] [--name] [--min-tls] [--require-tls] [--no-verify] [--warn-days]",
	"--policy [--json] [--timeout] [--concurrency] [--ca] [--warn-days] [--trust-anchor]",
	"--domain [--trust-anchor] [--ca] [--json] [--timeout] [--concurrency] [--min-tls] [--warn-days]",
	NULL,
};
static const struct cli_opt opts[] = {
	{ "starttls", "PROTO", 's' },	 { "json", NULL, 'j' },
	{ "timeout", "MS", 't' },	 { "concurrency", "N", 'c' },
	{ "ca", "FILE", 'a' },		 { "name", "NAME", 'n' },
	{ "min-tls", "VER", 'm' },	 { "require-tls", NULL, 'r' },
	{ "no-verify", NULL, 'V' },	 { "policy", "POLICY", 'p' },
	{ "warn-days", "N", 'w' },	 { "domain", "DOMAIN", 'd' },
	{ "trust-anchor", "FILE", 'T' }, { NULL },
};
const struct cli_cmd cli_probe = { "probe", forms, opts, cmd_probe };
