/* test_tms_codec.c -- the format's building blocks against hand-computed
 * values: varints (SPEC §1.2), zigzag, CRC-32 check value, trace sort. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"

static int enc(uint64_t v, const char *expect, size_t n)
{
    uint8_t b[10];
    size_t k = (size_t)(tms_put_varint(b, v) - b);
    return k == n && memcmp(b, expect, n) == 0;
}

static int dec(const char *in, size_t n, uint64_t *v)
{
    const uint8_t *p = (const uint8_t *)in;
    return tms_get_varint(&p, p + n, v) == 0 && p == (const uint8_t *)in + n;
}

static void test_varint(void)
{
    uint64_t v;
    CHECK("0 is 00", enc(0, "\x00", 1));
    CHECK("127 is 7f", enc(127, "\x7f", 1));
    CHECK("128 is 80 01", enc(128, "\x80\x01", 2));
    CHECK("300 is ac 02", enc(300, "\xac\x02", 2));
    CHECK("2^64-1 is ten bytes ending 01",
          enc(UINT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10));
    CHECK("decode 300", dec("\xac\x02", 2, &v) && v == 300);
    CHECK("decode 2^64-1",
          dec("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, &v) && v == UINT64_MAX);
    CHECK("80 00 is overlong", !dec("\x80\x00", 2, &v));
    CHECK("10th byte 02 overflows",
          !dec("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, &v));
    CHECK("11 bytes are too long",
          !dec("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11, &v));
    CHECK("a dangling continuation is rejected", !dec("\x80", 1, &v));
    CHECK("zigzag 0,-1,1,-2", tms_zigzag(0) == 0 && tms_zigzag(-1) == 1 &&
          tms_zigzag(1) == 2 && tms_zigzag(-2) == 3);
    CHECK("zigzag extremes", tms_zigzag(INT64_MAX) == UINT64_MAX - 1 &&
          tms_zigzag(INT64_MIN) == UINT64_MAX);
    CHECK("unzigzag inverts", tms_unzigzag(UINT64_MAX) == INT64_MIN &&
          tms_unzigzag(3) == -2);
}

static void test_crc(void)
{
    CHECK("CRC-32 check value", tms_crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK("CRC-32 of nothing is 0", tms_crc32(0, "", 0) == 0);
    CHECK("CRC-32 continues across calls",
          tms_crc32(tms_crc32(0, "12345", 5), "6789", 4) == 0xCBF43926u);
}

static void test_sort(void)
{
    enum { N = 100000 };
    tms_trace *t = malloc(N * sizeof *t), *tmp = malloc(N * sizeof *tmp);
    uint64_t x = 88172645463325252ULL, sum = 0, sum2 = 0;
    for (uint32_t i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t[i].address = (i & 1) ? x : 0x7f0000000000ULL + (x & 0xffff0);
        t[i].size = i;
        t[i].traceback = i;
        sum += t[i].address ^ i;
    }
    const tms_trace *r = tms_sort_traces(t, tmp, N);   /* t or tmp */
    int ok = r == t || r == tmp;
    for (uint32_t i = 0; ok && i < N; i++) {
        ok &= i == 0 || r[i - 1].address <= r[i].address;
        ok &= r[i].size == r[i].traceback;
        sum2 += r[i].address ^ r[i].size;
    }
    CHECK("radix sort orders by address", ok);
    CHECK("radix sort keeps each trace whole", sum == sum2);
    /* the sample sort: enough traces for 8 buckets, a skewed heap (half
     * of them packed into one small range) */
    enum { M = 400000 };
    tms_trace *u = malloc(M * sizeof *u), *v = malloc(M * sizeof *v);
    sum = sum2 = 0;
    for (uint32_t i = 0; i < M; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        u[i].address = (i & 1) ? (x & ~0xfULL) : 0x7f0000000000ULL + 16ULL * i;
        u[i].size = u[i].address * 3;
        u[i].traceback = i;
        sum += u[i].address;
    }
    CHECK("sample sort succeeds", tms_sort_traces_copy(u, v, M) == 0);
    ok = 1;
    for (uint32_t i = 0; i < M; i++) {
        ok &= i == 0 || v[i - 1].address <= v[i].address;
        ok &= v[i].size == v[i].address * 3;
        sum2 += v[i].address;
    }
    CHECK("sample sort orders a skewed heap", ok);
    CHECK("sample sort keeps every trace", sum == sum2);
    free(u);
    free(v);
    free(t);
    free(tmp);
}

/* tms_escape against expectations written from its contract. */
static int esc_is(const char *in, size_t n, const char *want)
{
    char buf[256];
    size_t need = tms_escape(buf, sizeof buf, in, n);
    return need == strlen(want) && strcmp(buf, want) == 0;
}

static void test_escape(void)
{
    CHECK("plain ASCII unchanged", esc_is("/srv/app.py", 11, "/srv/app.py"));
    CHECK("valid UTF-8 unchanged", esc_is("caf\xc3\xa9", 5, "caf\xc3\xa9"));
    CHECK("backslash unchanged", esc_is("a\\x1b", 5, "a\\x1b"));
    CHECK("ESC and BEL as \\x", esc_is("\x1b]0;t\x07", 6, "\\x1b]0;t\\x07"));
    CHECK("newline, tab, CR by name", esc_is("a\nb\tc\r", 6, "a\\nb\\tc\\r"));
    CHECK("NUL and DEL", esc_is("\0\x7f", 2, "\\x00\\x7f"));
    CHECK("invalid byte as \\x", esc_is("caf\xe9", 4, "caf\\xe9"));
    CHECK("C1 CSI as \\u", esc_is("\xc2\x9b", 2, "\\u009b"));
    CHECK("RLO as \\u", esc_is("\xe2\x80\xae", 3, "\\u202e"));
    CHECK("overlong '/' is invalid", esc_is("\xc0\xaf", 2, "\\xc0\\xaf"));
    CHECK("surrogate is invalid", esc_is("\xed\xa0\x80", 3, "\\xed\\xa0\\x80"));
    CHECK("cut sequence is invalid", esc_is("\xe2\x82", 2, "\\xe2\\x82"));
    CHECK("4-byte emoji unchanged", esc_is("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"));
    char once[64], twice[64];
    tms_escape(once, sizeof once, "\x1b[2J\xff", 5);
    tms_escape(twice, sizeof twice, once, strlen(once));
    CHECK("escaping twice changes nothing", strcmp(once, twice) == 0);
    char small[6];
    size_t need = tms_escape(small, sizeof small, "ab\x1b" "cd", 5);
    CHECK("needed length reported", need == 8);
    CHECK("no escape cut in half", strcmp(small, "ab") == 0);
    CHECK("cap 0 only counts", tms_escape(NULL, 0, "\n", 1) == 2);
}

int main(void)
{
    test_escape();
    test_varint();
    test_crc();
    test_sort();
    return check_report("tms_codec");
}
