# bash completion for tmtool(1): subcommands, options, option values and
# .tms files.  Installed as share/bash-completion/completions/tmtool.

_tmtool()
{
    local cur prev cmd i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -*) ;;
            *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done

    local common="--format --color --quiet -q --read-budget --no-verify --help -h"
    local filters="--include -i --exclude -x --include-traceback -I --exclude-traceback -X --only-mine --domain"
    local display="--group-by --cumulative --count -n --filename-parts --no-size --no-count --no-average --metrics --no-metrics"

    case $prev in
        --group-by) COMPREPLY=($(compgen -W "filename line function traceback address domain" -- "$cur")); return ;;
        --domain) COMPREPLY=($(compgen -W "python numpy native" -- "$cur")); return ;;
        --format)
            if [[ $cmd == export ]]; then
                COMPREPLY=($(compgen -W "pprof parquet" -- "$cur"))
            elif [[ $cmd == flame ]]; then
                COMPREPLY=($(compgen -W "html collapsed" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "text json csv" -- "$cur"))
            fi
            return ;;
        --rows) COMPREPLY=($(compgen -W "site trace" -- "$cur")); return ;;
        --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
        --pid)
            # this user's traced processes, as tmtool watch lists them
            COMPREPLY=($(compgen -W "$(tmtool watch --format csv 2>/dev/null | tail -n +2 | cut -d, -f1)" -- "$cur"))
            return ;;
        --sort) COMPREPLY=($(compgen -W "size growth count" -- "$cur")); return ;;
        --interval|--timeout) return ;;
        -o|--output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -n|--count|--filename-parts|--address|--fail-if-growth|--fail-if-site-growth|\
        --title|--steady|--read-budget|\
        -i|--include|-x|--exclude|-I|--include-traceback|-X|--exclude-traceback)
            return ;;
    esac

    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "top diff filter metrics export flame trend watch save completion help --version --help" -- "$cur"))
        return
    fi

    local opts
    case $cmd in
        top) opts="$display $filters $common --merge --address --peak --pid --timeout" ;;
        diff) opts="$display $filters $common --first --growth-only --fail-if-growth --fail-if-site-growth --pid --timeout" ;;
        watch) opts="$common --pid --timeout --interval -n --group-by --cumulative --sort"
            if [[ $cur != -* ]]; then
                COMPREPLY=($(compgen -d -- "$cur"))
                return
            fi ;;
        save) opts="$common --pid --timeout --output -o --stats-only" ;;
        filter) opts="$filters $common --output -o --drop-traces" ;;
        metrics) opts="$common" ;;
        export) opts="$filters --format --color --quiet -q --read-budget --no-verify --help -h --output -o --merge --rows" ;;
        flame) opts="$filters --format --color --quiet -q --read-budget --no-verify --help -h --output -o --peak --title --filename-parts" ;;
        trend) opts="$display $filters $common --steady --fail-if-growth --fail-if-site-growth --no-order" ;;
        help) COMPREPLY=($(compgen -W "top diff filter metrics export flame trend watch save completion" -- "$cur")); return ;;
        completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return ;;
        *) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    # .tms files and directories to descend into
    local IFS=$'\n'
    COMPREPLY=($(compgen -f -X '!*.tms' -- "$cur") $(compgen -d -- "$cur"))
}
complete -o filenames -F _tmtool tmtool
