// SPDX-License-Identifier: GPL-2.0
/* tlsfw apply POLICY [--dry-run]: read, check, lower, enforce. Four calls and one exit label. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "compile.h"
#include "lock.h"
#include "names.h"
#include "tlsfw.h"

/* The summary under the diagnostics of a failed apply: what is in force now. */
static const char *outcome(const struct backend_result *r)
{
	if (r->rollback_failed)
		return "the previous state could not be fully restored; check `tlsfw status` and run `tlsfw detach` to start clean";
	if (r->had_policy)
		return "nothing applied; the previous policy is still enforced";
	return "nothing applied; nothing is attached";
}

/* The compiler's diagnostics (probe warnings among them) come first, before the apply's
 * progress; the apply's own afterwards. */
static int enforce(const struct compiled *c, const char *path, bool dry_run, struct diag *d)
{
	char abs[PATH_MAX];
	struct backend_apply a = { .c = c, .policy_file = abs, .dry_run = dry_run, .out = stdout };
	struct backend_result r;
	size_t n_rules = c->pol.n_rules, warned = d->n;
	int err;

	policy_abs_path(path, abs, sizeof(abs));
	if (warned)
		diag_print_summary(d, stderr, NULL);
	stop_signals_block();
	err = backend_apply(&a, &r, d);
	fflush(stdout);
	diag_flush(d, stderr);
	if (err) {
		diag_print_summary(d, stderr, outcome(&r));
		return EXIT_SYSTEM;
	}
	if (d->n > warned)
		diag_print_summary(d, stderr, NULL);
	if (dry_run)
		printf("tlsfw: dry run: the kernel accepts %s (%zu rule%s, backend %s); nothing changed\n",
		       abs, n_rules, plural(n_rules), backend_for(c)->name);
	else
		printf("tlsfw: enforcing %s (%zu rule%s, default %s, backend %s)\n", abs, n_rules,
		       plural(n_rules), action_name(c->pol.default_action), backend_for(c)->name);
	return EXIT_OK;
}

static int cmd_apply(int argc, char **argv)
{
	struct compile_opts co = { .probes = true };
	struct cli_parse p;
	struct compiled c;
	bool dry_run = false;
	const char *arg;
	struct diag d;
	int ret, err, key;

	cli_begin(&p, &cli_apply, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0)
		dry_run |= key == 'd';
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args != 1)
		return cli_usage_error(&cli_apply, "give one POLICY");
	co.path = p.args[0];

	diag_init(&d);
	/* The policy's probes run before lowering: a failing on_fail: block probe adds a drop
	 * rule (first in order). */
	err = compile(&co, &c, &d);
	diag_flush(&d, stderr);
	if (err) {
		if (err != -EINVAL)
			diag_sys_error(&d, err, "cannot compile the policy");
		diag_flush(&d, stderr);
		diag_print_summary(&d, stderr, "nothing applied");
		ret = err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
	} else {
		ret = enforce(&c, co.path, dry_run, &d);
	}
	compiled_free(&c);
	diag_free(&d);
	return ret;
}

static const char *const forms[] = { "POLICY [--dry-run]", NULL };
static const struct cli_opt opts[] = { { "dry-run", NULL, 'd' }, { NULL } };
const struct cli_cmd cli_apply = { "apply", forms, opts, cmd_apply };
