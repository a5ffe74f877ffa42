// SPDX-License-Identifier: GPL-2.0
/* The server-name table of a generation (see name_table.h and bpf/tlsfw_content_abi.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "name_table.h"

struct item {
	char s[TLSFW_SNI_MAX + 1];
	size_t len;
	int wild;
	uint64_t *direct; /* lists naming it */
	uint32_t cls;
};

uint64_t name_hash(uint64_t seed, const char *s, size_t len)
{
	uint64_t h = seed;

	while (len--)
		h = tlsfw_name_hash_step(h, (uint8_t)s[len]);
	return h;
}

int name_normalize(const char *pattern, char *out, size_t *len)
{
	int wild = !strncmp(pattern, "*.", 2);
	size_t n = 0, lab = 0, labels = 1;
	const char *p = pattern + (wild ? 2 : 0);

	for (; *p; p++) {
		char c = *p;

		if (n >= TLSFW_SNI_MAX || c == '*')
			return -EINVAL;
		if (c == '.') {
			if (!lab)
				return -EINVAL;
			lab = 0;
			labels++;
		} else {
			lab++;
		}
		out[n++] = c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
	}
	if (!lab || (wild && labels > TLSFW_WILD_MAX_LABELS))
		return -EINVAL;
	out[n] = 0;
	*len = n;
	return wild;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->wild != y->wild)
		return x->wild - y->wild;
	return strcmp(x->s, y->s);
}

/* The wildcard item for suffix s, if any (items sorted, wildcards after names). */
static struct item *find_wild(struct item *it, size_t n, const char *s)
{
	struct item key = { .wild = 1 };

	strcpy(key.s, s);
	return bsearch(&key, it, n, sizeof(*it), item_cmp);
}

/* Sorted, merged items: one per (kind, string) with the lists naming it. */
static int items_read(const struct name_pattern *in, size_t n, size_t words, struct item **out,
		      uint64_t **bits_out, size_t *n_out, size_t *bad)
{
	struct item *it = calloc(n ? n : 1, sizeof(*it));
	uint64_t *bits = calloc((n ? n : 1) * words, sizeof(*bits));
	size_t m = 0;

	if (!it || !bits) {
		free(it);
		free(bits);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int w = name_normalize(in[i].pattern, it[i].s, &it[i].len);

		if (w < 0) {
			*bad = i;
			free(it);
			free(bits);
			return w;
		}
		it[i].wild = w;
		it[i].direct = bits + i * words;
		it[i].direct[in[i].list / 64] |= 1ull << (in[i].list % 64);
	}
	qsort(it, n, sizeof(*it), item_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m && !item_cmp(&it[m - 1], &it[i])) {
			for (size_t w = 0; w < words; w++)
				it[m - 1].direct[w] |= it[i].direct[w];
			continue;
		}
		it[m++] = it[i];
	}
	*out = it;
	*bits_out = bits;
	*n_out = m;
	return 0;
}

/* Class ids for the folded sets of every item (equal sets share an id). */
static int classes(struct name_table *t, struct item *it, size_t m)
{
	uint64_t *set = calloc(t->words, sizeof(*set));

	t->sets = calloc((m ? m : 1) * t->words, sizeof(*t->sets));
	if (!set || !t->sets) {
		free(set);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m; i++) {
		size_t c;

		memcpy(set, it[i].direct, t->words * sizeof(*set));
		/* covering wildcards: the suffixes after each label of the entry */
		for (const char *d = strchr(it[i].s, '.'); d; d = strchr(d + 1, '.')) {
			struct item *w = find_wild(it, m, d + 1);

			for (size_t k = 0; w && k < t->words; k++)
				set[k] |= w->direct[k];
		}
		for (c = 0; c < t->n_classes; c++) /* few classes: a scan is enough */
			if (!memcmp(t->sets + c * t->words, set, t->words * sizeof(*set)))
				break;
		if (c == t->n_classes)
			memcpy(t->sets + t->n_classes++ * t->words, set, t->words * sizeof(*set));
		it[i].cls = c + 1;
	}
	free(set);
	return 0;
}

/* What name_class_of() looks up with. */
struct name_ctx {
	uint64_t seed;
	uint8_t gen;
	name_find_fn find;
	void *arg;
};

static unsigned int labels(const char *s)
{
	unsigned int n = 1;

	while ((s = strchr(s, '.')))
		n++, s++;
	return n;
}

static int key_cmp(const void *a, const void *b)
{
	const struct tlsfw_name_key *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	return x->len - y->len;
}

