// SPDX-License-Identifier: GPL-2.0
/* The prefix set of the BPF lowering (lower_pfx.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lower_pfx.h"
#include "policy.h"

void pfx_mask(uint8_t *out, const uint8_t *in, unsigned int plen)
{
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = plen > i * 8 ? plen - i * 8 : 0;

		out[i] = bits >= 8 ? in[i] : bits ? in[i] & (uint8_t)(0xff << (8 - bits)) : 0;
	}
}

static uint64_t pfx_hash(const uint8_t *addr, uint8_t plen)
{
	uint64_t h = plen * 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 16; i++) {
		h ^= addr[i];
		h *= 0x100000001b3ull;
	}
	return h ^ h >> 29;
}

struct pfx *pfx_find(const struct pfxset *s, const uint8_t *addr, uint8_t plen)
{
	size_t h;

	if (!s->hcap)
		return NULL;
	h = pfx_hash(addr, plen) & (s->hcap - 1);
	while (s->slots[h]) {
		struct pfx *x = &s->v[s->slots[h] - 1];

		if (x->plen == plen && !memcmp(x->addr, addr, 16))
			return x;
		h = (h + 1) & (s->hcap - 1);
	}
	return NULL;
}

int pfx_rehash(struct pfxset *s, size_t hcap)
{
	uint32_t *slots = calloc(hcap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = pfx_hash(s->v[i].addr, s->v[i].plen) & (hcap - 1);

		while (slots[h])
			h = (h + 1) & (hcap - 1);
		slots[h] = i + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->hcap = hcap;
	return 0;
}

/* Add (addr/plen, family) for rule (rule UINT32_MAX: the catch-alls, no owner). */
int pfx_add(struct pfxset *s, const uint8_t *raw, uint8_t plen, uint8_t family, uint32_t rule)
{
	uint8_t addr[16];
	struct pfx *x;
	int err;

	pfx_mask(addr, raw, plen);
	x = pfx_find(s, addr, plen);
	if (!x) {
		if ((s->n + 1) * 2 > s->hcap) {
			err = pfx_rehash(s, s->hcap ? s->hcap * 2 : 256);
			if (err)
				return err;
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct pfx *v = realloc(s->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->v = v;
			s->cap = cap;
		}
		x = &s->v[s->n];
		memset(x, 0, sizeof(*x));
		memcpy(x->addr, addr, 16);
		x->plen = plen;
		x->family = family;
		s->n++;
		{
			size_t h = pfx_hash(addr, plen) & (s->hcap - 1);

			while (s->slots[h])
				h = (h + 1) & (s->hcap - 1);
			s->slots[h] = s->n;
		}
		s->plens[plen] = true;
	}
	if (rule == UINT32_MAX || (x->n_rules && x->rules[x->n_rules - 1] == rule))
		return 0;
	if (x->n_rules == x->cap_rules) {
		size_t cap = x->cap_rules ? x->cap_rules * 2 : 2;
		uint32_t *r = realloc(x->rules, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		x->rules = r;
		x->cap_rules = cap;
	}
	x->rules[x->n_rules++] = rule;
	return 0;
}

void pfxset_free(struct pfxset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].rules);
	free(s->v);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* IPv4 first (v4-mapped space), then IPv6; by address, then length: stable output. */
int pfx_cmp(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family == POL_FAM_V4 ? -1 : 1;
	c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return x->plen < y->plen ? -1 : x->plen > y->plen;
}
