/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the enforced BPF data plane decides for a packet, read from its maps (explain_maps.c):
 * the active generation, in the forms its tlsfw_cfg names, looked up as bpf/decide.h does.
 */
#ifndef TLSFW_EXPLAIN_MAPS_H
#define TLSFW_EXPLAIN_MAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf_fill.h"
#include "explain.h"

struct explain_live {
	const struct bpf_maps *m;
	uint32_t gen; /* the active generation, read once at open */
	struct tlsfw_cfg cfg;
	uint32_t *words; /* the generation's tlsfw_direct value */
};

struct explain_live_verdict {
	bool hooked;	    /* a context for (ifindex, direction) exists */
	bool matched;	    /* a rule decided (else the default) */
	uint32_t rule_word; /* TLSFW_DW_* rule word, 0 for none */
	uint32_t rule_slot; /* counter slot: tlsfw_rules index */
	uint8_t action, monitor, default_action;
};

/* Snapshot the active generation's configuration and direct words. 0 or -errno. */
int explain_live_open(struct explain_live *l, const struct bpf_maps *m);
void explain_live_close(struct explain_live *l);
/* The decision for p arriving on (ifindex, p->dir). 0 or -errno (a map that cannot be read). */
int explain_live_decide(const struct explain_live *l, uint32_t ifindex, const struct explain_pkt *p,
			struct explain_live_verdict *v);

#endif
