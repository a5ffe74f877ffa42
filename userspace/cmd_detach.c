// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw detach [IFACE ...]: remove exactly what tlsfw installed, from the named interfaces or
 * from every interface, whichever backend installed it (backend.h).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "confirm.h"
#include "lock.h"
#include "tlsfw.h"

/* Under the namespace lock: a pending `apply --confirm` ends with a full detach (its
 * rollback would enforce again what the user just removed) and refuses a partial one. */
static int detach_locked(char *const *ifnames, size_t n, struct diag *d)
{
	int lock = ns_lock(d), err;

	if (lock < 0)
		return lock;
	err = confirm_detach(n, stdout, d);
	if (!err && (err = backend_detach_locked(ifnames, n, stdout, d)) == -EINVAL)
		err = -EIO; /* exit 1 is the refusal's alone */
	close(lock);
	return err;
}

static int cmd_detach(int argc, char **argv)
{
	struct cli_parse p;
	const char *arg;
	struct diag d;
	int err, key;

	cli_begin(&p, &cli_detach, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0)
		;
	if (key == CLI_STOP)
		return p.status;
	diag_init(&d);
	err = detach_locked(p.args, p.n_args, &d);
	fflush(stdout);
	diag_print(&d, stderr);
	diag_free(&d);
	return !err ? EXIT_OK : err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
}

static const char *const forms[] = { "[IFACE ...]", NULL };
const struct cli_cmd cli_detach = { "detach", forms, NULL, cmd_detach };
