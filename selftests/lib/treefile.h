/* SPDX-License-Identifier: GPL-2.0 */
/* A file of the source tree (a shipped policy, say), for tests run from the top of the tree or
 * from a build directory below it. */
#ifndef TLSFW_SELFTEST_TREEFILE_H
#define TLSFW_SELFTEST_TREEFILE_H

#include <stddef.h>

/* The contents of NAME (relative to the tree's top: tried from ".", $TLSFW_ROOT, "../.." and
 * "../../.."), NUL-terminated, malloc'd; *len its length when len is not NULL. NULL when it
 * cannot be read. */
char *tree_file(const char *name, size_t *len);

#endif
