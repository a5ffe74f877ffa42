// SPDX-License-Identifier: GPL-2.0
/*
 * Parsers of the mail TLS records, by the ABNF of their RFCs: the _mta-sts and _smtp._tls
 * TXT records (tag=value fields separated by ';') and the MTA-STS policy file (one
 * "key: value" per line). What the grammar forbids is an error naming the place; what
 * senders are told to ignore (unknown fields) is ignored; what they tolerate in practice but
 * the grammar does not allow (blank lines) is a warning.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe_mailrec.h"

#define TV_FIELDS_MAX 32 /* fields of one TXT record */

const char *const sts_mode_names[3] = { "none", "testing", "enforce" };

/* An error of the record: in d, where the caller reads it (a finding about the domain). */
#define fail(d, ...) (diag_error((d), NULL, __VA_ARGS__), -EINVAL)

static bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 8461 / 8460 field names: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
static bool field_name_ok(const char *s, size_t n)
{
	if (!n || n > 32 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.", s[i]))
			return false;
	return true;
}

/* ---- tag=value TXT records -------------------------------------------------------------- */

struct tv_field {
	const char *name, *val;
	size_t nlen, vlen;
};

/*
 * Split a record at ';' into name=value fields, spaces and tabs around each trimmed. The
 * first field is the version ("v=..."), compared by the caller. A final ';' is allowed.
 */
static int tv_split(const char *txt, struct tv_field *f, size_t *n, struct diag *d)
{
	const char *p = txt;

	*n = 0;
	for (;;) {
		const char *end = strchr(p, ';'), *b = p, *e, *eq;

		if (!end)
			end = p + strlen(p);
		e = end;
		while (b < e && wsp(*b))
			b++;
		while (e > b && wsp(e[-1]))
			e--;
		if (b == e && !*end && *n) /* after a final ';' */
			return 0;
		if (b == e)
			return fail(d, "empty field after '%.*s'", (int)(p - txt), txt);
		if (*n == TV_FIELDS_MAX)
			return fail(d, "more than %d fields", TV_FIELDS_MAX);
		eq = memchr(b, '=', e - b);
		if (!eq || !field_name_ok(b, eq - b) || eq + 1 == e)
			return fail(d, "malformed field '%.*s' (expected name=value)", (int)(e - b),
				    b);
		f[*n] = (struct tv_field){ b, eq + 1, eq - b, e - eq - 1 };
		(*n)++;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static bool tv_is(const struct tv_field *f, const char *name)
{
	return f->nlen == strlen(name) && !memcmp(f->name, name, f->nlen);
}

/* A value of an unknown field: 1*(%x21-3A / %x3C / %x3E-7E) */
static bool ext_value_ok(const struct tv_field *f)
{
	for (size_t i = 0; i < f->vlen; i++) {
		unsigned char c = f->val[i];

		if (c < 0x21 || c > 0x7e || c == '=' || c == ';')
			return false;
	}
	return true;
}

/* The version field first, exactly "v=" version; else -ENOENT: not this kind of record. */
static int tv_version(const char *txt, const char *version)
{
	size_t n = strlen(version);

	if (strncmp(txt, "v=", 2) || strncmp(txt + 2, version, n))
		return -ENOENT;
	txt += 2 + n;
	while (wsp(*txt))
		txt++;
	return *txt == ';' || !*txt ? 0 : -ENOENT;
}

/* What one kind of tag=value record holds: its version and the one field it needs. */
struct tv_spec {
	const char *version; /* "STSv1" */
	const char *key;     /* "id": required, once */
	const char *missing; /* the message when key is absent */
	int (*handle)(const struct tv_field *f, void *out, struct diag *d);
};

static int tv_record(const char *txt, const struct tv_spec *sp, void *out, struct diag *d)
{
	struct tv_field f[TV_FIELDS_MAX];
	size_t n, seen = 0;
	int ret = tv_version(txt, sp->version);

	if (!ret)
		ret = tv_split(txt, f, &n, d);
	for (size_t i = 1; !ret && i < n; i++) {
		if (tv_is(&f[i], "v"))
			return fail(d, "a second version field");
		if (tv_is(&f[i], sp->key))
			ret = seen++ ? fail(d, "more than one %s field", sp->key) :
				       sp->handle(&f[i], out, d);
		else if (!ext_value_ok(&f[i]))
			ret = fail(d, "bad value in field '%.*s'", (int)f[i].nlen, f[i].name);
	}
	if (!ret && !seen)
		ret = fail(d, "%s", sp->missing);
	return ret;
}

static int sts_id(const struct tv_field *f, void *out, struct diag *d)
{
	struct sts_txt *t = out;

	if (f->vlen > STS_ID_MAX)
		return fail(d, "id '%.*s' is longer than %d characters", (int)f->vlen, f->val,
			    STS_ID_MAX);
	for (size_t k = 0; k < f->vlen; k++)
		if (!isalnum((unsigned char)f->val[k]))
			return fail(d, "id '%.*s' holds a character other than a letter or digit",
				    (int)f->vlen, f->val);
	memcpy(t->id, f->val, f->vlen);
	return 0;
}

int sts_txt_parse(const char *txt, struct sts_txt *out, struct diag *d)
{
	static const struct tv_spec sp = { "STSv1", "id", "no id field", sts_id };

	memset(out, 0, sizeof(*out));
	return tv_record(txt, &sp, out, d);
}

/* rua=: URIs separated by ',' (spaces around allowed); only mailto: and https: are known. */
static int rua_parse(const struct tv_field *f, void *arg, struct diag *d)
{
	const char *p = f->val, *end = f->val + f->vlen;
	struct tlsrpt *out = arg;

	while (p < end) {
		const char *c = memchr(p, ',', end - p), *e;

		if (!c)
			c = end;
		e = c;
		while (p < e && wsp(*p))
			p++;
		while (e > p && wsp(e[-1]))
			e--;
		if ((e - p <= 7 || strncasecmp(p, "mailto:", 7)) &&
		    (e - p <= 8 || strncasecmp(p, "https://", 8)))
			return fail(d, "rua '%.*s' is neither a mailto: nor an https:// URI",
				    (int)(e - p), p);
		for (const char *q = p; q < e; q++)
			if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
				return fail(d, "rua '%.*s' holds a space or control", (int)(e - p),
					    p);
		if ((size_t)(e - p) >= sizeof(out->rua[0]))
			return fail(d, "rua '%.40s...' is longer than %zu characters", p,
				    sizeof(out->rua[0]) - 1);
		if (out->n_rua < TLSRPT_RUA_MAX)
			memcpy(out->rua[out->n_rua++], p, e - p);
		p = c + 1;
	}
	return 0;
}

int tlsrpt_parse(const char *txt, struct tlsrpt *out, struct diag *d)
{
	static const struct tv_spec sp = { "TLSRPTv1", "rua", "no rua field (where reports go)",
					   rua_parse };

	memset(out, 0, sizeof(*out));
	return tv_record(txt, &sp, out, d);
}

/* ---- the MTA-STS policy file ------------------------------------------------------------ */

/* RFC 5321 Domain: LDH labels of 1-63, each beginning and ending with a letter or digit. */
static bool domain_ok(const char *s, size_t n)
{
	size_t label = 0;

	if (!n || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!label || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || (s[i] == '-' && label)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

struct pp {
	struct sts_policy *p;
	unsigned int line, version_at, mode_at, max_age_at;
	char unknown[40]; /* an ignored field that differs from a known one only in case */
	struct diag *d;
};

static void warn(struct pp *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct pp *x, const char *fmt, ...)
{
	va_list ap;

	if (x->p->n_warnings++)
		return;
	va_start(ap, fmt);
	vsnprintf(x->p->warning, sizeof(x->p->warning), fmt, ap);
	va_end(ap);
}

static int once(struct pp *x, unsigned int *at, const char *key)
{
	if (*at)
		return fail(x->d, "line %u: '%s' again (first at line %u)", x->line, key, *at);
	*at = x->line;
	return 0;
}

static int field_max_age(struct pp *x, const char *v, size_t vl)
{
	long age = 0;

	if (!vl || vl > 10 || strspn(v, "0123456789") < vl)
		return fail(x->d, "line %u: max_age '%.*s' is not a number of seconds", x->line,
			    (int)vl, v);
	for (size_t i = 0; i < vl; i++)
		age = age * 10 + (v[i] - '0');
	if (age > STS_MAX_AGE_MAX)
		return fail(x->d, "line %u: max_age %ld is above the maximum of %d (one year)",
			    x->line, age, STS_MAX_AGE_MAX);
	if (age < STS_MAX_AGE_LOW)
		warn(x, "line %u: max_age %ld is under a day; RFC 8461 expects weeks or more",
		     x->line, age);
	x->p->max_age = age;
	return 0;
}

static int field_mx(struct pp *x, const char *v, size_t vl)
{
	size_t skip = vl > 2 && !strncmp(v, "*.", 2) ? 2 : 0;

	if (!domain_ok(v + skip, vl - skip))
		return fail(x->d, "line %u: mx '%.*s' is not a host name or *.domain pattern",
			    x->line, (int)vl, v);
	if (x->p->n_mx == STS_MX_MAX)
		return fail(x->d, "line %u: more than %d mx patterns", x->line, STS_MX_MAX);
	memcpy(x->p->mx[x->p->n_mx++], v, vl);
	return 0;
}

static int field(struct pp *x, const char *k, size_t kl, const char *v, size_t vl)
{
	static const char *const known[] = { "version", "mode", "max_age", "mx" };
	int ret;

	if (kl == 7 && !memcmp(k, "version", 7)) {
		ret = once(x, &x->version_at, "version");
		if (!ret && (vl != 5 || memcmp(v, "STSv1", 5)))
			ret = fail(x->d, "line %u: version '%.*s', expected STSv1", x->line,
				   (int)vl, v);
		return ret;
	}
	if (kl == 4 && !memcmp(k, "mode", 4)) {
		ret = once(x, &x->mode_at, "mode");
		for (int m = 0; !ret && m < 3; m++)
			if (vl == strlen(sts_mode_names[m]) && !memcmp(v, sts_mode_names[m], vl)) {
				x->p->mode = m;
				return 0;
			}
		return ret ? ret :
			     fail(x->d, "line %u: mode '%.*s', expected enforce, testing or none",
				  x->line, (int)vl, v);
	}
	if (kl == 7 && !memcmp(k, "max_age", 7))
		return once(x, &x->max_age_at, "max_age") ?: field_max_age(x, v, vl);
	if (kl == 2 && !memcmp(k, "mx", 2))
		return field_mx(x, v, vl);
	/* an extension: ignored (RFC 8461 3.2), unless it is a known field in other case */
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (kl == strlen(known[i]) && !strncasecmp(k, known[i], kl) && !x->unknown[0])
			snprintf(x->unknown, sizeof(x->unknown), "'%.*s' at line %u", (int)kl, k,
				 x->line);
	return 0;
}

/* One line without its end: key ":" *WSP value *WSP, value free of controls. */
static int policy_line(struct pp *x, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n), *v;
	size_t vl;

	if (!n) {
		warn(x, "line %u: blank line (RFC 8461 3.2 has none)", x->line);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return fail(x->d, "line %u: control character 0x%02x", x->line,
				    (unsigned char)s[i]);
	if (!colon || !field_name_ok(s, colon - s))
		return fail(x->d, "line %u: expected 'key: value', not '%.*s'", x->line,
			    (int)(n > 60 ? 60 : n), s);
	v = colon + 1;
	while (v < s + n && wsp(*v))
		v++;
	vl = s + n - v;
	while (vl && wsp(v[vl - 1]))
		vl--;
	if (!vl)
		return fail(x->d, "line %u: '%.*s' has no value", x->line, (int)(colon - s), s);
	return field(x, s, colon - s, v, vl);
}

int sts_policy_parse(const char *buf, size_t len, struct sts_policy *p, struct diag *d)
{
	struct pp x = { .p = p, .d = d };
	size_t i = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - buf) - i : len - i;

		x.line++;
		ret = policy_line(&x, buf + i, n && buf[i + n - 1] == '\r' ? n - 1 : n);
		if (ret)
			return ret;
		i += n + (nl ? 1 : 0);
	}
	if (!x.version_at || !x.mode_at || !x.max_age_at) {
		const char *missing = !x.version_at ? "version" : !x.mode_at ? "mode" : "max_age";

		return fail(d, "no %s field%s%s%s", missing,
			    x.unknown[0] ? " (field names are case-sensitive: " : "", x.unknown,
			    x.unknown[0] ? ")" : "");
	}
	if (!p->n_mx && p->mode != STS_MODE_NONE)
		return fail(d, "mode %s without any mx pattern", sts_mode_names[p->mode]);
	return 0;
}

bool sts_mx_match(const char *pattern, const char *host)
{
	size_t hl = strlen(host), pl = strlen(pattern);
	const char *dot;

	if (hl && host[hl - 1] == '.')
		hl--;
	if (pl < 2 || strncmp(pattern, "*.", 2))
		return hl == pl && !strncasecmp(pattern, host, hl);
	/* one label, then exactly the rest of the pattern */
	dot = memchr(host, '.', hl);
	return dot && dot > host && (size_t)(host + hl - dot) == pl - 1 &&
	       !strncasecmp(dot, pattern + 1, pl - 1);
}
