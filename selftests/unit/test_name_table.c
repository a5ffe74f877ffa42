// SPDX-License-Identifier: GPL-2.0
/*
 * userspace/name_table.c, the contract of bpf/tlsfw_content_abi.h without a kernel: patterns
 * normalised or refused (naming the pattern), covering wildcards folded into each entry's
 * class, equal sets sharing a class id, the wildcard depths in wild_mask, keys hashed as the
 * data plane hashes them (from the last byte), no two keys equal, the table limit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "name_table.h"

/* The entry for (s, wild), or NULL. */
static const struct tlsfw_name_val *entry(const struct name_table *t, const char *s, int wild)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->keys[i].kind == (wild ? TLSFW_NAME_WILD : TLSFW_NAME_EXACT) &&
		    t->vals[i].len == strlen(s) && !memcmp(t->vals[i].name, s, t->vals[i].len))
			return &t->vals[i];
	return NULL;
}

static uint64_t lists(const struct name_table *t, const struct tlsfw_name_val *v)
{
	uint64_t m = 0;

	for (unsigned int l = 0; v && l < 64; l++)
		if (name_table_has(t, v->cls, l))
			m |= 1ull << l;
	return m;
}

static void test_normalize(void)
{
	static const char *const bad[] = {
		"",   "*.",    "*",	"a..b",	   ".a",
		"a.", "*.*.a", "a.*.b", "x*y.com", "*.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q"
	};
	char out[TLSFW_SNI_MAX + 1], big[300];
	size_t len;

	CHECK(name_normalize("WWW.Example.COM", out, &len) == 0 && !strcmp(out, "www.example.com"),
	      "name: %s", out);
	CHECK(name_normalize("*.Example.COM", out, &len) == 1 && !strcmp(out, "example.com") &&
		      len == 11,
	      "wildcard: %s", out);
	CHECK(name_normalize("*.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", out, &len) == 1,
	      "a wildcard of 16 labels is allowed");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(name_normalize(bad[i], out, &len) == -EINVAL, "'%s' accepted", bad[i]);
	memset(big, 'a', sizeof(big));
	big[255] = 0;
	CHECK(name_normalize(big, out, &len) == 0 && len == 255, "255 bytes");
	big[255] = 'a';
	big[256] = 0;
	CHECK(name_normalize(big, out, &len) == -EINVAL, "256 bytes accepted");
}

static void test_fold(void)
{
	static const struct name_pattern in[] = {
		{ "dns.google", 0 },	  { "*.example.com", 1 }, { "*.b.example.com", 2 },
		{ "x.b.example.com", 3 }, { "*.com", 4 },	  { "DNS.GOOGLE", 5 },
		{ "example.com", 6 },	  { "*.example.com", 7 }, { "other.net", 0 },
		{ "again.net", 0 },
	};
	struct name_table t;
	size_t bad = 0;

	CHECK(!name_table_build(&t, in, sizeof(in) / sizeof(in[0]), 1, 42, &bad), "build");
	CHECK(t.n == 8, "%zu entries (duplicates merged, case folded)", t.n);
	CHECK(lists(&t, entry(&t, "dns.google", 0)) == (1u << 0 | 1u << 5), "dns.google");
	CHECK(lists(&t, entry(&t, "x.b.example.com", 0)) ==
		      (1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 7),
	      "x.b.example.com: %#llx",
	      (unsigned long long)lists(&t, entry(&t, "x.b.example.com", 0)));
	CHECK(lists(&t, entry(&t, "example.com", 0)) == (1u << 4 | 1u << 6),
	      "example.com is not under *.example.com");
	CHECK(lists(&t, entry(&t, "b.example.com", 1)) == (1u << 1 | 1u << 2 | 1u << 4 | 1u << 7),
	      "*.b.example.com");
	CHECK(lists(&t, entry(&t, "com", 1)) == 1u << 4, "*.com");
	CHECK(lists(&t, entry(&t, "other.net", 0)) == 1u << 0 &&
		      entry(&t, "other.net", 0)->cls == entry(&t, "again.net", 0)->cls,
	      "equal sets share a class");
	CHECK(t.wild_mask == (1u << 1 | 1u << 2 | 1u << 3), "wild_mask %#x", t.wild_mask);
	for (size_t i = 0; i < t.n; i++) {
		CHECK(t.keys[i].gen == 1 && t.vals[i].cls >= 1 && t.vals[i].cls <= t.n_classes,
		      "entry %zu", i);
		CHECK(t.keys[i].hash == name_hash(t.seed, (char *)t.vals[i].name, t.vals[i].len),
		      "entry %zu hash", i);
	}
	/* the hash runs from the last byte: h("b.example.com") continues h("example.com") */
	CHECK(name_hash(7, "example.com", 11) == name_hash(name_hash(7, "example.com", 11), "", 0),
	      "empty suffix");
	CHECK(tlsfw_name_hash_step(tlsfw_name_hash_step(name_hash(7, "example.com", 11), '.'),
				   'b') == name_hash(7, "b.example.com", 13),
	      "suffix hashes chain");
	name_table_free(&t);
}

static void test_errors(void)
{
	struct name_pattern in[] = { { "ok.example", 0 }, { "bad..example", 1 } };
	struct name_pattern *many = calloc(TLSFW_NAMES_MAX + 1, sizeof(*many));
	char(*s)[32] = calloc(TLSFW_NAMES_MAX + 1, 32);
	struct name_table t;
	size_t bad = 99;

	CHECK(name_table_build(&t, in, 2, 0, 1, &bad) == -EINVAL && bad == 1,
	      "a bad pattern is named: %zu", bad);
	CHECK(!name_table_build(&t, NULL, 0, 0, 1, &bad) && t.n == 0 && t.wild_mask == 0,
	      "no names");
	name_table_free(&t);
	for (size_t i = 0; i <= TLSFW_NAMES_MAX; i++) {
		snprintf(s[i], sizeof(s[i]), "h%zu.example", i);
		many[i] = (struct name_pattern){ .pattern = s[i], .list = i & 3 };
	}
	CHECK(name_table_build(&t, many, TLSFW_NAMES_MAX + 1, 0, 1, &bad) == -E2BIG,
	      "above TLSFW_NAMES_MAX");
	CHECK(!name_table_build(&t, many, TLSFW_NAMES_MAX, 0, 1, &bad) && t.n == TLSFW_NAMES_MAX &&
		      t.n_classes == 4,
	      "TLSFW_NAMES_MAX names: %zu, %zu classes", t.n, t.n_classes);
	name_table_free(&t);
	name_table_free(NULL);
	free(many);
	free(s);
}

int main(void)
{
	test_normalize();
	test_fold();
	test_errors();
	return check_report("test_name_table");
}
