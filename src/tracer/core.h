/* core.h -- private to the tracer core (hooks, frames, tables, functions,
 * metrics, export).  Other parts of the extension use tracer.h. */
#ifndef TMT_CORE_H
#define TMT_CORE_H

#include "tracer.h"
#include <stdint.h>

#include "tma.h"

/* Largest accepted traceback limit.  A buffer of this many raw frames is
 * kept per thread, so it stays modest; tracebacks deeper than this are
 * truncated, as the limit says. */
#define TMT_MAX_LIMIT 1000


/* A frame as the hook sees it: the code object and the byte offset of the
 * current instruction (what PyCode_Addr2Line takes).  No line number and
 * no Python object is made while capturing. */
typedef struct tmt_rawframe {
    PyObject *code;
    int32_t offset;
    int32_t unused; /* keeps memcmp over arrays free of padding */
} tmt_rawframe;

/* ---- frames.c: the one file that reads interpreter internals ---------- */
/* Walk the calling thread's Python frames, most recent first, stopping
 * before a frame whose code comes from one of tmt_S.root_files.  Needs the
 * GIL.  Returns the number stored (0 if there is no Python frame), or -1
 * if the thread's interpreter is not tmt_S.main_interp. */
int tmt_frames_capture(tmt_rawframe *out, int limit);
/* The same for the calling thread's own frames, whether or not it holds
 * the GIL (see frames.c for why that is safe); -1 without a thread state
 * of tmt_S.main_interp. */
int tmt_frames_capture_own(tmt_rawframe *out, int limit);
/* At most this many root files (tmt_state.root_files). */
#define TMT_ROOT_FILES 6
/* Line of (code, offset), or -1 if unknown.  No allocation. */
int32_t tmt_frame_lineno(PyObject *code, int32_t offset);
/* 1 if the calling thread holds a GIL now.  Not PyGILState_Check: through
 * 3.11 it answers 1 for every thread once a subinterpreter has existed. */
int tmt_holds_gil(void);
/* 1 if the calling thread's current thread state belongs to
 * tmt_S.main_interp.  Only meaningful when the caller holds a GIL. */
int tmt_holds_main(void);
/* Borrowed co_filename of a code object (NULL if none). */
PyObject *tmt_code_filename(PyObject *code);
/* Borrowed qualified name of a code object: co_qualname from 3.11,
 * co_name before (NULL if none).  Read when a snapshot is made, never in
 * the hook. */
PyObject *tmt_code_qualname(PyObject *code);
/* Address of the main memory block of obj: what the allocator returned. */
uintptr_t tmt_object_address(PyObject *obj);
/* Interned-strings dictionary (size, length) where the interpreter lets it
 * be read: 0 and the values, or -1 if not available on this version. */
int tmt_unicode_interned(Py_ssize_t *size, Py_ssize_t *length);

/* ---- tables.c: traces, interned codes/frames/tracebacks, filters -------- */
typedef struct tmt_trace {
    uintptr_t addr;  /* 0: empty slot */
    size_t size;
    uint32_t tb;
    /* allocator table: the domain an extension reported this block in too
     * (numpy's data from PyMem_RawCalloc), else 0; in the padding */
    uint32_t domain;
} tmt_trace;

/* The allocators' trace table (tracetab.c says why it has this shape): a
 * directory of 16 KiB chunks of the address space, each with a leaf of
 * 8-byte cells (granule, size, traceback), and a side map of full entries
 * for what does not fit a cell. */
