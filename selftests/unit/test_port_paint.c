// SPDX-License-Identifier: GPL-2.0
/*
 * port_paint.c: the first owner of every port, against a brute force over an array of ports;
 * the spans sorted, disjoint, and merged where one owner's spans touch. Small port values and
 * values next to 65535, so that the top of the range is exercised.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port_paint.h"
#include "randpol.h"

#include "check.h"

#define LOW 120	 /* ports 0 .. LOW - 1 */
#define HIGH 40	 /* and 65536 - HIGH .. 65535 */
#define NONE 255 /* no owner */

static uint32_t port_of(unsigned int slot)
{
	return slot < LOW ? slot : 65536 - HIGH + (slot - LOW);
}

static void one_round(struct rp_rng *r)
{
	struct port_span in[64], *out = NULL;
	uint8_t want[LOW + HIGH], got[LOW + HIGH];
	size_t n = 0, n_out = 0;
	unsigned int owners = 1 + rp_below(r, 8);

	memset(want, NONE, sizeof(want));
	memset(got, NONE, sizeof(got));
	for (unsigned int o = 0; o < owners; o++) {
		for (unsigned int k = rp_below(r, 4); k > 0; k--) {
			unsigned int a = rp_below(r, LOW + HIGH), b = a + rp_below(r, 20);

			if (a < LOW && b >= LOW)
				b = LOW - 1;
			if (b >= LOW + HIGH)
				b = LOW + HIGH - 1;
			in[n++] = (struct port_span){ port_of(a), port_of(b), o };
			for (unsigned int s = a; s <= b; s++)
				if (want[s] == NONE)
					want[s] = o;
		}
	}
	CHECK(!port_paint(in, n, &out, &n_out), "port_paint failed");
	for (size_t i = 0; i < n_out; i++) {
		CHECK(out[i].lo <= out[i].hi && out[i].hi <= 65535, "span %u-%u", out[i].lo,
		      out[i].hi);
		if (i)
			CHECK(out[i].lo > out[i - 1].hi, "spans overlap or are out of order");
		if (i && out[i].lo == out[i - 1].hi + 1)
			CHECK(out[i].owner != out[i - 1].owner, "adjacent spans of one owner");
		for (unsigned int s = 0; s < LOW + HIGH; s++)
			if (port_of(s) >= out[i].lo && port_of(s) <= out[i].hi)
				got[s] = out[i].owner;
	}
	for (unsigned int s = 0; s < LOW + HIGH; s++)
		CHECK(got[s] == want[s], "port %u: owner %u, expected %u", port_of(s), got[s],
		      want[s]);
	free(out);
}

int main(void)
{
	struct rp_rng r;
	struct port_span *out = NULL;
	size_t n_out = 1;

	rp_seed(&r, 14);
	for (int round = 0; round < 20000; round++)
		one_round(&r);
	CHECK(!port_paint(NULL, 0, &out, &n_out) && n_out == 0, "no spans");
	free(out);
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("ok\n");
	return failures ? 1 : 0;
}
