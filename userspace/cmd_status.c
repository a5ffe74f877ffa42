// SPDX-License-Identifier: GPL-2.0
/* PLACEHOLDER: replaced by the issue that builds `tlsfw status`. Exits 2 so nothing relies on it. */
#include <stdio.h>

#include "tlsfw.h"

int cmd_status(int argc, char **argv)
{
	fprintf(stderr, "tlsfw: 'status' is not built yet\n");
	return EXIT_SYSTEM;
}
