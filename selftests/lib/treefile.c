// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>

#include "treefile.h"

char *tree_file(const char *name, size_t *len)
{
	const char *roots[] = { ".", getenv("TLSFW_ROOT"), "../..", "../../.." };
	char path[512];

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		FILE *f;
		char *buf;
		long n;

		if (!roots[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", roots[i], name);
		f = fopen(path, "r");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		buf = n < 0 ? NULL : calloc(1, n + 1);
		if (buf && fread(buf, 1, n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		fclose(f);
		if (buf && len)
			*len = n;
		return buf;
	}
	return NULL;
}
