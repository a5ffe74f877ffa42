// SPDX-License-Identifier: GPL-2.0
/*
 * The web configuration file's YAML, read from libyaml's events (webcfg_raw.h). The format
 * is small and fixed (three mappings, a few scalars and lists), so each mapping is read by a
 * table of its keys, straight from the event stream. As the exporters' strict YAML decoder
 * does: unknown keys, a key given twice and a value of the wrong type are errors; aliases are
 * refused (nothing in the format needs them).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "webcfg_raw.h"

#define WEBCFG_DEPTH_MAX 32 /* nesting skipped inside an unknown key's value */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct wrd {
	yaml_parser_t p;
	struct diag *d;
	struct webcfg_raw *raw;
	const char *text; /* the file, for the place of a reader error */
	const char *key;  /* the key whose value is being read, for messages */
	bool broken;	  /* a syntax error: no more events */
};

struct wkey {
	const char *name;
	int (*read)(struct wrd *r, yaml_event_t *v, void *obj);
	size_t off; /* of the field in struct webcfg_raw */
};

static struct loc ev_loc(const struct wrd *r, const yaml_event_t *ev)
{
	struct loc l = { .file = r->raw->file,
			 .line = ev->start_mark.line + 1,
			 .col = ev->start_mark.column + 1,
			 .len = 1 };

	if (ev->end_mark.line == ev->start_mark.line && ev->end_mark.column > ev->start_mark.column)
		l.len = ev->end_mark.column - ev->start_mark.column;
	return l;
}

static int next(struct wrd *r, yaml_event_t *ev)
{
	struct loc l = { .file = r->raw->file, .len = 1 };

	if (r->broken)
		return -EINVAL;
	if (yaml_parser_parse(&r->p, ev))
		return 0;
	r->broken = true;
	if (r->p.error == YAML_SCANNER_ERROR || r->p.error == YAML_PARSER_ERROR) {
		l.line = r->p.problem_mark.line + 1;
		l.col = r->p.problem_mark.column + 1;
	} else if (r->p.error == YAML_READER_ERROR) {
		/* Bad UTF-8 or a control character: libyaml gives a byte offset, not a mark. */
		l.line = l.col = 1;
		for (size_t i = 0; i < r->p.problem_offset && r->text[i]; i++) {
			if (r->text[i] == '\n')
				l.line++, l.col = 1;
			else if ((r->text[i] & 0xc0) != 0x80)
				l.col++;
		}
	}
	if (r->p.context)
		diag_error(r->d, &l, "invalid YAML: %s %s (line %zu)", r->p.problem, r->p.context,
			   r->p.context_mark.line + 1);
	else
		diag_error(r->d, &l, "invalid YAML: %s",
			   r->p.problem ? r->p.problem : "out of memory");
	return -EINVAL;
}

static const char *kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_ALIAS_EVENT:
		return "an alias";
	default:
		return "a string";
	}
}

/* Consume the rest of the node that ev starts (ev itself is the caller's). */
static int skip(struct wrd *r, const yaml_event_t *ev)
{
	int depth = ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT;

	while (depth > 0) {
		yaml_event_t e;

		if (next(r, &e))
			return -EINVAL;
		if (e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT)
			depth--;
		yaml_event_delete(&e);
		if (depth > WEBCFG_DEPTH_MAX) {
			r->broken = true;
			return -EINVAL;
		}
	}
	return 0;
}

/* A value of the wrong kind: an error at it, then the whole node skipped. */
static int wrong(struct wrd *r, const yaml_event_t *v, const char *what, const char *want)
{
	struct loc l = ev_loc(r, v);

	if (v->type == YAML_ALIAS_EVENT)
		diag_error(r->d, &l, "%s: aliases are not supported in a web configuration", what);
	else
		diag_error(r->d, &l, "%s must be %s, not %s", what, want, kind(v));
	return skip(r, v);
}

