/* SPDX-License-Identifier: GPL-2.0 */
/* What selftests/bpf/content_prog.bpf.c and its callers agree on. */
#ifndef TLSFW_CONTENT_PROG_H
#define TLSFW_CONTENT_PROG_H

#include "tlsfw_content_abi.h"

/* What a run does (global `mode`). */
enum content_mode {
	CONTENT_FACTS = 0,     /* parse, then the content facts */
	CONTENT_PARSE,	       /* parse only: the baseline of the facts */
	CONTENT_RESTORE,       /* parse, put tlsfw_snap into the packet's flow: the baseline of */
	CONTENT_RESTORE_FACTS, /* ... the same, then the facts: a segment of a flow in that state */
	CONTENT_NAME,	       /* parse, then the name class of the packet's flow, computed again */
};

struct content_result {
	__s32 parse_rc;
	__s32 name_rc; /* CONTENT_NAME: names_classify() */
	struct tlsfw_facts facts;
};

#endif
