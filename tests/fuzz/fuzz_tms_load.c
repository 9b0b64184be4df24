/* fuzz_tms_load.c -- libFuzzer target: any input either loads or fails
 * with a tms_status, without crashing, leaking or over-allocating; what
 * loads must re-encode and load again to the same tables.
 *
 * Built by meson with -Dfuzz=true and clang; tests/fuzz/run.sh builds it
 * beside fuzz_cli_read (tmtool's whole read path) and runs both, seeded
 * with format/vectors/ (`make check` runs 30 s of each):
 *   sh tests/fuzz/run.sh 600
 * The build defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which makes
 * the reader ignore CRC mismatches, so mutations reach the payload
 * parsers. */
#include <stdlib.h>

#include "tms.h"
#include "tms_testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tms_snapshot *s = NULL, *t = NULL;
    tms_error err;
    int rc = tms_snapshot_load_buffer(data, size, "fuzz", 0, &s, &err);
    if (rc > 0 || (rc == 0) != (s != NULL))
        abort();
    if (rc == 0) {
        void *buf;
        size_t len;
        /* A repeat address across chunks is allowed to load (SPEC §4.5)
         * but the writer refuses it: TMS_E_ARG is the one acceptable
         * failure. */
        rc = tms_snapshot_save_buffer(s, &buf, &len, &err);
        if (rc != 0 && rc != TMS_E_ARG)
            abort();
        if (rc == 0 &&
            (tms_snapshot_load_buffer(buf, len, "again", 0, &t, &err) != 0 ||
             !tu_same(s, t)))
            abort();
        if (rc == 0)
            free(buf);
    }
    tms_snapshot_free(t);
    tms_snapshot_free(s);
    return 0;
}
