/* exitcodes.h -- tmtool's exit statuses, the one list (documented in
 * `tmtool --help` and tmtool(1)).  Commands return one of these; nothing
 * calls exit() except main(). */
#ifndef HEADER_exitcodes
#define HEADER_exitcodes

typedef enum {
    TM_EXIT_OK = 0,        /* success */
    TM_EXIT_BREACHED = 1,  /* a --fail-if-* threshold was breached */
    TM_EXIT_USAGE = 2,     /* bad command line: option, value, address */
    TM_EXIT_BADFILE = 3,   /* missing, unreadable, corrupt or unwritable file */
    TM_EXIT_VERSION = 4,   /* written by a newer major format version */
} tm_exit;

#endif
