// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw check [--print-plan] [--probe] [--json] POLICY: stages 1 to 3 (compile()), nothing
 * touches the kernel. --print-plan prints the half of the plan the policy's backend installs
 * (the BPF tables, or table inet tlsfw as nft lists it); --json prints the diagnostics and a
 * summary as one JSON document instead; --probe runs the policy's probes (the network, never
 * by default) for on_fail: block.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_json.h"
#include "compile.h"
#include "lockout.h"
#include "plan.h"
#include "policy.h"
#include "tlsfw.h"

static const char usage_text[] = "usage: tlsfw check [--print-plan] [--probe] [--json] POLICY\n";

static int usage(FILE *out, int ret)
{
	fputs(usage_text, out);
	return ret;
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "print-plan", no_argument, NULL, 'p' },
		{ "probe", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct compile_opts co = { 0 };
	bool print_plan = false, json = false;
	struct compiled c;
	struct diag d;
	int ret = EXIT_OK, err, o;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (o == 'p')
			print_plan = true;
		else if (o == 'P')
			co.probes = true;
		else if (o == 'j')
			json = true;
		else if (o == 'h')
			return usage(stdout, EXIT_OK);
		else
			return fprintf(stderr, "tlsfw: check: unknown option '%s'\n",
				       argv[optind - 1]),
			       usage(stderr, EXIT_BAD_INPUT);
	}
	if (optind != argc - 1 || (json && print_plan))
		return usage(stderr, EXIT_BAD_INPUT);
	co.path = argv[optind];

	diag_init(&d);
	err = compile(&co, &c, &d);
	/* A table over its map's size or an unusable prefix is the policy's fault (the
	 * diagnostic names the rule); anything else is the system's. */
	if (err)
		ret = err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
	if (err && err != -EINVAL)
		diag_error(&d, NULL, "cannot compile the policy: %s", strerror(-err));
	/* run over SSH: would this policy cut the session? (apply refuses it) */
	if (!err && lockout_guard(&c, getenv("SSH_CONNECTION"), DIAG_WARNING, &d) < 0)
		ret = EXIT_SYSTEM;
	if (json) {
		if (check_json_print(&c, &d, ret, stdout))
			ret = EXIT_SYSTEM;
	} else {
		if (!err && print_plan)
			plan_print(&c.plan, stdout);
		else if (!err)
			policy_print_table(&c.pol, stdout);
		fflush(stdout);
		diag_print(&d, stderr);
		if (d.n || d.truncated)
			diag_print_summary(&d, stderr, "nothing applied");
	}
	compiled_free(&c);
	diag_free(&d);
	return ret;
}