#define TMT_TT_CHUNK_SHIFT 14
#define TMT_TT_DIRECT_BITS 10   /* a leaf of 1024 cells is a direct array */
#define TMT_TT_RECENT 64        /* tmt_tracetab.recent: a power of two */
typedef struct tmt_tt_leaf {
    uintptr_t chunk;   /* addr >> TMT_TT_CHUNK_SHIFT */
    uint32_t count;    /* cells in use */
    /* The fast paths' bounds: up to grow_at cells in use an insertion
     * needs no resize; down to low a removal needs no shrink. */
    uint16_t grow_at, low;
    uint16_t ncells;   /* cells: a step of tracetab.c's size ladder */
    uint64_t cell[];
} tmt_tt_leaf;
typedef struct tmt_tt_dirent {
    uintptr_t chunk;
    tmt_tt_leaf *leaf; /* NULL: empty slot */
} tmt_tt_dirent;
typedef struct tmt_tracetab {
    tmt_tt_dirent *dir; size_t dcap, dcount, nempty;
    size_t count;      /* traces */
    size_t cells;      /* cells of all leaves */
    /* Leaves used lately, by chunk (a direct-mapped cache of the
     * directory): a program allocates from one pool per block size at a
     * time and frees mostly there, so its events go to a few leaves in
     * turn; with one "last leaf" two of every three events in the docs
     * workload searched the directory. */
    tmt_tt_leaf *recent[TMT_TT_RECENT];
    tmt_trace *side; size_t scap, scount;
} tmt_tracetab;
typedef struct tmt_tt_iter {
    size_t dir, side;
    uint32_t cell;
} tmt_tt_iter;
/* Home cell of a granule key (1..1024) in a hashed leaf of ncells cells
 * (any size, not only powers of two: multiply-high scales the hash). */
