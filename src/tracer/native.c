/* native.c -- native allocations, opt-in: what shared libraries and
 * extensions take from the C library's allocator (sqlite3's page cache,
 * C++ containers, image buffers), traced in TMS_DOMAIN_NATIVE at the
 * Python traceback current on the allocating thread; and the anonymous
 * mappings they make with mmap, followed through munmap and mremap page
 * by page (nativemap.c keeps the ranges).
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
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>

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

/* ---- anonymous mappings (nativemap.c keeps their ranges) ---------------
 *
 * Only MAP_ANONYMOUS mappings are memory the program allocated.  A file
 * mapping's pages are the file's, in the page cache: shared with every
 * other mapping of the file and other processes, dropped and read again
 * by the kernel at will, written back rather than freed; counting them
 * would count the file, not the program.  They are not traced (a
 * MAP_FIXED file mapping still replaces the traced range under it).
 * MAP_HUGETLB mappings are left out too: their unit is a huge page whose
 * size the flags need not say, so their ranges could not be cut
 * exactly.  Lengths count in pages, as the kernel's do. */
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

/* Each name as it is: pyconfig.h sets _FILE_OFFSET_BITS=64, which makes
 * `mmap` in C a call to mmap64 (so every extension imports mmap64), but
 * other libraries import mmap.  A slot of each name must be compared
 * with, and call, that name's function: the same one in glibc on LP64,
 * two interceptors under ASan. */
extern void *sym_mmap(void *, size_t, int, int, int, off_t) __asm__("mmap");
extern void *sym_mmap64(void *, size_t, int, int, int, off_t)
    __asm__("mmap64");

static void *map_call(mmap_fn fn, void *addr, size_t len, int prot,
                      int flags, int fd, off_t off)
{
    int anon = (flags & MAP_ANONYMOUS) && !(flags & MAP_HUGETLB);
    int fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
    if (!(anon || fixed) || !tmt_is_tracing() || !tmt_native_enter())
        return fn(addr, len, prot, flags, fd, off);
    tmt_nmap_lock();
    void *p = fn(addr, len, prot, flags, fd, off);
    int err = errno;
    if (p != MAP_FAILED)
        tmt_nmap_mapped(p, len, anon);
    tmt_nmap_unlock();
    tmt_native_leave(NULL, 0);
    errno = err;
    return p;
}

static void *w_mmap(void *addr, size_t len, int prot, int flags, int fd,
                    off_t off)
{
    return map_call(sym_mmap, addr, len, prot, flags, fd, off);
}

static void *w_mmap64(void *addr, size_t len, int prot, int flags, int fd,
                      off_t off)
{
    return map_call(sym_mmap64, addr, len, prot, flags, fd, off);
}

static int w_munmap(void *addr, size_t len)
{
    /* No mapping recorded: nothing of ours can be in the range. */
    if (!tmt_nmap_any() || !tmt_native_enter())
        return munmap(addr, len);
    tmt_nmap_lock();
    int r = munmap(addr, len);
    int err = errno;
    if (r == 0)
        tmt_nmap_unmapped(addr, len);
    tmt_nmap_unlock();
    tmt_native_leave(NULL, 0);
    errno = err;
    return r;
}

static void *w_mremap(void *old, size_t olen, size_t len, int flags, ...)
{
    void *want = NULL;   /* the new address, with MREMAP_FIXED only */
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        want = va_arg(ap, void *);
        va_end(ap);
    }
    if (!tmt_nmap_any() || !tmt_native_enter())
        return mremap(old, olen, len, flags, want);
    tmt_nmap_lock();
    void *p = mremap(old, olen, len, flags, want);
    int err = errno;
    if (p != MAP_FAILED)
        tmt_nmap_remapped(old, olen, p, len, (flags & MREMAP_DONTUNMAP) != 0);
    tmt_nmap_unlock();
    tmt_native_leave(NULL, 0);
    errno = err;
    return p;
}

static int registered, installed;

static int native_register(void)
{
    if (registered)
        return 0;
    PyMemAllocatorEx libc = {NULL, c_malloc, c_calloc, c_realloc, c_free};
    tmt_native_hooks(&libc, &H);
    /* A fork child must not inherit a map lock held by another thread. */
    if (pthread_atfork(NULL, NULL, tmt_nmap_atfork_child) != 0)
        return -1;
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
        {"mmap", (void *)w_mmap, (void *)sym_mmap, TMT_GOT_NATIVE},
        {"mmap64", (void *)w_mmap64, (void *)sym_mmap64, TMT_GOT_NATIVE},
        {"munmap", (void *)w_munmap, (void *)munmap, TMT_GOT_NATIVE},
        {"mremap", (void *)w_mremap, (void *)mremap, TMT_GOT_NATIVE},
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
