/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by every subcommand: exit codes and the command entry points. */
#ifndef TLSFW_H
#define TLSFW_H

/* Exit status, as POLICY.md fixes it. */
#define EXIT_OK 0
#define EXIT_BAD_INPUT 1    /* bad policy or usage: nothing changed */
#define EXIT_SYSTEM 2	    /* the system refused: nothing changed */
#define EXIT_NONCOMPLIANT 3 /* probe: reachable but not compliant */

#define TLSFW_VERSION "0.1.0"

/* One per subcommand, in userspace/cmd_*.c. argv[0] is the subcommand name. */
int cmd_check(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_services(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
