// SPDX-License-Identifier: GPL-2.0
/*
 * intervals.c: merging, subset and overlap of interval sets against a bitmap of the same
 * values, prefixes as intervals and back, and the interval index against a linear scan.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intervals.h"
#include "randpol.h"

#include "check.h"

#define DOMAIN 200 /* small values, so that a bitmap is the obvious truth */

static void random_set(struct rp_rng *r, struct ivls *s, uint8_t *bits)
{
	unsigned int n = rp_below(r, 6);

	memset(s, 0, sizeof(*s));
	memset(bits, 0, DOMAIN);
	for (unsigned int i = 0; i < n; i++) {
		unsigned int a = rp_below(r, DOMAIN), b = a + rp_below(r, 30);
		bool swap = rp_below(r, 2);

		if (b >= DOMAIN)
			b = DOMAIN - 1;
		/* either order: ivls_add takes the ends as they come */
		CHECK(!ivls_add(s, swap ? b : a, swap ? a : b), "ivls_add");
		memset(bits + a, 1, b - a + 1);
	}
	ivls_normalize(s);
}

static void test_sets(void)
{
	struct rp_rng r;

	rp_seed(&r, 7);
	for (int round = 0; round < 5000; round++) {
		uint8_t a_bits[DOMAIN], b_bits[DOMAIN];
		struct ivls a, b;
		bool subset = true, meet = false;

		random_set(&r, &a, a_bits);
		random_set(&r, &b, b_bits);
		for (size_t i = 1; i < a.n; i++)
			CHECK(a.v[i].lo > a.v[i - 1].hi + 1, "normalized: disjoint, not adjacent");
		for (unsigned int x = 0; x < DOMAIN; x++) {
			CHECK(!!ivls_find(&a, x) == a_bits[x], "find %u", x);
			subset &= !a_bits[x] || b_bits[x];
			meet |= a_bits[x] && b_bits[x];
		}
		CHECK(ivls_subset(&a, &b) == subset, "subset");
		CHECK(ivls_meet(&a, &b) == meet, "meet");
		CHECK(ivls_equal(&a, &b) == !memcmp(a_bits, b_bits, DOMAIN), "equal");
		ivls_free(&a);
		ivls_free(&b);
	}
}

static void test_prefixes(void)
{
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = 1, [14] = 2, [15] = 3 };
	uint8_t m[16];
	struct ivl x = prefix_ivl(a, 96 + 16);

	key_addr(x.lo, m);
	CHECK(m[12] == 10 && m[13] == 1 && m[14] == 0 && m[15] == 0,
	      "10.1.2.3/16 starts at 10.1/16");
	key_addr(x.hi, m);
	CHECK(m[14] == 0xff && m[15] == 0xff, "and ends at 10.1.255.255");
	prefix_mask(m, a, 96 + 24);
	CHECK(m[14] == 2 && m[15] == 0, "mask /24");
	CHECK(prefix_first(x.lo, x.hi) == 96 + 16, "an interval that is a prefix");
	CHECK(prefix_first(x.lo, x.hi - 1) == 96 + 17, "the largest prefix that fits");
	CHECK(prefix_first(0, ~(ivl_key)0) == 0, "::/0");
	CHECK(ivl_v4_all.lo == prefix_ivl((const uint8_t[16]){ [10] = 0xff, [11] = 0xff }, 96).lo,
	      "the v4-mapped space");
}

static void test_protos(void)
{
	struct protoset a = { 0 }, b = { 0 };

	proto_add(&a, IPPROTO_TCP);
	proto_add(&b, IPPROTO_TCP);
	proto_add(&b, 255);
	CHECK(protoset_subset(&a, &b) && !protoset_subset(&b, &a), "subset");
	CHECK(protoset_count(&b) == 2 && protoset_meet(&a, &b), "count, meet");
	CHECK(protoset_only_ported(&a) && !protoset_only_ported(&b) && protoset_has_ported(&b),
	      "ported");
	proto_del(&b, 255);
	CHECK(!memcmp(&a, &b, sizeof(a)), "del");
}

/* One index of n intervals with values below span (ranges up to width long, half of them
 * single values), in lists of 1 to 3 that share an id, answers "lo <= x and hi >= y" exactly
 * as a scan does, capped or not; each answer is an interval of its id's list; equal single
 * values come in the order of their ids. */
static bool in_list(const struct ivl_src *s, struct ivl iv)
{
	for (size_t j = 0; j < s->n; j++)
		if (s->v[j].lo == iv.lo && s->v[j].hi == iv.hi)
			return true;
	return false;
}

