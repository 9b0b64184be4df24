/* pprof.c -- build a profile.proto message from libtma groupings and
 * encode it with protobuf-c, gzipped with zlib (see pprof.h).
 *
 * Why protobuf-c and not a hand-written encoder: the schema is compiled
 * from profile.proto at build time, so field numbers and wire types come
 * from the one schema every pprof reader uses, not from our transcription
 * of it into varint code.
 *
 * The tables (strings, functions, locations) are interned through small
 * open-addressing maps, so a frame shared by a thousand tracebacks and a
 * hundred files is one Location.  Samples are kept compact (ranges into
 * pools) and only turned into protobuf-c structs at encode time, when no
 * array moves any more. */
#include "pprof.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "profile.pb-c.h"
#include "tm_hash.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__Mapping pb_mapping;

/* u64 key -> u32 value (ids start at 1; 0 marks an empty slot). */
typedef struct u64map {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n;
} u64map;

typedef struct sample_rec {
    size_t loc_start;   /* into loc_pool */
    uint32_t nlocs;
    uint32_t labelset;  /* into sets */
    tm_pprof_kind kind;
    int64_t size, count;
} sample_rec;

typedef struct label_rec {
    int64_t key, str, num;
} label_rec;

typedef struct labelset {
    size_t start;       /* into labels */
    uint32_t n;
} labelset;

typedef struct fn_rec {
    int64_t name, filename;
} fn_rec;

typedef struct loc_rec {
    uint64_t function_id;
    int64_t line;
} loc_rec;

struct tm_pprof {
    char **strs;          /* string_table, [0] = "" */
    size_t nstrs, cap_strs;
    uint32_t *str_slots;  /* index + 1, 0 empty */
    size_t cap_slots;

    u64map fn_map, loc_map;
    fn_rec *fns;          size_t nfns, cap_fns;
    loc_rec *locs;        size_t nlocs, cap_locs;

    uint64_t *loc_pool;   size_t npool, cap_pool;
    sample_rec *samples;  size_t nsamples, cap_samples;
    label_rec *labels;    size_t nlabels, cap_labels;
    labelset *sets;       size_t nsets, cap_sets;
    int64_t *comments;    size_t ncomments, cap_comments;

    int64_t time_first, time_last;
    int with_peak;        /* 4 sample types instead of 2 */
};

/* Grow *arr (of elem bytes) to hold need items.  0 or TMS_E_NOMEM. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return TMS_E_NOMEM;
        ncap *= 2;
    }
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return TMS_E_NOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

static int oom(tms_error *err)
{
    if (err != NULL) {
        err->code = TMS_E_NOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory building the profile");
    }
    return TMS_E_NOMEM;
}

/* ---- maps ----------------------------------------------------------------- */

static int u64map_rehash(u64map *m, size_t ncap)
{
    uint64_t *keys = calloc(ncap, sizeof *keys);
    uint32_t *vals = calloc(ncap, sizeof *vals);
    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return TMS_E_NOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == 0)
            continue;
        size_t j = tm_mix64(m->keys[i]) & (ncap - 1);
        while (vals[j] != 0)
            j = (j + 1) & (ncap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
    return 0;
}

