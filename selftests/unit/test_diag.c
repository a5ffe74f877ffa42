// SPDX-License-Identifier: GPL-2.0
/* diag.c: edit distance, did-you-mean, the caret printer, ordering, the error cap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#include "check.h"

/* Everything diag_print writes, as one string (caller frees). */
static char *printed(const struct diag *d, int summary)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	diag_print(d, f);
	if (summary)
		diag_print_summary(d, f, "nothing applied");
	fclose(f);
	return buf;
}

static void test_edit_distance(void)
{
	CHECK(edit_distance("", "") == 0, "empty");
	CHECK(edit_distance("abc", "") == 3, "to empty");
	CHECK(edit_distance("dorp", "drop") == 1, "a transposition costs 1");
	CHECK(edit_distance("dprot", "dport") == 1 && edit_distance("dprot", "proto") == 2,
	      "dprot: a transposition from dport, two edits from proto");
	CHECK(edit_distance("ca", "abc") == 3, "optimal string alignment: no edit of a moved pair");
	CHECK(edit_distance("kitten", "sitting") == 3, "classic");
	CHECK(edit_distance("DROP", "drop") == 0, "case is not a difference");
	CHECK(edit_distance("egres", "egress") == 1, "one missing");

	char *big = malloc(1001);

	memset(big, 'a', 1000);
	big[1000] = '\0';
	CHECK(edit_distance(big, "a") == 1000, "long words are bounded, not crashed");
	free(big);
}

static void test_did_you_mean(void)
{
	static const char *const actions[] = { "allow", "drop", "reject" };
	static const char *const hooks[] = { "ingress", "egress" };
	static const char *const protos[] = { "tcp", "udp", "icmp", "icmpv6" };
	const char *s;

	static const char *const keys[] = { "name",	 "proto",     "sport",	"dport",
					    "service",	 "src",	      "dst",	"family",
					    "direction", "interface", "action", "mode" };

	s = did_you_mean("dprot", keys, 12);
	CHECK(s && !strcmp(s, "dport"), "dprot -> %s (a transposition wins)", s ? s : "NULL");
	s = did_you_mean("dorp", actions, 3);
	CHECK(s && !strcmp(s, "drop"), "dorp -> %s", s ? s : "NULL");
	s = did_you_mean("rejct", actions, 3);
	CHECK(s && !strcmp(s, "reject"), "rejct -> %s", s ? s : "NULL");
	s = did_you_mean("egres", hooks, 2);
	CHECK(s && !strcmp(s, "egress"), "egres -> %s", s ? s : "NULL");
	s = did_you_mean("Allow", actions, 3);
	CHECK(s && !strcmp(s, "allow"), "Allow -> %s", s ? s : "NULL");
	CHECK(!did_you_mean("permit", actions, 3), "too far: no hint");
	CHECK(!did_you_mean("", actions, 3), "empty word");
	CHECK(!did_you_mean("x", protos, 4), "one letter is not a word");
	s = did_you_mean("icmpv7", protos, 4);
	CHECK(s && !strcmp(s, "icmpv6"), "icmpv7 -> %s", s ? s : "NULL");
	s = did_you_mean("ucp", protos, 4);
	CHECK(s && !strcmp(s, "tcp"),
	      "ties go to the first closest (tcp and udp are both 1 away): %s", s ? s : "NULL");
}

