/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One option parser and one usage table. Each command is a struct cli_cmd: its synopsis forms
 * and the options it accepts, one table from which getopt_long's options, the command's
 * --help, the usage printed with a usage error and main's command list are all made, so they
 * cannot drift. Every command accepts --help (exit 0), "--opt=value" as "--opt value", and
 * "--" before arguments that begin with a dash.
 */
#ifndef TLSFW_CLI_H
#define TLSFW_CLI_H

#include <getopt.h>
#include <stdio.h>

struct cli_opt {
	const char *name; /* the long name, without "--" */
	const char *arg;  /* the argument's name in usage ("SECONDS"); NULL for a flag */
	int key;	  /* what cli_next returns for it (positive) */
};

#define CLI_MAX_OPTS 24

struct cli_cmd {
	const char *name;
	/* The synopsis, one form a line, without "tlsfw NAME ": "[--json | --prometheus]
	 * [--watch]", "POLICY [--dry-run]". Each --option is printed with its argument's name
	 * from opts. An option no form names is added to the first, so the usage names every
	 * option the command accepts. NULL-terminated. */
	const char *const *forms;
	const struct cli_opt *opts;	   /* terminated by { NULL } */
	int (*run)(int argc, char **argv); /* argv[0] is the command's name */
};

/* "tlsfw NAME FORM" per form, each line after the first indented by indent spaces. */
void cli_synopsis(const struct cli_cmd *cmd, FILE *out, int indent);

struct cli_parse {
	const struct cli_cmd *cmd;
	int argc;
	char **argv;
	struct option lopts[CLI_MAX_OPTS + 2];
	char **args; /* after CLI_DONE: the positional arguments */
	int n_args;
	int status; /* after CLI_STOP: the exit status (0 after --help, 1 after a usage error) */
};

enum { CLI_DONE = -1, CLI_STOP = -2 };

void cli_begin(struct cli_parse *p, const struct cli_cmd *cmd, int argc, char **argv);
/* The key of the next option (*arg its value, or NULL); CLI_DONE when the options end
 * (p->args); CLI_STOP when the command must exit with p->status: --help printed the usage
 * on stdout, or a usage error was printed with the usage on stderr. */
int cli_next(struct cli_parse *p, const char **arg);

/* A usage error: "tlsfw: NAME: message" and the usage on stderr. Returns the exit status. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* main(): run the command argv[1] of cmds, or print the command list. */
int cli_main(const struct cli_cmd *const *cmds, size_t n, int argc, char **argv);

#endif
