/* parse.c -- decode section payloads into a tms_snapshot (SPEC §4).
 *
 * Every count is checked against the bytes left (divided by the smallest
 * encoding of one entry) and every length against the limits before
 * anything is allocated for it.  Ids must be defined by earlier sections;
 * dictionaries, metric names, meta keys and STAT frames must be unique. */
#include <stdlib.h>
#include <string.h>

#include "reader_private.h"
#include "tm_hash.h"

typedef struct cur {
    const uint8_t *p, *end;
} cur;

#define CORRUPT(...) return tms_rfail(r, err, TMS_E_CORRUPT, __VA_ARGS__)
#define VARINT(c, v, what)                                                    \
    do {                                                                      \
        if (tms_get_varint(&(c)->p, (c)->end, &(v)) < 0)                      \
            CORRUPT("bad or missing varint (%s)", what);                      \
    } while (0)

static size_t left(const cur *c)
{
    return (size_t)(c->end - c->p);
}

/* A count n of entries each at least `min` bytes long must fit. */
static int count_fits(tms_reader *r, const cur *c, uint64_t n, size_t min,
                      const char *what, tms_error *err)
{
    if (n > left(c) / min)
        CORRUPT("%s count %llu does not fit in %zu bytes", what,
                (unsigned long long)n, left(c));
    return TMS_OK;
}

/* bytes(varint) with limit-before-length order (SPEC §5). */
static int get_bytes(tms_reader *r, cur *c, const uint8_t **out, size_t *len,
                     int no_nul, const char *what, tms_error *err)
{
    uint64_t n;
    VARINT(c, n, what);
    if (n > TMS_MAX_STRING_LEN)
        return tms_rfail(r, err, TMS_E_LIMIT, "%s of %llu bytes exceeds 2^20",
                         what, (unsigned long long)n);
    if (n > left(c))
        CORRUPT("%s runs past the payload", what);
    if (no_nul && memchr(c->p, 0, (size_t)n) != NULL)
        CORRUPT("NUL byte in %s", what);
    *out = c->p;
    *len = (size_t)n;
    c->p += n;
    return TMS_OK;
}

static int map_builder(tms_reader *r, int rc, tms_error *err)
{
    if (rc == TMS_E_NOMEM)
        return tms_rfail(r, err, rc, "out of memory");
    return tms_rfail(r, err, rc == TMS_E_LIMIT ? rc : TMS_E_CORRUPT,
                     "cannot add entry: %s", tms_strerror(rc));
}

/* After interning entry `expect`: an existing id means a duplicate. */
static int check_added(tms_reader *r, int rc, uint32_t id, uint32_t expect,
                       const char *what, tms_error *err)
{
    if (rc < 0)
        return map_builder(r, rc, err);
    if (id != expect)
        CORRUPT("%s %u duplicates %s %u", what, expect, what, id);
    return TMS_OK;
}

static int parse_strs(tms_reader *r, tms_snapshot *s, cur *c, tms_error *err)
{
    uint64_t n;
    VARINT(c, n, "count");
    TMS_FORWARD(count_fits(r, c, n, 1, "string", err));
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        uint32_t id, expect = s->nstrings;
        TMS_FORWARD(get_bytes(r, c, &p, &len, 0, "string", err));
        int rc = tms_snapshot_intern_string(s, (const char *)p, len, &id);
        TMS_FORWARD(check_added(r, rc, id, expect, "string", err));
    }
    return TMS_OK;
}

static int parse_frms(tms_reader *r, tms_snapshot *s, cur *c, tms_error *err)
{
    uint64_t n, f, l;
    VARINT(c, n, "count");
    TMS_FORWARD(count_fits(r, c, n, 2, "frame", err));
    for (uint64_t i = 0; i < n; i++) {
        uint32_t id, expect = s->nframes;
        VARINT(c, f, "filename");
        VARINT(c, l, "lineno");
        if (f > s->nstrings)
            CORRUPT("frame %u: string id %llu not defined", expect,
                    (unsigned long long)f - 1);
        if (l > (uint64_t)INT32_MAX + 1)
            CORRUPT("frame %u: line number out of range", expect);
        int rc = tms_snapshot_intern_frame(s, f ? (uint32_t)(f - 1) : TMS_NONE,
                                           l ? (int32_t)(l - 1)
                                             : TMS_LINENO_NONE, &id);
        TMS_FORWARD(check_added(r, rc, id, expect, "frame", err));
    }
    return TMS_OK;
}