static inline uint32_t tmt_tt_home(uint32_t key, uint32_t ncells)
{
    return (uint32_t)(((uint64_t)(key * 0x9E3779B1u) * ncells) >> 32);
}
static inline size_t tmt_tt_dir_slot(uintptr_t chunk, size_t mask)
{
    return (size_t)(((uint64_t)chunk * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
}
int tmt_tt_init(tmt_tracetab *tt);
void tmt_tt_release(tmt_tracetab *tt);
int tmt_tt_get(tmt_tracetab *tt, uintptr_t addr, tmt_trace *out);
/* Set the domain of addr's trace: 1 if there is one, else 0. */
int tmt_tt_set_domain(tmt_tracetab *tt, uintptr_t addr, uint32_t domain);
/* Walk: start with a zeroed iter; 1 and *out per trace, 0 at the end.
 * The table must not change meanwhile. */
int tmt_tt_next(const tmt_tracetab *tt, tmt_tt_iter *it, tmt_trace *out);
size_t tmt_tt_free_bytes(const tmt_tracetab *tt);

typedef struct tmt_code {
    PyObject *code;  /* strong reference, dropped by tmt_tables_release */
    char *filename;  /* module-owned UTF-8 copy; NULL: unknown */
    uint32_t flen;
} tmt_code;

#define TMT_LINE_UNRESOLVED INT32_MIN
typedef struct tmt_frame {
    uint32_t code;   /* index into codes */
    int32_t offset;
    int32_t lineno;  /* TMT_LINE_UNRESOLVED until first needed, -1 unknown */
} tmt_frame;

typedef struct tmt_tb {
    uint32_t hash;
    uint32_t nframes;
    uint64_t start;      /* into tb_frames */
    uint32_t filter_gen; /* generation the keep decision was made under */
    uint8_t keep;
    /* Live blocks of this traceback, kept by tmt_trace_add/remove so a
     * picture of the peak costs one pass over the tracebacks, not over
     * the traces (peak.c).  The hook reads this entry anyway (keep). */
    uint64_t live_size, live_count;
} tmt_tb;

/* One traceback's memory in the recorded peak state (peak.c). */
typedef struct tmt_peak_entry {
    uint32_t tb;
    uint64_t size, count;
} tmt_peak_entry;

/* Traceback id of the empty traceback (no Python frame). */
#define TMT_TB_EMPTY 0u
#define TMT_TB_NONE UINT32_MAX

/* Blocks extensions report through PyTraceMalloc_Track (extblocks.c),
 * one address map per domain, apart from the allocator's table: the same
 * address may be traced in two domains, as CPython's tracer allows. */
#define TMT_EXT_DOMAINS 16
typedef struct tmt_ext_map {
    unsigned int domain;
    tmt_trace *tab; size_t cap, count;
} tmt_ext_map;

typedef struct tmt_tables {
    tmt_tracetab tt;   /* the allocators' traces */
    tmt_ext_map ext[TMT_EXT_DOMAINS]; uint32_t next;
    size_t traced, peak;
    tmt_code *codes; uint32_t ncodes, capcodes;
    uint32_t *code_idx; size_t code_icap;
    tmt_frame *frames; uint32_t nframes, capframes;
    uint32_t *frame_idx; size_t frame_icap;
    tmt_tb *tbs; uint32_t ntbs, captbs;
    uint32_t *tb_idx; size_t tb_icap;
    uint32_t *tb_frames; uint64_t ntbf, captbf;
    /* The recorded peak state (peak.c): taken when traced reaches
     * pk_next; pk_recorded bytes were traced then. */
    size_t pk_next, pk_recorded;
    int64_t pk_ns;
    tmt_peak_entry *pk; size_t npk, cappk;
} tmt_tables;

/* ---- the tracer's state: one struct, one instance ------------------------
 *
 * Everything the parts of the core share lives in tmt_S (defined in
 * state.c), the way CPython keeps its tracer's state in one structure;
 * what a single file needs for itself stays static in that file (the
 * pending map in pending.c, the per-thread buffers in hooks.c).  Each
 * field says who writes it and what guards it.  Code outside the core
 * (tracemod.c's functions, metrics) reads through the queries below.
 *
 * The live tables belong to the GIL of the traced interpreter: the hooks
 * touch them only while holding it, so the hot path takes no lock.  RAW
 * calls without the GIL go through the pending map (below), which has a
 * spinlock, tmt_lock: held only for map operations (never across a call
 * into an allocator or any wait); also taken by the fork handler and for
 * the thread-state list and the arena list. */
typedef struct tmt_state {
    /* tables.c, GIL: traces, interned codes/frames/tracebacks, memory */
    tmt_tables tables;
    uint32_t generation;        /* bumped by every reset (tables.c) */
    /* hooks.c: on/off (atomic: GIL-less hooks read it), the interpreter
     * whose GIL guards the tables, arena bytes (tmt_lock) */
    int tracing;
    PyInterpreterState *main_interp;
    size_t arena_size;
    /* tracemod.c's set_traceback_limit, atomic: the traceback limit */
    int limit;
    /* pending.c: entries waiting in the pending map (atomic) */
    size_t pend_count;
    /* filters.c, GIL: the filters; decisions cached per traceback are
     * valid while filter_gen is unchanged */
    tma_filter *filters;
    size_t nfilters;
    uint32_t filter_gen;
    /* tmt_alloc.h: bytes the module holds, headers included (atomic) */
    size_t alloc_bytes;
    /* tracemod.c's _set_root_codes, GIL: co_filename objects (strong
     * references) of the runner's and runpy's code; frames.c stops a
     * traceback at the first frame of their code, so `python -m tmtrace
     * run` keeps its own frames out.  None by default: one test per
     * frame. */
    PyObject *root_files[TMT_ROOT_FILES];
    int nroot_files;
    /* hooks.c's tmt_set_sampling (GIL): the mean bytes between sampled
     * blocks, 0 to trace every block (atomic: every hook reads it); a
     * change bumps sample_gen (atomic) so each thread draws again from
     * sample_seed; the traces are cleared then, so every trace in the
     * tables was sampled with the current interval. */
    size_t sample_interval;
    uint32_t sample_gen;
    uint64_t sample_seed;
    /* native.c's tmt_native_set (GIL): native mode is on (atomic: the
     * GIL-less hooks read it to attribute blocks to the thread's frames) */
    int native;
} tmt_state;

extern tmt_state tmt_S;

/* The filter decision for traceback tb, cached on it: inline while the
 * cache holds (every hook call but the first of a traceback after the
 * filters or the limit changed); tmt_tb_decide (filters.c) makes it. */
int tmt_tb_decide(uint32_t tb);
static inline int tmt_tb_keep(uint32_t id)
{
    const tmt_tables *t = &tmt_S.tables;
    if (__builtin_expect(id < t->ntbs &&
                         t->tbs[id].filter_gen == tmt_S.filter_gen, 1))
        return t->tbs[id].keep;
    return tmt_tb_decide(id);
}

/* Queries, for code outside the core. */
static inline int tmt_is_tracing(void)
{
    return __atomic_load_n(&tmt_S.tracing, __ATOMIC_RELAXED);
}
static inline int tmt_traceback_limit(void)
{
    return __atomic_load_n(&tmt_S.limit, __ATOMIC_RELAXED);
}
/* Bytes the module holds (get_tracemalloc_memory's size). */
static inline size_t tmt_module_bytes(void)
{
    return __atomic_load_n(&tmt_S.alloc_bytes, __ATOMIC_RELAXED);
}
/* Set the limit (1..TMT_MAX_LIMIT, checked by the caller); GIL held.
 * Cached filter decisions depend on it, so they are redone. */
void tmt_set_traceback_limit(int limit);
/* Arena bytes (tmt_lock taken here). */
size_t tmt_arena_bytes(void);
/* arenas.c: count the arenas made while tracing (GIL; idempotent); stop
 * where our hook is still on top (GIL); forget them all (tmt_lock held:
 * a reset). */
void tmt_arenas_install(void);
void tmt_arenas_uninstall(void);
void tmt_arenas_forget(void);

void tmt_lock(void);
void tmt_unlock(void);

/* The pending map (pending.c).  GIL-less side: a new block with the
 * traceback tb of generation gen (TMT_TB_EMPTY: none), in trace domain
 * `domain` (0, or TMS_DOMAIN_NATIVE). */
void tmt_pend_malloc(uintptr_t addr, size_t size, uint32_t tb, uint32_t gen,
                     uint32_t domain);
/* Before freeing/resizing addr; *saved and the returned generation let a
 * failed resize undo it with tmt_pend_restore. */
uint32_t tmt_pend_free(uintptr_t addr, tmt_trace *saved);
void tmt_pend_restore(uintptr_t addr, const tmt_trace *saved, uint32_t gen);
/* The same two with tmt_lock already held (nativemap.c: a range's
 * removals and additions are one step). */
void tmt_pend_malloc_locked(uintptr_t addr, size_t size, uint32_t tb,
                            uint32_t gen, uint32_t domain);
uint32_t tmt_pend_free_locked(uintptr_t addr, tmt_trace *saved);
/* GIL side: apply it before any table access. */
void tmt_pend_drain(void);
static inline void tmt_drain_if_needed(void)
{
    if (__atomic_load_n(&tmt_S.pend_count, __ATOMIC_ACQUIRE))
        tmt_pend_drain();
}
void tmt_pend_clear(void);          /* tmt_lock held */
size_t tmt_pend_bytes_free(void);

/* All below: caller holds the GIL (and has drained). */
int tmt_tables_init(tmt_tables *t);
/* The leaf of chunk, or NULL (also while there is no directory: before
 * enable(), or out of memory at a reset), through the recent leaves.
 * Only a holder of the tables may call it. */
static inline __attribute__((always_inline)) tmt_tt_leaf *
tmt_tt_leaf_of(tmt_tracetab *tt, uintptr_t chunk)
{
    tmt_tt_leaf **r = &tt->recent[chunk & (TMT_TT_RECENT - 1)];
    tmt_tt_leaf *l = *r;
    if (__builtin_expect(l != NULL && l->chunk == chunk, 1))
        return l;
    if (tt->dcap == 0)
        return NULL;
    size_t mask = tt->dcap - 1;
    for (size_t i = tmt_tt_dir_slot(chunk, mask);; i = (i + 1) & mask) {
        tmt_tt_dirent *d = &tt->dir[i];
        if (d->leaf == NULL)
            return NULL;
        if (d->chunk == chunk) {
            *r = d->leaf;
            return d->leaf;
        }
    }
}
/* The leaf whose cells may hold addr's trace, with the cell starting to
 * load while other work goes on; NULL if no cell can (addr's chunk has
 * no leaf, or addr is not a multiple of 16: those live in the side
 * map).  Only a holder of the tables may call it, and the leaf is valid
 * until the table next changes: a free looks its block up once, before
 * calling the allocator, and removes the trace after (tracetab.c's
 * tmt_trace_remove_in). */
static inline __attribute__((always_inline)) tmt_tt_leaf *
tmt_trace_prefetch(uintptr_t addr)
{
    if (addr & 15)
        return NULL;
    tmt_tt_leaf *l = tmt_tt_leaf_of(&tmt_S.tables.tt, addr >> TMT_TT_CHUNK_SHIFT);
    if (l != NULL) {
        uint32_t key = (uint32_t)((addr >> 4) & ((1u << TMT_TT_DIRECT_BITS) - 1)) + 1;
        __builtin_prefetch(&l->cell[l->ncells == (1u << TMT_TT_DIRECT_BITS)
                                        ? key - 1 : tmt_tt_home(key, l->ncells)], 1);
    }
    return l;
}
/* Interns a captured traceback (needs the GIL when n > 0: code objects
 * are INCREF'd and filenames read).  TMT_TB_NONE on OOM. */
uint32_t tmt_tb_intern(const tmt_rawframe *f, int n);
/* 1 if the code object is interned, so alive (the tables own a
 * reference to it). */
int tmt_code_known(PyObject *code);
/* tmt_tb_keep (above, after tmt_S): the filter decision, cached. */
/* Trace a block of size bytes at traceback tb in domain (0, or
 * TMS_DOMAIN_NATIVE, ...), replacing any trace at addr; -1 on OOM.
 * tracetab.c: the table and the traced-size bookkeeping in one call. */
int tmt_trace_add_in(uintptr_t addr, size_t size, uint32_t tb,
                     uint32_t domain);
/* Removes the trace at addr; 1 and *old (if not NULL) if there was one,
 * else 0.  A free of an untraced block costs only the lookup. */
int tmt_trace_remove(uintptr_t addr, tmt_trace *old);
/* The same for a free, with addr's leaf as tmt_trace_prefetch gave it
 * (not NULL: then there is no cell to remove), the table unchanged
 * since. */
int tmt_trace_remove_in(tmt_tt_leaf *l, uintptr_t addr);
/* The trace at addr into *out (if not NULL): 1, or 0 if none. */
int tmt_trace_get(uintptr_t addr, tmt_trace *out);
/* The domain an extension also reported addr's block in (0: none); 1 if
 * addr is traced (tracetab.c keeps it beside the cell). */
int tmt_trace_set_domain(uintptr_t addr, uint32_t domain);
/* Open-addressing address maps of full entries (tables.c), for the
 * pending map, extension domains and the trace table's side map: linear
 * probing, backward-shift deletion. */
tmt_trace *tmt_map_find(tmt_trace *tab, size_t cap, uintptr_t addr);
int tmt_map_put(tmt_trace **tab, size_t *cap, size_t *count,
                const tmt_trace *e, tmt_trace *old);
int tmt_map_remove(tmt_trace *tab, size_t cap, size_t *count,
                   uintptr_t addr, tmt_trace *old);
/* Extension-tracked blocks (GIL, drained): add or replace the block of
 * (domain, addr); remove it (1 if it was traced).  Both count in traced
 * and peak, as CPython's tracer counts every domain. */
int tmt_ext_add(unsigned int domain, uintptr_t addr, size_t size, uint32_t tb);
int tmt_ext_remove(unsigned int domain, uintptr_t addr);
/* Line of a frame, resolved once and cached. */
int32_t tmt_frame_line(tmt_frame *fr);

/* The peak (peak.c).  tmt_peak_record: copy the live per-traceback
 * memory as the recorded peak state and set the next threshold; called
 * from tmt_trace_add when traced reaches pk_next (no Python, no lock,
 * module memory only), and by reset_peak and snapshots (GIL). */
void tmt_peak_record(void);
/* reset_peak(): the peak becomes the current traced size (CPython's
 * tracemalloc.reset_peak) and the recorded state the current one. */
void tmt_peak_reset(void);

/* Detach the live tables (GIL and tmt_lock held) into *out and start
 * empty ones; then, WITHOUT the lock and with the GIL, release *out (which
 * drops code references and may run arbitrary code). */
void tmt_tables_detach(tmt_tables *out);
void tmt_tables_release(tmt_tables *t);
/* Bytes reserved but unused in the live tables and the pending map. */
size_t tmt_tables_free_bytes(void);

/* Filters (filters.c, GIL; tmt_S.filters): decisions are cached per
 * traceback and recomputed when tmt_S.filter_gen changes. */
int tmt_filters_append(int include, const char *pattern, size_t plen,
                       int32_t lineno, int traceback);
void tmt_filters_clear(void);

/* Per-thread state: capture buffers and the last-traceback cache. */
void tmt_tstates_free_others(void);   /* in a forked child */

/* ---- hooks.c ----------------------------------------------------------- */
/* Before 3.12 every interpreter shares one GIL, so any MEM/OBJ call (GIL
 * held by contract) may touch the tables; since 3.12 an interpreter may
 * have its own GIL. */
#define TMT_ONE_GIL (PY_VERSION_HEX < 0x030C0000)
int tmt_hooks_enable(void);     /* GIL held; idempotent */
void tmt_hooks_disable(void);   /* GIL held; idempotent, clears traces */
void tmt_clear_traces(void);    /* GIL held */
/* Sample blocks by bytes (Poisson: a block of s bytes is traced with
 * probability 1 - exp(-s / interval)); 0: trace every block.  seed feeds
 * the per-thread generators (threads get distinct streams).  GIL held;
 * clears the traces when the interval changes. */
void tmt_set_sampling(size_t interval, uint64_t seed);
int tmt_fork_init(void);
/* Stop tracing this thread's new blocks while a query builds Python
 * objects; returns the previous setting, to restore. */
int tmt_quiet(int on);
/* fn(arg) with our OBJ hook (if on top) replaced by what it wraps. */
int tmt_call_with_obj_unhooked(int (*fn)(void *), void *arg);
const uint8_t *tmt_series_id(void);
/* Extension-tracked blocks (PyTraceMalloc_Track/Untrack; extblocks.c):
 * trace or forget a block reported by an extension.  Caller holds the
 * traced interpreter's GIL (or the one GIL before 3.12). */
void tmt_ext_trace_new(unsigned int domain, uintptr_t ptr, size_t size);
void tmt_ext_trace_del(unsigned int domain, uintptr_t ptr);
/* The calling thread's traceback now, interned (reftrace.c; tables owned,
 * drained).  TMT_TB_NONE inside a hook, in a query, or out of memory. */
uint32_t tmt_current_tb(void);
/* The block trace_new last saw on this thread: CPython makes an object in
 * a block it just allocated right away, at the same traceback, so
 * reftrace.c has nothing to move for it. */
extern __thread __attribute__((tls_model("initial-exec"))) uintptr_t tmt_tls_fresh;

/* Native allocations (native.c): hooks over the C library's functions
 * `libc` (ctx unused), with every rule of the PEP 445 hooks; the blocks
 * are traced in TMS_DOMAIN_NATIVE.  For the aligned functions, which
 * have no PyMemAllocatorEx slot: enter (0: already inside a hook on this
 * thread, just call the C library), allocate, leave with the block. */
void tmt_native_hooks(const PyMemAllocatorEx *libc, PyMemAllocatorEx *hooks);
int tmt_native_enter(void);
void tmt_native_leave(void *p, size_t size);

/* nogiltb.c: the traceback of blocks allocated without the GIL in native
 * mode.  defer (no GIL needed): remember that the block at addr was made
 * under these frames of the calling thread (read by
 * tmt_frames_capture_own); resolve (the same thread, GIL held, tables
 * drained; cur: its current frames): give those blocks their traceback
 * where their code objects are provably alive.  tmt_tls_deferred: this
 * thread has blocks to resolve. */
extern __thread int tmt_tls_deferred __attribute__((tls_model("initial-exec")));
void tmt_nogil_defer(uintptr_t addr, size_t size, const tmt_rawframe *f, int n);
void tmt_nogil_resolve(const tmt_rawframe *cur, int ncur);

/* ---- got.c: GOT interposition in loaded objects ------------------------ */
/* Groups of symbols, each patched in its own set of objects:
 * TRACK  PyTraceMalloc_Track/Untrack, in every object but ours and
 *        CPython's;
 * DLOPEN CPython's own dlopen (to scan objects its importer loads), on
 *        while any other group is;
 * NATIVE the malloc family and mmap/mmap64/munmap/mremap, in every
 *        object but ours, CPython's, the C library's, the dynamic
 *        loader's and sanitizer runtimes. */
#define TMT_GOT_TRACK 1u
#define TMT_GOT_DLOPEN 2u
#define TMT_GOT_NATIVE 4u
typedef struct tmt_got_target {
    const char *name;
    void *wrapper;
    /* the function the wrapper calls: a slot holding anything else (but a
     * lazy-binding stub of its own object) is bound to another
     * implementation and left alone; NULL: patch whatever it holds */
    void *real;
    unsigned group;
} tmt_got_target;
/* Register targets (once per process, GIL held); -1 if full. */
int tmt_got_register(const tmt_got_target *t, int n);
/* Patch the slots of these groups' symbols in every loaded object, and
 * keep them patched in objects loaded later; GIL held; idempotent. */
void tmt_got_patch(unsigned groups);
/* Give those groups' slots back their previous values. */
void tmt_got_restore(unsigned groups);

/* ---- native.c ---------------------------------------------------------- */
/* Native mode on or off (GIL held): remembered; the interposition is in
 * place while it is on and tracing is.  0, or -1 (unsupported platform). */
int tmt_native_set(int on);
/* Follow enable()/disable(): install or remove the interposition. */
void tmt_native_install(void);
void tmt_native_uninstall(void);

/* hooks.c, for nativemap.c: a new anonymous mapping of size bytes at p
 * (inside tmt_native_enter): 1 and its traceback (*tb of generation
 * *gen) if traced, 0 if not (sampling, a query), -1 if not tracing. */
int tmt_native_map_tb(void *p, size_t size, uint32_t *tb, uint32_t *gen);

/* ---- nativemap.c: anonymous mappings in native mode -------------------- */
/* The wrappers hold the map lock across the system call and the calls
 * below; nothing else takes it.  mapped: a successful mmap (anon: an
 * anonymous one, traced; else only MAP_FIXED's replacement of what was
 * there); unmapped: a successful munmap; remapped: a successful mremap
 * (keep_old: MREMAP_DONTUNMAP).  Lengths are rounded up to pages, as
 * the kernel does. */
void tmt_nmap_lock(void);
void tmt_nmap_unlock(void);
void tmt_nmap_atfork_child(void);
int tmt_nmap_any(void);          /* any mapping recorded (a fast path) */
size_t tmt_nmap_page_round(size_t len);
void tmt_nmap_mapped(void *addr, size_t len, int anon);
void tmt_nmap_unmapped(void *addr, size_t len);
void tmt_nmap_remapped(void *old, size_t olen, void *addr, size_t len,
                       int keep_old);
/* nogiltb.c moved the block at addr of size bytes to traceback tb: a
 * mapping recorded with the empty traceback takes it too (GIL held). */
void tmt_nmap_retag(uintptr_t addr, size_t size, uint32_t tb);

/* ---- extblocks.c: PyTraceMalloc_Track/Untrack interposition ----------- */
/* Patch the calls to the two functions in every loaded object (and, from
 * then on, in objects Python's importer loads); GIL held; idempotent.
 * uninstall puts every patched call back. */
int tmt_extblocks_install(void);
void tmt_extblocks_uninstall(void);

/* ---- reftrace.c: objects from free lists (3.13+; no-ops before) ------- */
/* Take the reference tracer if we are not in its chain (GIL; at enable()
 * and at queries: CPython's tracemalloc replaces it without chaining). */
void tmt_reftrace_sync(void);
/* Give it back if we are on top (GIL; at disable()). */
void tmt_reftrace_leave(void);
/* Re-attribution on (1), off (0) or on unless sampling (-1, the
 * default); GIL.  Returns the previous setting. */
int tmt_reftrace_set(int on);
/* 1 if objects made now from reused memory get the current traceback. */
int tmt_reftrace_active(void);
/* Its functions on the module. */
int tmt_reftrace_init(PyObject *module);
int tmt_series_new(void);

/* ---- metrics.c --------------------------------------------------------- */
int tmt_metrics_init(PyObject *module);

#endif
