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
#include "textsafe.h"

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
		memcpy(copy, text, len);
		for (char *z = memchr(copy, '\0', len); z; z = memchr(z, '\0', copy + len - z))
			*z++ = ' ';
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

/*
 * Where the last line was found in one text: records print in line order, so each look-up
 * continues from the previous one instead of counting lines from the start (2,200 warnings
 * on a 5.8 MB policy were a sixth of `tlsfw check`, performance.md).
 */
struct line_cursor {
	const char *text;
	const char *p; /* start of line `line` */
	unsigned int line;
};

/* The line'th line of text (1-based), its length through *len; NULL when there is none. */
static const char *find_line(struct line_cursor *c, const char *text, unsigned int line,
			     size_t *len)
{
	const char *p, *end;

	if (c->text != text || c->line > line || !c->line) {
		c->text = text;
		c->p = text;
		c->line = 1;
	}
	for (p = c->p; c->line < line; c->line++) {
		p = strchr(p, '\n');
		if (!p) {
			c->text = NULL; /* past the end: start again next time */
			return NULL;
		}
		p++;
		c->p = p;
	}
	end = strchr(p, '\n');
	*len = end ? (size_t)(end - p) : strlen(p);
	if (*len && p[*len - 1] == '\r')
		(*len)--;
	if (!*len && !end)
		return NULL;
	return p;
}

/* An excerpt shows at most this many characters of a line; past it, a window around the
 * column, with "..." where the line was cut. */
#define EXCERPT_MAX 200
#define EXCERPT_BEFORE 60 /* characters kept before the column when the window moves */

/* A line and the window of it shown; indexes count characters as libyaml counts columns
 * (UTF-8 sequences; an invalid byte counts as one). */
struct excerpt {
	const char *line;
	size_t len;
	size_t first, last; /* character window [first, last) */
	size_t n_chars;
};

static size_t count_chars(const char *s, size_t len)
{
	char one[TEXTSAFE_CHAR_MAX];
	size_t n = 0, w;

	for (size_t i = 0; i < len; n++)
		i += textsafe_char(s + i, len - i, TEXTSAFE_KEEP_TAB, one, &w);
	return n;
}

/*
 * One pass over the window: the text (caret false), or the caret line under it (caret
 * true): a tab before the column is copied so the caret lands under it whatever the tab
 * width, every other character is as many spaces as it takes columns, and loc->len
 * characters from the column are underlined, at most to the end of the line.
 */
static void excerpt_pass(FILE *out, const struct excerpt *e, const struct loc *loc, bool caret)
{
	char one[TEXTSAFE_CHAR_MAX];
	size_t i = 0, ci = 0, w, col = loc->col ? loc->col - 1 : 0;

	if (e->first)
		fputs(caret ? "   " : "...", out);
	for (; i < e->len && ci < e->last; ci++) {
		i += textsafe_char(e->line + i, e->len - i, TEXTSAFE_KEEP_TAB, one, &w);
		if (ci < e->first)
			continue;
		if (!caret)
			fputs(one, out);
		else if (ci < col)
			fprintf(out, "%*s", (int)w, one[0] == '\t' ? "\t" : "");
		else if (ci < col + (loc->len ? loc->len : 1))
			for (size_t k = 0; k < w; k++)
				fputc(ci == col && !k ? '^' : '~', out);
	}
	if (caret && col >= e->n_chars)
		fputc('^', out);
	else if (!caret && e->last < e->n_chars)
		fputs("...", out);
	fputc('\n', out);
}

static void print_excerpt(FILE *out, struct line_cursor *lc, const char *text,
			  const struct loc *loc)
{
	struct excerpt e = { 0 };
	size_t width, col = loc->col ? loc->col - 1 : 0;
	char num[16];

	e.line = find_line(lc, text, loc->line, &e.len);
	if (!e.line)
		return;
	e.n_chars = count_chars(e.line, e.len);
	if (e.n_chars > EXCERPT_MAX && col > EXCERPT_MAX - EXCERPT_BEFORE)
		e.first = col - EXCERPT_BEFORE;
	e.last = e.first + EXCERPT_MAX;
	snprintf(num, sizeof(num), "%u", loc->line);
	width = strlen(num) > 4 ? strlen(num) : 4;
	fprintf(out, " %*s | ", (int)width, num);
	excerpt_pass(out, &e, loc, false);
	fprintf(out, " %*s | ", (int)width, "");
	excerpt_pass(out, &e, loc, true);
}

