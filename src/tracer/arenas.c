/* arenas.c -- the bytes of pymalloc's arenas allocated while tracing
 * (tmt_S.arena_size, what the get_arena_size query reports).
 *
 * An arena allocator hook over CPython's keeps the addresses of the
 * arenas made since tracing started, so a free of an older arena does
 * not count.  The list and the size are guarded by tmt_lock: arenas come
 * and go under any thread's GIL, and a reset clears them. */
#include "core.h"

#include <string.h>

#include "tmt_alloc.h"

static PyObjectArenaAllocator prev_arena;
static int arena_installed;
static void **arenas;
static size_t narenas, caparenas;

static void *h_arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    void *p = prev_arena.alloc(prev_arena.ctx, size);
    if (p != NULL && tmt_is_tracing()) {
        tmt_lock();
        if (narenas == caparenas) {
            size_t ncap = caparenas ? caparenas * 2 : 64;
            void **n = tmt_malloc(ncap * sizeof *n);
            if (n != NULL) {
                if (narenas)
                    memcpy(n, arenas, narenas * sizeof *n);
                tmt_free(arenas);
                arenas = n;
                caparenas = ncap;
            }
        }
        if (narenas < caparenas) {
            arenas[narenas++] = p;
            tmt_S.arena_size += size;
        }
        tmt_unlock();
    }
    return p;
}

static void h_arena_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    tmt_lock();
    for (size_t i = 0; i < narenas; i++) {
        if (arenas[i] == ptr) {
            arenas[i] = arenas[--narenas];
            tmt_S.arena_size -= size;
            break;
        }
    }
    tmt_unlock();
    prev_arena.free(prev_arena.ctx, ptr, size);
}

void tmt_arenas_install(void)
{
    if (arena_installed)
        return;
    PyObject_GetArenaAllocator(&prev_arena);
    PyObjectArenaAllocator mine = {NULL, h_arena_alloc, h_arena_free};
    PyObject_SetArenaAllocator(&mine);
    arena_installed = 1;
}

void tmt_arenas_uninstall(void)
{
    if (!arena_installed)
        return;
    PyObjectArenaAllocator cur;
    PyObject_GetArenaAllocator(&cur);
    if (cur.alloc == h_arena_alloc) {
        PyObject_SetArenaAllocator(&prev_arena);
        arena_installed = 0;
    }
}

void tmt_arenas_forget(void)
{
    narenas = 0;
    tmt_S.arena_size = 0;
}
