/* cmd_completion.c -- `tmtool completion bash|zsh|fish`: print the shell
 * completion script, so that it is reachable however tmtool was installed
 * (`pip install` puts no file where shells look).  The scripts are the
 * files of completions/, carried inside tmtool (embed.py). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "exitcodes.h"
#include "opts.h"
#include "output.h"

extern const char tm_completion_bash[], tm_completion_zsh[], tm_completion_fish[];
extern const size_t tm_completion_bash_len, tm_completion_zsh_len,
    tm_completion_fish_len;

static const struct shell {
    const char *name;
    const char *script;
    const size_t *len;
} shells[] = {
    { "bash", tm_completion_bash, &tm_completion_bash_len },
    { "zsh", tm_completion_zsh, &tm_completion_zsh_len },
    { "fish", tm_completion_fish, &tm_completion_fish_len },
};

static const tm_command completion_command = {
    .name = "completion",
    .usage = "tmtool completion bash|zsh|fish",
    .description =
        "Print the completion script for a shell.  Load it in the current\n"
        "shell, or install it where the shell looks for completions:\n"
        "  bash: source <(tmtool completion bash)\n"
        "        or tmtool completion bash > ~/.local/share/bash-completion/completions/tmtool\n"
        "  zsh:  tmtool completion zsh > \"${fpath[1]}/_tmtool\"\n"
        "  fish: tmtool completion fish > ~/.config/fish/completions/tmtool.fish",
    .min_files = 1,
    .max_files = 1,
    .files_needed = "one shell: bash, zsh or fish",
};

int cmd_completion(int argc, char **argv)
{
    static const tm_opt_group groups[] = { { NULL, NULL, NULL } };
    tm_args a;
    int rc = tm_parse_command(&completion_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        return rc;
    for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++) {
        if (strcmp(a.files[0], shells[i].name) == 0) {
            fwrite(shells[i].script, 1, *shells[i].len, stdout);
            return TM_EXIT_OK;
        }
    }
    tm_error("unknown shell '%s' (expected bash, zsh or fish)", a.files[0]);
    return TM_EXIT_USAGE;
}
