// SPDX-License-Identifier: GPL-2.0
/*
 * Diagnostics: records collected while reading and checking a policy, printed once, sorted by
 * place, with the offending line and a caret under it, as a compiler does.
 */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static const char *const level_names[] = { "error", "warning", "note" };

void diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void diag_free(struct diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->recs[i].msg);
	free(d->recs);
	for (size_t i = 0; i < d->n_files; i++) {
		free(d->files[i]);
		free(d->texts[i]);
	}
	free(d->files);
	free(d->texts);
	memset(d, 0, sizeof(*d));
}

const char *diag_intern_file(struct diag *d, const char *file, const char *text, size_t len)
{
	char **files, **texts, *name, *copy = NULL;

	for (size_t i = 0; i < d->n_files; i++) {
		if (strcmp(d->files[i], file))
			continue;
		if (text && !d->texts[i]) {
			d->texts[i] = strndup(text, len);
		}
		return d->files[i];
	}
	name = strdup(file);
	if (text)
		copy = malloc(len + 1);
	files = realloc(d->files, (d->n_files + 1) * sizeof(*files));
	if (files)
		d->files = files;
	texts = realloc(d->texts, (d->n_files + 1) * sizeof(*texts));
	if (texts)
		d->texts = texts;
	if (!name || !files || !texts || (text && !copy)) {
		free(name);
		free(copy);
		return NULL;
	}
	if (copy) {
		/* Keep embedded NULs from cutting the excerpt short: they print as spaces. */
		for (size_t i = 0; i < len; i++)
			copy[i] = text[i] ? text[i] : ' ';
		copy[len] = '\0';
	}
	d->files[d->n_files] = name;
	d->texts[d->n_files] = copy;
	d->n_files++;
	return name;
}

static void diag_add(struct diag *d, enum diag_level level, const struct loc *loc, const char *fmt,
		     va_list ap)
{
	struct diag_record *recs;
	char *msg;

	if (d->truncated || (level == DIAG_ERROR && d->errors >= DIAG_MAX_ERRORS)) {
		/* Past the cap: count what was dropped so the summary can say so. */
		if (level == DIAG_ERROR)
			d->truncated++;
		return;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;

		recs = realloc(d->recs, cap * sizeof(*recs));
		if (!recs) {
			free(msg);
			return;
		}
		d->recs = recs;
		d->cap = cap;
	}
	d->recs[d->n].level = level;
	if (loc)
		d->recs[d->n].loc = *loc;
	else
		memset(&d->recs[d->n].loc, 0, sizeof(struct loc));
	d->recs[d->n].msg = msg;
	d->n++;
	if (level == DIAG_ERROR)
		d->errors++;
	else if (level == DIAG_WARNING)
		d->warnings++;
}

void diag_error(struct diag *d, const struct loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, DIAG_ERROR, loc, fmt, ap);
	va_end(ap);
}

void diag_warning(struct diag *d, const struct loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, DIAG_WARNING, loc, fmt, ap);
	va_end(ap);
}

void diag_note(struct diag *d, const struct loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, DIAG_NOTE, loc, fmt, ap);
	va_end(ap);
}

int diag_sys_error(struct diag *d, int err, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (err < 0)
		diag_error(d, NULL, "%s: %s", msg ? msg : "?", strerror(-err));
	else
		diag_error(d, NULL, "%s", msg ? msg : "?");
	free(msg);
	return err < 0 ? err : -EIO;
}

/* Records without a file sort after every file: the details first, what failed last. */
static size_t file_index(const struct diag *d, const char *file)
{
	if (!file)
		return SIZE_MAX;
	for (size_t i = 0; i < d->n_files; i++)
		if (d->files[i] == file || !strcmp(d->files[i], file))
			return i + 1;
	return d->n_files + 1;
}

struct order {
	size_t rec;   /* index of the record */
	size_t owner; /* a note sorts with the record it follows */
	size_t file;
};

static int order_cmp(const void *pa, const void *pb, void *arg)
{
	const struct diag *d = arg;
	const struct order *a = pa, *b = pb;
	const struct loc *la = &d->recs[a->owner].loc;
	const struct loc *lb = &d->recs[b->owner].loc;

	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	if (la->line != lb->line)
		return la->line < lb->line ? -1 : 1;
	if (la->col != lb->col)
		return la->col < lb->col ? -1 : 1;
	if (a->owner != b->owner)
		return a->owner < b->owner ? -1 : 1;
	return a->rec < b->rec ? -1 : a->rec > b->rec;
}

static const char *file_text(const struct diag *d, const char *file)
{
	size_t i = file_index(d, file);

	if (!i || i > d->n_files)
		return NULL;
	return d->texts[i - 1];
}

