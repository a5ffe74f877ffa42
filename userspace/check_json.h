/* SPDX-License-Identifier: GPL-2.0 */
/* `tlsfw check --json` (check_json.c). */
#ifndef TLSFW_CHECK_JSON_H
#define TLSFW_CHECK_JSON_H

#include <stdio.h>

#include "compile.h"

/* The document for what compile() made of a policy (c, d) and the exit status check gives
 * it. Returns 0 or -EIO. */
int check_json_print(const struct compiled *c, const struct diag *d, int exit_status, FILE *out);

#endif
