/* SPDX-License-Identifier: GPL-2.0 */
/*
 * First match over port intervals (port_paint.c): given the port intervals of a sequence of
 * owners (the rules of a run, in policy order), the disjoint intervals of ports each owner is
 * the first to hold. lower_nft.c makes a verdict map of them: a port looked up there reaches
 * the rule that first-match evaluation of the run would pick.
 */
#ifndef TLSFW_PORT_PAINT_H
#define TLSFW_PORT_PAINT_H

#include <stddef.h>
#include <stdint.h>

struct port_span {
	uint32_t lo, hi; /* inclusive, 0..65535 */
	size_t owner;	 /* index of the owner, in order of precedence */
};

/*
 * in[0, n): every owner's intervals, grouped by owner in increasing owner order (overlaps
 * allowed). *out (malloc'd, sorted by port, disjoint, adjacent spans of one owner merged):
 * each port of the union with the first owner holding it. Returns 0 or -ENOMEM.
 */
int port_paint(const struct port_span *in, size_t n, struct port_span **out, size_t *n_out);

#endif
