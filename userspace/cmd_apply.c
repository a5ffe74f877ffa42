// SPDX-License-Identifier: GPL-2.0
/* tlsfw apply POLICY [--dry-run] [--wait SECONDS] [--force] [--confirm SECONDS]: compile (read,
 * check, lower), wait for the interfaces when asked, enforce (with a rollback unless
 * confirmed in time: confirm.h). */
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
#include "confirm.h"
#include "grace.h"
#include "ifwait.h"
#include "lock.h"
#include "lockout.h"
#include "names.h"
#include "textsafe.h"
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

/* Under the namespace lock: the pending confirmation's gate (and with --confirm its
 * watchdog), the backend's apply, then the watchdog armed or cancelled. -EINVAL: refused by
 * the gate; -ECANCELED: the gate failed; both before anything changed. */
static int enforce_locked(const struct backend_apply *a, struct confirm_arm *ca,
			  struct backend_result *r, struct diag *d)
{
	int lock, err;

	memset(r, 0, sizeof(*r));
	lock = ns_lock(d);
	if (lock < 0)
		return lock;
	err = a->dry_run ? 0 : confirm_before(ca, a->policy_file, d);
	if (err) {
		confirm_arm_free(ca);
		close(lock);
		return err == -EINVAL ? err : -ECANCELED;
	}
	err = backend_apply_locked(a, r, d);
	if (!a->dry_run)
		confirm_after(ca, err, d);
	close(lock);
	return err == -EINVAL ? -EIO : err;
}

/* The compiler's diagnostics (probe warnings among them) come first, before the apply's
 * progress; the apply's own afterwards. */
static int enforce(const struct compiled *c, const char *path, bool dry_run, unsigned int confirm,
		   struct diag *d)
{
	char abs[PATH_MAX], safe[TEXTSAFE_LEN(PATH_MAX)];
	struct backend_apply a = { .c = c, .policy_file = abs, .dry_run = dry_run, .out = stdout };
	struct confirm_arm ca;
	struct backend_result r;
	size_t n_rules = c->pol.n_rules, warned = d->n;
	int err;

	confirm_arm_init(&ca, confirm);
	policy_abs_path(path, abs, sizeof(abs));
	if (warned)
		diag_print_summary(d, stderr, NULL);
	stop_signals_block();
	err = enforce_locked(&a, &ca, &r, d);
	fflush(stdout);
	diag_flush(d, stderr);
	if (err) {
		diag_print_summary(d, stderr,
				   err == -EINVAL || err == -ECANCELED ? "nothing applied" :
									 outcome(&r));
		return err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
	}
	if (d->n > warned)
		diag_print_summary(d, stderr, NULL);
	textsafe(abs, safe, sizeof(safe));
	if (dry_run)
		printf("tlsfw: dry run: the kernel accepts %s (%zu rule%s, backend %s); nothing changed\n",
		       safe, n_rules, plural(n_rules), backend_for(c)->name);
	else
		printf("tlsfw: enforcing %s (%zu rule%s, default %s, backend %s)\n", safe, n_rules,
		       plural(n_rules), action_name(c->pol.default_action), backend_for(c)->name);
	if (confirm)
		confirm_print(&ca.rec, stdout);
	return EXIT_OK;
}

/* --wait SECONDS: up to IFWAIT_MAX_SECONDS, in milliseconds; 0 for a bad value. */
static unsigned int wait_ms(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !(v > 0 && v <= IFWAIT_MAX_SECONDS))
		return 0;
	return (unsigned int)(v * 1000 + 0.5);
}

/* At boot the policy's interfaces may appear after apply starts: wait for them (exit 2
 * naming the missing ones, nothing changed, when they do not appear in time). */
static int wait_interfaces(const struct compiled *c, unsigned int ms, struct diag *d)
{
	int err = ms ? ifwait_policy(&c->pol, ms, d) : 0;

	if (err) {
		diag_flush(d, stderr);
		diag_print_summary(d, stderr, "nothing applied");
	}
	return err;
}

/* --confirm SECONDS: a whole number from 1 to CONFIRM_MAX_SECONDS; 0 for a bad value. */
static unsigned int confirm_seconds(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > CONFIRM_MAX_SECONDS)
		return 0;
	return (unsigned int)v;
}

/* A BPF apply writes the generation the last flip retired: the grace period it must wait
 * for first runs while the policy is checked and lowered (grace.h). */
static void policy_read(const struct policy *pol)
{
	if (pol->backend == POL_BACKEND_BPF)
		grace_start();
}

static int cmd_apply(int argc, char **argv)
{
	struct compile_opts co = { .probes = true, .on_read = policy_read };
	unsigned int wait = 0, confirm = 0;
	struct cli_parse p;
	struct compiled c;
	bool dry_run = false, force = false;
	const char *arg;
	struct diag d;
	int ret, err, key;

	cli_begin(&p, &cli_apply, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0) {
		dry_run |= key == 'd';
		force |= key == 'f';
		if (key == 'w' && !(wait = wait_ms(arg)))
			return cli_usage_error(
				&cli_apply,
				"--wait needs a number of seconds above 0 and at most %d",
				IFWAIT_MAX_SECONDS);
		if (key == 'c' && !(confirm = confirm_seconds(arg)))
			return cli_usage_error(
				&cli_apply,
				"--confirm needs a whole number of seconds from 1 to %d",
				CONFIRM_MAX_SECONDS);
	}
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args != 1)
		return cli_usage_error(&cli_apply, "give one POLICY");
	if (dry_run && confirm)
		return cli_usage_error(&cli_apply,
				       "--dry-run changes nothing: there is nothing to confirm");
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
	} else if ((err = force ? 0 :
				  lockout_guard(&c, getenv("SSH_CONNECTION"), DIAG_ERROR, &d))) {
		/* Over SSH: a policy that cuts this session is refused at its rule (lockout.h). */
		diag_flush(&d, stderr);
		diag_print_summary(&d, stderr, "nothing applied");
		ret = err < 0 ? EXIT_SYSTEM : EXIT_BAD_INPUT;
	} else if (wait_interfaces(&c, wait, &d)) {
		ret = EXIT_SYSTEM;
	} else {
		ret = enforce(&c, co.path, dry_run, confirm, &d);
	}
	compiled_free(&c);
	diag_free(&d);
	grace_detach();
	return ret;
}

static const char *const forms[] = { "POLICY [--dry-run] [--wait] [--force] [--confirm]", NULL };
static const struct cli_opt opts[] = { { "dry-run", NULL, 'd' },
				       { "wait", "SECONDS", 'w' },
				       { "force", NULL, 'f' },
				       { "confirm", "SECONDS", 'c' },
				       { NULL } };
const struct cli_cmd cli_apply = { "apply", forms, opts, cmd_apply };
