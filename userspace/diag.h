/* SPDX-License-Identifier: GPL-2.0 */
/* Locations, diagnostic records, the caret printer and misspelling hints. */
#ifndef TLSFW_DIAG_H
#define TLSFW_DIAG_H

#include <stddef.h>
#include <stdio.h>

/* A place in a policy file. line and col are 1-based; line 0 means "the whole file". */
struct loc {
	const char *file; /* owned by the diag context (see diag_intern_file) */
	unsigned int line;
	unsigned int col;
	unsigned int len; /* characters the caret underlines (at least 1) */
};

enum diag_level { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

struct diag_record {
	enum diag_level level;
	struct loc loc;
	char *msg;
};

#define DIAG_MAX_ERRORS 50 /* after this many errors stop collecting and say so */

struct diag {
	struct diag_record *recs;
	size_t n, cap;
	unsigned int errors, warnings;
	int truncated; /* the error cap was reached */
	char **files;  /* interned file names */
	size_t n_files;
	/* source text of each file, for the excerpt under a message (may be NULL) */
	char **texts;
	size_t flushed; /* records [0, flushed) were printed by diag_flush */
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);
/* Keep a copy of the file name and its text (for excerpts); returns the interned name. */
const char *diag_intern_file(struct diag *d, const char *file, const char *text, size_t len);
/* Record a message; printf-style. Messages after DIAG_MAX_ERRORS errors are dropped. */
void diag_error(struct diag *d, const struct loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void diag_warning(struct diag *d, const struct loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void diag_note(struct diag *d, const struct loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An error without a place in a policy (the system refused, a kernel object is missing),
 * printed as "tlsfw: error: ..." after the records that have one. err < 0 appends
 * ": strerror(-err)". Returns err, or -EIO when err is not negative. */
int diag_sys_error(struct diag *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print every record sorted by (file, line, col, insertion order), with source excerpts and
 * carets, as STYLE.md shows; records without a file come last. */
void diag_print(const struct diag *d, FILE *out);
/* Print, in the same order, only the records added since the last diag_flush: a command
 * that reports as it goes (apply: the compiler's warnings before the kernel is touched). */
void diag_flush(struct diag *d, FILE *out);
/* The summary line: "tlsfw: 1 error, 1 warning; nothing applied" (what = "nothing applied"). */
void diag_print_summary(const struct diag *d, FILE *out, const char *what);

/* Optimal string alignment distance: Levenshtein with adjacent transpositions (bounded by the
 * longer string). */
size_t edit_distance(const char *a, const char *b);
/* The closest candidate within a distance that fits the word's length, or NULL. */
const char *did_you_mean(const char *word, const char *const *candidates, size_t n);

#endif