/* The slot of key: its value, or 0 with *slot where it would go. */
static uint32_t u64map_find(const u64map *m, uint64_t key, size_t *slot)
{
    size_t j = tm_mix64(key) & (m->cap - 1);
    while (m->vals[j] != 0 && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    *slot = j;
    return m->vals[j];
}

/* Make room for one more entry (load at most 1/2). */
static int u64map_reserve(u64map *m)
{
    if (m->cap != 0 && (m->n + 1) * 2 <= m->cap)
        return 0;
    return u64map_rehash(m, m->cap ? m->cap * 2 : 64);
}

static void u64map_free(u64map *m)
{
    free(m->keys);
    free(m->vals);
}

/* ---- strings -------------------------------------------------------------- */

static int strs_rehash(tm_pprof *p, size_t ncap)
{
    uint32_t *slots = calloc(ncap, sizeof *slots);
    if (slots == NULL)
        return TMS_E_NOMEM;
    for (size_t i = 0; i < p->nstrs; i++) {
        size_t j = tm_hash_bytes(p->strs[i], strlen(p->strs[i])) & (ncap - 1);
        while (slots[j] != 0)
            j = (j + 1) & (ncap - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(p->str_slots);
    p->str_slots = slots;
    p->cap_slots = ncap;
    return 0;
}

/* Index of s in the string table, added if new.  Negative on failure. */
static int64_t intern(tm_pprof *p, const char *s)
{
    size_t len = strlen(s);
    if ((p->nstrs + 1) * 2 > p->cap_slots &&
        strs_rehash(p, p->cap_slots ? p->cap_slots * 2 : 256) < 0)
        return TMS_E_NOMEM;
    size_t j = tm_hash_bytes(s, len) & (p->cap_slots - 1);
    while (p->str_slots[j] != 0) {
        const char *t = p->strs[p->str_slots[j] - 1];
        if (strcmp(t, s) == 0)
            return p->str_slots[j] - 1;
        j = (j + 1) & (p->cap_slots - 1);
    }
    if (p->nstrs >= UINT32_MAX - 1)
        return TMS_E_LIMIT;
    if (GROW(p->strs, p->cap_strs, p->nstrs + 1) < 0)
        return TMS_E_NOMEM;
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return TMS_E_NOMEM;
    memcpy(copy, s, len + 1);
    p->strs[p->nstrs] = copy;
    p->str_slots[j] = (uint32_t)p->nstrs + 1;
    return (int64_t)p->nstrs++;
}

tm_pprof *tm_pprof_new(void)
{
    tm_pprof *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    /* profile.proto: string_table[0] must be "". */
    if (intern(p, "") != 0) {
        tm_pprof_free(p);
        return NULL;
    }
    return p;
}

void tm_pprof_free(tm_pprof *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nstrs; i++)
        free(p->strs[i]);
    free(p->strs);
    free(p->str_slots);
    u64map_free(&p->fn_map);
    u64map_free(&p->loc_map);
    free(p->fns);
    free(p->locs);
    free(p->loc_pool);
    free(p->samples);
    free(p->labels);
    free(p->sets);
    free(p->comments);
    free(p);
}

/* ---- frames --------------------------------------------------------------- */

static const char *str_of(const tms_snapshot *s, uint32_t id)
{
    return id == TMS_NONE || id >= s->nstrings ? NULL : s->strings[id].data;
}

/* The function name of a frame (format 1.1).  Frames without one (1.0
 * files, frames the tracer could not name) show their file as the
 * function, so that `pprof -top` still groups them by file, or "?" when
 * the file is unknown too. */
static const char *frame_function(const tms_snapshot *s, uint32_t frame)
{
    const char *name = str_of(s, tms_frame_function(s, frame));
    const char *file = str_of(s, s->frames[frame].filename);
    return name != NULL ? name : file != NULL ? file : "?";
}

/* Location id (>= 1) of one (function, file, line), added if new. */
static int location_of(tm_pprof *p, const char *function, const char *file,
                       int32_t lineno, uint64_t *out)
{
    int64_t name = intern(p, function);
    int64_t fname = file != NULL ? intern(p, file) : 0;
    if (name < 0 || fname < 0)
        return (int)(name < 0 ? name : fname);
    size_t slot;
    int rc = u64map_reserve(&p->fn_map);
    if (rc < 0)
        return rc;
    uint64_t fkey = (uint64_t)name << 32 | (uint64_t)fname;
    uint32_t fid = u64map_find(&p->fn_map, fkey, &slot);
    if (fid == 0) {
        if (GROW(p->fns, p->cap_fns, p->nfns + 1) < 0)
            return TMS_E_NOMEM;
        p->fns[p->nfns] = (fn_rec){ name, fname };
        fid = (uint32_t)++p->nfns;
        p->fn_map.keys[slot] = fkey;
        p->fn_map.vals[slot] = fid;
        p->fn_map.n++;
    }
    /* pprof has no "unknown line": 0 is what its readers take for it. */
    uint32_t line = lineno < 0 ? 0u : (uint32_t)lineno;
    if ((rc = u64map_reserve(&p->loc_map)) < 0)
        return rc;
    uint64_t lkey = (uint64_t)fid << 32 | line;
    uint32_t lid = u64map_find(&p->loc_map, lkey, &slot);
    if (lid == 0) {
        if (GROW(p->locs, p->cap_locs, p->nlocs + 1) < 0)
            return TMS_E_NOMEM;
        p->locs[p->nlocs] = (loc_rec){ fid, line };
        lid = (uint32_t)++p->nlocs;
        p->loc_map.keys[slot] = lkey;
        p->loc_map.vals[slot] = lid;
        p->loc_map.n++;
    }
    *out = lid;
    return 0;
}

static int frame_location(tm_pprof *p, const tms_snapshot *s, uint32_t frame,
                          uint64_t *out)
{
    const tms_frame *f = &s->frames[frame];
    return location_of(p, frame_function(s, frame), str_of(s, f->filename),
                       f->lineno, out);
}

/* The stack of one grouping item into loc_pool, leaf first.  An empty
 * traceback is one unknown frame, as libtma counts it. */
static int item_stack(tm_pprof *p, tma_group_by by, const tma_key *k,
                      uint32_t *nlocs)
{
    const tms_snapshot *s = k->snap;
    int rc;
    if (by == TMA_BY_TRACEBACK) {
        uint32_t n = tms_traceback_len(s, k->traceback);
        const uint32_t *fr = tms_traceback_frames(s, k->traceback);
        if (GROW(p->loc_pool, p->cap_pool, p->npool + (n ? n : 1)) < 0)
            return TMS_E_NOMEM;
        for (uint32_t i = 0; i < n; i++)
            if ((rc = frame_location(p, s, fr[i], &p->loc_pool[p->npool + i])) < 0)
                return rc;
        if (n == 0 && (rc = location_of(p, "?", NULL, -1,
                                        &p->loc_pool[p->npool])) < 0)
            return rc;
        *nlocs = n ? n : 1;
        return 0;
    }
    if (GROW(p->loc_pool, p->cap_pool, p->npool + 1) < 0)
        return TMS_E_NOMEM;
    const char *file = str_of(s, k->filename);
    rc = location_of(p, file != NULL ? file : "?", file, k->lineno,
                     &p->loc_pool[p->npool]);
    *nlocs = 1;
    return rc;
}

static int add_labelset(tm_pprof *p, const tm_pprof_label *labels, size_t n)
{
    if (n > UINT32_MAX || GROW(p->sets, p->cap_sets, p->nsets + 1) < 0 ||
        GROW(p->labels, p->cap_labels, p->nlabels + n) < 0)
        return TMS_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int64_t key = intern(p, labels[i].key);
        int64_t str = labels[i].str != NULL ? intern(p, labels[i].str) : 0;
        if (key < 0 || str < 0)
            return (int)(key < 0 ? key : str);
        p->labels[p->nlabels + i] = (label_rec){
            key, str, labels[i].str != NULL ? 0 : labels[i].num };
    }
    p->sets[p->nsets++] = (labelset){ p->nlabels, (uint32_t)n };
    p->nlabels += n;
    return 0;
}

int tm_pprof_add_groups(tm_pprof *p, const tma_groups *g, tm_pprof_kind kind,
                        const tm_pprof_label *labels, size_t nlabels,
                        tms_error *err)
{
    int rc;
    if (g->by != TMA_BY_TRACEBACK && g->by != TMA_BY_LINE) {
        if (err != NULL) {
            err->code = TMS_E_ARG;
            snprintf(err->msg, sizeof err->msg,
                     "a profile is made from a traceback or line grouping");
        }
        return TMS_E_ARG;
    }
    if (kind == TM_PPROF_PEAK)
        p->with_peak = 1;
    if ((rc = add_labelset(p, labels, nlabels)) < 0)
        goto fail;
    for (size_t i = 0; i < g->n; i++) {
        const tma_stat *it = &g->items[i];
        uint32_t n;
        if (it->size == 0 && it->count == 0)
            continue;
        if (GROW(p->samples, p->cap_samples, p->nsamples + 1) < 0) {
            rc = TMS_E_NOMEM;
            goto fail;
        }
        if ((rc = item_stack(p, g->by, &it->key, &n)) < 0)
            goto fail;
        /* profile.proto values are int64: a sum past that is no real heap */
        p->samples[p->nsamples++] = (sample_rec){
            p->npool, n, (uint32_t)(p->nsets - 1), kind,
            it->size > INT64_MAX ? INT64_MAX : (int64_t)it->size,
            it->count > INT64_MAX ? INT64_MAX : (int64_t)it->count };
        p->npool += n;
    }
    return 0;
fail:
    if (rc == TMS_E_NOMEM)
        return oom(err);
    if (err != NULL) {
        err->code = rc;
        snprintf(err->msg, sizeof err->msg, "too many strings for one profile");
    }
    return rc;
}

void tm_pprof_set_time(tm_pprof *p, int64_t first_ns, int64_t last_ns)
{
    p->time_first = first_ns;
    p->time_last = last_ns;
}

int tm_pprof_add_comment(tm_pprof *p, const char *text, tms_error *err)
{
    int64_t id = intern(p, text);
    if (id < 0 || GROW(p->comments, p->cap_comments, p->ncomments + 1) < 0)
        return oom(err);
    p->comments[p->ncomments++] = id;
    return 0;
}

size_t tm_pprof_nsamples(const tm_pprof *p)
{
    return p->nsamples;
}

size_t tm_pprof_nlocations(const tm_pprof *p)
{
    return p->nlocs;
}

/* ---- encoding ------------------------------------------------------------- */

/* Every protobuf-c struct the message points to, owned here. */
typedef struct pb_arena {
    pb_value_type types[4], period_type;
    pb_value_type *type_ptrs[4];
    pb_mapping mapping, *mapping_ptr;
    pb_function *fns;       pb_function **fn_ptrs;
    pb_location *locs;      pb_location **loc_ptrs;
    pb_line *lines;         pb_line **line_ptrs;
    pb_label *labels;       pb_label **label_ptrs;
    pb_sample *samples;     pb_sample **sample_ptrs;
    int64_t *values;
} pb_arena;

static void arena_free(pb_arena *a)
{
    free(a->fns);
    free(a->fn_ptrs);
    free(a->locs);
    free(a->loc_ptrs);
    free(a->lines);
    free(a->line_ptrs);
    free(a->labels);
    free(a->label_ptrs);
    free(a->samples);
    free(a->sample_ptrs);
    free(a->values);
}

/* calloc that treats 0 items as 1, so NULL always means OOM. */
static void *alloc_n(size_t n, size_t elem)
{
    return calloc(n ? n : 1, elem);
}

static int build_message(tm_pprof *p, pb_arena *a, pb_profile *m)
{
    int64_t space = intern(p, "inuse_space"), objects = intern(p, "inuse_objects");
    int64_t bytes = intern(p, "bytes"), count = intern(p, "count");
    int64_t sp = intern(p, "space"), interp = intern(p, "python");
    int64_t pspace = intern(p, "peak_space"), pobjects = intern(p, "peak_objects");
    if (space < 0 || objects < 0 || bytes < 0 || count < 0 || sp < 0 ||
        interp < 0 || pspace < 0 || pobjects < 0)
        return TMS_E_NOMEM;
    size_t ntypes = p->with_peak ? 4 : 2;
    a->fns = alloc_n(p->nfns, sizeof *a->fns);
    a->fn_ptrs = alloc_n(p->nfns, sizeof *a->fn_ptrs);
    a->locs = alloc_n(p->nlocs, sizeof *a->locs);
    a->loc_ptrs = alloc_n(p->nlocs, sizeof *a->loc_ptrs);
    a->lines = alloc_n(p->nlocs, sizeof *a->lines);
    a->line_ptrs = alloc_n(p->nlocs, sizeof *a->line_ptrs);
    a->labels = alloc_n(p->nlabels, sizeof *a->labels);
    a->label_ptrs = alloc_n(p->nlabels, sizeof *a->label_ptrs);
    a->samples = alloc_n(p->nsamples, sizeof *a->samples);
    a->sample_ptrs = alloc_n(p->nsamples, sizeof *a->sample_ptrs);
    if (p->nsamples > SIZE_MAX / 4)
        return TMS_E_NOMEM;
    a->values = alloc_n(p->nsamples * ntypes, sizeof *a->values);
    if (!a->fns || !a->fn_ptrs || !a->locs || !a->loc_ptrs || !a->lines ||
        !a->line_ptrs || !a->labels || !a->label_ptrs || !a->samples ||
        !a->sample_ptrs || !a->values)
        return TMS_E_NOMEM;

    perftools__profiles__profile__init(m);
    for (int i = 0; i < 4; i++) {
        perftools__profiles__value_type__init(&a->types[i]);
        a->type_ptrs[i] = &a->types[i];
    }
    a->types[0].type = space;
    a->types[0].unit = bytes;
    a->types[1].type = objects;
    a->types[1].unit = count;
    a->types[2].type = pspace;
    a->types[2].unit = bytes;
    a->types[3].type = pobjects;
    a->types[3].unit = count;
    perftools__profiles__value_type__init(&a->period_type);
    a->period_type.type = sp;
    a->period_type.unit = bytes;
    m->n_sample_type = ntypes;
    m->sample_type = a->type_ptrs;
    m->period_type = &a->period_type;
    m->period = 1;  /* every block is counted: no sampling rate to undo */
    m->default_sample_type = space;
    /* One mapping, the interpreter, that says every location is already
     * symbolized: readers then neither try to symbolize addresses nor
     * complain that the main binary is unknown. */
    perftools__profiles__mapping__init(&a->mapping);
    a->mapping.id = 1;
    a->mapping.filename = interp;
    a->mapping.has_functions = a->mapping.has_filenames = 1;
    a->mapping.has_line_numbers = 1;
    a->mapping_ptr = &a->mapping;
    m->n_mapping = 1;
    m->mapping = &a->mapping_ptr;

    for (size_t i = 0; i < p->nfns; i++) {
        pb_function *f = &a->fns[i];
        perftools__profiles__function__init(f);
        f->id = i + 1;
        f->name = f->system_name = p->fns[i].name;
        f->filename = p->fns[i].filename;
        a->fn_ptrs[i] = f;
    }
    for (size_t i = 0; i < p->nlocs; i++) {
        pb_location *l = &a->locs[i];
        perftools__profiles__location__init(l);
        perftools__profiles__line__init(&a->lines[i]);
        a->lines[i].function_id = p->locs[i].function_id;
        a->lines[i].line = p->locs[i].line;
        a->line_ptrs[i] = &a->lines[i];
        l->id = i + 1;
        l->mapping_id = 1;
        l->n_line = 1;
        l->line = &a->line_ptrs[i];
        a->loc_ptrs[i] = l;
    }
    for (size_t i = 0; i < p->nlabels; i++) {
        pb_label *l = &a->labels[i];
        perftools__profiles__label__init(l);
        l->key = p->labels[i].key;
        l->str = p->labels[i].str;
        l->num = p->labels[i].num;
        a->label_ptrs[i] = l;
    }
    for (size_t i = 0; i < p->nsamples; i++) {
        const sample_rec *r = &p->samples[i];
        pb_sample *s = &a->samples[i];
        perftools__profiles__sample__init(s);
        s->n_location_id = r->nlocs;
        s->location_id = &p->loc_pool[r->loc_start];
        int64_t *v = &a->values[ntypes * i];  /* zeroed by calloc */
        size_t at = r->kind == TM_PPROF_PEAK ? 2 : 0;
        v[at] = r->size;
        v[at + 1] = r->count;
        s->n_value = ntypes;
        s->value = v;
        s->n_label = p->sets[r->labelset].n;
        s->label = &a->label_ptrs[p->sets[r->labelset].start];
        a->sample_ptrs[i] = s;
    }
    m->n_sample = p->nsamples;
    m->sample = a->sample_ptrs;
    m->n_location = p->nlocs;
    m->location = a->loc_ptrs;
    m->n_function = p->nfns;
    m->function = a->fn_ptrs;
    m->n_string_table = p->nstrs;
    m->string_table = p->strs;
    m->n_comment = p->ncomments;
    m->comment = p->comments;
    m->time_nanos = p->time_first;
    m->duration_nanos = p->time_last > p->time_first ? p->time_last - p->time_first : 0;
    return 0;
}

/* gzip (RFC 1952) in memory: pprof files are gzipped protobuf. */
static int gzip_buffer(const unsigned char *in, size_t len, unsigned char **out,
                       size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16 asks zlib for a gzip header and trailer */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return TMS_E_NOMEM;
    uLong bound = deflateBound(&z, (uLong)len);
    unsigned char *buf = malloc(bound ? bound : 1);
    if (buf == NULL || len > UINT_MAX) {
        /* one call of deflate takes at most UINT_MAX bytes; a profile
         * that size is not one any reader would load */
        free(buf);
        deflateEnd(&z);
        return buf == NULL ? TMS_E_NOMEM : TMS_E_LIMIT;
    }
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        free(buf);
        return TMS_E_NOMEM;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

int tm_pprof_encode(tm_pprof *p, unsigned char **out, size_t *len,
                    tms_error *err)
{
    pb_arena a;
    pb_profile m;
    unsigned char *raw = NULL;
    memset(&a, 0, sizeof a);
    int rc = build_message(p, &a, &m);
    if (rc == 0) {
        size_t n = protobuf_c_message_get_packed_size(&m.base);
        raw = malloc(n ? n : 1);
        if (raw == NULL)
            rc = TMS_E_NOMEM;
        else if (protobuf_c_message_pack(&m.base, raw) != n)
            rc = TMS_E_ARG;  /* protobuf-c disagreeing with itself */
        else
            rc = gzip_buffer(raw, n, out, len);
    }
    free(raw);
    arena_free(&a);
    if (rc == TMS_E_NOMEM)
        return oom(err);
    if (rc < 0 && err != NULL) {
        err->code = rc;
        snprintf(err->msg, sizeof err->msg, "cannot encode the profile: %s",
                 tms_strerror(rc));
    }
    return rc;
}