static int parse_tbks(tms_reader *r, tms_snapshot *s, cur *c, tms_error *err)
{
    uint64_t n, len, f;
    VARINT(c, n, "count");
    TMS_FORWARD(count_fits(r, c, n, 1, "traceback", err));
    for (uint64_t i = 0; i < n; i++) {
        uint32_t id, expect = s->ntracebacks;
        VARINT(c, len, "traceback length");
        if (len > TMS_MAX_TRACEBACK_LEN)
            return tms_rfail(r, err, TMS_E_LIMIT, "traceback %u: %llu frames "
                             "exceeds 65535", expect, (unsigned long long)len);
        TMS_FORWARD(count_fits(r, c, len, 1, "traceback frame", err));
        if (r->tb_tmp == NULL &&
            (r->tb_tmp = malloc(TMS_MAX_TRACEBACK_LEN * sizeof *r->tb_tmp)) == NULL)
            return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
        uint64_t work = 0;   /* what hashing this traceback by value costs */
        for (uint64_t j = 0; j < len; j++) {
            VARINT(c, f, "frame id");
            if (f >= s->nframes)
                CORRUPT("traceback %u: frame id %llu not defined", expect,
                        (unsigned long long)f);
            r->tb_tmp[j] = (uint32_t)f;
            uint32_t name = s->frames[f].filename;
            work += 1 + (name == TMS_NONE ? 0 : s->strings[name].len);
        }
        TMS_FORWARD(tms_charge(r, err, TMS_COST_TB_WORK, work));
        int rc = tms_snapshot_intern_traceback(s, r->tb_tmp, (uint32_t)len, &id);
        TMS_FORWARD(check_added(r, rc, id, expect, "traceback", err));
    }
    return TMS_OK;
}

static int parse_trcs(tms_reader *r, tms_snapshot *s, cur *c,
                      tms_trace_fn fn, void *ctx, tms_error *err)
{
    uint64_t n, shift, v;
    tms_trace *t;
    VARINT(c, n, "count");
    if (n > TMS_TRACE_CHUNK)
        return tms_rfail(r, err, TMS_E_LIMIT, "%llu traces in one chunk "
                         "exceeds 65536", (unsigned long long)n);
    VARINT(c, shift, "shift");
    if (shift > 63)
        CORRUPT("shift %llu > 63", (unsigned long long)shift);
    TMS_FORWARD(count_fits(r, c, n, 3, "trace", err));
    /* a trace costs its in-memory size whether it is kept or streamed:
     * the budget bounds the time spent on traces, not only the memory */
    TMS_FORWARD(tms_charge(r, err, TMS_COST_DECODED, n * sizeof(tms_trace)));
    if (fn != NULL) {
        if (r->chunk == NULL &&
            (r->chunk = malloc(TMS_TRACE_CHUNK * sizeof *r->chunk)) == NULL)
            return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
        t = r->chunk;
    } else {
        if (tms_grow((void **)&s->traces, &s->cap_traces, s->ntraces + n,
                     sizeof *s->traces) < 0)
            return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
        t = n ? s->traces + s->ntraces : NULL;   /* NULL + 0 is UB */
    }
    uint64_t max = UINT64_MAX >> shift, a = 0;
    for (uint64_t i = 0; i < n; i++) {
        VARINT(c, v, "address");
        if (v > max)
            CORRUPT("trace %llu: address overflows", (unsigned long long)i);
        v <<= shift;
        if (i && (v == 0 || a > UINT64_MAX - v))
            CORRUPT("trace %llu: addresses not strictly ascending or "
                    "overflowing", (unsigned long long)i);
        a += v;
        t[i].address = a;
    }
    for (uint64_t i = 0; i < n; i++)
        VARINT(c, t[i].size, "size");
    for (uint64_t i = 0; i < n; i++) {
        VARINT(c, v, "traceback id");
        if (v >= s->ntracebacks)
            CORRUPT("trace %llu: traceback id %llu not defined",
                    (unsigned long long)i, (unsigned long long)v);
        t[i].traceback = (uint32_t)v;
        t[i].domain = TMS_DOMAIN_PYTHON;
    }
    if (c->p != c->end)
        CORRUPT("bytes after the last column");
    /* the DOMS just before this chunk (§4.13) names its other domains */
    for (uint64_t k = 0; k < r->ndoms; k++) {
        if (r->doms_idx[k] >= n)
            CORRUPT("DOMS entry %llu: trace %u of a chunk of %llu",
                    (unsigned long long)k, r->doms_idx[k],
                    (unsigned long long)n);
        t[r->doms_idx[k]].domain = r->doms_dom[k];
    }
    r->ndoms = 0;
    s->has_traces = 1;
    if (fn != NULL)
        return fn(ctx, t, (size_t)n);
    s->ntraces += n;
    return TMS_OK;
}

