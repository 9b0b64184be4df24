/* native.c -- native allocations, opt-in: what shared libraries and
 * extensions take from the C library's allocator (sqlite3's page cache,
 * C++ containers, image buffers), traced in TMS_DOMAIN_NATIVE at the
 * Python traceback current on the allocating thread.
 *
 * The calls are interposed in each object's GOT (got.c, group NATIVE:
 * every loaded object but this extension, CPython's own object, the C
 * library, the dynamic loader and sanitizer runtimes; objects Python's
 * importer loads later are patched before their init runs).  The
 * wrappers go through the PEP 445 hooks of hooks.c with the C library's
 * functions as the "previous allocator", so one set of rules holds for
 * every block: the per-thread guard, sampling, filters, the pending map
 * for calls without the GIL.
 *
 * Nothing is counted twice: CPython's object is not patched, so a
 * PyMem_RawMalloc is seen once, by the RAW hook, whoever calls it; and a
 * hook already running on the thread (an allocator above ours that calls
 * malloc from a patched object) makes the native wrapper pass through.
 *
 * The wrappers allocate nothing themselves, run no Python, take no lock
 * with the GIL held but the module's spinlock (as the RAW hook does).
 * Without the GIL a block goes through the pending map; hooks.c gives it
 * the thread's traceback when that is the one the thread last interned. */
#include "core.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

/* The functions as this extension resolved them: the C library's (or an
 * allocator preloaded in front of it). */
static void *c_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void *c_calloc(void *ctx, size_t k, size_t n) { (void)ctx; return calloc(k, n); }
static void *c_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static void c_free(void *ctx, void *p) { (void)ctx; free(p); }

static PyMemAllocatorEx H;   /* hooks.c's hooks over the above */

static void *w_malloc(size_t n) { return H.malloc(H.ctx, n); }
static void *w_calloc(size_t k, size_t n) { return H.calloc(H.ctx, k, n); }
static void *w_realloc(void *p, size_t n) { return H.realloc(H.ctx, p, n); }
static void w_free(void *p) { H.free(H.ctx, p); }

static void *w_reallocarray(void *p, size_t k, size_t n)
{
    size_t bytes;
    if (__builtin_mul_overflow(k, n, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return H.realloc(H.ctx, p, bytes);
}

static int w_posix_memalign(void **out, size_t align, size_t n)
{
    if (!tmt_native_enter())
        return posix_memalign(out, align, n);
    int r = posix_memalign(out, align, n);
    tmt_native_leave(r == 0 ? *out : NULL, n);
    return r;
}

static void *w_aligned_alloc(size_t align, size_t n)
{
    if (!tmt_native_enter())
        return aligned_alloc(align, n);
    void *p = aligned_alloc(align, n);
    tmt_native_leave(p, n);
    return p;
}

static void *w_memalign(size_t align, size_t n)
{
    if (!tmt_native_enter())
        return memalign(align, n);
    void *p = memalign(align, n);
    tmt_native_leave(p, n);
    return p;
}

static void *w_valloc(size_t n)
{
    if (!tmt_native_enter())
        return valloc(n);
    void *p = valloc(n);
    tmt_native_leave(p, n);
    return p;
}

static int registered, installed;

static int native_register(void)
{
    if (registered)
        return 0;
    PyMemAllocatorEx libc = {NULL, c_malloc, c_calloc, c_realloc, c_free};
    tmt_native_hooks(&libc, &H);
    tmt_got_target t[] = {
        {"malloc", (void *)w_malloc, (void *)malloc, TMT_GOT_NATIVE},
        {"calloc", (void *)w_calloc, (void *)calloc, TMT_GOT_NATIVE},
        {"realloc", (void *)w_realloc, (void *)realloc, TMT_GOT_NATIVE},
        {"free", (void *)w_free, (void *)free, TMT_GOT_NATIVE},
        {"reallocarray", (void *)w_reallocarray, (void *)reallocarray,
         TMT_GOT_NATIVE},
        {"posix_memalign", (void *)w_posix_memalign, (void *)posix_memalign,
         TMT_GOT_NATIVE},
        {"aligned_alloc", (void *)w_aligned_alloc, (void *)aligned_alloc,
         TMT_GOT_NATIVE},
        {"memalign", (void *)w_memalign, (void *)memalign, TMT_GOT_NATIVE},
        {"valloc", (void *)w_valloc, (void *)valloc, TMT_GOT_NATIVE},
    };
    if (tmt_got_register(t, (int)(sizeof t / sizeof t[0])) != 0)
        return -1;
    registered = 1;
    return 0;
}

void tmt_native_install(void)
{
    if (!__atomic_load_n(&tmt_S.native, __ATOMIC_RELAXED) || installed)
        return;
    if (native_register() != 0)
        return;
    tmt_got_patch(TMT_GOT_NATIVE);
    installed = 1;
}

void tmt_native_uninstall(void)
{
    if (!installed)
        return;
    tmt_got_restore(TMT_GOT_NATIVE);
    installed = 0;
}

int tmt_native_set(int on)
{
#if defined(__x86_64__) || defined(__aarch64__)
    on = on ? 1 : 0;
    if (on == tmt_S.native)
        return 0;
    /* Under the lock: the pending map's GIL-less additions read it there
     * (a hook holding the GIL cannot run while this does). */
    tmt_lock();
    __atomic_store_n(&tmt_S.native, on, __ATOMIC_RELAXED);
    tmt_unlock();
    if (!on)
        tmt_native_uninstall();
    else if (tmt_is_tracing())
        tmt_native_install();
    /* While tracing, the traces are cleared, as a new sampling interval
     * clears them: native blocks traced before would otherwise stay
     * after their frees stopped being seen, and the traces describe one
     * setting. */
    if (tmt_is_tracing())
        tmt_clear_traces();
    return 0;
#else
    return on ? -1 : 0;
#endif
}
