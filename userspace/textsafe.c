// SPDX-License-Identifier: GPL-2.0
/* Escaping of text for terminals (textsafe.h). */
#include <stdint.h>
#include <string.h>

#include "textsafe.h"

/* The code point of the UTF-8 sequence at s and its length; 0 when it is not well-formed
 * (truncated, overlong, a surrogate, beyond U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters that change how the rest of a line is shown: C1 controls (U+009B is CSI on some
 * terminals) and the bidirectional marks, embeddings, overrides and isolates. */
static bool unicode_control(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

size_t textsafe_char(const char *s, size_t len, unsigned int flags, char out[TEXTSAFE_CHAR_MAX],
		     size_t *width)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c;
	size_t n = utf8_decode(u, len, &c);

	if (!n) {
		snprintf(out, TEXTSAFE_CHAR_MAX, "\\x%02x", u[0]);
		*width = 4;
		return 1;
	}
	if (c == '\t' && (flags & TEXTSAFE_KEEP_TAB)) {
		strcpy(out, "\t");
	} else if (c == '\n' || c == '\r' || c == '\t') {
		snprintf(out, TEXTSAFE_CHAR_MAX, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
	} else if (c < 0x20 || c == 0x7f) {
		snprintf(out, TEXTSAFE_CHAR_MAX, "\\x%02x", c);
	} else if (unicode_control(c)) {
		snprintf(out, TEXTSAFE_CHAR_MAX, "\\u%04x", c & 0xffff); /* all below U+10000 */
	} else {
		memcpy(out, s, n);
		out[n] = '\0';
		*width = 1;
		return n;
	}
	*width = strlen(out);
	return n;
}

/* Bytes of the escaped form of s. */
static size_t escaped_len(const char *s, size_t len)
{
	char one[TEXTSAFE_CHAR_MAX];
	size_t total = 0, width;

	while (len) {
		size_t k = textsafe_char(s, len, 0, one, &width);

		total += strlen(one);
		s += k;
		len -= k;
	}
	return total;
}

const char *textsafe(const char *s, char *buf, size_t n)
{
	size_t len = strlen(s), used = 0, width;
	bool cut = escaped_len(s, len) >= n;
	char one[TEXTSAFE_CHAR_MAX];

	if (!n)
		return buf;
	while (len) {
		size_t k = textsafe_char(s, len, 0, one, &width), m = strlen(one);

		/* When cut, keep room for the "..." that says so. */
		if (used + m + (cut ? 3 : 0) >= n)
			break;
		memcpy(buf + used, one, m);
		used += m;
		s += k;
		len -= k;
	}
	if (cut && used + 3 < n) {
		memcpy(buf + used, "...", 3);
		used += 3;
	}
	buf[used] = '\0';
	return buf;
}

void textsafe_fputs(const char *s, FILE *out)
{
	size_t len = strlen(s), width;
	char one[TEXTSAFE_CHAR_MAX];

	while (len) {
		size_t k = textsafe_char(s, len, 0, one, &width);

		fputs(one, out);
		s += k;
		len -= k;
	}
}

size_t textsafe_utf8_len(const char *s, size_t len)
{
	uint32_t c;

	return utf8_decode((const unsigned char *)s, len, &c);
}

bool textsafe_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c;

	while (len) {
		size_t n = utf8_decode(u, len, &c);

		if (!n)
			return false;
		u += n;
		len -= n;
	}
	return true;
}
