// SPDX-License-Identifier: GPL-2.0
/*
 * cli.c on a made-up command: the synopsis prints each option with its argument's name and
 * adds the options no form names (so the usage names all that the parser accepts); the parser
 * takes "--opt value", "--opt=value", options after arguments, and "--".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#include "check.h"

static int run(int argc, char **argv)
{
	return 0;
}

static const char *const forms[] = { "FILE [--fast | --slow]", "--serve", NULL };
static const struct cli_opt opts[] = {
	{ "fast", NULL, 'f' },
	{ "slow", NULL, 's' },
	{ "serve", "PORT", 'S' },
	{ "level", "N", 'l' },
	{ NULL },
};
static const struct cli_cmd cmd = { "demo", forms, opts, run };

static void test_synopsis(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cli_synopsis(&cmd, f, 3);
	fclose(f);
	CHECK_STR(out, "tlsfw demo FILE [--fast | --slow] [--level N]\n"
		       "   tlsfw demo --serve PORT\n");
	free(out);
}

/* Parses argv (NULL-terminated); the keys and values seen as "f,l=3," and the arguments. */
static int parse(char **argv, char *seen, size_t len, struct cli_parse *p)
{
	int argc = 0, key;
	const char *arg;

	while (argv[argc])
		argc++;
	seen[0] = 0;
	cli_begin(p, &cmd, argc, argv);
	while ((key = cli_next(p, &arg)) >= 0)
		snprintf(seen + strlen(seen), len - strlen(seen), "%c%s%s,", key, arg ? "=" : "",
			 arg ? arg : "");
	return key;
}

static void test_parse(void)
{
	char a0[] = "demo", a1[] = "--level=3", a2[] = "x.conf", a3[] = "--fast", a4[] = "--",
	     a5[] = "--slow", a6[] = "--level", a7[] = "4";
	char *v1[] = { a0, a1, a2, a3, a4, a5, NULL };
	char *v2[] = { a0, a6, a7, NULL };
	struct cli_parse p;
	char seen[64];

	CHECK(parse(v1, seen, sizeof(seen), &p) == CLI_DONE, "v1 parsed");
	CHECK_STR(seen, "l=3,f,");
	CHECK(p.n_args == 2 && !strcmp(p.args[0], "x.conf") && !strcmp(p.args[1], "--slow"),
	      "arguments after --: %d", p.n_args);
	CHECK(parse(v2, seen, sizeof(seen), &p) == CLI_DONE, "v2 parsed");
	CHECK_STR(seen, "l=4,");
	CHECK(p.n_args == 0, "no arguments: %d", p.n_args);
}

int main(void)
{
	test_synopsis();
	test_parse();
	return check_report("test_cli");
}
