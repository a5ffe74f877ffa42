// SPDX-License-Identifier: GPL-2.0
/* Option parsing and usage text from one table per command (cli.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "tlsfw.h"

static const struct cli_opt *opt_named(const struct cli_cmd *cmd, const char *name, size_t len)
{
	for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

static bool named_by_forms(const struct cli_cmd *cmd, const char *name)
{
	size_t len = strlen(name);

	for (const char *const *f = cmd->forms; *f; f++)
		for (const char *p = strstr(*f, "--"); p; p = strstr(p + 2, "--"))
			if (!strncmp(p + 2, name, len) && !isalnum(p[2 + len]) && p[2 + len] != '-')
				return true;
	return false;
}

static void print_opt(FILE *out, const struct cli_opt *o)
{
	fprintf(out, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

/* form with each --name followed by its argument's name */
static void print_form(const struct cli_cmd *cmd, const char *form, FILE *out)
{
	const char *p = form;

	while (*p) {
		const struct cli_opt *o = NULL;
		size_t len = 0;

		if (p[0] == '-' && p[1] == '-') {
			while (isalnum(p[2 + len]) || p[2 + len] == '-')
				len++;
			o = opt_named(cmd, p + 2, len);
		}
		if (o) {
			print_opt(out, o);
			p += 2 + len;
		} else {
			fputc(*p++, out);
		}
	}
}

void cli_synopsis(const struct cli_cmd *cmd, FILE *out, int indent)
{
	for (const char *const *f = cmd->forms; *f; f++) {
		fprintf(out, "%*stlsfw %s", f == cmd->forms ? 0 : indent, "", cmd->name);
		if (**f)
			fputc(' ', out);
		print_form(cmd, *f, out);
		for (const struct cli_opt *o = cmd->opts; f == cmd->forms && o && o->name; o++) {
			if (named_by_forms(cmd, o->name))
				continue;
			fputs(" [", out);
			print_opt(out, o);
			fputc(']', out);
		}
		fputc('\n', out);
	}
}

static void usage(const struct cli_cmd *cmd, FILE *out)
{
	fputs("usage: ", out);
	cli_synopsis(cmd, out, 7);
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "tlsfw: %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(cmd, stderr);
	return EXIT_BAD_INPUT;
}

void cli_begin(struct cli_parse *p, const struct cli_cmd *cmd, int argc, char **argv)
{
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	for (const struct cli_opt *o = cmd->opts; o && o->name && n < CLI_MAX_OPTS; o++, n++)
		p->lopts[n] = (struct option){ o->name, o->arg ? required_argument : no_argument,
					       NULL, o->key };
	p->lopts[n] = (struct option){ "help", no_argument, NULL, 'h' };
	/* getopt keeps its position in globals: 0 starts a new argument vector */
	optind = 0;
	opterr = 0;
}

int cli_next(struct cli_parse *p, const char **arg)
{
	/* "+" would stop at the first argument; GNU order lets options follow POLICY too */
	int c = getopt_long(p->argc, p->argv, ":h", p->lopts, NULL);

	*arg = optarg;
	if (c == -1) {
		p->args = p->argv + optind;
		p->n_args = p->argc - optind;
		return CLI_DONE;
	}
	if (c == 'h') {
		usage(p->cmd, stdout);
		p->status = EXIT_OK;
		return CLI_STOP;
	}
	if (c == ':')
		p->status =
			cli_usage_error(p->cmd, "option '%s' needs a value", p->argv[optind - 1]);
	else if (c == '?' && optopt && !strncmp(p->argv[optind - 1], "--", 2))
		p->status =
			cli_usage_error(p->cmd, "option '%s' takes no value", p->argv[optind - 1]);
	else if (c == '?')
		p->status = cli_usage_error(p->cmd, "unknown option '%s'", p->argv[optind - 1]);
	else
		return c;
	return CLI_STOP;
}

int cli_main(const struct cli_cmd *const *cmds, size_t n, int argc, char **argv)
{
	FILE *out = argc < 2 ? stderr : stdout;

	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("tlsfw %s\n", TLSFW_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; argc >= 2 && i < n; i++)
		if (!strcmp(argv[1], cmds[i]->name))
			return cmds[i]->run(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "-h") && strcmp(argv[1], "--help") &&
	    strcmp(argv[1], "help")) {
		fprintf(stderr, "tlsfw: unknown command '%s'\n", argv[1]);
		out = stderr;
	}
	fprintf(out, "usage: tlsfw COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < n; i++) {
		fputs("  ", out);
		cli_synopsis(cmds[i], out, 2);
	}
	fprintf(out, "\nSee tlsfw(8) and tlsfw.conf(5).\n");
	return out == stdout ? EXIT_OK : EXIT_BAD_INPUT;
}
