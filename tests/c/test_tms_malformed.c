/* test_tms_malformed.c -- every class of bad input gets its own code
 * (format/SPEC.md §3.3, §6), never a crash and never TMS_OK.  Files are
 * built byte by byte here with a bitwise CRC, independently of libtms's
 * writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "check.h"
#include "tms_testutil.h"

/* --- a hand encoder ------------------------------------------------------ */
typedef struct fb {
    uint8_t b[4096];
    size_t n;
    uint64_t off[32];
    char tag[32][4];
    int nsec;
} fb;

static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void put(fb *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}
static void le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void preamble(fb *f, uint16_t major, uint16_t minor)
{
    static const uint8_t magic[8] = { 0x89, 'T', 'M', 'S', 13, 10, 26, 10 };
    uint8_t v[4];
    memset(f, 0, sizeof *f);
    put(f, magic, 8);
    le(v, major, 2);
    le(v + 2, minor, 2);
    put(f, v, 4);
}

static void section_x(fb *f, const char *tag, uint32_t flags, uint32_t raw,
                      const void *stored, uint32_t slen)
{
    uint8_t h[20];
    memcpy(h, tag, 4);
    le(h + 4, flags, 4);
    le(h + 8, raw, 4);
    le(h + 12, slen, 4);
    le(h + 16, crc_bitwise(crc_bitwise(0, h, 16), stored, slen), 4);
    f->off[f->nsec] = f->n;
    memcpy(f->tag[f->nsec++], tag, 4);
    put(f, h, 20);
    put(f, stored, slen);
}

static void section(fb *f, const char *tag, const void *p, size_t n)
{
    section_x(f, tag, 0, (uint32_t)n, p, (uint32_t)n);
}

static const uint8_t HEAD40[] = {
    1, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,  1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0,
    1, '3', 1, 'w', 1, '1' };

static void head(fb *f)
{
    section(f, "HEAD", HEAD40, sizeof HEAD40);
}

