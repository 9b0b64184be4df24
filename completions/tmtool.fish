# fish completion for tmtool (placeholder)