/* A "seen" byte per id, for the entries unique across the file (STAT
 * and FNAM frames, PEAK tracebacks); it grows with the ids defined, and
 * fresh bytes must read as "unseen". */
static int seen_grow(uint8_t **seen, uint64_t *cap, uint64_t *zeroed,
                     uint64_t need)
{
    if (tms_grow((void **)seen, cap, need, 1) < 0)
        return TMS_E_NOMEM;
    if (need > *zeroed) {
        memset(*seen + *zeroed, 0, need - *zeroed);
        *zeroed = need;
    }
    return TMS_OK;
}

/* One id of a column whose ids are unique across the file (STAT and FNAM
 * frames, PEAK tracebacks): defined (below nids) and not seen before.
 * The messages read "<entry> I: <id> id V not defined" and
 * "<entry> I: <id> V <again>". */
static int unique_id(tms_reader *r, uint8_t *seen, uint64_t nids, uint64_t i,
                     uint64_t v, const char *entry, const char *id,
                     const char *again, tms_error *err)
{
    if (v >= nids)
        CORRUPT("%s %llu: %s id %llu not defined", entry,
                (unsigned long long)i, id, (unsigned long long)v);
    if (seen[v])
        CORRUPT("%s %llu: %s %llu %s", entry, (unsigned long long)i, id,
                (unsigned long long)v, again);
    seen[v] = 1;
    return TMS_OK;
}

static int parse_stat(tms_reader *r, tms_snapshot *s, cur *c, tms_error *err)
{
    uint64_t n, v;
    VARINT(c, n, "count");
    TMS_FORWARD(count_fits(r, c, n, 3, "stat", err));
    if (tms_grow((void **)&s->stats, &s->cap_stats, s->nstats + n,
                 sizeof *s->stats) < 0 ||
        seen_grow(&r->stat_seen, &r->cap_stat_seen, &r->nstat_seen,
                  s->nframes) < 0)
        return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
    tms_stat *st = n ? s->stats + s->nstats : NULL;
    for (uint64_t i = 0; i < n; i++) {
        VARINT(c, v, "frame id");
        TMS_FORWARD(unique_id(r, r->stat_seen, s->nframes, i, v, "stat",
                              "frame", "already has a stat entry", err));
        st[i].frame = (uint32_t)v;
    }
    for (uint64_t i = 0; i < n; i++)
        VARINT(c, st[i].size, "size");
    for (uint64_t i = 0; i < n; i++)
        VARINT(c, st[i].count, "count");
    if (c->p != c->end)
        CORRUPT("bytes after the last column");
    s->nstats += n;
    return TMS_OK;
}

/* FNAM (1.1, SPEC §4.10): frame column, then name column. */
static int parse_fnam(tms_reader *r, tms_snapshot *s, cur *c, tms_error *err)
{
    uint64_t n, v;
    VARINT(c, n, "count");
    TMS_FORWARD(count_fits(r, c, n, 2, "function name", err));
    if (seen_grow(&r->fnam_seen, &r->cap_fnam_seen, &r->nfnam_seen,
                  s->nframes) < 0)
        return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
    /* The frame column is checked first, then read again beside the name
     * column: no temporary array for a count the file chose. */
    const uint8_t *frames_at = c->p;
    for (uint64_t i = 0; i < n; i++) {
        VARINT(c, v, "frame id");
        TMS_FORWARD(unique_id(r, r->fnam_seen, s->nframes, i, v,
                              "function name", "frame", "already named",
                              err));
    }
    cur fr = { frames_at, c->p };
    for (uint64_t i = 0; i < n; i++) {
        uint64_t f;
        VARINT(c, v, "name id");
        if (v >= s->nstrings)
            CORRUPT("function name %llu: string id %llu not defined",
                    (unsigned long long)i, (unsigned long long)v);
        VARINT(&fr, f, "frame id");
        s->frame_function[f] = (uint32_t)v;
    }
    return TMS_OK;
}

