/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy in force in this network namespace, as `explain` and `diff` compare against it:
 * the kernel's own records (the BPF maps' metadata, or table inet tlsfw), and the recorded
 * policy file compiled again when it still hashes as it did when it was applied. Only then
 * are its rules, with their fields and lines, known to be the enforced ones.
 */
#ifndef TLSFW_ENFORCED_H
#define TLSFW_ENFORCED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "state.h"

enum enforced_backend { ENFORCED_NONE = 0, ENFORCED_BPF, ENFORCED_NFT };

struct enforced {
	enum enforced_backend backend;
	char file[TLSFW_PATH_MAX]; /* as recorded at apply */
	uint8_t sha256[32];	   /* as recorded */
	struct state st;	   /* ENFORCED_BPF: programs and maps */
	struct state_meta sm;	   /* ENFORCED_BPF: rule and interface records */
	bool have_policy;	   /* pol holds the recorded file, unchanged since apply */
	struct compiled c;
	struct diag d;	   /* the recorded file's text, for locations */
	char why_not[320]; /* !have_policy: why the file is not used */
};

/* Fill e (zeroed first). 0 (backend NONE when nothing is enforced), or -errno with d saying
 * why. */
int enforced_read(struct enforced *e, struct diag *d);
void enforced_free(struct enforced *e);

#endif
