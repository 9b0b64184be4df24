/* test_tma_size.c -- size and threshold parsing, tracemalloc's size
 * format, filename shortening.  Expected format strings were produced by
 * CPython's tracemalloc._format_size (python3 -c "import tracemalloc;
 * print(tracemalloc._format_size(10240, False))") and written here by
 * hand; parse results are hand arithmetic (binary units). */
#include <string.h>

#include "check.h"
#include "tma.h"

static int parses(const char *text, uint64_t want)
{
    uint64_t v = 12345;
    tms_error err = {0, ""};
    return tma_size_parse(text, &v, &err) == 0 && v == want;
}

/* Fails with TMS_E_ARG, leaves *out alone, and says `why` in the message. */
static int rejects(const char *text, const char *why)
{
    uint64_t v = 777;
    tms_error err = {0, ""};
    int rc = tma_size_parse(text, &v, &err);
    return rc == TMS_E_ARG && err.code == TMS_E_ARG && v == 777 &&
           strstr(err.msg, why) != NULL;
}

static int message_is(const char *text, const char *want)
{
    uint64_t v;
    tms_error err;
    return tma_size_parse(text, &v, &err) == TMS_E_ARG &&
           strcmp(err.msg, want) == 0;
}

static void test_parse(void)
{
    CHECK("plain bytes", parses("123", 123));
    CHECK("zero", parses("0", 0));
    CHECK("k is 1024", parses("512k", 524288));
    CHECK("K is 1024", parses("1K", 1024));
    CHECK("KB is binary", parses("1KB", 1024));
    CHECK("kb lower case", parses("3kb", 3072));
    CHECK("KiB", parses("1KiB", 1024));
    CHECK("kib lower case", parses("2kib", 2048));
    CHECK("MiB", parses("10MiB", 10485760));
    CHECK("mb", parses("1mb", 1048576));
    CHECK("fractional G", parses("1.5G", 1610612736));
    CHECK("blank before unit", parses("2 GiB", 2147483648ULL));
    CHECK("T", parses("1t", 1099511627776ULL));
    CHECK("TiB", parses("3TiB", 3298534883328ULL));
    CHECK("B suffix", parses("1B", 1));
    CHECK("b suffix with blank", parses("7 b", 7));
    CHECK("surrounding blanks", parses("  7  ", 7));
    CHECK("fraction rounds down: 0.1k = 102.4", parses("0.1k", 102));
    CHECK("fraction 1.25k exact", parses("1.25k", 1280));
    CHECK("fraction of T exact: 0.5T", parses("0.5T", 549755813888ULL));
    CHECK("UINT64_MAX bytes", parses("18446744073709551615",
                                      18446744073709551615ULL));
    CHECK("largest whole T", parses("16777215T", 18446742974197923840ULL));
    CHECK("leading zeros", parses("007k", 7168));

    CHECK("unknown unit named", rejects("10XB", "unknown unit 'XB'"));
    CHECK("exact message for 10XB",
          message_is("10XB", "invalid size '10XB': unknown unit 'XB'"));
    CHECK("empty", rejects("", "empty"));
    CHECK("blanks only", rejects("   ", "empty"));
    CHECK("negative", rejects("-1", "negative"));
    CHECK("negative with unit", rejects("-5MiB", "negative"));
    CHECK("plus sign is junk", rejects("+1", "expected a number"));
    CHECK("letters", rejects("abc", "expected a number"));
    CHECK("leading dot", rejects(".5k", "expected a number"));
    CHECK("dot without digits", rejects("1.k", "expected a number"));
    CHECK("junk after unit", rejects("1k5", "unknown unit 'k5'"));
    CHECK("P is not a unit", rejects("1P", "unknown unit 'P'"));
    CHECK("iB alone is not a unit", rejects("1iB", "unknown unit"));
    CHECK("fractional bytes", rejects("1.5", "fractional"));
    CHECK("fractional B", rejects("1.5B", "fractional"));
    CHECK("overflow in digits", rejects("18446744073709551616", "too large"));
    CHECK("overflow by unit", rejects("16777216T", "too large"));
    CHECK("overflow by fraction", rejects("18446744073709551615.5k",
                                          "too large"));
    CHECK("two numbers", rejects("1 2", "unknown unit '2'"));
    uint64_t v;
    CHECK("NULL text", tma_size_parse(NULL, &v, NULL) == TMS_E_ARG);
    CHECK("NULL err is fine", tma_size_parse("x", &v, NULL) == TMS_E_ARG);
}

