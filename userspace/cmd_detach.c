// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw detach [IFACE ...]: remove exactly what tlsfw installed, from the named interfaces or
 * from every interface, whichever backend installed it (backend.h).
 */
#include <stdio.h>

#include "backend.h"
#include "cli.h"
#include "tlsfw.h"

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
	err = backend_detach(p.args, p.n_args, stdout, &d);
	fflush(stdout);
	diag_print(&d, stderr);
	diag_free(&d);
	return err ? EXIT_SYSTEM : EXIT_OK;
}

static const char *const forms[] = { "[IFACE ...]", NULL };
const struct cli_cmd cli_detach = { "detach", forms, NULL, cmd_detach };
