/* nogiltb.c -- the Python traceback of blocks allocated without the GIL
 * in native mode (sqlite3_step, inflate, a C++ extension's worker code
 * between Py_BEGIN_ALLOW_THREADS and Py_END_ALLOW_THREADS).
 *
 * Without the GIL a thread may read its own frames (frames.c says why)
 * but not intern them: interning takes references to code objects.  The
 * hook first tries the frames this thread last interned (hooks.c, no
 * work left); otherwise the block enters the pending map with the empty
 * traceback and is remembered here, in this thread's own list, with a
 * copy of the raw frames (code pointers and offsets, no reference).
 *
 * The same thread resolves its list at its next traced allocation with
 * the GIL: usually the C function building its result, a moment later.
 * A raw frame is used only if its code object is provably alive then --
 * running in one of the thread's current frames, or interned (the tables
 * hold a reference) -- so no freed code object is ever touched.  A
 * resolved block that is still traced as what it was (same address,
 * size, empty traceback) moves to its traceback; the others keep the
 * empty traceback, which is what a block allocated without the GIL had
 * before native mode.
 *
 * Bounds: DEF_GROUPS distinct frame stacks and DEF_BLOCKS blocks per
 * thread between two resolutions; beyond them blocks keep the empty
 * traceback.  Nothing here runs Python or takes a lock; memory comes
 * from tmt_alloc (the C library, never through a hook). */
#include "core.h"

#include <pthread.h>

#include "tmt_alloc.h"

#define DEF_GROUPS 8
#define DEF_BLOCKS 16384

typedef struct def_block {
    uintptr_t addr;
    size_t size;
} def_block;

typedef struct def_group {
    uint32_t gen;            /* tmt_S.generation when deferred */
    int n, fcap;             /* frames, and room for them */
    tmt_rawframe *frames;
    def_block *blk;
    size_t nblk, capblk;
} def_group;

typedef struct def_thread {
    int ngroups;
    def_group g[DEF_GROUPS];
} def_thread;

#define TMT_TLS static __thread __attribute__((tls_model("initial-exec")))
TMT_TLS def_thread *tls_def;
__thread int tmt_tls_deferred __attribute__((tls_model("initial-exec")));

static pthread_key_t def_key;
static pthread_once_t def_once = PTHREAD_ONCE_INIT;
static int def_key_ok;

static void def_destroy(void *p)
{
    def_thread *d = p;
    if (d == NULL)
        return;
    for (int i = 0; i < DEF_GROUPS; i++) {
        tmt_free(d->g[i].frames);
        tmt_free(d->g[i].blk);
    }
    if (tls_def == d) {
        tls_def = NULL;
        tmt_tls_deferred = 0;
    }
    tmt_free(d);
}

static void def_key_init(void)
{
    def_key_ok = pthread_key_create(&def_key, def_destroy) == 0;
}

static def_thread *def_get(void)
{
    if (tls_def != NULL)
        return tls_def;
    pthread_once(&def_once, def_key_init);
    if (!def_key_ok)
        return NULL;
    def_thread *d = tmt_calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    pthread_setspecific(def_key, d);
    tls_def = d;
    return d;
}

static int same(const tmt_rawframe *a, const tmt_rawframe *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i].code != b[i].code || a[i].offset != b[i].offset)
            return 0;
    return 1;
}

void tmt_nogil_defer(uintptr_t addr, size_t size, const tmt_rawframe *f, int n)
{
    def_thread *d = def_get();
    if (d == NULL || n <= 0)
        return;
    uint32_t gen = __atomic_load_n(&tmt_S.generation, __ATOMIC_RELAXED);
    def_group *g = NULL;
    for (int i = d->ngroups - 1; i >= 0; i--) {
        def_group *c = &d->g[i];
        if (c->gen == gen && c->n == n && same(c->frames, f, n)) {
            g = c;
            break;
        }
    }
    if (g == NULL) {
        if (d->ngroups == DEF_GROUPS)
            return;
        g = &d->g[d->ngroups];
        if (g->fcap < n) {
            tmt_rawframe *nf = tmt_malloc((size_t)n * sizeof *nf);
            if (nf == NULL)
                return;
            tmt_free(g->frames);
            g->frames = nf;
            g->fcap = n;
        }
        memcpy(g->frames, f, (size_t)n * sizeof *f);
        g->n = n;
        g->gen = gen;
        g->nblk = 0;
        d->ngroups++;
    }
    if (g->nblk == g->capblk) {
        if (g->capblk >= DEF_BLOCKS)
            return;
        size_t ncap = g->capblk ? g->capblk * 2 : 16;
        def_block *nb = tmt_malloc(ncap * sizeof *nb);
        if (nb == NULL)
            return;
        if (g->nblk)
            memcpy(nb, g->blk, g->nblk * sizeof *nb);
        tmt_free(g->blk);
        g->blk = nb;
        g->capblk = ncap;
    }
    g->blk[g->nblk++] = (def_block){addr, size};
    tmt_tls_deferred = 1;
}

/* Is every code object of f alive now?  Running in one of the current
 * frames, or held by the tables. */
static int alive(const tmt_rawframe *f, int n, const tmt_rawframe *cur, int ncur)
{
    for (int i = 0; i < n; i++) {
        int ok = 0;
        for (int j = 0; j < ncur && !ok; j++)
            ok = cur[j].code == f[i].code;
        if (!ok && !tmt_code_known(f[i].code))
            return 0;
    }
    return 1;
}

static void resolve_group(const def_group *g)
{
    uint32_t tb = tmt_tb_intern(g->frames, g->n);
    if (tb == TMT_TB_NONE)
        return;
    int keep = tmt_tb_keep(tb);
    for (size_t i = 0; i < g->nblk; i++) {
        const def_block *b = &g->blk[i];
        tmt_trace t;
        if (!tmt_trace_get(b->addr, &t) || t.tb != TMT_TB_EMPTY ||
            t.size != b->size)
            continue;   /* freed, or another block there now */
        tmt_trace_remove(b->addr, NULL);
        if (keep)
            tmt_trace_add_in(b->addr, b->size, tb, t.domain);
        tmt_nmap_retag(b->addr, b->size, tb);   /* a mapping's pieces too */
    }
}

void tmt_nogil_resolve(const tmt_rawframe *cur, int ncur)
{
    def_thread *d = tls_def;
    tmt_tls_deferred = 0;
    if (d == NULL)
        return;
    for (int i = 0; i < d->ngroups; i++) {
        def_group *g = &d->g[i];
        if (g->gen == tmt_S.generation && alive(g->frames, g->n, cur, ncur))
            resolve_group(g);
        g->nblk = 0;
    }
    d->ngroups = 0;
}
