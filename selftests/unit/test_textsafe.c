// SPDX-License-Identifier: GPL-2.0
/* textsafe: control characters, invalid UTF-8 and bidirectional controls are escaped, the
 * rest is kept byte for byte; cutting keeps whole characters and says so. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "textsafe.h"

static void test_escapes(void)
{
	char buf[256];

	CHECK_STR(textsafe("lan0 block-quic /etc/tlsfw/p.conf", buf, sizeof(buf)),
		  "lan0 block-quic /etc/tlsfw/p.conf");
	CHECK_STR(textsafe("\x1b]0;pwned\a\x1b[2J", buf, sizeof(buf)),
		  "\\x1b]0;pwned\\x07\\x1b[2J");
	CHECK_STR(textsafe("a\nb\rc\td\x7f", buf, sizeof(buf)), "a\\nb\\rc\\td\\x7f");
	/* UTF-8 stays; C1 CSI (U+009B) and RIGHT-TO-LEFT OVERRIDE (U+202E) do not. */
	CHECK_STR(textsafe("caf\xc3\xa9 \xc2\x9b"
			   "2J \xe2\x80\xae"
			   "fdp",
			   buf, sizeof(buf)),
		  "caf\xc3\xa9 \\u009b2J \\u202efdp");
	/* Invalid UTF-8: a Latin-1 byte, an overlong '/', a surrogate, a cut sequence. */
	CHECK_STR(textsafe("\xe9t\xc3\xa9 \xc0\xaf \xed\xa0\x80 \xe2\x82", buf, sizeof(buf)),
		  "\\xe9t\xc3\xa9 \\xc0\\xaf \\xed\\xa0\\x80 \\xe2\\x82");
	CHECK_STR(textsafe("back\\slash", buf, sizeof(buf)), "back\\slash");
}

static void test_cut(void)
{
	char buf[8];

	CHECK_STR(textsafe("abcdefg", buf, sizeof(buf)), "abcdefg");
	CHECK_STR(textsafe("abcdefgh", buf, sizeof(buf)), "abcd...");
	/* An escape is never cut in half. */
	CHECK_STR(textsafe("ab\x1b"
			   "cdefgh",
			   buf, sizeof(buf)),
		  "ab...");
	CHECK_STR(textsafe("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", buf, sizeof(buf)),
		  "\xc3\xa9\xc3\xa9...");
}

static void test_char(void)
{
	char one[TEXTSAFE_CHAR_MAX];
	size_t w, n;

	n = textsafe_char("\t", 1, TEXTSAFE_KEEP_TAB, one, &w);
	CHECK(n == 1 && !strcmp(one, "\t") && w == 1, "kept tab: %zu '%s' %zu", n, one, w);
	n = textsafe_char("\t", 1, 0, one, &w);
	CHECK(n == 1 && !strcmp(one, "\\t") && w == 2, "escaped tab: %zu '%s' %zu", n, one, w);
	n = textsafe_char("\xe2\x80\xae!", 4, 0, one, &w);
	CHECK(n == 3 && w == 6, "U+202E: %zu bytes, width %zu", n, w);
	n = textsafe_char("\xc3\xa9", 2, 0, one, &w);
	CHECK(n == 2 && w == 1, "e-acute: %zu bytes, width %zu", n, w);
}

static void test_fputs(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	textsafe_fputs("x\x1b[31my\n", f);
	fclose(f);
	CHECK_STR(out, "x\\x1b[31my\\n");
	free(out);
}

static void test_utf8(void)
{
	CHECK(textsafe_utf8_valid("version: 1\n", 11), "ASCII");
	CHECK(textsafe_utf8_valid("\xc3\xa9\xf0\x9f\x94\x92", 6), "two and four bytes");
	CHECK(!textsafe_utf8_valid("\xff\xfe", 2), "a UTF-16 byte order mark");
	CHECK(!textsafe_utf8_valid("\x7f"
				   "ELF\x02\x01\x01\x00\x00\x80",
				   10),
	      "an ELF header");
	CHECK(!textsafe_utf8_valid("\xf4\x90\x80\x80", 4), "beyond U+10FFFF");
	CHECK(textsafe_utf8_len("\xe2\x80\xae", 3) == 3, "one three-byte sequence");
	CHECK(textsafe_utf8_len("\xe2\x80", 2) == 0, "a sequence cut short");
}

int main(void)
{
	test_escapes();
	test_cut();
	test_char();
	test_fputs();
	test_utf8();
	return check_report("test_textsafe");
}
