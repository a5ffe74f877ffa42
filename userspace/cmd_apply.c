// SPDX-License-Identifier: GPL-2.0
/* tlsfw apply POLICY [--dry-run] [--wait SECONDS]: read, check, lower, (wait for the
 * interfaces,) enforce. Four calls and one exit label. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply_bpf.h"
#include "compile.h"
#include "ifwait.h"
#include "lockout.h"
#include "nft_cmd.h"
#include "plan.h"
#include "policy.h"
#include "textsafe.h"
#include "tlsfw.h"

static int usage(FILE *out, int ret)
{
	fprintf(out, "usage: tlsfw apply POLICY [--dry-run] [--wait SECONDS] [--force]\n");
	return ret;
}

/* Signals that would kill us half-way are held until apply has either switched or rolled
 * back; apply_bpf() checks for them between steps. */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
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
	char abs[PATH_MAX], msg[256], safe[TEXTSAFE_LEN(PATH_MAX)];
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

	block_signals();
	lock = apply_lock_exclusive(nft_in_force, msg, sizeof(msg));
	if (lock < 0) {
		fprintf(stderr, "tlsfw: error: %s; nothing applied\n", msg);
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
	textsafe(abs, safe, sizeof(safe));
	if (dry_run)
		printf("tlsfw: dry run: %s loads and fills (%zu rules); nothing changed\n", safe,
		       plan->n_rules);
	else
		printf("tlsfw: enforcing %s (%zu rules, default %s)\n", safe, plan->n_rules,
		       pol_action_names[plan->default_action]);
	return EXIT_OK;
}

/* --wait SECONDS: up to IFWAIT_MAX_SECONDS, in milliseconds; 0 for a bad value. */
static unsigned int wait_ms(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = s ? strtod(s, &end) : 0;
	if (!s || !*s || *end || errno || !(v > 0 && v <= IFWAIT_MAX_SECONDS)) {
		fprintf(stderr,
			"tlsfw: apply: --wait needs a number of seconds above 0 and at most %d\n",
			IFWAIT_MAX_SECONDS);
		return 0;
	}
	return (unsigned int)(v * 1000 + 0.5);
}

/* At boot the policy's interfaces may appear after apply starts: wait for them (exit 2
 * naming the missing ones, nothing changed, when they do not appear in time). */
static int wait_interfaces(const struct policy *pol, unsigned int ms, const struct diag *d)
{
	char msg[512];
	int err;

	if (!ms)
		return 0;
	err = ifwait_policy(pol, ms, msg, sizeof(msg));
	if (err) {
		print_diag(d, "nothing applied");
		fprintf(stderr, "tlsfw: error: %s; nothing applied\n", msg);
	}
	return err;
}

int cmd_apply(int argc, char **argv)
{
	struct compile_opts co = { .probes = true };
	unsigned int wait = 0;
	struct compiled c;
	bool dry_run = false, force = false;
	struct diag d;
	int ret, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			dry_run = true;
		else if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!strcmp(argv[i], "--wait")) {
			wait = wait_ms(i + 1 < argc ? argv[++i] : NULL);
			if (!wait)
				return usage(stderr, EXIT_BAD_INPUT);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
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
	/* Over SSH: refuse a policy that cuts this session, at the rule that would (lockout.h). */
	err = force ? 0 : lockout_guard(&c, getenv("SSH_CONNECTION"), DIAG_ERROR, &d);
	if (err) {
		print_diag(&d, "nothing applied");
		ret = err < 0 ? EXIT_SYSTEM : EXIT_BAD_INPUT;
		goto out;
	}
	if (wait_interfaces(&c.pol, wait, &d)) {
		ret = EXIT_SYSTEM;
		goto out;
	}
	if (c.pol.backend == POL_BACKEND_NFT) {
		/* backend: nft compiles the checked policy itself (nft_build.c): the sets, then
		 * one switch; apply_nft() checks for signals before each */
		block_signals();
		ret = nft_cmd_apply(&c.pol, &c.plan, co.path, dry_run, &d);
		goto out;
	}
	ret = enforce(&c.pol, &c.plan, co.path, dry_run, &d);
out:
	compiled_free(&c);
	diag_free(&d);
	return ret;
}
