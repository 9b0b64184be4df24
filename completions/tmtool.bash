# bash completion for tmtool (placeholder)
