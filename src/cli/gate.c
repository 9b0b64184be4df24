/* gate.c -- CI threshold options (gate.h). */
#include "gate.h"

#include "output.h"

int tm_gate_parse(tm_gate *g, const char *option, const char *arg)
{
    tms_error err = { 0 };
    g->option = option;
    g->text = arg;
    if (tma_threshold_parse(arg, &g->t, &err) < 0) {
        tm_error("bad value '%s' for --%s: %s", arg, option, err.msg[0]
                 ? err.msg : "expected a size (10MiB) or a percentage (5%)");
        return -1;
    }
    g->set = 1;
    return 0;
}

int tm_gate_breached(const tm_gate *g, uint64_t old_size, uint64_t new_size)
{
    if (!g->set)
        return 0;
    /* a parsed threshold cannot fail the check; say so if it ever does */
    int b = tma_threshold_breached(&g->t, old_size, new_size);
    if (b < 0) {
        tm_error("cannot check --%s %s", g->option, g->text);
        return 0;
    }
    return b;
}