/* The line'th line of text (1-based), its length through *len; NULL when there is none. */
static const char *find_line(const char *text, unsigned int line, size_t *len)
{
	const char *p = text, *end;

	for (unsigned int i = 1; i < line; i++) {
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
	end = strchr(p, '\n');
	*len = end ? (size_t)(end - p) : strlen(p);
	if (*len && p[*len - 1] == '\r')
		(*len)--;
	if (!*len && !end)
		return NULL;
	return p;
}

/* libyaml counts columns in characters: UTF-8 continuation bytes do not advance them. */
static int is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

static void print_excerpt(FILE *out, const char *text, const struct loc *loc)
{
	const char *line;
	size_t len, i, width, col = 1;
	char num[16];

	line = find_line(text, loc->line, &len);
	if (!line)
		return;
	snprintf(num, sizeof(num), "%u", loc->line);
	width = strlen(num) > 4 ? strlen(num) : 4;
	fprintf(out, " %*s | %.*s\n", (int)width, num, (int)len, line);
	fprintf(out, " %*s | ", (int)width, "");
	/* Copy tabs so the caret lands under the column whatever the tab width. */
	for (i = 0; i < len && col < loc->col; i++) {
		if (is_cont(line[i]))
			continue;
		fputc(line[i] == '\t' ? '\t' : ' ', out);
		col++;
	}
	fputc('^', out);
	/* Underline at most to the end of the line. */
	size_t left = 0;

	for (size_t j = i; j < len; j++)
		if (!is_cont(line[j]))
			left++;
	for (size_t k = 1; k < loc->len && k < left; k++)
		fputc('~', out);
	fputc('\n', out);
}

static void print_record(const struct diag *d, const struct diag_record *r, FILE *out)
{
	const char *text;

	if (r->loc.file && r->loc.line)
		fprintf(out, "%s:%u:%u: ", r->loc.file, r->loc.line, r->loc.col ? r->loc.col : 1);
	else if (r->loc.file)
		fprintf(out, "%s: ", r->loc.file);
	else
		fprintf(out, "tlsfw: ");
	fprintf(out, "%s: %s\n", level_names[r->level], r->msg);
	text = file_text(d, r->loc.file);
	if (text && r->loc.line && r->level != DIAG_NOTE)
		print_excerpt(out, text, &r->loc);
}

/* Records [from, d->n), sorted; the cap's message when truncated says so. */
static void print_range(const struct diag *d, size_t from, bool truncated, FILE *out)
{
	size_t n = d->n - from, owner = from;
	struct order *ord;

	ord = calloc(n ? n : 1, sizeof(*ord));
	if (!ord) {
		for (size_t i = from; i < d->n; i++)
			print_record(d, &d->recs[i], out);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (d->recs[from + i].level != DIAG_NOTE || i == 0)
			owner = from + i;
		ord[i].rec = from + i;
		ord[i].owner = owner;
		ord[i].file = file_index(d, d->recs[owner].loc.file);
	}
	qsort_r(ord, n, sizeof(*ord), order_cmp, (void *)d);
	for (size_t i = 0; i < n; i++)
		print_record(d, &d->recs[ord[i].rec], out);
	free(ord);
	if (truncated)
		fprintf(out, "tlsfw: too many errors: stopped after %d; %d more not shown\n",
			DIAG_MAX_ERRORS, d->truncated);
}

void diag_print(const struct diag *d, FILE *out)
{
	if (d->n || d->truncated)
		print_range(d, 0, d->truncated, out);
}

void diag_flush(struct diag *d, FILE *out)
{
	/* the cap is reached at most once: say so with the records that reached it */
	bool cap_now = d->truncated && d->flushed < d->n;

	if (d->flushed < d->n)
		print_range(d, d->flushed, cap_now, out);
	d->flushed = d->n;
}

void diag_print_summary(const struct diag *d, FILE *out, const char *what)
{
	unsigned int errors = d->errors + (d->truncated > 0 ? d->truncated : 0);

	fprintf(out, "tlsfw: %u error%s, %u warning%s", errors, errors == 1 ? "" : "s", d->warnings,
		d->warnings == 1 ? "" : "s");
	if (errors && what)
		fprintf(out, "; %s", what);
	fputc('\n', out);
}

static int lower(int c)
{
	return tolower((unsigned char)c);
}

#define EDIT_MAX 256 /* longer words are never misspellings of a keyword */

size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[EDIT_MAX + 1];

	if (la > EDIT_MAX || lb > EDIT_MAX)
		return la > lb ? la : lb;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best;

			best = diag + (lower(a[i - 1]) != lower(b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *did_you_mean(const char *word, const char *const *candidates, size_t n)
{
	size_t len = strlen(word), limit, best = SIZE_MAX;
	const char *pick = NULL;

	if (!len || len > EDIT_MAX)
		return NULL;
	/* A third of the word may be wrong, at least one character: 'dorp' -> 'drop'. */
	limit = (len + 2) / 3;
	for (size_t i = 0; i < n; i++) {
		size_t dist;

		if (!candidates[i])
			continue;
		dist = edit_distance(word, candidates[i]);
		/* A suggestion must keep something of the word. */
		if (dist <= limit && dist < strlen(candidates[i]) && dist < best) {
			best = dist;
			pick = candidates[i];
		}
	}
	return pick;
}
