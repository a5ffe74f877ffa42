// SPDX-License-Identifier: GPL-2.0
/* tlsfw check [--print-plan] [--probe] POLICY: stages 1 to 3 (compile()), nothing touches
 * the kernel; --print-plan prints the half of the plan the policy's backend installs (the BPF
 * tables, or table inet tlsfw as nft lists it); --probe runs the policy's probes (the network,
 * never by default) for on_fail: block. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "compile.h"
#include "plan.h"
#include "policy.h"
#include "tlsfw.h"

static int usage(void)
{
	fprintf(stderr, "usage: tlsfw check [--print-plan] [--probe] POLICY\n");
	return EXIT_BAD_INPUT;
}

int cmd_check(int argc, char **argv)
{
	struct compile_opts co = { 0 };
	struct compiled c;
	struct diag d;
	int print_plan = 0, ret = EXIT_OK, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--print-plan"))
			print_plan = 1;
		else if (!strcmp(argv[i], "--probe"))
			co.probes = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return fprintf(stdout,
				       "usage: tlsfw check [--print-plan] [--probe] POLICY\n"),
			       EXIT_OK;
		else if (argv[i][0] == '-' && argv[i][1])
			return fprintf(stderr, "tlsfw: check: unknown option '%s'\n", argv[i]),
			       usage();
		else if (co.path)
			return usage();
		else
			co.path = argv[i];
	}
	if (!co.path)
		return usage();

	diag_init(&d);
	err = compile(&co, &c, &d);
	if (err) {
		/* A table over its map's size or an unusable prefix is the policy's fault (the
		 * diagnostic names the rule); anything else is the system's. */
		ret = err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
		if (err != -EINVAL)
			fprintf(stderr, "tlsfw: cannot compile the policy: %s\n", strerror(-err));
	} else if (print_plan) {
		plan_print(&c.plan, stdout);
	} else {
		policy_print_table(&c.pol, stdout);
	}
	fflush(stdout);
	diag_print(&d, stderr);
	if (d.n || d.truncated)
		diag_print_summary(&d, stderr, "nothing applied");
	compiled_free(&c);
	diag_free(&d);
	return ret;
}