/* PEAK (1.1, SPEC §4.11): the summary, then three columns. */
static int parse_peak(tms_reader *r, tms_snapshot *s, cur *c, tms_error *err)
{
    uint64_t size, rec, ns, n, v;
    VARINT(c, size, "peak size");
    VARINT(c, rec, "recorded size");
    VARINT(c, ns, "recorded time");
    if (rec > size)
        CORRUPT("recorded size %llu above the peak %llu",
                (unsigned long long)rec, (unsigned long long)size);
    tms_peak_info p = { size, rec, tms_unzigzag(ns) };
    if (s->has_peak && (s->peak.size != p.size ||
                        s->peak.recorded_size != p.recorded_size ||
                        s->peak.recorded_ns != p.recorded_ns))
        CORRUPT("PEAK sections disagree on the peak");
    VARINT(c, n, "count");
    if (n > TMS_PEAK_CHUNK)
        return tms_rfail(r, err, TMS_E_LIMIT, "%llu peak entries in one "
                         "section exceeds 65536", (unsigned long long)n);
    TMS_FORWARD(count_fits(r, c, n, 3, "peak entry", err));
    if (tms_grow((void **)&s->peak_entries, &s->cap_peak, s->npeak + n,
                 sizeof *s->peak_entries) < 0 ||
        seen_grow(&r->peak_seen, &r->cap_peak_seen, &r->npeak_seen,
                  s->ntracebacks) < 0)
        return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
    tms_peak_entry *e = n ? s->peak_entries + s->npeak : NULL;
    for (uint64_t i = 0; i < n; i++) {
        VARINT(c, v, "traceback id");
        TMS_FORWARD(unique_id(r, r->peak_seen, s->ntracebacks, i, v,
                              "peak entry", "traceback", "already in the peak",
                              err));
        e[i].traceback = (uint32_t)v;
    }
    for (uint64_t i = 0; i < n; i++)
        VARINT(c, e[i].size, "size");
    for (uint64_t i = 0; i < n; i++)
        VARINT(c, e[i].count, "count");
    s->peak = p;
    s->has_peak = 1;
    s->npeak += n;
    return TMS_OK;
}

/* --- metric names and meta keys ------------------------------------------ */
/* 1 if (p, n) is in the set; the set's names are NUL-terminated. */
static int nameset_has(const tms_nameset *ns, const uint8_t *p, size_t n,
                       uint64_t h)
{
    if (ns->mask == 0)
        return 0;
    for (uint64_t i = h & ns->mask;; i = (i + 1) & ns->mask) {
        if (ns->name[i] == NULL)
            return 0;
        if (ns->hash[i] == h && strlen(ns->name[i]) == n &&
            memcmp(ns->name[i], p, n) == 0)
            return 1;
    }
}

static int nameset_add(tms_nameset *ns, const char *name, uint64_t h)
{
    if ((ns->used + 1) * 2 > ns->mask) {
        uint64_t ncap = ns->mask ? (ns->mask + 1) * 2 : 64;
        uint64_t *hash = calloc(ncap, sizeof *hash);
        const char **names = calloc(ncap, sizeof *names);
        if (hash == NULL || names == NULL) {
            free(hash);
            free(names);
            return TMS_E_NOMEM;
        }
        for (uint64_t i = 0; ns->mask && i <= ns->mask; i++) {
            if (ns->name[i] == NULL)
                continue;
            uint64_t j = ns->hash[i] & (ncap - 1);
            while (names[j] != NULL)
                j = (j + 1) & (ncap - 1);
            hash[j] = ns->hash[i];
            names[j] = ns->name[i];
        }
        free(ns->hash);
        free(ns->name);
        ns->hash = hash;
        ns->name = names;
        ns->mask = ncap - 1;
    }
    uint64_t j = h & ns->mask;
    while (ns->name[j] != NULL)
        j = (j + 1) & ns->mask;
    ns->hash[j] = h;
    ns->name[j] = name;
    ns->used++;
    return TMS_OK;
}

