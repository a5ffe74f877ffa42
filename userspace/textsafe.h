/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Text that reaches a terminal. Names, paths, lines of a policy file and whatever a probed
 * server says can hold control characters (ESC starts sequences that move the cursor, clear
 * the screen or retitle the window), invalid UTF-8 and bidirectional overrides that reorder
 * what is shown. Every renderer of such text goes through these functions, which write those
 * characters as escapes: \n, \r, \t, \xNN for other control bytes and invalid UTF-8 bytes,
 * \uNNNN for C1 controls and bidirectional controls. Backslash itself is not escaped: the
 * escapes are for reading, not for parsing back, and a source line stays as its file has it.
 * JSON (json-c) and Prometheus text (stats_prom.c) have their own escaping.
 */
#ifndef TLSFW_TEXTSAFE_H
#define TLSFW_TEXTSAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A buffer that holds the escaped form of any n bytes: an escape is at most 4 bytes per byte
 * ("\x1b"), so nothing is cut. */
#define TEXTSAFE_LEN(n) (4 * (n) + 1)

/* Longest escape of one character ("\u202e"), plus its terminator. */
#define TEXTSAFE_CHAR_MAX 8

enum {
	TEXTSAFE_KEEP_TAB = 1u, /* a tab stays a tab (source excerpts align the caret with it) */
};

/*
 * One character of s (at most len bytes, len > 0): its safe form into out (terminated),
 * its width in columns into *width (a printable character counts 1, an escape its length).
 * Returns the bytes of s it consumed (at least 1).
 */
size_t textsafe_char(const char *s, size_t len, unsigned int flags, char out[TEXTSAFE_CHAR_MAX],
		     size_t *width);

/* s escaped into buf of size n, always terminated; cut at a character with "..." when it
 * does not fit. Returns buf, for use as a printf argument. */
const char *textsafe(const char *s, char *buf, size_t n);

/* Write s escaped to out (no length limit). */
void textsafe_fputs(const char *s, FILE *out);

/* Bytes of the well-formed UTF-8 sequence at s (at most len, len > 0), 0 when it is not. */
size_t textsafe_utf8_len(const char *s, size_t len);

/* Whether len bytes of s are well-formed UTF-8 (no overlong forms, no surrogates). */
bool textsafe_utf8_valid(const char *s, size_t len);

#endif