static bool is_null(const yaml_event_t *v)
{
	const char *s = (const char *)v->data.scalar.value;

	return v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
		!strcmp(s, "NULL"));
}

static int take_str(struct wrd *r, const yaml_event_t *v, struct wraw_str *out)
{
	out->v = strdup(is_null(v) ? "" : (const char *)v->data.scalar.value);
	out->loc = ev_loc(r, v);
	out->set = true;
	return out->v ? 0 : -ENOMEM;
}

static int read_str(struct wrd *r, yaml_event_t *v, void *obj)
{
	if (v->type != YAML_SCALAR_EVENT)
		return wrong(r, v, r->key, "a string");
	return take_str(r, v, obj);
}

/* YAML 1.1 booleans, as the exporters' decoder reads them; quoted text is a string. */
static int read_bool(struct wrd *r, yaml_event_t *v, void *obj)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
					   "on",   "On",   "ON",   "y",	  "Y" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO",
					  "off",   "Off",   "OFF",   "n",  "N" };
	struct wraw_bool *b = obj;
	struct loc l = ev_loc(r, v);

	if (v->type != YAML_SCALAR_EVENT)
		return wrong(r, v, r->key, "true or false");
	b->loc = l;
	for (size_t i = 0; v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && i < 11; i++) {
		if (!strcmp((const char *)v->data.scalar.value, yes[i]) ||
		    !strcmp((const char *)v->data.scalar.value, no[i])) {
			b->v = !strcmp((const char *)v->data.scalar.value, yes[i]);
			b->set = true;
			return 0;
		}
	}
	diag_error(r->d, &l, "%s: '%s' is not true or false", r->key,
		   (const char *)v->data.scalar.value);
	return 0;
}

static int list_add(struct wraw_list *l, bool pair)
{
	struct wraw_str *k = pair ? realloc(l->key, (l->n + 1) * sizeof(*k)) : NULL;
	struct wraw_str *v;

	if (pair && !k)
		return -ENOMEM;
	if (pair)
		l->key = k;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	memset(&l->v[l->n], 0, sizeof(*v));
	if (pair)
		memset(&l->key[l->n], 0, sizeof(*k));
	l->n++;
	return 0;
}

/* A list of strings; null is the empty list. */
static int read_list(struct wrd *r, yaml_event_t *v, void *obj)
{
	struct wraw_list *l = obj;
	int err = 0;

	l->loc = ev_loc(r, v);
	l->set = true;
	if (v->type == YAML_SCALAR_EVENT && is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_START_EVENT)
		return wrong(r, v, r->key, "a list of strings");
	for (;;) {
		yaml_event_t e;

		if (next(r, &e))
			return -EINVAL;
		if (e.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&e);
			return err;
		}
		if (e.type != YAML_SCALAR_EVENT)
			err = wrong(r, &e, r->key, "a list of strings") ?: err;
		else if (!(err = list_add(l, false)))
			err = take_str(r, &e, &l->v[l->n - 1]);
		yaml_event_delete(&e);
	}
}

/* Find key among keys; an unknown one is an error with the nearest keyword. */
static const struct wkey *find_key(struct wrd *r, const yaml_event_t *k, const struct wkey *keys,
				   size_t n, const char *what)
{
	const char *name = (const char *)k->data.scalar.value, *cand[16], *hint;
	struct loc l = ev_loc(r, k);

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(name, keys[i].name))
			return &keys[i];
		cand[i] = keys[i].name;
	}
	hint = did_you_mean(name, cand, n);
	if (hint)
		diag_error(r->d, &l, "unknown key '%s' in %s (did you mean '%s'?)", name, what,
			   hint);
	else
		diag_error(r->d, &l, "unknown key '%s' in %s", name, what);
	return NULL;
}

