/* tm_hash.h -- the hash functions every table in the project uses (libtms's
 * intern indexes, libtma's key tables, the tracer's trace tables), kept in
 * one place so a change of mixing reaches all of them.  Header-only: static
 * inline, so each static library keeps its hidden visibility. */
#ifndef TM_HASH_H
#define TM_HASH_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash3's 64-bit finaliser: every input bit reaches every output
 * bit, so masks of the low bits make good open-addressing slots. */
static inline uint64_t tm_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* FNV-1a over the bytes, then finalised with the length. */
static inline uint64_t tm_hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return tm_mix64(h ^ len);
}

#endif