static void test_threshold(void)
{
    tma_threshold t;
    tms_error err;
    CHECK("5%", tma_threshold_parse("5%", &t, &err) == 0 && t.is_percent &&
                    t.percent == 5.0);
    CHECK("2.5%", tma_threshold_parse("2.5%", &t, &err) == 0 &&
                      t.is_percent && t.percent == 2.5);
    CHECK("blank before %", tma_threshold_parse("5 %", &t, &err) == 0 &&
                                t.is_percent && t.percent == 5.0);
    CHECK("size threshold", tma_threshold_parse("10MiB", &t, &err) == 0 &&
                                !t.is_percent && t.bytes == 10485760);
    CHECK("% alone", tma_threshold_parse("%", &t, &err) == TMS_E_ARG);
    CHECK("negative %", tma_threshold_parse("-5%", &t, &err) == TMS_E_ARG &&
                            strstr(err.msg, "negative") != NULL);
    CHECK("junk %", tma_threshold_parse("x%", &t, &err) == TMS_E_ARG);
    CHECK("double %", tma_threshold_parse("5%%", &t, &err) == TMS_E_ARG);
    CHECK("size error passes through",
          tma_threshold_parse("10XB", &t, &err) == TMS_E_ARG &&
              strstr(err.msg, "unknown unit 'XB'") != NULL);

    tma_threshold b = {0, 100, 0.0};
    CHECK("bytes: growth equal to threshold is not a breach",
          tma_threshold_breached(&b, 1000, 1100) == 0);
    CHECK("bytes: one more is", tma_threshold_breached(&b, 1000, 1101) == 1);
    CHECK("bytes: shrink never", tma_threshold_breached(&b, 5000, 1) == 0);
    tma_threshold z = {0, 0, 0.0};
    CHECK("bytes 0: any growth", tma_threshold_breached(&z, 10, 11) == 1);
    CHECK("bytes 0: no growth", tma_threshold_breached(&z, 10, 10) == 0);
    tma_threshold p = {1, 0, 10.0};
    CHECK("10%: exactly 10% is not", tma_threshold_breached(&p, 1000, 1100) == 0);
    CHECK("10%: just more is", tma_threshold_breached(&p, 1000, 1101) == 1);
    CHECK("10%: from 0 to 1", tma_threshold_breached(&p, 0, 1) == 1);
    CHECK("10%: from 0 to 0", tma_threshold_breached(&p, 0, 0) == 0);
    CHECK("10%: shrink", tma_threshold_breached(&p, 1000, 10) == 0);
    tma_threshold q = {1, 0, 2.5};
    CHECK("2.5% of 1000 is 25: 1025 no", tma_threshold_breached(&q, 1000, 1025) == 0);
    CHECK("2.5%: 1026 yes", tma_threshold_breached(&q, 1000, 1026) == 1);
    CHECK("huge sizes stay exact",
          tma_threshold_breached(&p, 10000000000000000000ULL,
                                 11000000000000000000ULL) == 0 &&
              tma_threshold_breached(&p, 10000000000000000000ULL,
                                     11000000000000000001ULL) == 1);
}

static int fmt_is(int64_t bytes, int sign, const char *want)
{
    char buf[64];
    int n = tma_size_format(buf, sizeof buf, bytes, sign);
    return n == (int)strlen(want) && strcmp(buf, want) == 0;
}

