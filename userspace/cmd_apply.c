// SPDX-License-Identifier: GPL-2.0
/* tlsfw apply POLICY [--dry-run]: read, check, lower, enforce. Four calls and one exit label. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply_bpf.h"
#include "compile.h"
#include "lock.h"
#include "nft_cmd.h"
#include "plan.h"
#include "policy.h"
#include "tlsfw.h"

static int usage(FILE *out, int ret)
{
	fprintf(out, "usage: tlsfw apply POLICY [--dry-run]\n");
	return ret;
}

static void print_diag(const struct diag *d, const char *what)
{
	fflush(stdout);
	diag_print(d, stderr);
	if (d->n || d->truncated)
		diag_print_summary(d, stderr, what);
}

static int enforce(const struct policy *pol, const struct plan *plan, const char *path,
		   bool dry_run, struct diag *d)
{
	char abs[PATH_MAX], msg[256];
	struct apply_opts o = {
		.sha256 = pol->sha256,
		.backend = pol->backend,
		.dry_run = dry_run,
		.out = stdout,
	};
	struct apply_err e;
	int lock, err;

	policy_abs_path(path, abs, sizeof(abs));
	o.policy_file = abs;

	stop_signals_block();
	lock = ns_lock(d);
	if (lock >= 0 && nft_in_force(msg, sizeof(msg))) {
		close(lock);
		lock = diag_sys_error(d, -EBUSY, "%s", msg);
	}
	if (lock < 0) {
		print_diag(d, "nothing applied");
		return EXIT_SYSTEM;
	}
	err = apply_bpf(plan, &o, d, &e);
	close(lock);
	print_diag(d, err ? "nothing applied" : "applied");
	if (err) {
		fprintf(stderr, "tlsfw: error: %s: %s\n", e.step, e.msg);
		if (e.rollback_failed)
			fprintf(stderr,
				"tlsfw: the previous state could not be fully restored; check `tlsfw status` and run `tlsfw detach` to start clean\n");
		else if (e.had_policy)
			fprintf(stderr,
				"tlsfw: nothing applied; the previous policy is still enforced\n");
		else
			fprintf(stderr, "tlsfw: nothing applied; nothing is attached\n");
		return EXIT_SYSTEM;
	}
	if (dry_run)
		printf("tlsfw: dry run: %s loads and fills (%zu rules); nothing changed\n", abs,
		       plan->n_rules);
	else
		printf("tlsfw: enforcing %s (%zu rules, default %s)\n", abs, plan->n_rules,
		       pol_action_names[plan->default_action]);
	return EXIT_OK;
}

int cmd_apply(int argc, char **argv)
{
	struct compile_opts co = { .probes = true };
	struct compiled c;
	bool dry_run = false;
	struct diag d;
	int ret, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			dry_run = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout, EXIT_OK);
		else if (argv[i][0] == '-' && argv[i][1])
			return fprintf(stderr, "tlsfw: apply: unknown option '%s'\n", argv[i]),
			       usage(stderr, EXIT_BAD_INPUT);
		else if (co.path)
			return usage(stderr, EXIT_BAD_INPUT);
		else
			co.path = argv[i];
	}
	if (!co.path)
		return usage(stderr, EXIT_BAD_INPUT);

	diag_init(&d);
	/* The policy's probes run before lowering: a failing on_fail: block probe adds a drop
	 * rule (first in order). */
	err = compile(&co, &c, &d);
	if (err) {
		print_diag(&d, "nothing applied");
		if (err != -EINVAL)
			fprintf(stderr,
				"tlsfw: error: cannot compile the policy: %s; nothing applied\n",
				strerror(-err));
		ret = err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
		goto out;
	}
	if (c.pol.backend == POL_BACKEND_NFT) {
		/* backend: nft compiles the checked policy itself (nft_build.c): the sets, then
		 * one switch; apply_nft() checks for signals before each */
		stop_signals_block();
		ret = nft_cmd_apply(&c.pol, co.path, dry_run, &d);
		goto out;
	}
	ret = enforce(&c.pol, &c.plan, co.path, dry_run, &d);
out:
	compiled_free(&c);
	diag_free(&d);
	return ret;
}
