/* SPDX-License-Identifier: MIT */
/* Every `reel` subcommand, in the order `reel help` lists them. Each is
 * defined in cmd-<name>.c as `const struct cli_command cli_cmd_<ident>`.
 * No include guard: included with different CLI_COMMAND definitions. */
CLI_COMMAND(create)
CLI_COMMAND(enable_channel)
CLI_COMMAND(enable_event)
CLI_COMMAND(disable_event)
CLI_COMMAND(add_context)
CLI_COMMAND(start)
CLI_COMMAND(stop)
CLI_COMMAND(destroy)
CLI_COMMAND(set_session)
CLI_COMMAND(list)
CLI_COMMAND(status)
CLI_COMMAND(rotate)
CLI_COMMAND(enable_rotation)
CLI_COMMAND(disable_rotation)
CLI_COMMAND(list_rotations)
CLI_COMMAND(wait_rotation)
CLI_COMMAND(snapshot)
CLI_COMMAND(view)
CLI_COMMAND(analyze)
CLI_COMMAND(worker)
