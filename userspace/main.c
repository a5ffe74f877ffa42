// SPDX-License-Identifier: GPL-2.0
/* tlsfw: a command table and nothing else. */
#include "cli.h"
#include "tlsfw.h"

static const struct cli_cmd *const commands[] = {
	&cli_check,    &cli_apply,   &cli_status, &cli_stats,	&cli_detach, &cli_probe,
	&cli_services, &cli_explain, &cli_diff,	  &cli_confirm, &cli_log,
};

int main(int argc, char **argv)
{
	return cli_main(commands, sizeof(commands) / sizeof(commands[0]), argc, argv);
}
