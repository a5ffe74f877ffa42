/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by every subcommand: exit codes and the commands (their tables and entry points). */
#ifndef TLSFW_H
#define TLSFW_H

/* Exit status, as POLICY.md fixes it. */
#define EXIT_OK 0
#define EXIT_BAD_INPUT 1    /* bad policy or usage: nothing changed */
#define EXIT_SYSTEM 2	    /* the system refused: nothing changed */
#define EXIT_NONCOMPLIANT 3 /* probe: reachable but not compliant */

#define TLSFW_VERSION "0.1.0"

struct cli_cmd;

/* One per subcommand, in userspace/cmd_*.c: its synopsis, options and entry point (cli.h). */
extern const struct cli_cmd cli_check, cli_apply, cli_status, cli_stats, cli_detach, cli_probe,
	cli_services, cli_explain, cli_diff, cli_confirm, cli_log;

#endif
