/* SPDX-License-Identifier: GPL-2.0 */
/* The assertion every C test uses: count a failure, say where and why, keep going, so one
 * run shows every broken case. A test ends with `return check_report("name");`. */
#ifndef TLSFW_SELFTEST_CHECK_H
#define TLSFW_SELFTEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                                \
	do {                                                                            \
		if (!(cond)) {                                                          \
			failures++;                                                     \
			fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                   \
			fputc('\n', stderr);                                            \
		}                                                                       \
	} while (0)

#define CHECK_STR(got, want) \
	CHECK(!strcmp((got), (want)), "\n--- got ---\n%s\n--- want ---\n%s", (got), (want))

static inline int check_report(const char *test)
{
	if (failures) {
		fprintf(stderr, "%s: %d failures\n", test, failures);
		return 1;
	}
	printf("%s: all checks passed\n", test);
	return 0;
}

#endif
