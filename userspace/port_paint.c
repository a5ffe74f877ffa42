// SPDX-License-Identifier: GPL-2.0
/*
 * First match over port intervals (port_paint.h). The boundaries of all intervals cut the
 * port space into elementary segments; owners are taken in order and each paints the
 * segments of its intervals still unpainted, which a "next unpainted segment" forest lets it
 * find without visiting a painted one twice: O(n log n) for n intervals, where painting by
 * scanning would be quadratic for thousands of rules.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "port_paint.h"

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Index of boundary v in b[0, n) (present by construction). */
static size_t bound_idx(const uint32_t *b, size_t n, uint32_t v)
{
	const uint32_t *p = bsearch(&v, b, n, sizeof(*b), u32_cmp);

	return p ? (size_t)(p - b) : n;
}

/* The first unpainted segment at or after i (nxt[i] == i: unpainted; nxt[n] == n). */
static size_t next_free(size_t *nxt, size_t i)
{
	size_t root = i;

	while (nxt[root] != root)
		root = nxt[root];
	while (nxt[i] != root) {
		size_t up = nxt[i];

		nxt[i] = root;
		i = up;
	}
	return root;
}

/* Spans of the painted segments, adjacent ones of one owner merged. */
static size_t emit(const uint32_t *b, size_t nseg, const size_t *owner, struct port_span *out)
{
	size_t n = 0;

	for (size_t i = 0; i < nseg; i++) {
		if (owner[i] == SIZE_MAX)
			continue;
		if (n && out[n - 1].owner == owner[i] && out[n - 1].hi + 1 == b[i]) {
			out[n - 1].hi = b[i + 1] - 1;
			continue;
		}
		out[n++] = (struct port_span){ b[i], b[i + 1] - 1, owner[i] };
	}
	return n;
}

int port_paint(const struct port_span *in, size_t n, struct port_span **out, size_t *n_out)
{
	uint32_t *b = malloc((2 * n + 1) * sizeof(*b));
	size_t *owner = malloc((2 * n + 1) * sizeof(*owner));
	size_t *nxt = malloc((2 * n + 2) * sizeof(*nxt));
	struct port_span *res = malloc((2 * n + 1) * sizeof(*res));
	size_t nb = 0, nseg;
	int err = -ENOMEM;

	if (!b || !owner || !nxt || !res)
		goto out;
	for (size_t i = 0; i < n; i++) {
		b[nb++] = in[i].lo;
		b[nb++] = in[i].hi + 1;
	}
	qsort(b, nb, sizeof(*b), u32_cmp);
	nseg = 0;
	for (size_t i = 0; i < nb; i++)
		if (!nseg || b[nseg - 1] != b[i])
			b[nseg++] = b[i];
	nb = nseg; /* boundaries; segment i is [b[i], b[i + 1]) */
	nseg = nb ? nb - 1 : 0;
	for (size_t i = 0; i <= nseg; i++) {
		nxt[i] = i;
		owner[i] = SIZE_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		size_t s = bound_idx(b, nb, in[i].lo), e = bound_idx(b, nb, in[i].hi + 1);

		for (s = next_free(nxt, s); s < e; s = next_free(nxt, s + 1)) {
			owner[s] = in[i].owner;
			nxt[s] = s + 1;
		}
	}
	*n_out = emit(b, nseg, owner, res);
	*out = res;
	res = NULL;
	err = 0;
out:
	free(b);
	free(owner);
	free(nxt);
	free(res);
	return err;
}