static void test_format(void)
{
    /* (value, python3 tracemalloc._format_size(value, False / True)) */
    CHECK("0", fmt_is(0, 0, "0 B") && fmt_is(0, 1, "+0 B"));
    CHECK("1", fmt_is(1, 0, "1 B") && fmt_is(1, 1, "+1 B"));
    CHECK("99 stays B", fmt_is(99, 0, "99 B"));
    CHECK("512", fmt_is(512, 0, "512 B") && fmt_is(512, 1, "+512 B"));
    CHECK("1024 still B", fmt_is(1024, 0, "1024 B"));
    CHECK("10239 last B", fmt_is(10239, 0, "10239 B") &&
                              fmt_is(10239, 1, "+10239 B"));
    CHECK("10240 first KiB", fmt_is(10240, 0, "10.0 KiB") &&
                                 fmt_is(10240, 1, "+10.0 KiB"));
    CHECK("10752", fmt_is(10752, 0, "10.5 KiB"));
    CHECK("12595", fmt_is(12595, 0, "12.3 KiB") && fmt_is(12595, 1, "+12.3 KiB"));
    CHECK("51200", fmt_is(51200, 0, "50.0 KiB"));
    CHECK("102399 rounds to 100.0", fmt_is(102399, 0, "100.0 KiB"));
    CHECK("102400", fmt_is(102400, 0, "100 KiB") && fmt_is(102400, 1, "+100 KiB"));
    CHECK("1048575", fmt_is(1048575, 0, "1024 KiB"));
    CHECK("1048576", fmt_is(1048576, 0, "1024 KiB"));
    CHECK("10485759", fmt_is(10485759, 0, "10240 KiB"));
    CHECK("10485760", fmt_is(10485760, 0, "10.0 MiB") &&
                          fmt_is(10485760, 1, "+10.0 MiB"));
    CHECK("1.5 GiB", fmt_is(1610612736, 0, "1536 MiB"));
    CHECK("5 TiB", fmt_is(5497558138880LL, 0, "5120 GiB"));
    CHECK("10240 TiB", fmt_is(11258999068426245LL, 0, "10240 TiB"));
    CHECK("INT64_MAX", fmt_is(INT64_MAX, 0, "8388608 TiB") &&
                           fmt_is(INT64_MAX, 1, "+8388608 TiB"));
    CHECK("-1", fmt_is(-1, 0, "-1 B") && fmt_is(-1, 1, "-1 B"));
    CHECK("-512", fmt_is(-512, 0, "-512 B") && fmt_is(-512, 1, "-512 B"));
    CHECK("-10240", fmt_is(-10240, 0, "-10.0 KiB") && fmt_is(-10240, 1, "-10.0 KiB"));
    CHECK("-102400", fmt_is(-102400, 0, "-100 KiB") && fmt_is(-102400, 1, "-100 KiB"));

    char small[4];
    int n = tma_size_format(small, sizeof small, 10240, 0);
    CHECK("truncates like snprintf, returns full length",
          n == 8 && strcmp(small, "10.") == 0);
}

static int fname_is(const char *name, int parts, const char *want)
{
    char buf[128];
    int n = tma_filename_format(buf, sizeof buf, name, parts);
    return n == (int)strlen(want) && strcmp(buf, want) == 0;
}

static void test_filename(void)
{
    CHECK("last 3 of 5 parts", fname_is("/a/b/c/d.py", 3, ".../b/c/d.py"));
    CHECK("parts 0 keeps whole", fname_is("/a/b/c/d.py", 0, "/a/b/c/d.py"));
    CHECK("negative parts keeps whole", fname_is("/a/b/c/d.py", -2, "/a/b/c/d.py"));
    CHECK("unknown", fname_is(NULL, 3, "???"));
    CHECK("empty is unknown too", fname_is("", 3, "???"));
    CHECK("basename only", fname_is("d.py", 1, "d.py"));
    CHECK("root file with 1 part", fname_is("/b.py", 1, ".../b.py"));
    CHECK("root file with 2 parts", fname_is("/b.py", 2, "/b.py"));
    CHECK("exactly parts components", fname_is("a/b/c", 3, "a/b/c"));
    CHECK("relative, 2 of 3", fname_is("a/b/c", 2, ".../b/c"));
    CHECK("1 part of many", fname_is("/usr/lib/python3/x.py", 1, ".../x.py"));
    char buf[5];
    CHECK("truncation returns full length",
          tma_filename_format(buf, sizeof buf, "/a/b/c/d.py", 1) == 8 &&
              strcmp(buf, ".../") == 0);
}

int main(void)
{
    test_parse();
    test_threshold();
    test_format();
    test_filename();
    return check_report("tma_size");
}