/* A key given twice: the exporters' decoder refuses it, and which one wins is a guess. */
static bool twice(struct wrd *r, const yaml_event_t *k, const struct loc *first)
{
	struct loc l = ev_loc(r, k);

	if (!first)
		return false;
	diag_error(r->d, &l, "'%s' is given twice (first on line %u)",
		   (const char *)k->data.scalar.value, first->line);
	return true;
}

/*
 * A mapping, by key: keys[i].read gets obj + keys[i].off. With pairs (keys NULL) any string
 * key is taken, with a string value, into the wraw_list at obj (basic_auth_users, headers).
 * Null is the empty mapping.
 */
static int read_mapping(struct wrd *r, yaml_event_t *v, const struct wkey *keys, size_t n,
			const char *what, void *obj)
{
	struct loc seen[16] = { 0 };
	struct wraw_list *pairs = keys ? NULL : obj;
	int err = 0;

	if (v->type == YAML_SCALAR_EVENT && is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_START_EVENT)
		return wrong(r, v, what, "a mapping");
	for (;;) {
		const struct wkey *key = NULL;
		const struct loc *first = NULL;
		yaml_event_t k, val;

		if (next(r, &k))
			return -EINVAL;
		if (k.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&k);
			return err;
		}
		if (k.type != YAML_SCALAR_EVENT) {
			err = wrong(r, &k, "a key", "a string") ?: err;
		} else if (pairs) {
			for (size_t i = 0; i < pairs->n && !first; i++)
				if (!strcmp(pairs->key[i].v, (const char *)k.data.scalar.value))
					first = &pairs->key[i].loc;
		} else if ((key = find_key(r, &k, keys, n, what))) {
			if (seen[key - keys].line)
				first = &seen[key - keys]; /* it keeps the first place */
			else
				seen[key - keys] = ev_loc(r, &k);
		}
		if (next(r, &val)) {
			yaml_event_delete(&k);
			return -EINVAL;
		}
		if (k.type != YAML_SCALAR_EVENT || twice(r, &k, first) || (!pairs && !key))
			err = skip(r, &val) ?: err;
		else if (key && (r->key = key->name))
			err = key->read(r, &val, (char *)obj + key->off) ?: err;
		else if (val.type != YAML_SCALAR_EVENT)
			err = wrong(r, &val, (const char *)k.data.scalar.value, "a string") ?: err;
		else if (!(err = list_add(pairs, true)) &&
			 !(err = take_str(r, &k, &pairs->key[pairs->n - 1])))
			err = take_str(r, &val, &pairs->v[pairs->n - 1]);
		yaml_event_delete(&k);
		yaml_event_delete(&val);
		if (err && err != -EINVAL)
			return err;
	}
}

#define RAW(f) offsetof(struct webcfg_raw, f)

static const struct wkey tls_keys[] = {
	{ "cert_file", read_str, RAW(cert_file) },
	{ "key_file", read_str, RAW(key_file) },
	{ "client_auth_type", read_str, RAW(client_auth_type) },
	{ "client_ca_file", read_str, RAW(client_ca_file) },
	{ "cipher_suites", read_list, RAW(cipher_suites) },
	{ "curve_preferences", read_list, RAW(curve_preferences) },
	{ "min_version", read_str, RAW(min_version) },
	{ "max_version", read_str, RAW(max_version) },
	{ "prefer_server_cipher_suites", read_bool, RAW(prefer_server_cipher_suites) },
};

static int read_headers(struct wrd *r, yaml_event_t *v, void *obj)
{
	return read_mapping(r, v, NULL, 0, "headers", obj);
}

static const struct wkey http_keys[] = {
	{ "http2", read_bool, RAW(http2) },
	{ "headers", read_headers, RAW(headers) },
};

static int read_tls(struct wrd *r, yaml_event_t *v, void *obj)
{
	return read_mapping(r, v, tls_keys, ARRAY_SIZE(tls_keys), "tls_server_config", obj);
}