static void index_round(struct rp_rng *r, size_t n, unsigned int span, unsigned int width)
{
	struct ivl *all = calloc(n + 1, sizeof(*all));
	struct ivl_src *src = calloc(n + 1, sizeof(*src));
	uint32_t *out = calloc(n + 1, sizeof(*out));
	struct ivl_index x;
	size_t n_src = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned int a = rp_below(r, span),
			     b = a + (rp_below(r, 2) ? 0 : rp_below(r, width));

		all[i] = (struct ivl){ a, b };
	}
	for (size_t i = 0; i < n; i += src[n_src++].n) {
		size_t len = 1 + rp_below(r, 3);

		src[n_src] = (struct ivl_src){ &all[i], len < n - i ? len : n - i, n_src };
	}
	CHECK(!ivl_index_build(&x, src, n_src), "build");
	for (int q = 0; q < 50; q++) {
		ivl_key lo_max = rp_below(r, span + span / 10),
			hi_min = rp_below(r, span + span / 10);
		size_t want = 0, got, cap;

		if (q % 2) /* a single value, as the shadowing analysis asks */
			lo_max = hi_min;
		got = ivl_index_query(&x, lo_max, hi_min, out, n);
		for (size_t i = 0; i < n; i++)
			want += all[i].lo <= lo_max && all[i].hi >= hi_min;
		CHECK(got == want, "query %u %u: %zu, want %zu", (unsigned int)lo_max,
		      (unsigned int)hi_min, got, want);
		for (size_t i = 0; i < got && i < n; i++) {
			uint32_t id = ivl_index_id(&x, out[i]);
			struct ivl iv = ivl_index_ivl(&x, out[i]);

			CHECK(id < n_src && in_list(&src[id], iv), "its interval, of its id");
			CHECK(iv.lo <= lo_max && iv.hi >= hi_min, "a wrong entry");
			if (i && iv.lo == iv.hi && out[i] >= x.n && out[i - 1] >= x.n &&
			    ivl_index_ivl(&x, out[i - 1]).lo == iv.lo)
				CHECK(ivl_index_id(&x, out[i - 1]) <= id, "equal values by id");
		}
		cap = want ? want - 1 : 0;
		if (want)
			CHECK(ivl_index_query(&x, lo_max, hi_min, out, cap) == cap + 1,
			      "capped: cap + 1");
	}
	ivl_index_free(&x);
	free(src);
	free(all);
	free(out);
}

static void test_index(void)
{
	struct rp_rng r;

	rp_seed(&r, 11);
	for (int round = 0; round < 200; round++)
		index_round(&r, rp_below(&r, 300), 1000, 100);
	/* many single ports (the dense form), up to IVL_PORT_NONE, and a few ranges */
	for (int round = 0; round < 4; round++)
		index_round(&r, 12000 + rp_below(&r, 3000), IVL_PORT_NONE + 1, 50);
	/* every range of ports too: the ports ranges hold, as bits, answer most look-ups */
	for (int round = 0; round < 4; round++)
		index_round(&r, 12000 + rp_below(&r, 3000), IVL_PORT_NONE - 50, 50);
}

/* ivl_sort orders by (lo, hi): equal lo come out with hi 0, 1, 2, ... (their input order). */
static void test_sort(void)
{
	struct rp_rng r;

	rp_seed(&r, 12);
	for (int round = 0; round < 100; round++) {
		size_t n = rp_below(&r, 500);
		struct ivl *v = calloc(n + 1, sizeof(*v));

		/* hi holds the input position among equal lo: stable means ascending */
		for (size_t i = 0; i < n; i++)
			v[i] = (struct ivl){ (ivl_key)rp_below(&r, 40) << 100, 0 };
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < i; j++)
				v[i].hi += v[j].lo == v[i].lo;
		CHECK(!ivl_sort(v, n), "sort");
		for (size_t i = 1; i < n; i++)
			CHECK(v[i - 1].lo < v[i].lo ||
				      (v[i - 1].lo == v[i].lo && v[i - 1].hi + 1 == v[i].hi),
			      "order at %zu of %zu", i, n);
		free(v);
	}
}

/* port_keys_sort: by range, stable (the tag, the input position, ascending among equal
 * ranges); ivls_add_port_keys: the same set as ivls_add + ivls_normalize of the ranges. Ports
 * from a narrow or the whole range, ranges of a few ports, repeats. */
static void test_port_keys(void)
{
	struct rp_rng r;

	rp_seed(&r, 13);
	for (int round = 0; round < 300; round++) {
		size_t n = rp_below(&r, 400);
		uint32_t span = round % 2 ? 65535 : 300;
		uint64_t *k = calloc(2 * n + 1, sizeof(*k));
		struct ivls want = { 0 }, got = { 0 };

		for (size_t i = 0; i < n; i++) {
			/* every third list single ports alone (sorted by lo alone) */
			uint32_t lo = 1 + rp_below(&r, span),
				 hi = lo +
				      (round % 3 == 0 || rp_below(&r, 4) ? 0 : rp_below(&r, 9));

			hi = hi > 65535 ? 65535 : hi;
			k[i] = PORT_KEY(lo, hi) | i;
			CHECK(!ivls_add(&want, lo, hi), "ivls_add");
		}
		port_keys_sort(k, k + n, n);
		for (size_t i = 1; i < n; i++)
			CHECK(k[i - 1] >> 32 < k[i] >> 32 || (k[i - 1] >> 32 == k[i] >> 32 &&
							      (uint32_t)k[i - 1] < (uint32_t)k[i]),
			      "order at %zu of %zu", i, n);
		ivls_normalize(&want);
		CHECK(!ivls_add_port_keys(&got, k, n), "ivls_add_port_keys");
		CHECK(got.n == want.n, "round %d: %zu intervals, expected %zu", round, got.n,
		      want.n);
		for (size_t i = 0; i < got.n && i < want.n; i++)
			CHECK(got.v[i].lo == want.v[i].lo && got.v[i].hi == want.v[i].hi,
			      "round %d: interval %zu differs", round, i);
		ivls_free(&want);
		ivls_free(&got);
		free(k);
	}
}

int main(void)
{
	test_sets();
	test_prefixes();
	test_protos();
	test_index();
	test_sort();
	test_port_keys();
	return check_report("test_intervals");
}
