/* error.c -- the one place libtma fills a tms_error. */
#include <stdarg.h>
#include <stdio.h>

#include "tma_internal.h"

int tma_fail(tms_error *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