/* Keys under `seed`: 0, or -EEXIST when two entries would share one. */
static int hash_keys(struct name_table *t, const struct item *it, uint8_t gen)
{
	struct tlsfw_name_key *sorted = malloc((t->n ? t->n : 1) * sizeof(*sorted));
	int err = 0;

	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		memset(&t->keys[i], 0, sizeof(t->keys[i]));
		t->keys[i].hash = name_hash(t->seed, it[i].s, it[i].len);
		t->keys[i].gen = gen;
		t->keys[i].kind = it[i].wild ? TLSFW_NAME_WILD : TLSFW_NAME_EXACT;
		t->keys[i].len = it[i].len;
	}
	memcpy(sorted, t->keys, t->n * sizeof(*sorted));
	qsort(sorted, t->n, sizeof(*sorted), key_cmp);
	for (size_t i = 1; i < t->n && !err; i++)
		if (!key_cmp(&sorted[i - 1], &sorted[i]))
			err = -EEXIST;
	free(sorted);
	return err;
}

int name_table_build(struct name_table *t, const struct name_pattern *in, size_t n, uint8_t gen,
		     uint64_t seed, size_t *bad)
{
	uint32_t lists = 0;
	struct item *it = NULL;
	uint64_t *bits = NULL;
	size_t m = 0;
	int err;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++)
		if (in[i].list + 1 > lists)
			lists = in[i].list + 1;
	t->words = (lists + 63) / 64 ? (lists + 63) / 64 : 1;
	err = items_read(in, n, t->words, &it, &bits, &m, bad);
	if (!err && m > TLSFW_NAMES_MAX)
		err = -E2BIG;
	if (!err)
		err = classes(t, it, m);
	t->n = m;
	t->keys = calloc(m ? m : 1, sizeof(*t->keys));
	t->vals = calloc(m ? m : 1, sizeof(*t->vals));
	if (!err && (!t->keys || !t->vals))
		err = -ENOMEM;
	for (int tries = 0; !err; tries++) {
		t->seed = seed + tries * 0x9e3779b97f4a7c15ull;
		err = hash_keys(t, it, gen);
		if (err != -EEXIST || tries == 16)
			break;
		err = 0;
	}
	for (size_t i = 0; !err && i < m; i++) {
		t->vals[i].cls = it[i].cls;
		t->vals[i].len = it[i].len;
		memcpy(t->vals[i].name, it[i].s, it[i].len);
		if (it[i].wild)
			t->wild_mask |= 1u << labels(it[i].s);
	}
	free(bits);
	free(it);
	if (err)
		name_table_free(t);
	return err;
}

void name_table_free(struct name_table *t)
{
	if (!t)
		return;
	free(t->keys);
	free(t->vals);
	free(t->sets);
	memset(t, 0, sizeof(*t));
}

int name_table_has(const struct name_table *t, uint32_t cls, uint32_t list)
{
	if (!cls || cls > t->n_classes || list / 64 >= t->words)
		return 0;
	return !!(t->sets[(cls - 1) * t->words + list / 64] & (1ull << (list % 64)));
}

/* The class of the entry for s[at..len) of this kind, 0 when none. */
static uint32_t class_at(const char *s, size_t len, size_t at, uint8_t kind,
			 const struct name_ctx *c)
{
	struct tlsfw_name_key k = { .gen = c->gen, .kind = kind, .len = len - at };
	struct tlsfw_name_val v;

	k.hash = name_hash(c->seed, s + at, len - at);
	if (c->find(c->arg, &k, &v) || v.len != len - at || memcmp(v.name, s + at, len - at))
		return 0;
	return v.cls;
}

uint32_t name_class_of(const char *s, uint64_t seed, uint32_t wild_mask, uint8_t gen,
		       name_find_fn find, void *arg)
{
	const struct name_ctx c = { seed, gen, find, arg };
	size_t len = strlen(s);
	uint32_t cls = class_at(s, len, 0, TLSFW_NAME_EXACT, &c);

	/* the suffix after each dot, longest first, as far as wildcard entries reach */
	for (size_t i = 0; !cls && i < len; i++) {
		unsigned int d;

		if (s[i] != '.')
			continue;
		d = labels(s + i + 1);
		if (d <= TLSFW_WILD_MAX_LABELS && (wild_mask >> d) & 1)
			cls = class_at(s, len, i + 1, TLSFW_NAME_WILD, &c);
	}
	return cls;
}

int name_table_find(void *table, const struct tlsfw_name_key *k, struct tlsfw_name_val *v)
{
	const struct name_table *t = table;

	for (size_t i = 0; i < t->n; i++) {
		if (t->keys[i].hash == k->hash && t->keys[i].kind == k->kind &&
		    t->keys[i].len == k->len) {
			*v = t->vals[i];
			return 0;
		}
	}
	return -ENOENT;
}
