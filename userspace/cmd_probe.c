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

#include <openssl/ssl.h>

#include "cli.h"
#include "names.h"
#include "probe.h"
#include "probe_policy.h"
#include "tlsfw.h"

struct probe_cli {
	struct probe_opts o;
	const char *starttls, *name, *policy;
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
	cli->min_tls = TLS1_2_VERSION;
	cli_begin(p, &cli_probe, argc, argv);
	while ((key = cli_next(p, &arg)) >= 0)
		if (parse_opt(cli, key, arg))
			return -EINVAL;
	if (key == CLI_STOP)
		return p->status ? -EINVAL : 1;
	if (cli->policy && p->n_args)
		return bad("give targets or --policy, not both ('%s')", p->args[0]);
	if (!cli->policy && !p->n_args)
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

static int cmd_probe(int argc, char **argv)
{
	struct probe_cli cli = { 0 };
	struct cli_parse p;
	struct probe_target *t = NULL;
	struct probe_result *r = NULL;
	size_t n = 0;
	int ret, rc = EXIT_OK;

	ret = parse_args(argc, argv, &cli, &p);
	if (ret)
		return ret > 0 ? EXIT_OK : EXIT_BAD_INPUT;
	if (cli.policy) {
		ret = probe_policy_targets(cli.policy, &t, &n);
		if (ret)
			return ret == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
		if (!n) {
			fprintf(stderr, "tlsfw: %s declares no probes\n", cli.policy);
			free(t);
			return EXIT_OK;
		}
	} else {
		n = p.n_args;
		t = calloc(n, sizeof(*t));
		if (!t) {
			fprintf(stderr, "tlsfw: out of memory\n");
			return EXIT_SYSTEM;
		}
		if (targets_from_args(&cli, n, p.args, t)) {
			free(t);
			return EXIT_BAD_INPUT;
		}
	}
	r = calloc(n, sizeof(*r));
	if (!r) {
		fprintf(stderr, "tlsfw: out of memory\n");
		rc = EXIT_SYSTEM;
		goto out;
	}
	ret = probe_run(&cli.o, t, n, r);
	if (ret) {
		fprintf(stderr, "tlsfw: cannot run probes: %s\n", strerror(-ret));
		rc = EXIT_SYSTEM;
		goto out;
	}
	if (cli.json) {
		if (probe_report_json(stdout, t, r, n)) {
			fprintf(stderr, "tlsfw: out of memory writing JSON\n");
			rc = EXIT_SYSTEM;
			goto out;
		}
	} else {
		probe_report_text(stdout, t, r, n);
	}
	for (size_t i = 0; i < n; i++) {
		if (!r[i].reachable)
			rc = EXIT_SYSTEM;
		else if (!probe_compliant(&r[i]) && rc == EXIT_OK)
			rc = EXIT_NONCOMPLIANT;
	}
out:
	free(t);
	free(r);
	return rc;
}

static const char *const forms[] = {
	"TARGET ... [--starttls] [--json] [--timeout] [--concurrency] [--ca] [--name] [--min-tls] [--require-tls] [--no-verify]",
	"--policy [--json] [--timeout] [--concurrency] [--ca]",
	NULL,
};
static const struct cli_opt opts[] = {
	{ "starttls", "PROTO", 's' },
	{ "json", NULL, 'j' },
	{ "timeout", "MS", 't' },
	{ "concurrency", "N", 'c' },
	{ "ca", "FILE", 'a' },
	{ "name", "NAME", 'n' },
	{ "min-tls", "VER", 'm' },
	{ "require-tls", NULL, 'r' },
	{ "no-verify", NULL, 'V' },
	{ "policy", "POLICY", 'p' },
	{ NULL },
};
const struct cli_cmd cli_probe = { "probe", forms, opts, cmd_probe };
