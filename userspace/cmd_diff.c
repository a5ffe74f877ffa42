// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw diff POLICY [--json]: what applying POLICY would change against the enforced policy
 * (diff.h): rules added, removed and changed (by name, with the fields), default, backend and
 * interfaces, and which counters are kept or start at zero. Nothing touches the kernel; the
 * policy's probes are not run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "compile.h"
#include "diff.h"
#include "enforced.h"
#include "tlsfw.h"

/* The enforced side: the recorded file when unchanged, else the maps' records (bpf). */
static int enforced_side(struct enforced *en, struct diff_side *old)
{
	if (en->backend == ENFORCED_NONE) {
		fprintf(stderr, "tlsfw: error: nothing is enforced in this network namespace\n");
		return EXIT_SYSTEM;
	}
	if (en->have_policy) {
		if (diff_side_policy(old, &en->c.pol))
			return EXIT_SYSTEM;
		old->file = en->file;
		return EXIT_OK;
	}
	if (en->backend == ENFORCED_NFT) {
		/* table inet tlsfw names its counters, not the rules' fields or order */
		fprintf(stderr,
			"tlsfw: error: backend nft is compared through the recorded policy file, but %s\n",
			en->why_not);
		return EXIT_SYSTEM;
	}
	if (diff_side_records(old, &en->sm))
		return EXIT_SYSTEM;
	old->note = en->why_not;
	return EXIT_OK;
}

static int cmd_diff(int argc, char **argv)
{
	struct compile_opts co = { 0 };
	struct cli_parse p;
	const char *arg;
	struct diff_side old = { 0 }, new = { 0 };
	struct enforced en;
	struct compiled c;
	struct diag d;
	bool json = false;
	int ret, err, key;

	cli_begin(&p, &cli_diff, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0)
		json |= key == 'j';
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args != 1)
		return cli_usage_error(&cli_diff, "give one POLICY");
	co.path = p.args[0];

	diag_init(&d);
	err = compile(&co, &c, &d);
	if (err && err != -EINVAL)
		diag_sys_error(&d, err, "cannot compile the policy");
	diag_flush(&d, stderr);
	if (err) {
		diag_print_summary(&d, stderr, "nothing compared");
		compiled_free(&c);
		diag_free(&d);
		return err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
	}
	if (enforced_read(&en, &d)) {
		diag_flush(&d, stderr);
		enforced_free(&en);
		ret = EXIT_SYSTEM;
		goto out;
	}
	ret = enforced_side(&en, &old);
	if (ret == EXIT_OK && diff_side_policy(&new, &c.pol))
		ret = EXIT_SYSTEM;
	if (ret == EXIT_OK && diff_print(&old, &new, json, stdout))
		ret = EXIT_SYSTEM;
	diff_side_free(&old);
	diff_side_free(&new);
	enforced_free(&en);
out:
	compiled_free(&c);
	diag_free(&d);
	return ret;
}

static const char *const forms[] = { "POLICY [--json]", NULL };
static const struct cli_opt opts[] = { { "json", NULL, 'j' }, { NULL } };
const struct cli_cmd cli_diff = { "diff", forms, opts, cmd_diff };
