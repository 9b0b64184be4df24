/* codec.c -- byte buffer growth and CRC-32 (slicing-by-8). */
#include <pthread.h>
#include <stdlib.h>

#include "codec.h"
#include "tms_private.h"

int tms_buf_reserve(tms_buf *b, size_t more)
{
    if (more > SIZE_MAX - b->len)
        return TMS_E_NOMEM;
    uint64_t cap = b->cap;
    int rc = tms_grow((void **)&b->p, &cap, (uint64_t)b->len + more, 1);
    b->cap = (size_t)cap;
    return rc;
}

void tms_buf_free(tms_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Eight tables so the loop consumes 8 bytes per step; built once, under
 * pthread_once because a tracer thread and a reader may start together. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
                              crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t tms_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo = crc ^ tms_get_u32(p);
        uint32_t hi = tms_get_u32(p + 4);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
              crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
