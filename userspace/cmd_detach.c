// SPDX-License-Identifier: GPL-2.0
/* PLACEHOLDER: replaced by the issue that builds `tlsfw detach`. Exits 2 so nothing relies on it. */
#include <stdio.h>

#include "tlsfw.h"

int cmd_detach(int argc, char **argv)
{
	fprintf(stderr, "tlsfw: 'detach' is not built yet\n");
	return EXIT_SYSTEM;
}
