/* check.h -- one named check per behaviour (redis's test_cond idea).
 *   CHECK("what it checks", expr);   ... return check_report("suite");
 * Failures print file:line and the name; the exit status is the count. */
#ifndef TMS_CHECK_H
#define TMS_CHECK_H

#include <stdio.h>

static int check_failed_, check_passed_;

#define CHECK(name, expr)                                                    \
    do {                                                                     \
        if (expr) {                                                          \
            check_passed_++;                                                 \
        } else {                                                             \
            check_failed_++;                                                 \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, name);   \
        }                                                                    \
    } while (0)

static inline int check_report(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, check_passed_, check_failed_);
    return check_failed_ ? 1 : 0;
}

#endif
