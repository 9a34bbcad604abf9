/* SPDX-License-Identifier: MIT */
/* Every `reel` subcommand, in the order `reel help` lists them. Each is
 * defined in cmd-<name>.c as `const struct cli_command cli_cmd_<ident>`.
 * No include guard: included with different CLI_COMMAND definitions. */
CLI_COMMAND(view)
