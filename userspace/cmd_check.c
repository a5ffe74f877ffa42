// SPDX-License-Identifier: GPL-2.0
/* tlsfw check [--print-plan] [--probe] POLICY: stages 1 to 3 (for backend: nft, the
 * nftables messages instead of stage 3), nothing touches the kernel;
 * --probe runs the policy's probes (the network, never by default) for on_fail: block. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "apply_nft.h"
#include "cli.h"
#include "compile.h"
#include "plan.h"
#include "policy.h"
#include "tlsfw.h"

/* backend: nft: the BPF plan of stage 3 is not used (apply compiles the checked policy into
 * nftables messages), so check builds those instead, and --print-plan shows them. */
static int check_nft(const struct policy *pol, bool print_plan, struct diag *d)
{
	struct nft_apply_opts o = { .policy_file = pol->file, .sha256 = pol->sha256 };
	struct nft_batch b;
	int err = nft_batch_build(pol, &o, &b, d);

	if (err) {
		if (!d->errors)
			fprintf(stderr, "tlsfw: cannot compile the policy for nftables: %s\n",
				strerror(-err));
		return d->errors ? EXIT_BAD_INPUT : EXIT_SYSTEM;
	}
	if (print_plan)
		err = nft_batch_print(&b, pol, stdout);
	else
		policy_print_table(pol, stdout);
	nft_batch_free(&b);
	return err ? EXIT_SYSTEM : EXIT_OK;
}

static int cmd_check(int argc, char **argv)
{
	struct compile_opts co = { 0 };
	struct cli_parse p;
	struct compiled c;
	const char *arg;
	struct diag d;
	int print_plan = 0, ret = EXIT_OK, err, key;

	cli_begin(&p, &cli_check, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0) {
		if (key == 'p')
			print_plan = 1;
		else if (key == 'P')
			co.probes = true;
	}
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args != 1)
		return cli_usage_error(&cli_check, "give one POLICY");
	co.path = p.args[0];

	diag_init(&d);
	err = compile(&co, &c, &d);
	if (err) {
		/* A table over its map's size or an unusable prefix is the policy's fault (the
		 * diagnostic names the rule); anything else is the system's. */
		ret = err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
		if (err != -EINVAL)
			fprintf(stderr, "tlsfw: cannot compile the policy: %s\n", strerror(-err));
	} else if (c.pol.backend == POL_BACKEND_NFT) {
		ret = check_nft(&c.pol, print_plan, &d);
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

static const char *const forms[] = { "[--print-plan] [--probe] POLICY", NULL };
static const struct cli_opt opts[] = { { "print-plan", NULL, 'p' },
				       { "probe", NULL, 'P' },
				       { NULL } };
const struct cli_cmd cli_check = { "check", forms, opts, cmd_check };
