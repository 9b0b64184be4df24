/* commands.h -- tmtool's subcommands, one file each (cmd_<name>.c).
 *
 * To add a command:
 *   1. write src/cli/cmd_<name>.c exporting only cmd_<name>(); everything
 *      else static.  Its shape (cmd_metrics.c is the smallest example):
 *
 *        typedef struct foo_ctx { tm_display display; tm_filters filters;
 *                                 int all; } foo_ctx;
 *        static const tm_opt foo_opts[] = {
 *            TM_OPT_FLAG(0, "all", foo_ctx, all, "show everything"),
 *            TM_OPT_END,
 *        };
 *        static const tm_command foo_command = {
 *            .name = "foo", .usage = "tmtool foo [<options>] FILE...",
 *            .description = "...", .min_files = 1, .max_files = -1,
 *            .files_needed = "at least one FILE",
 *        };
 *        int cmd_foo(int argc, char **argv)
 *        {
 *            foo_ctx c = { 0 };
 *            tm_args a;
 *            tm_display_init(&c.display);
 *            const tm_opt_group groups[] = {
 *                { "Options", foo_opts, &c },
 *                { "Display options", tm_display_opts, &c.display },
 *                { "Filter options", tm_filter_opts, &c.filters },
 *                { NULL, NULL, NULL },
 *            };
 *            int rc = tm_parse_command(&foo_command, groups, argc, argv, &a);
 *            if (rc != TM_EXIT_OK || a.common.help)
 *                goto out;
 *            ... work on a.files[0 .. a.nfiles), output per a.common.format
 *        out:
 *            tm_filters_free(&c.filters);
 *            return rc;
 *        }
 *
 *      tm_parse_command (opts.h) runs the option loop, prints --help from
 *      the tables (the common options --format/--color/-q/-h are added
 *      by it), checks the number of files and sets up colours; the
 *      command never loops over argv.  Return a tm_exit code, never
 *      exit();
 *   2. declare it below and add one line to the table in main.c;
 *   3. add the file to cli_sources in src/cli/meson.build;
 *   4. tests in tests/cli/, a section in man/tmtool.1, the completions in
 *      completions/ (bash, zsh, fish), and format/JSON.md if it prints JSON.
 *
 * To add an option: one line in the command's table (or in a shared
 * table: tm_display_opts in display.c, tm_filter_opts in filters.c, when
 * every command showing reports should have it), with TM_OPT_FLAG,
 * TM_OPT_SET_INT, TM_OPT_STRING or TM_OPT_CALLBACK (opts.h).  A value
 * that needs checking gets a callback that parses it into the ctx and
 * returns -1 after tm_error() when it is bad.
 *
 * To print reports (a grouping compared with a previous one), use the
 * pipeline (pipeline.h: tm_load_grouped, tm_report_build), the renderers
 * (render.h) and a sink (sink.h); report.h includes them all.
 *
 * argv[0] is the command name; the return value is the exit status. */
#ifndef HEADER_commands
#define HEADER_commands

int cmd_top(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_filter(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_trend(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_completion(int argc, char **argv);

#endif
