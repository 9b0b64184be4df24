/* intern.c -- hash indexes that keep a snapshot's tables unique.
 *
 * Open addressing over uint32_t slots holding table indexes (TMS_NONE =
 * empty), linear probing, load <= 1/2.  The tables themselves live in the
 * snapshot; an index only points into them, so growing an index is a
 * rehash of the snapshot's entries. */
#include <stdlib.h>
#include <string.h>

#include "tm_hash.h"
#include "tms_private.h"

typedef struct index32 {
    uint32_t *slots;
    uint64_t mask;    /* slots - 1; 0 when unallocated */
    uint64_t used;
} index32;

struct tms_intern {
    index32 strings, frames, tracebacks;
};

static uint64_t hash_frame(uint32_t filename, int32_t lineno)
{
    return tm_mix64(((uint64_t)filename << 32) ^ (uint32_t)lineno);
}

static uint64_t hash_frames(const uint32_t *frames, uint32_t n)
{
    uint64_t h = tm_mix64(n + 0x9e3779b97f4a7c15ULL);
    for (uint32_t i = 0; i < n; i++)
        h = tm_mix64(h ^ frames[i]) + i;
    return h;
}

static uint64_t hash_entry(const tms_snapshot *s, int kind, uint32_t idx)
{
    switch (kind) {
    case 0: return tm_hash_bytes(s->strings[idx].data, s->strings[idx].len);
    case 1: return hash_frame(s->frames[idx].filename, s->frames[idx].lineno);
    default:
        return hash_frames(tms_traceback_frames(s, idx),
                           tms_traceback_len(s, idx));
    }
}

struct tms_intern *tms_intern_new(void)
{
    return calloc(1, sizeof(struct tms_intern));
}

void tms_intern_free(struct tms_intern *in)
{
    if (in == NULL)
        return;
    free(in->strings.slots);
    free(in->frames.slots);
    free(in->tracebacks.slots);
    free(in);
}

static index32 *index_of(const tms_snapshot *s, int kind)
{
    switch (kind) {
    case 0: return &s->intern->strings;
    case 1: return &s->intern->frames;
    default: return &s->intern->tracebacks;
    }
}

/* Make room for one more entry: rehash into twice the slots if needed. */
static int index_reserve(tms_snapshot *s, int kind)
{
    index32 *ix = index_of(s, kind);
    if (ix->mask && (ix->used + 1) * 2 <= ix->mask + 1)
        return TMS_OK;
    uint64_t nslots = ix->mask ? (ix->mask + 1) * 2 : 64;
    if (nslots > SIZE_MAX / sizeof(uint32_t))
        return TMS_E_NOMEM;
    uint32_t *slots = malloc((size_t)nslots * sizeof *slots);
    if (slots == NULL)
        return TMS_E_NOMEM;
    memset(slots, 0xff, (size_t)nslots * sizeof *slots);
    uint64_t mask = nslots - 1;
    for (uint64_t i = 0; ix->mask && i <= ix->mask; i++) {
        uint32_t idx = ix->slots[i];
        if (idx == TMS_NONE)
            continue;
        uint64_t j = hash_entry(s, kind, idx) & mask;
        while (slots[j] != TMS_NONE)
            j = (j + 1) & mask;
        slots[j] = idx;
    }
    free(ix->slots);
    ix->slots = slots;
    ix->mask = mask;
    return TMS_OK;
}

static int index_add(tms_snapshot *s, int kind, uint32_t idx)
{
    TMS_FORWARD(index_reserve(s, kind));
    index32 *ix = index_of(s, kind);
    uint64_t j = hash_entry(s, kind, idx) & ix->mask;
    while (ix->slots[j] != TMS_NONE)
        j = (j + 1) & ix->mask;
    ix->slots[j] = idx;
    ix->used++;
    return TMS_OK;
}

int tms_intern_add_string(tms_snapshot *s, uint32_t idx)
{
    return index_add(s, 0, idx);
}

int tms_intern_add_frame(tms_snapshot *s, uint32_t idx)
{
    return index_add(s, 1, idx);
}

int tms_intern_add_traceback(tms_snapshot *s, uint32_t idx)
{
    return index_add(s, 2, idx);
}

uint32_t tms_intern_find_string(const tms_snapshot *s, const char *data,
                                size_t len)
{
    const index32 *ix = &s->intern->strings;
    if (ix->mask == 0)
        return TMS_NONE;
    for (uint64_t j = tm_hash_bytes(data, len) & ix->mask;;
         j = (j + 1) & ix->mask) {
        uint32_t idx = ix->slots[j];
        if (idx == TMS_NONE)
            return TMS_NONE;
        const tms_string *e = &s->strings[idx];
        if (e->len == len && (len == 0 || memcmp(e->data, data, len) == 0))
            return idx;
    }
}

uint32_t tms_intern_find_frame(const tms_snapshot *s, uint32_t filename,
                               int32_t lineno)
{
    const index32 *ix = &s->intern->frames;
    if (ix->mask == 0)
        return TMS_NONE;
    for (uint64_t j = hash_frame(filename, lineno) & ix->mask;;
         j = (j + 1) & ix->mask) {
        uint32_t idx = ix->slots[j];
        if (idx == TMS_NONE)
            return TMS_NONE;
        if (s->frames[idx].filename == filename &&
            s->frames[idx].lineno == lineno)
            return idx;
    }
}

uint32_t tms_intern_find_traceback(const tms_snapshot *s,
                                   const uint32_t *frames, uint32_t n)
{
    const index32 *ix = &s->intern->tracebacks;
    if (ix->mask == 0)
        return TMS_NONE;
    for (uint64_t j = hash_frames(frames, n) & ix->mask;;
         j = (j + 1) & ix->mask) {
        uint32_t idx = ix->slots[j];
        if (idx == TMS_NONE)
            return TMS_NONE;
        if (tms_traceback_len(s, idx) == n &&
            (n == 0 || memcmp(tms_traceback_frames(s, idx), frames,
                              n * sizeof *frames) == 0))
            return idx;
    }
}

/* Metrics are few (tens): a scan is simpler than another index. */
int tms_intern_find_metric(const tms_snapshot *s, const char *name,
                           uint32_t *at)
{
    for (uint32_t i = 0; i < s->nmetrics; i++) {
        if (strcmp(s->metrics[i].name, name) == 0) {
            *at = i;
            return 1;
        }
    }
    return 0;
}
