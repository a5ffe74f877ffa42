// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw check [--print-plan] [--probe] [--json] POLICY: stages 1 to 3 (compile()), nothing
 * touches the kernel. --print-plan prints the half of the plan the policy's backend installs
 * (the BPF tables, or table inet tlsfw as nft lists it); --json prints the diagnostics and a
 * summary as one JSON document instead; --probe runs the policy's probes (the network, never
 * by default) for on_fail: block.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_json.h"
#include "cli.h"
#include "compile.h"
#include "lockout.h"
#include "plan.h"
#include "policy.h"
#include "tlsfw.h"

static int cmd_check(int argc, char **argv)
{
	struct compile_opts co = { 0 };
	bool print_plan = false, json = false;
	struct cli_parse p;
	struct compiled c;
	const char *arg;
	struct diag d;
	int ret = EXIT_OK, err, key;

	cli_begin(&p, &cli_check, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0) {
		if (key == 'p')
			print_plan = true;
		else if (key == 'P')
			co.probes = true;
		else if (key == 'j')
			json = true;
	}
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args != 1)
		return cli_usage_error(&cli_check, "give one POLICY");
	if (json && print_plan)
		return cli_usage_error(&cli_check, "--json and --print-plan exclude each other");
	co.path = p.args[0];

	diag_init(&d);
	err = compile(&co, &c, &d);
	/* A table over its map's size or an unusable prefix is the policy's fault (the
	 * diagnostic names the rule); anything else is the system's. */
	if (err)
		ret = err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
	if (err && err != -EINVAL)
		diag_sys_error(&d, err, "cannot compile the policy");
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

static const char *const forms[] = { "[--print-plan | --json] [--probe] POLICY", NULL };
static const struct cli_opt opts[] = {
	{ "print-plan", NULL, 'p' }, { "probe", NULL, 'P' }, { "json", NULL, 'j' }, { NULL }
};
const struct cli_cmd cli_check = { "check", forms, opts, cmd_check };