static void test_caret(void)
{
	struct diag d;
	const char *text = "version: 1\nrules:\n  - name: a\n    action: dorp\n";
	const char *f;
	char *out;

	diag_init(&d);
	f = diag_intern_file(&d, "p.conf", text, strlen(text));
	CHECK(f && !strcmp(f, "p.conf"), "interned");
	CHECK(diag_intern_file(&d, "p.conf", NULL, 0) == f, "interned once");
	diag_error(&d, &(struct loc){ f, 4, 13, 4 }, "unknown action '%s' (did you mean '%s'?)",
		   "dorp", "drop");
	out = printed(&d, 1);
	CHECK_STR(out, "p.conf:4:13: error: unknown action 'dorp' (did you mean 'drop'?)\n"
		       "    4 |     action: dorp\n"
		       "      |             ^~~~\n"
		       "tlsfw: 1 error, 0 warnings; nothing applied\n");
	free(out);
	diag_free(&d);

	/* A tab before the column is copied, so the caret lines up whatever the tab width. */
	diag_init(&d);
	text = "x:\n\tkey: value\n";
	f = diag_intern_file(&d, "t.conf", text, strlen(text));
	diag_warning(&d, &(struct loc){ f, 2, 7, 5 }, "look");
	out = printed(&d, 1);
	CHECK_STR(out, "t.conf:2:7: warning: look\n"
		       "    2 | \tkey: value\n"
		       "      | \t     ^~~~~\n"
		       "tlsfw: 0 errors, 1 warning\n");
	free(out);
	diag_free(&d);

	/* Columns count characters: a two-byte character is one column. */
	diag_init(&d);
	text = "a: [\"\xc3\xa9\", 70000]\n";
	f = diag_intern_file(&d, "u.conf", text, strlen(text));
	diag_error(&d, &(struct loc){ f, 1, 10, 5 }, "big");
	out = printed(&d, 0);
	CHECK_STR(out, "u.conf:1:10: error: big\n"
		       "    1 | a: [\"\xc3\xa9\", 70000]\n"
		       "      |          ^~~~~\n");
	free(out);
	diag_free(&d);

	/* A caret longer than the line stops at its end; line 0 is the whole file. */
	diag_init(&d);
	text = "ab\n";
	f = diag_intern_file(&d, "s.conf", text, strlen(text));
	diag_error(&d, &(struct loc){ f, 1, 2, 40 }, "long");
	diag_error(&d, &(struct loc){ f, 0, 0, 0 }, "whole");
	diag_error(&d, NULL, "nowhere");
	out = printed(&d, 0);
	CHECK_STR(out, "s.conf: error: whole\n"
		       "s.conf:1:2: error: long\n"
		       "    1 | ab\n"
		       "      |  ^\n"
		       "tlsfw: error: nowhere\n");
	free(out);
	diag_free(&d);
}

/* Control characters in a file name, a message or a source line reach the terminal escaped;
 * an escape takes as many caret columns as it is wide; a file that is not UTF-8 text gets
 * its messages but no excerpt. */
static void test_escaped(void)
{
	struct diag d;
	const char *text = "x: 1\n  y: \x1b[2J1\n";
	const char *f;
	char *out;

	diag_init(&d);
	f = diag_intern_file(&d, "p\x1b]0;t\a\n.conf", text, strlen(text));
	diag_error(&d, &(struct loc){ f, 2, 6, 3 }, "bad '%s'", "\x1b[2J1");
	out = printed(&d, 0);
	CHECK_STR(out, "p\\x1b]0;t\\x07\\n.conf:2:6: error: bad '\\x1b[2J1'\n"
		       "    2 |   y: \\x1b[2J1\n"
		       "      |      ^~~~~~\n");
	free(out);
	diag_free(&d);

	diag_init(&d);
	text = "version: ]\n# caf\xe9\n";
	f = diag_intern_file(&d, "l.conf", text, strlen(text));
	diag_error(&d, &(struct loc){ f, 1, 10, 1 }, "unexpected ]");
	out = printed(&d, 0);
	CHECK_STR(out, "l.conf:1:10: error: unexpected ]\n");
	free(out);
	diag_free(&d);
}

