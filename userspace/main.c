// SPDX-License-Identifier: GPL-2.0
/* tlsfw: a command table and nothing else. */
#include <stdio.h>
#include <string.h>

#include "tlsfw.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "check", cmd_check, "check [--print-plan] [--probe] POLICY" },
	{ "apply", cmd_apply, "apply POLICY [--dry-run] [--wait SECONDS] [--force]" },
	{ "status", cmd_status, "status [--json]" },
	{ "stats", cmd_stats,
	  "stats [--json | --prometheus] [--exact] [--watch SECONDS] [--reset]\n  tlsfw stats --listen [ADDR]:PORT [--web-config FILE]" },
	{ "detach", cmd_detach, "detach [IFACE ...]" },
	{ "probe", cmd_probe,
	  "probe TARGET ... [--starttls PROTO] [--json] [--timeout MS] [--concurrency N]\n  tlsfw probe --policy POLICY" },
	{ "services", cmd_services, "services [--json]" },
	{ "diff", cmd_diff, "diff POLICY [--json]" },
	{ "explain", cmd_explain,
	  "explain [POLICY] PROTO SRC[:PORT] DST[:PORT] [--iface IF] [--dir ingress|egress] [--json]" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: tlsfw COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  tlsfw %s\n", commands[i].usage);
	fprintf(out, "\nSee tlsfw(8) and tlsfw.conf(5).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("tlsfw %s\n", TLSFW_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tlsfw: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_BAD_INPUT;
}