/* Grow a snapshot table with a uint32_t capacity (ids stay < TMS_NONE). */
static int grow_u32cap(void **ptr, uint32_t *cap, uint64_t need, size_t elem)
{
    uint64_t c = *cap;
    if (need > UINT32_MAX - 1)
        return TMS_E_LIMIT;
    int rc = tms_grow(ptr, &c, need, elem);
    if (rc == TMS_OK)
        *cap = (uint32_t)(c > UINT32_MAX - 1 ? UINT32_MAX - 1 : c);
    return rc;
}

static int parse_mtrc(tms_reader *r, tms_snapshot *s, cur *c, tms_error *err)
{
    uint64_t n, v;
    VARINT(c, n, "count");
    TMS_FORWARD(count_fits(r, c, n, 4, "metric", err));
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        tms_metric m = { 0 };
        TMS_FORWARD(get_bytes(r, c, &p, &len, 1, "metric name", err));
        uint64_t h = tm_hash_bytes(p, len);
        if (nameset_has(&r->metric_names, p, len, h))
            CORRUPT("duplicate metric name");
        if (left(c) < 2)
            CORRUPT("metric runs past the payload");
        if (c->p[0] > TMS_FORMAT_SIZE || c->p[1] > TMS_VALUE_FLOAT)
            CORRUPT("unknown metric format %u or kind %u", c->p[0], c->p[1]);
        m.format = (tms_metric_format)c->p[0];
        m.kind = (tms_value_kind)c->p[1];
        c->p += 2;
        if (m.kind == TMS_VALUE_FLOAT) {
            if (left(c) < 8)
                CORRUPT("metric value runs past the payload");
            uint64_t bits = tms_get_u64(c->p);
            memcpy(&m.f, &bits, 8);
            c->p += 8;
        } else {
            VARINT(c, v, "metric value");
            m.i = tms_unzigzag(v);
        }
        int rc = grow_u32cap((void **)&s->metrics, &s->cap_metrics,
                             (uint64_t)s->nmetrics + 1, sizeof *s->metrics);
        if (rc < 0 || (m.name = tms_dup(p, len)) == NULL)
            return map_builder(r, rc < 0 ? rc : TMS_E_NOMEM, err);
        s->metrics[s->nmetrics++] = m;
        if (nameset_add(&r->metric_names, m.name, h) < 0)
            return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
    }
    return TMS_OK;
}

static int parse_meta(tms_reader *r, tms_snapshot *s, cur *c, tms_error *err)
{
    uint64_t n;
    VARINT(c, n, "count");
    TMS_FORWARD(count_fits(r, c, n, 2, "metadata", err));
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *k, *v;
        size_t klen, vlen;
        TMS_FORWARD(get_bytes(r, c, &k, &klen, 1, "metadata key", err));
        TMS_FORWARD(get_bytes(r, c, &v, &vlen, 1, "metadata value", err));
        uint64_t h = tm_hash_bytes(k, klen);
        if (nameset_has(&r->meta_keys, k, klen, h))
            CORRUPT("duplicate metadata key");
        int rc = grow_u32cap((void **)&s->meta, &s->cap_meta,
                             (uint64_t)s->nmeta + 1, sizeof *s->meta);
        if (rc < 0)
            return map_builder(r, rc, err);
        tms_meta m = { tms_dup(k, klen), tms_dup(v, vlen) };
        if (m.key == NULL || m.value == NULL) {
            free(m.key);
            free(m.value);
            return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
        }
        s->meta[s->nmeta++] = m;
        if (nameset_add(&r->meta_keys, m.key, h) < 0)
            return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
    }
    return TMS_OK;
}

/* SMPL (1.2, SPEC §4.12): the sampling interval; once, before sizes. */
static int parse_smpl(tms_reader *r, tms_snapshot *s, cur *c, tms_error *err)
{
    uint64_t v;
    if (r->smpl_seen)
        CORRUPT("a second SMPL section");
    if (r->sizes_seen)
        CORRUPT("SMPL after a section holding sizes");
    VARINT(c, v, "sampling interval");
    if (v == 0)
        CORRUPT("sampling interval 0");
    r->smpl_seen = 1;
    r->header.sample_interval = v;
    s->header.sample_interval = v;
    return TMS_OK;
}