static void test_order(void)
{
	struct diag d;
	const char *f, *g;
	char *out;

	diag_init(&d);
	f = diag_intern_file(&d, "a.conf", NULL, 0);
	g = diag_intern_file(&d, "b.conf", NULL, 0);
	diag_error(&d, &(struct loc){ g, 1, 1, 1 }, "second file");
	diag_error(&d, &(struct loc){ f, 9, 3, 1 }, "line 9");
	diag_note(&d, &(struct loc){ f, 1, 1, 1 }, "note of line 9, stays with it");
	diag_warning(&d, &(struct loc){ f, 2, 5, 1 }, "line 2 col 5");
	diag_error(&d, &(struct loc){ f, 2, 1, 1 }, "line 2 col 1");
	diag_error(&d, &(struct loc){ f, 2, 5, 1 }, "line 2 col 5 again, after the first");
	out = printed(&d, 1);
	CHECK_STR(out, "a.conf:2:1: error: line 2 col 1\n"
		       "a.conf:2:5: warning: line 2 col 5\n"
		       "a.conf:2:5: error: line 2 col 5 again, after the first\n"
		       "a.conf:9:3: error: line 9\n"
		       "a.conf:1:1: note: note of line 9, stays with it\n"
		       "b.conf:1:1: error: second file\n"
		       "tlsfw: 4 errors, 1 warning; nothing applied\n");
	free(out);
	diag_free(&d);
}

/* Records without a place (the system refused) come after the located ones; diag_flush
 * prints what is new since the last flush, so a command can report as it goes. */
static void test_system_and_flush(void)
{
	struct diag d;
	const char *f;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int err;

	diag_init(&d);
	f = diag_intern_file(&d, "p.conf", NULL, 0);
	diag_warning(&d, &(struct loc){ f, 3, 1, 1 }, "probe failed");
	out = open_memstream(&buf, &len);
	diag_flush(&d, out);
	fprintf(out, "-- progress --\n");
	diag_flush(&d, out); /* nothing new: nothing printed */
	err = diag_sys_error(&d, -ENODEV, "cannot attach %s", "lan0");
	CHECK(err == -ENODEV, "diag_sys_error returns the error: %d", err);
	CHECK(diag_sys_error(&d, 0, "refused") == -EIO, "no errno: -EIO");
	diag_error(&d, &(struct loc){ f, 5, 13, 7 }, "interface 'nosuch0' does not exist");
	diag_flush(&d, out);
	diag_print_summary(&d, out, "nothing applied");
	fclose(out);
	CHECK_STR(buf, "p.conf:3:1: warning: probe failed\n"
		       "-- progress --\n"
		       "p.conf:5:13: error: interface 'nosuch0' does not exist\n"
		       "tlsfw: error: cannot attach lan0: No such device\n"
		       "tlsfw: error: refused\n"
		       "tlsfw: 3 errors, 1 warning; nothing applied\n");
	free(buf);
	diag_free(&d);
}

static void test_cap(void)
{
	struct diag d;
	const char *f;
	char *out, *summary;

	diag_init(&d);
	f = diag_intern_file(&d, "c.conf", NULL, 0);
	for (int i = 0; i < DIAG_MAX_ERRORS + 10; i++)
		diag_error(&d, &(struct loc){ f, i + 1, 1, 1 }, "error %d", i);
	diag_warning(&d, &(struct loc){ f, 1, 1, 1 }, "dropped too");
	CHECK(d.n == DIAG_MAX_ERRORS, "kept %zu records", d.n);
	CHECK(d.truncated == 10, "counted %d dropped errors", d.truncated);
	out = printed(&d, 1);
	summary = strstr(out, "tlsfw: too many errors");
	CHECK(summary && !strcmp(summary,
				 "tlsfw: too many errors: stopped after 50; 10 more not shown\n"
				 "tlsfw: 60 errors, 0 warnings; nothing applied\n"),
	      "tail: %s", summary ? summary : out);
	CHECK(!strstr(out, "dropped too"), "nothing after the cap");
	free(out);
	diag_free(&d);
	diag_free(&d); /* twice is harmless */
}

int main(void)
{
	test_edit_distance();
	test_did_you_mean();
	test_caret();
	test_escaped();
	test_order();
	test_system_and_flush();
	test_cap();
	if (failures) {
		fprintf(stderr, "test_diag: %d failures\n", failures);
		return 1;
	}
	printf("test_diag: ok\n");
	return 0;
}