static int read_http(struct wrd *r, yaml_event_t *v, void *obj)
{
	return read_mapping(r, v, http_keys, ARRAY_SIZE(http_keys), "http_server_config", obj);
}

static int read_users(struct wrd *r, yaml_event_t *v, void *obj)
{
	return read_mapping(r, v, NULL, 0, "basic_auth_users", obj);
}

static const struct wkey top_keys[] = {
	{ "tls_server_config", read_tls, 0 },
	{ "http_server_config", read_http, 0 },
	{ "basic_auth_users", read_users, RAW(users) },
};

/* The stream: at most one document, whose root is a mapping (or nothing at all). */
static int read_stream(struct wrd *r)
{
	yaml_event_t e;
	int err = 0, docs = 0;

	for (;;) {
		if (next(r, &e))
			return -EINVAL;
		if (e.type == YAML_STREAM_END_EVENT)
			break;
		if (e.type == YAML_DOCUMENT_START_EVENT && docs++) {
			struct loc l = ev_loc(r, &e);

			diag_error(r->d, &l,
				   "a web configuration is one YAML document, not several");
			yaml_event_delete(&e);
			return -EINVAL;
		}
		if (e.type == YAML_SCALAR_EVENT || e.type == YAML_MAPPING_START_EVENT ||
		    e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_ALIAS_EVENT)
			err = read_mapping(r, &e, top_keys, ARRAY_SIZE(top_keys), "the web configuration", r->raw) ?:
				      err;
		yaml_event_delete(&e);
		if (err && err != -EINVAL)
			return err;
	}
	yaml_event_delete(&e);
	return err;
}

int webcfg_slurp(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	size_t n;
	int err = 0;

	if (!f)
		return -errno;
	b = malloc(WEBCFG_FILE_MAX + 1);
	if (!b) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(b, 1, WEBCFG_FILE_MAX + 1, f);
	if (ferror(f))
		err = errno ? -errno : -EIO;
	else if (n > WEBCFG_FILE_MAX)
		err = -EFBIG;
	fclose(f);
	if (err) {
		free(b);
		return err;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int webcfg_read_raw(struct webcfg_raw *raw, const char *path, struct diag *d)
{
	struct wrd r = { .d = d, .raw = raw };
	char *buf = NULL;
	size_t len = 0;
	int err;

	memset(raw, 0, sizeof(*raw));
	err = webcfg_slurp(path, &buf, &len);
	raw->file = diag_intern_file(d, path, err ? NULL : buf, len);
	if (!raw->file) {
		free(buf);
		return -ENOMEM;
	}
	if (err) {
		struct loc l = { .file = raw->file };

		diag_error(d, &l, "cannot read the web configuration: %s", strerror(-err));
		return err;
	}
	if (!yaml_parser_initialize(&r.p)) {
		free(buf);
		return -ENOMEM;
	}
	r.text = buf;
	yaml_parser_set_input_string(&r.p, (const unsigned char *)buf, len);
	err = read_stream(&r);
	yaml_parser_delete(&r.p);
	free(buf);
	/* Errors of single values (an unknown key, a wrong type) are in d; the checks still
	 * run on the rest, so that one run shows every problem. */
	return r.broken ? -EINVAL : err;
}

static void free_str(struct wraw_str *s)
{
	free(s->v);
}

static void free_list(struct wraw_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free_str(&l->v[i]);
		if (l->key)
			free_str(&l->key[i]);
	}
	free(l->v);
	free(l->key);
}

void webcfg_raw_free(struct webcfg_raw *raw)
{
	free_str(&raw->cert_file);
	free_str(&raw->key_file);
	free_str(&raw->client_auth_type);
	free_str(&raw->client_ca_file);
	free_str(&raw->min_version);
	free_str(&raw->max_version);
	free_list(&raw->cipher_suites);
	free_list(&raw->curve_preferences);
	free_list(&raw->headers);
	free_list(&raw->users);
	memset(raw, 0, sizeof(*raw));
}