/* DOMS (1.3, SPEC §4.13): positions and domains of the traces of the
 * next TRCS whose domain is not 0; applied by parse_trcs. */
static int parse_doms(tms_reader *r, cur *c, tms_error *err)
{
    uint64_t n, v, pos = 0;
    VARINT(c, n, "count");
    if (n > TMS_TRACE_CHUNK)
        return tms_rfail(r, err, TMS_E_LIMIT, "%llu domain entries in one "
                         "DOMS exceeds 65536", (unsigned long long)n);
    if (n == 0)
        CORRUPT("DOMS with no entry");
    TMS_FORWARD(count_fits(r, c, n, 2, "domain entry", err));
    if (r->doms_idx == NULL &&
        ((r->doms_idx = malloc(TMS_TRACE_CHUNK * sizeof *r->doms_idx)) ==
             NULL ||
         (r->doms_dom = malloc(TMS_TRACE_CHUNK * sizeof *r->doms_dom)) ==
             NULL))
        return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++) {
        VARINT(c, v, "position");
        if (i && v == 0)
            CORRUPT("DOMS entry %llu: positions not strictly ascending",
                    (unsigned long long)i);
        if (v >= TMS_TRACE_CHUNK || pos + v >= TMS_TRACE_CHUNK)
            CORRUPT("DOMS entry %llu: position beyond a chunk",
                    (unsigned long long)i);
        pos += v;
        r->doms_idx[i] = (uint32_t)pos;
    }
    for (uint64_t i = 0; i < n; i++) {
        VARINT(c, v, "domain");
        if (v == 0 || v > UINT32_MAX)
            CORRUPT("DOMS entry %llu: domain %llu not in 1..2^32-1",
                    (unsigned long long)i, (unsigned long long)v);
        r->doms_dom[i] = (uint32_t)v;
    }
    r->ndoms = n;
    return TMS_OK;
}

int tms_parse_section(tms_reader *r, tms_snapshot *s, const uint8_t *p,
                      size_t len, tms_trace_fn fn, void *ctx, tms_error *err)
{
    cur c = { p, p + len };
    int rc;
    if (memcmp(r->tag, "STRS", 4) == 0)
        rc = parse_strs(r, s, &c, err);
    else if (memcmp(r->tag, "FRMS", 4) == 0)
        rc = parse_frms(r, s, &c, err);
    else if (memcmp(r->tag, "TBKS", 4) == 0)
        rc = parse_tbks(r, s, &c, err);
    else if (memcmp(r->tag, "TRCS", 4) == 0)
        return parse_trcs(r, s, &c, fn, ctx, err);   /* checks its own end */
    else if (memcmp(r->tag, "STAT", 4) == 0)
        return parse_stat(r, s, &c, err);
    else if (memcmp(r->tag, "MTRC", 4) == 0)
        rc = parse_mtrc(r, s, &c, err);
    else if (memcmp(r->tag, "FNAM", 4) == 0)
        rc = parse_fnam(r, s, &c, err);
    else if (memcmp(r->tag, "PEAK", 4) == 0)
        rc = parse_peak(r, s, &c, err);
    else if (memcmp(r->tag, "SMPL", 4) == 0)
        rc = parse_smpl(r, s, &c, err);
    else if (memcmp(r->tag, "DOMS", 4) == 0)
        rc = parse_doms(r, &c, err);
    else
        rc = parse_meta(r, s, &c, err);
    if (rc == TMS_OK && c.p != c.end)
        CORRUPT("bytes after the last entry");
    return rc;
}

void tms_parse_state_free(tms_reader *r)
{
    free(r->tb_tmp);
    free(r->chunk);
    free(r->stat_seen);
    free(r->fnam_seen);
    free(r->peak_seen);
    free(r->doms_idx);
    free(r->doms_dom);
    free(r->metric_names.hash);
    free(r->metric_names.name);
    free(r->meta_keys.hash);
    free(r->meta_keys.name);
}
