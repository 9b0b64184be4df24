/* outfile.c -- atomic output for files that are not .tms (tmtool flame's
 * HTML, folded stacks): the same create-beside-then-rename as the .tms
 * writer (atomic.c), so every file the project writes follows one rule. */
#include <stdlib.h>
#include <string.h>

#include "tms_private.h"

struct tms_outfile {
    char *path;
    char *tmp;
    int fd;
};

int tms_outfile_open(tms_outfile **out, const char *path, tms_error *err)
{
    TMS_RETURN_IF(out == NULL || path == NULL || path[0] == '\0', err,
                  TMS_E_ARG, "cannot write: no file name");
    *out = NULL;
    tms_outfile *o = calloc(1, sizeof *o);
    char *p = o != NULL ? strdup(path) : NULL;
    if (p == NULL) {
        free(o);
        return tms_fail(err, TMS_E_NOMEM, "cannot write '%s': out of memory",
                        path);
    }
    o->path = p;
    o->fd = -1;
    int rc = tms_atomic_create(path, &o->tmp, &o->fd, err);
    if (rc < 0) {
        free(o->path);
        free(o);
        return rc;
    }
    *out = o;
    return TMS_OK;
}

int tms_outfile_fd(const tms_outfile *o)
{
    return o != NULL ? o->fd : -1;
}

int tms_outfile_commit(tms_outfile *o, tms_error *err)
{
    TMS_RETURN_IF(o == NULL, err, TMS_E_ARG, "cannot write: no file");
    int rc = tms_atomic_commit(o->path, o->tmp, o->fd,
                               tms_atomic_shared_mode(), err);
    free(o->tmp);
    free(o->path);
    free(o);
    return rc;
}

void tms_outfile_abort(tms_outfile *o)
{
    if (o == NULL)
        return;
    tms_atomic_discard(o->tmp, o->fd);
    free(o->tmp);
    free(o->path);
    free(o);
}
