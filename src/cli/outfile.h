/* outfile.h -- files tmtool writes that are not .tms (exports): written
 * whole and atomically, as libtms writes snapshots, so a reader never sees
 * half a profile and a failure leaves no debris. */
#ifndef HEADER_outfile
#define HEADER_outfile

#include <stddef.h>

/* Write buf to path atomically (libtms's tms_outfile: a 0600 temporary
 * beside path, fsync'd, renamed; removed on any failure).  "-" writes to
 * stdout.
 * Returns 0 or an exit code after reporting. */
int tm_outfile_write(const char *path, const void *buf, size_t len);

/* 1 if a and b name the same existing file, even under another name
 * (hard link, ./a vs a), else 0: what keeps a command from writing over
 * its own input. */
int tm_same_file(const char *a, const char *b);

/* 1 if path names the same existing file as any of inputs[0..n) (so an
 * export cannot overwrite its own input), else 0; "-" (stdout) is none. */
int tm_outfile_is_input(const char *path, char *const *inputs, size_t n);

#endif
