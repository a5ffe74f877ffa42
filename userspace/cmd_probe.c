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

#include <openssl/ssl.h>

#include "names.h"
#include "probe.h"
#include "probe_policy.h"
#include "tlsfw.h"

static const char usage_line[] =
	"usage: tlsfw probe TARGET... [--starttls PROTO] [--json] [--timeout MS] [--concurrency N] [--ca FILE] [--name NAME] [--min-tls VER] [--require-tls] [--no-verify]\n"
	"       tlsfw probe --policy POLICY [--json] [--timeout MS] [--concurrency N] [--ca FILE]\n"
	"TARGET is host:port, [v6addr]:port or host:service (mail.example.com:submission)\n";

struct probe_cli {
	struct probe_opts o;
	const char *starttls, *name, *policy;
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	cli->o.timeout_ms = PROBE_DEFAULT_TIMEOUT_MS;
	cli->o.concurrency = PROBE_DEFAULT_CONCURRENCY;
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
	if (!cli->policy && optind >= argc)
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

int cmd_probe(int argc, char **argv)
{
	struct probe_cli cli = { 0 };
	struct probe_target *t = NULL;
	struct probe_result *r = NULL;
	size_t n = 0;
	int ret, rc = EXIT_OK;

	ret = parse_args(argc, argv, &cli);
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
		n = argc - optind;
		t = calloc(n, sizeof(*t));
		if (!t) {
			fprintf(stderr, "tlsfw: out of memory\n");
			return EXIT_SYSTEM;
		}
		if (targets_from_args(&cli, n, argv + optind, t)) {
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