static void finish(fb *f)
{
    uint8_t p[512], *q = p;
    *q++ = (uint8_t)f->nsec;                 /* < 128 sections here */
    for (int i = 0; i < f->nsec; i++) {
        memcpy(q, f->tag[i], 4);
        q += 4;
        uint64_t v = f->off[i];
        while (v >= 0x80) {
            *q++ = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        *q++ = (uint8_t)v;
    }
    uint64_t end = f->n;
    section(f, "END ", p, (size_t)(q - p));
    uint8_t foot[16] = { 0 };
    le(foot, end, 8);
    memcpy(foot + 8, "\x89TMSEND\n", 8);
    put(f, foot, 16);
}

static int load(const void *b, size_t n, tms_error *err)
{
    tms_snapshot *s = NULL;
    tms_error local;
    int rc = tms_snapshot_load_buffer(b, n, "t.tms", 0, &s, err ? err : &local);
    tms_snapshot_free(s);
    return rc;
}

/* A file with HEAD, the given section, and END. */
static int load_one(const char *tag, const void *p, size_t n)
{
    fb f;
    preamble(&f, 1, 0);
    head(&f);
    section(&f, tag, p, n);
    finish(&f);
    return load(f.b, f.n, NULL);
}

/* --- tests --------------------------------------------------------------- */
static void test_hand_file_ok(void)
{
    fb f;
    preamble(&f, 1, 0);
    head(&f);
    section(&f, "STRS", "\x02\x01" "a\x01" "b", 5);
    section(&f, "FRMS", "\x01\x02\x08", 3);       /* ("b", 7) */
    section(&f, "TBKS", "\x02\x01\x00\x00", 4);   /* [f0], [] */
    /* 2 traces, shift 4: 0x100, 0x130; sizes 5, 300; tracebacks 1, 0 */
    section(&f, "TRCS", "\x02\x04\x10\x03\x05\xac\x02\x01\x00", 9);
    finish(&f);
    tms_snapshot *s = NULL;
    tms_error err;
    CHECK("hand-built file loads", tms_snapshot_load_buffer(f.b, f.n, "h", 0,
                                                            &s, &err) == 0);
    CHECK("hand-built file decodes as written", s && s->nstrings == 2 &&
          s->frames[0].filename == 1 && s->frames[0].lineno == 7 &&
          s->ntraces == 2 && s->traces[0].address == 0x100 &&
          s->traces[1].address == 0x130 && s->traces[1].size == 300 &&
          s->traces[0].traceback == 1 && tms_traceback_len(s, 1) == 0);
    tms_snapshot_free(s);
}

static void test_truncation(void)
{
    tms_snapshot *s = tu_sample();
    void *buf;
    size_t len, bad = 0, first = 0;
    tms_snapshot_save_buffer(s, &buf, &len, NULL);
    for (size_t cut = 0; cut < len; cut++) {
        int rc = load(buf, cut, NULL);
        if (rc != TMS_E_TRUNCATED && bad++ == 0)
            first = cut;
    }
    if (bad)
        fprintf(stderr, "truncation: %zu cuts not TRUNCATED, first at %zu\n",
                bad, first);
    CHECK("every cut of the sample file is TRUNCATED", bad == 0);
    CHECK("the whole file loads", load(buf, len, NULL) == 0);
    free(buf);
    tms_snapshot_free(s);
}

static void test_flips(void)
{
    tms_snapshot *s = tu_sample();
    uint8_t *buf;
    size_t len;
    int sections = 0, bad = 0;
    tms_snapshot_save_buffer(s, (void **)&buf, &len, NULL);
    /* walk the frames: 12-byte preamble, 20-byte headers, 16-byte footer */
    for (size_t at = 12; at + 20 <= len - 16; sections++) {
        uint32_t slen = (uint32_t)buf[at + 12] | (uint32_t)buf[at + 13] << 8 |
                        (uint32_t)buf[at + 14] << 16 | (uint32_t)buf[at + 15] << 24;
        size_t probes[3] = { at + 20, at + 20 + slen / 2, at + 20 + slen - 1 };
        for (int k = 0; k < 3; k++) {
            buf[probes[k]] ^= 0x20;
            if (load(buf, len, NULL) != TMS_E_CHECKSUM)
                bad++;
            buf[probes[k]] ^= 0x20;
        }
        buf[at] ^= 0x01;   /* the tag is covered too: never silently OK */
        if (load(buf, len, NULL) == 0)
            bad++;
        buf[at] ^= 0x01;
        at += 20 + slen;
    }
    CHECK("sample has all its sections", sections == 9);
    CHECK("a flipped payload byte in every section is CHECKSUM", bad == 0);
    free(buf);
    tms_snapshot_free(s);
}

static void test_preamble(void)
{
    tms_error err;
    fb f;
    CHECK("empty input is TRUNCATED", load("", 0, NULL) == TMS_E_TRUNCATED);
    CHECK("short text is NOT_TMS", load("hello", 5, NULL) == TMS_E_NOT_TMS);
    CHECK("text-mode mangled magic is NOT_TMS",
          load("\x89TMS\n\x1a\n\x01\x00\x00\x00", 11, NULL) == TMS_E_NOT_TMS);
    preamble(&f, 2, 0);
    head(&f);
    finish(&f);
    CHECK("newer major is VERSION", load(f.b, f.n, &err) == TMS_E_VERSION);
    CHECK("VERSION message names both versions",
          strstr(err.msg, "2.0") && strstr(err.msg, "1.x"));
    preamble(&f, 1, 3);
    uint8_t head_plus[sizeof HEAD40 + 5];
    memcpy(head_plus, HEAD40, sizeof HEAD40);
    memcpy(head_plus + sizeof HEAD40, "later", 5);   /* a 1.3 HEAD field */
    section(&f, "HEAD", head_plus, sizeof head_plus);
    section(&f, "XTRA", "future stuff", 12);
    section_x(&f, "ZZZZ", 0xff, 1u << 30, "x", 1);   /* odd but unknown */
    section(&f, "STRS", "\x01\x01" "a", 3);
    finish(&f);
    tms_snapshot *s = NULL;
    CHECK("newer minor with unknown sections reads fine",
          tms_snapshot_load_buffer(f.b, f.n, "m", 0, &s, &err) == 0 &&
          s->header.format_minor == 3 && s->nstrings == 1 &&
          strcmp(s->header.writer_name, "w") == 0);
    tms_snapshot_free(s);
}

static void test_structure(void)
{
    fb f;
    preamble(&f, 1, 0);
    section(&f, "STRS", "\x00", 1);
    head(&f);
    finish(&f);
    CHECK("HEAD not first is CORRUPT", load(f.b, f.n, NULL) == TMS_E_CORRUPT);
    preamble(&f, 1, 0);
    head(&f);
    head(&f);
    finish(&f);
    CHECK("second HEAD is CORRUPT", load(f.b, f.n, NULL) == TMS_E_CORRUPT);
    preamble(&f, 1, 0);
    head(&f);
    finish(&f);
    f.b[f.n - 1] ^= 1;
    CHECK("bad end magic is CORRUPT", load(f.b, f.n, NULL) == TMS_E_CORRUPT);
    f.b[f.n - 1] ^= 1;
    f.b[f.n - 16] ^= 1;
    CHECK("footer offset mismatch is CORRUPT", load(f.b, f.n, NULL) == TMS_E_CORRUPT);
    f.b[f.n - 16] ^= 1;
    f.b[f.n++] = 0;
    CHECK("a byte after the footer is CORRUPT", load(f.b, f.n, NULL) == TMS_E_CORRUPT);
    preamble(&f, 1, 0);
    head(&f);
    section(&f, "STRS", "\x00", 1);
    f.nsec--;   /* END will not list STRS */
    finish(&f);
    CHECK("END index missing a section is CORRUPT",
          load(f.b, f.n, NULL) == TMS_E_CORRUPT);
    preamble(&f, 1, 0);
    head(&f);
    section_x(&f, "STRS", 2, 1, "\x00", 1);
    finish(&f);
    CHECK("reserved frame flag is CORRUPT", load(f.b, f.n, NULL) == TMS_E_CORRUPT);
    preamble(&f, 1, 0);
    head(&f);
    section_x(&f, "STRS", 0, 2, "\x00", 1);
    finish(&f);
    CHECK("raw section with stored != raw is CORRUPT",
          load(f.b, f.n, NULL) == TMS_E_CORRUPT);
}

static void test_payloads(void)
{
    CHECK("duplicate string is CORRUPT",
          load_one("STRS", "\x02\x01" "a\x01" "a", 5) == TMS_E_CORRUPT);
    CHECK("frame naming a missing string is CORRUPT",
          load_one("FRMS", "\x01\x01\x01", 3) == TMS_E_CORRUPT);
    CHECK("traceback naming a missing frame is CORRUPT",
          load_one("TBKS", "\x01\x01\x00", 3) == TMS_E_CORRUPT);
    CHECK("non-minimal varint is CORRUPT",
          load_one("STRS", "\x80\x00", 2) == TMS_E_CORRUPT);
    CHECK("11-byte varint is CORRUPT",
          load_one("STRS", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)
          == TMS_E_CORRUPT);
    CHECK("varint above 2^64 is CORRUPT",
          load_one("STRS", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10)
          == TMS_E_CORRUPT);
    CHECK("string count larger than the payload is CORRUPT",
          load_one("STRS", "\x80\x80\x80\x80\x80\x20", 6) == TMS_E_CORRUPT);
    CHECK("string longer than 2^20 is LIMIT",
          load_one("STRS", "\x01\x81\x80\x40", 4) == TMS_E_LIMIT);
    CHECK("string running past the payload is CORRUPT",
          load_one("STRS", "\x01\x05" "ab", 4) == TMS_E_CORRUPT);
    CHECK("bytes after the last entry are CORRUPT",
          load_one("STRS", "\x01\x01" "ab", 4) == TMS_E_CORRUPT);
    CHECK("traceback longer than 65535 is LIMIT",
          load_one("TBKS", "\x01\x80\x80\x04", 4) == TMS_E_LIMIT);
    CHECK("more than 65536 traces in a chunk is LIMIT",
          load_one("TRCS", "\x81\x80\x04\x00", 4) == TMS_E_LIMIT);
    CHECK("trace naming a missing traceback is CORRUPT",
          load_one("TRCS", "\x01\x00\x10\x01\x00", 5) == TMS_E_CORRUPT);
    CHECK("metric with unknown format is CORRUPT",
          load_one("MTRC", "\x01\x01m\x03\x00\x00", 6) == TMS_E_CORRUPT);
    CHECK("duplicate metric name is CORRUPT",
          load_one("MTRC", "\x02\x01m\x00\x00\x02\x01m\x00\x00\x04", 11) == TMS_E_CORRUPT);
    CHECK("NUL in a metadata key is CORRUPT",
          load_one("META", "\x01\x02k\x00\x01v", 6) == TMS_E_CORRUPT);
    CHECK("duplicate metadata key is CORRUPT",
          load_one("META", "\x02\x01k\x01v\x01k\x01w", 9) == TMS_E_CORRUPT);
    CHECK("metric int value decodes (zigzag 3 = -2)",
          load_one("MTRC", "\x01\x01m\x00\x00\x03", 6) == 0);
    fb f;
    preamble(&f, 1, 0);
    head(&f);
    section(&f, "TBKS", "\x01\x00", 2);
    /* address deltas: 0x10, then 0 -> not strictly ascending */
    section(&f, "TRCS", "\x02\x00\x10\x00\x01\x01\x00\x00", 8);
    finish(&f);
    CHECK("repeated address in a chunk is CORRUPT",
          load(f.b, f.n, NULL) == TMS_E_CORRUPT);
    preamble(&f, 1, 0);
    head(&f);
    section(&f, "TBKS", "\x01\x00", 2);
    section(&f, "TRCS", "\x01\x3f\x02\x00\x00", 5);  /* 2 << 63 overflows */
    finish(&f);
    CHECK("address overflowing 64 bits is CORRUPT",
          load(f.b, f.n, NULL) == TMS_E_CORRUPT);
    preamble(&f, 1, 0);
    head(&f);
    section(&f, "FRMS", "\x01\x00\x00", 3);
    section(&f, "STAT", "\x02\x00\x00\x01\x01\x01\x01", 7);
    finish(&f);
    CHECK("a frame in two STAT entries is CORRUPT",
          load(f.b, f.n, NULL) == TMS_E_CORRUPT);
}

static void test_compressed(void)
{
    fb f;
    uint8_t z[256];
    size_t zn = ZSTD_compress(z, sizeof z, "\x01\x01" "a", 3, 1);
    preamble(&f, 1, 0);
    head(&f);
    section_x(&f, "STRS", 1, 3, z, (uint32_t)zn);
    finish(&f);
    CHECK("a compressed section loads", load(f.b, f.n, NULL) == 0);
    preamble(&f, 1, 0);
    head(&f);
    section_x(&f, "STRS", 1, 4, z, (uint32_t)zn);
    finish(&f);
    CHECK("compressed with the wrong raw length is DECOMPRESS",
          load(f.b, f.n, NULL) == TMS_E_DECOMPRESS);
    preamble(&f, 1, 0);
    head(&f);
    section_x(&f, "STRS", 1, 3, "garbage!", 8);
    finish(&f);
    CHECK("garbage with a valid CRC is DECOMPRESS",
          load(f.b, f.n, NULL) == TMS_E_DECOMPRESS);
    uint8_t two[512];
    memcpy(two, z, zn);
    memcpy(two + zn, z, zn);
    preamble(&f, 1, 0);
    head(&f);
    section_x(&f, "STRS", 1, 3, two, (uint32_t)(2 * zn));
    finish(&f);
    CHECK("two zstd frames are DECOMPRESS", load(f.b, f.n, NULL) == TMS_E_DECOMPRESS);
}

/* Lying lengths must not allocate what they claim.  In a child with the
 * address space capped (skipped under ASan, which reserves terabytes),
 * a 2^28-byte up-front allocation would fail as NOMEM instead. */
static void test_lying_lengths(void)
{
    fb f;
    preamble(&f, 1, 0);
    uint8_t h[20] = { 'H', 'E', 'A', 'D' };
    le(h + 8, 1u << 28, 4);
    le(h + 12, 1u << 28, 4);
    put(&f, h, 20);
    put(&f, HEAD40, 8);
    CHECK("the lying file is about 40 bytes", f.n == 40);
    CHECK("a 2^28 HEAD in a 40-byte buffer is TRUNCATED",
          load(f.b, f.n, NULL) == TMS_E_TRUNCATED);
    le(f.b + 12 + 8, 0xffffffffu, 4);
    CHECK("a 2^32 HEAD is LIMIT", load(f.b, f.n, NULL) == TMS_E_LIMIT);
    /* 2^28 declared raw, a tiny real frame: grows only with real output */
    uint8_t z[64];
    size_t zn = ZSTD_compress(z, sizeof z, "\x00", 1, 1);
    preamble(&f, 1, 0);
    head(&f);
    section_x(&f, "STRS", 1, 1u << 28, z, (uint32_t)zn);
    finish(&f);
    int status = -1;
    pid_t pid = fork();
    if (pid == 0) {
#if !defined(__SANITIZE_ADDRESS__)
        struct rlimit rl = { 200u << 20, 200u << 20 };
        setrlimit(RLIMIT_AS, &rl);
#endif
        int p[2];
        if (pipe(p) != 0)
            _exit(9);
        uint8_t lie[40];
        memcpy(lie, f.b, 12);
        memcpy(lie + 12, h, 20);
        memcpy(lie + 32, HEAD40, 8);
        le(lie + 12 + 8, 1u << 28, 4);
        le(lie + 12 + 12, 1u << 28, 4);
        if (write(p[1], lie, 40) != 40)
            _exit(9);
        close(p[1]);
        tms_snapshot *s = NULL;
        tms_error err;
        int a = tms_snapshot_load_fd(p[0], "pipe", 0, &s, &err);
        int b = load(f.b, f.n, NULL);
        _exit(a == TMS_E_TRUNCATED && b == TMS_E_DECOMPRESS ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    CHECK("lying lengths on a pipe and in zstd fail without allocating",
          WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    test_hand_file_ok();
    test_truncation();
    test_flips();
    test_preamble();
    test_structure();
    test_payloads();
    test_compressed();
    test_lying_lengths();
    return check_report("tms_malformed");
}
