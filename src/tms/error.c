/* error.c -- error codes to text, and the one way errors are recorded. */
#include <stdio.h>

#include "tms_private.h"

const char *tms_version(void)
{
    return TMS_LIB_VERSION_STRING;
}

const char *tms_strerror(int code)
{
    switch (code) {
    case TMS_OK: return "success";
    case TMS_E_IO: return "input/output error";
    case TMS_E_OPEN: return "cannot open file";
    case TMS_E_TRUNCATED: return "truncated file";
    case TMS_E_NOT_TMS: return "not a .tms file";
    case TMS_E_CORRUPT: return "corrupt file";
    case TMS_E_CHECKSUM: return "checksum mismatch";
    case TMS_E_DECOMPRESS: return "cannot decompress section";
    case TMS_E_VERSION: return "unsupported format version";
    case TMS_E_NOMEM: return "out of memory";
    case TMS_E_LIMIT: return "value exceeds a format limit";
    case TMS_E_BUDGET: return "file needs more than the read budget";
    case TMS_E_ARG: return "invalid argument";
    case TMS_E_STATE: return "call out of order";
    default: return "unknown error";
    }
}

int tms_fail(tms_error *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        err->sys_errno = 0;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
