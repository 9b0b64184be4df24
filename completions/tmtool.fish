# fish completion for tmtool(1): subcommands, options, values, .tms files.
set -l cmds top diff filter metrics export flame trend watch save completion help

complete -c tmtool -f
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a top -d 'Biggest allocation sites'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a diff -d 'What grew or shrank'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a filter -d 'Write a filtered copy'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a metrics -d 'Metrics of snapshots'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a export -d 'Write pprof or Parquet'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a flame -d 'Flame graph of live memory'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a trend -d 'Sites ranked by steady growth'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a watch -d 'Live view of a traced process or a directory'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a save -d 'Snapshot of a traced process to a file'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a completion -d 'Completion script of a shell'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -a help -d 'Help of a command'
complete -c tmtool -n "not __fish_seen_subcommand_from $cmds" -l version -d 'Show the version'
complete -c tmtool -n "__fish_seen_subcommand_from help" -a "top diff filter metrics export flame trend watch save completion"
complete -c tmtool -n "__fish_seen_subcommand_from completion" -a "bash zsh fish"

# .tms files (and directories to descend into) as operands, nothing else:
# __fish_complete_suffix would list every other file after them.
function __tmtool_tms_files
    for f in (__fish_complete_path (commandline -ct))
        string match -q -r -- '(\.tms|/)\t' $f; and echo $f
    end
end
complete -c tmtool -n "__fish_seen_subcommand_from top diff filter metrics export flame trend" -k -a "(__tmtool_tms_files)"

# every command
complete -c tmtool -n "__fish_seen_subcommand_from top diff filter metrics trend" -l format -x -a "text json csv" -d 'Output format'
complete -c tmtool -n "__fish_seen_subcommand_from top diff filter metrics export flame trend" -l color -x -a "auto always never" -d 'Colour'
complete -c tmtool -n "__fish_seen_subcommand_from top diff filter metrics export flame trend" -s q -l quiet -d 'No progress line'
complete -c tmtool -n "__fish_seen_subcommand_from top diff filter metrics export flame trend" -l read-budget -x -d 'What reading one file may cost (default 2GiB)'
complete -c tmtool -n "__fish_seen_subcommand_from top diff filter metrics export flame trend" -l no-verify -d 'Skip checksums of trace sections not read'
complete -c tmtool -n "__fish_seen_subcommand_from top diff filter metrics export flame trend" -s h -l help -d 'Show help'

# filters: top, diff, filter
set -l f "__fish_seen_subcommand_from top diff filter export flame trend"
complete -c tmtool -n $f -s i -l include -x -d 'Keep: most recent frame matches PATTERN[:LINENO]'
complete -c tmtool -n $f -s x -l exclude -x -d 'Drop: most recent frame matches'
complete -c tmtool -n $f -s I -l include-traceback -x -d 'Keep: any frame matches'
complete -c tmtool -n $f -s X -l exclude-traceback -x -d 'Drop: any frame matches'
complete -c tmtool -n $f -l only-mine -d 'Drop <frozen ...>, site-packages, stdlib'
complete -c tmtool -n $f -l domain -x -a "python numpy native" -d 'Keep one allocator domain (0, numpy 389047, native, or a number)'

# display: top, diff
set -l d "__fish_seen_subcommand_from top diff trend"
complete -c tmtool -n $d -l group-by -x -a "filename line function traceback address domain" -d 'Grouping key'
complete -c tmtool -n $d -l cumulative -d 'Count under every frame'
complete -c tmtool -n $d -s n -l count -x -d 'Entries shown'
complete -c tmtool -n $d -l filename-parts -x -d 'File name parts shown'
complete -c tmtool -n $d -l no-size -d 'Hide size'
complete -c tmtool -n $d -l no-count -d 'Hide count'
complete -c tmtool -n $d -l no-average -d 'Hide average'
complete -c tmtool -n $d -l metrics -d 'Show metrics'
complete -c tmtool -n $d -l no-metrics -d 'Hide metrics'