/* A source line is echoed only from a file that reads as text: a binary file named as a
 * policy gets its messages, not its bytes. */
static void print_record(const struct diag *d, const struct diag_record *r, bool text_ok,
			 struct line_cursor *lc, FILE *out)
{
	const char *text;

	if (r->loc.file) {
		textsafe_fputs(r->loc.file, out);
		if (r->loc.line)
			fprintf(out, ":%u:%u", r->loc.line, r->loc.col ? r->loc.col : 1);
		fputs(": ", out);
	} else {
		fprintf(out, "tlsfw: ");
	}
	fprintf(out, "%s: ", level_names[r->level]);
	textsafe_fputs(r->msg, out);
	fputc('\n', out);
	text = file_text(d, r->loc.file);
	if (text && text_ok && r->loc.line && r->level != DIAG_NOTE)
		print_excerpt(out, lc, text, &r->loc);
}

/* Per interned file (index i + 1): whether its text is valid UTF-8, computed once. */
static bool *texts_ok(const struct diag *d)
{
	bool *ok = calloc(d->n_files + 2, sizeof(*ok));

	for (size_t i = 0; ok && i < d->n_files; i++)
		ok[i + 1] = d->texts[i] && textsafe_utf8_valid(d->texts[i], strlen(d->texts[i]));
	return ok;
}

static bool text_ok(const struct diag *d, const bool *ok, const char *file)
{
	return ok && file && ok[file_index(d, file)];
}

/* Records [from, d->n), sorted; the cap's message when truncated says so. */
static void print_range_to(const struct diag *d, size_t from, bool truncated, FILE *out)
{
	size_t n = d->n - from, owner = from;
	struct order *ord = calloc(n ? n : 1, sizeof(*ord));
	struct line_cursor lc = { 0 };
	bool *ok = texts_ok(d);

	if (!ord) {
		for (size_t i = from; i < d->n; i++)
			print_record(d, &d->recs[i], false, NULL, out);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (d->recs[from + i].level != DIAG_NOTE || i == 0)
			owner = from + i;
		ord[i].rec = from + i;
		ord[i].owner = owner;
		ord[i].file = file_index(d, d->recs[owner].loc.file);
	}
	qsort_r(ord, n, sizeof(*ord), order_cmp, (void *)d);
	for (size_t i = 0; i < n; i++) {
		const struct diag_record *r = &d->recs[ord[i].rec];

		print_record(d, r, text_ok(d, ok, r->loc.file), &lc, out);
	}
	if (truncated)
		fprintf(out, "tlsfw: too many errors: stopped after %d; %d more not shown\n",
			DIAG_MAX_ERRORS, d->truncated);
out:
	free(ord);
	free(ok);
}

/*
 * The same, composed in memory and written with one call: stderr is unbuffered, and the
 * escaping writes a character at a time (one write(2) each: 500 for two warnings).
 */
static void print_range(const struct diag *d, size_t from, bool truncated, FILE *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem) {
		print_range_to(d, from, truncated, out);
		return;
	}
	print_range_to(d, from, truncated, mem);
	if (!fclose(mem))
		fwrite(buf, 1, len, out);
	free(buf);
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

/*
 * Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a
 * substring): insertions, deletions, substitutions and transpositions of two adjacent
 * characters cost 1 each, so 'dprot' is one step from 'dport' and two from 'proto'.
 */
size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t rows[3][EDIT_MAX + 1], *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	if (la > EDIT_MAX || lb > EDIT_MAX)
		return la > lb ? la : lb;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *t;

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev[j - 1] + (lower(a[i - 1]) != lower(b[j - 1]));

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
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
