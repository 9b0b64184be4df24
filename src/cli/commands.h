/* commands.h -- tmtool's subcommands, one file each (cmd_<name>.c).
 *
 * To add a command:
 *   1. write src/cli/cmd_<name>.c exporting only cmd_<name>(), its option
 *      table (tm_opt) and usage text; return a tm_exit code, never exit();
 *   2. declare it below and add one line to the table in main.c;
 *   3. add the file to cli_sources in src/cli/meson.build;
 *   4. tests in tests/cli/, a section in man/tmtool.1, the completions in
 *      completions/ (bash, zsh, fish), and format/JSON.md if it prints JSON.
 *
 * argv[0] is the command name; the return value is the exit status. */
#ifndef HEADER_commands
#define HEADER_commands

int cmd_top(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_filter(int argc, char **argv);
int cmd_metrics(int argc, char **argv);

#endif