complete -c tmtool -n "__fish_seen_subcommand_from top" -l merge -d 'Add up files of one moment'
complete -c tmtool -n "__fish_seen_subcommand_from top" -l address -x -d 'Show one memory block'
complete -c tmtool -n "__fish_seen_subcommand_from top" -l peak -d 'Show memory at its peak'
complete -c tmtool -n "__fish_seen_subcommand_from diff" -l first -d 'Compare with the first file'
complete -c tmtool -n "__fish_seen_subcommand_from diff" -l fail-if-growth -x -d 'Fail if total grew more (10MiB, 5%)'
complete -c tmtool -n "__fish_seen_subcommand_from diff" -l growth-only -d 'Only sites that grew'
complete -c tmtool -n "__fish_seen_subcommand_from diff" -l fail-if-site-growth -x -d 'Fail if a site grew more'
complete -c tmtool -n "__fish_seen_subcommand_from filter" -s o -l output -r -F -d 'Output file'
complete -c tmtool -n "__fish_seen_subcommand_from filter" -l drop-traces -d 'Keep only statistics'
complete -c tmtool -n "__fish_seen_subcommand_from export" -l format -x -a "pprof parquet" -d 'Export format'
complete -c tmtool -n "__fish_seen_subcommand_from export" -s o -l output -r -F -d 'File (or directory for parquet)'
complete -c tmtool -n "__fish_seen_subcommand_from export" -l merge -d 'pprof: sum the files by stack'
complete -c tmtool -n "__fish_seen_subcommand_from export" -l rows -x -a "site trace" -d 'parquet: a row per site or trace'
complete -c tmtool -n "__fish_seen_subcommand_from flame" -l format -x -a "html collapsed" -d 'Page or folded stacks'
complete -c tmtool -n "__fish_seen_subcommand_from flame" -s o -l output -r -F -d 'Output file'
complete -c tmtool -n "__fish_seen_subcommand_from flame" -l peak -d 'Draw the memory at the peak'
complete -c tmtool -n "__fish_seen_subcommand_from flame" -l title -x -d 'Title of the page'
complete -c tmtool -n "__fish_seen_subcommand_from flame" -l filename-parts -x -d 'File name parts in labels'
complete -c tmtool -n "__fish_seen_subcommand_from trend" -l steady -x -d 'Share of intervals grown to count as steady (50%)'
complete -c tmtool -n "__fish_seen_subcommand_from trend" -l fail-if-growth -x -d 'Fail if total grew more (10MiB, 5%)'
complete -c tmtool -n "__fish_seen_subcommand_from trend" -l fail-if-site-growth -x -d 'Fail if a steady site grew more'
complete -c tmtool -n "__fish_seen_subcommand_from trend" -l no-order -d 'Files in the order given'

# live processes: top, diff, watch, save
function __tmtool_traced_pids
    tmtool watch --format csv 2>/dev/null | tail -n +2 | string replace -r '^(\d+),[^,]*,[^,]*,(.*)$' '$1\t$2'
end
complete -c tmtool -n "__fish_seen_subcommand_from top diff watch save" -l pid -x -a "(__tmtool_traced_pids)" -d 'A running traced process'
complete -c tmtool -n "__fish_seen_subcommand_from top diff watch save" -l timeout -x -d 'Seconds to wait for the process'
complete -c tmtool -n "__fish_seen_subcommand_from watch" -s n -l interval -x -d 'Seconds between refreshes'
complete -c tmtool -n "__fish_seen_subcommand_from watch" -l group-by -x -a "filename line traceback" -d 'Grouping key'
complete -c tmtool -n "__fish_seen_subcommand_from watch" -l cumulative -d 'Count under every frame'
complete -c tmtool -n "__fish_seen_subcommand_from watch" -l sort -x -a "size growth count" -d 'Row order'
complete -c tmtool -n "__fish_seen_subcommand_from watch" -a "(__fish_complete_directories)"
complete -c tmtool -n "__fish_seen_subcommand_from save" -s o -l output -r -F -d 'Output file'
complete -c tmtool -n "__fish_seen_subcommand_from save" -l stats-only -d 'Only per-line statistics'
complete -c tmtool -n "__fish_seen_subcommand_from watch save" -l format -x -a "text json csv" -d 'Output format'
complete -c tmtool -n "__fish_seen_subcommand_from watch save" -l color -x -a "auto always never" -d 'Colour'
complete -c tmtool -n "__fish_seen_subcommand_from watch save" -s h -l help -d 'Show help'
