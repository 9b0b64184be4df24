/* fmt_util.h -- small helpers shared by the format conformance programs
 * (check_vectors.c, tms_cross.c). */
#ifndef FMT_UTIL_H
#define FMT_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "tms.h"

/* The tms_status name the vectors' JSON uses ("TMS_E_CORRUPT"). */
static inline const char *fmt_code_name(int code)
{
    switch (code) {
    case TMS_OK: return "TMS_OK";
    case TMS_E_IO: return "TMS_E_IO";
    case TMS_E_OPEN: return "TMS_E_OPEN";
    case TMS_E_TRUNCATED: return "TMS_E_TRUNCATED";
    case TMS_E_NOT_TMS: return "TMS_E_NOT_TMS";
    case TMS_E_CORRUPT: return "TMS_E_CORRUPT";
    case TMS_E_CHECKSUM: return "TMS_E_CHECKSUM";
    case TMS_E_DECOMPRESS: return "TMS_E_DECOMPRESS";
    case TMS_E_VERSION: return "TMS_E_VERSION";
    case TMS_E_NOMEM: return "TMS_E_NOMEM";
    case TMS_E_LIMIT: return "TMS_E_LIMIT";
    case TMS_E_ARG: return "TMS_E_ARG";
    case TMS_E_STATE: return "TMS_E_STATE";
    }
    return "TMS_E_UNKNOWN";
}

/* Whole file into a malloc'd buffer (+1 byte, NUL, for text); 0 or -1. */
static inline int fmt_read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0, got;
    char *b = malloc(cap);
    if (!f || !b) {
        if (f)
            fclose(f);
        free(b);
        return -1;
    }
    while ((got = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                fclose(f);
                return -1;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

#endif
