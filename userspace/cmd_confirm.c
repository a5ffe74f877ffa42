// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw confirm: keep the policy applied with `apply --confirm`: its watchdog exits without
 * restoring anything (confirm.h).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "confirm.h"
#include "lock.h"
#include "textsafe.h"
#include "tlsfw.h"

/* Under the namespace lock, so that the watchdog cannot be rolling back meanwhile. */
static int confirm_locked(struct diag *d)
{
	char safe[TEXTSAFE_LEN(TLSFW_PATH_MAX)], what[TEXTSAFE_LEN(TLSFW_PATH_MAX) + 40];
	struct confirm_pending p;
	bool pending;
	int lock = ns_lock(d), err;

	if (lock < 0)
		return lock;
	err = confirm_read(&p, &pending, d);
	if (!err && !pending) {
		diag_error(
			d, NULL,
			"nothing waits for confirmation in this network namespace (no `apply --confirm` pending: it was confirmed, or its deadline passed)");
		err = -ENOENT;
	}
	if (!err)
		err = confirm_end(&p, d);
	close(lock);
	if (err)
		return err;
	confirm_rollback_text(&p, what, sizeof(what));
	printf("tlsfw: confirmed %s; at the deadline nothing happens now (it %s)\n",
	       textsafe(p.policy, safe, sizeof(safe)), what);
	return 0;
}

static int cmd_confirm(int argc, char **argv)
{
	struct cli_parse p;
	const char *arg;
	struct diag d;
	int err, key;

	cli_begin(&p, &cli_confirm, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0)
		;
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args)
		return cli_usage_error(&cli_confirm, "unexpected argument '%s'", p.args[0]);
	diag_init(&d);
	err = confirm_locked(&d);
	fflush(stdout);
	diag_print(&d, stderr);
	diag_free(&d);
	return !err ? EXIT_OK : err == -ENOENT ? EXIT_BAD_INPUT : EXIT_SYSTEM;
}

static const char *const forms[] = { "", NULL };
const struct cli_cmd cli_confirm = { "confirm", forms, NULL, cmd_confirm };
