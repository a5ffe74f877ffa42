// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw detach [IFACE ...]: remove exactly what tlsfw installed, from the named interfaces or
 * from every interface, whichever backend installed it (backend.h).
 */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "tlsfw.h"

int cmd_detach(int argc, char **argv)
{
	struct diag d;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: tlsfw detach [IFACE ...]\n");
			return EXIT_OK;
		}
		if (argv[i][0] == '-') {
			fprintf(stderr,
				"tlsfw: detach: unknown option '%s'\nusage: tlsfw detach [IFACE ...]\n",
				argv[i]);
			return EXIT_BAD_INPUT;
		}
	}
	diag_init(&d);
	err = backend_detach(argv + 1, argc - 1, stdout, &d);
	fflush(stdout);
	diag_print(&d, stderr);
	diag_free(&d);
	return err ? EXIT_SYSTEM : EXIT_OK;
}
