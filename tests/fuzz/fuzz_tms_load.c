/* fuzz_tms_load.c -- libFuzzer target: any input either loads or fails
 * with a tms_status, without crashing, leaking or over-allocating; what
 * loads must re-encode and load again to the same tables.
 *
 * Not part of the build or of `make check`.  From the repository root:
 *   clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *     -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
 *     -Isrc/tms/include -Isrc/tms -Isrc/common -Itests/c tests/fuzz/fuzz_tms_load.c \
 *     src/tms/[a-z]*.c -lzstd -lpthread -o /tmp/fuzz_tms_load
 *   /tmp/fuzz_tms_load -max_len=65536 -rss_limit_mb=512 corpus/
 * Seed the corpus with format/vectors/ and a few tms_snapshot_save_buffer
 * outputs.  FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION makes the reader
 * ignore CRC mismatches, so mutations reach the payload parsers. */
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
