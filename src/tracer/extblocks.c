/* extblocks.c -- blocks extensions report through PyTraceMalloc_Track and
 * PyTraceMalloc_Untrack (numpy's array data, for one), traced without
 * CPython's tracemalloc.
 *
 * Those two functions reach only CPython's tracer (and return -2 while it
 * is off), so the calls are interposed where they leave each extension:
 * its GOT slot for the symbol (R_*_JUMP_SLOT through the PLT,
 * R_*_GLOB_DAT for -fno-plt code).  A patched slot points at a wrapper
 * that first calls CPython's function (so CPython's tracer, when on, sees
 * every block as before, in either start order, and the caller gets
 * CPython's answer unchanged) and then records the block in our tables.
 *
 * What is touched, and why it is safe:
 * - only GOT slots of undefined references to exactly these symbols, in
 *   objects other than this extension and other than CPython itself;
 *   each slot's previous value is kept and written back by uninstall
 *   (disable()), only where the slot still holds our wrapper;
 * - each slot is written with one aligned atomic store, so a thread
 *   calling through it concurrently sees the old or the new function,
 *   both correct; slots under RELRO get their page made writable for the
 *   store and then given back the protection /proc/self/maps showed;
 * - the wrapper calls CPython's function itself (its address as this
 *   extension resolved it), never the saved slot value, which may be a
 *   lazy-binding stub that would re-resolve and overwrite the patch;
 * - objects loaded later: CPython's own GOT slot for dlopen (the one call
 *   its importer makes, dynload_shlib.c, always with a path containing
 *   '/', so the search rules that depend on dlopen's caller never apply)
 *   is patched too; after each successful load, before the module's init
 *   function runs, the new objects are scanned.  A library loaded
 *   otherwise (ctypes) is covered from the next extension import or
 *   start();
 * - a scan holds its own mutex (atfork: the child re-initialises it) and
 *   runs with the GIL or inside dlopen's caller; the wrappers take no lock
 *   of ours.  After fork() the patches stay (they are in the child's
 *   copy too) and the wrappers only call through while tracing is off.
 *
 * Not covered: calls through dlsym or ctypes.pythonapi (no GOT slot), a
 * CPython linked into the executable with extensions resolving to it the
 * same way (covered: the slot is in the extension) -- and architectures
 * other than x86-64 and AArch64 (no interposition: only CPython's tracer
 * sees these blocks there). */

#include "core.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tmt_alloc.h"

#if defined(__x86_64__)
#define R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define R_GLOB_DAT R_X86_64_GLOB_DAT
#define EXT_SUPPORTED 1
#elif defined(__aarch64__)
#define R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define R_GLOB_DAT R_AARCH64_GLOB_DAT
#define EXT_SUPPORTED 1
#else
#define EXT_SUPPORTED 0
#endif

typedef int (*track_fn)(unsigned int, uintptr_t, size_t);
typedef int (*untrack_fn)(unsigned int, uintptr_t);
typedef void *(*dlopen_fn)(const char *, int);

static track_fn real_track;
static untrack_fn real_untrack;
static dlopen_fn real_dlopen;

/* ---- the wrappers --------------------------------------------------------- */

/* PyTraceMalloc_Track's contract allows a caller without the GIL: CPython
 * takes it with PyGILState_Ensure, and so do we, only while tracing. */
static void note(unsigned int domain, uintptr_t ptr, size_t size, int add)
{
    if (!tmt_is_tracing())
        return;
    int taken = 0;
    PyGILState_STATE g = PyGILState_UNLOCKED;
    if (!tmt_holds_gil()) {
#if PY_VERSION_HEX >= 0x030D0000
        if (Py_IsFinalizing())
            return;
#else
        if (_Py_IsFinalizing())
            return;
#endif
        g = PyGILState_Ensure();
        taken = 1;
    }
    /* Since 3.12 another interpreter may have a GIL of its own: its
     * threads may not touch our tables, and their blocks are not traced. */
    if (TMT_ONE_GIL || tmt_holds_main()) {
        if (add)
            tmt_ext_trace_new(domain, ptr, size);
        else
            tmt_ext_trace_del(domain, ptr);
    }
    if (taken)
        PyGILState_Release(g);
}

static int w_track(unsigned int domain, uintptr_t ptr, size_t size)
{
    int r = real_track(domain, ptr, size);
    note(domain, ptr, size, 1);
    return r;
}

static int w_untrack(unsigned int domain, uintptr_t ptr)
{
    int r = real_untrack(domain, ptr);
    note(domain, ptr, 0, 0);
    return r;
}

static void scan_locked(int patch);
static pthread_mutex_t scan_mu = PTHREAD_MUTEX_INITIALIZER;
static int installed;

static void *w_dlopen(const char *file, int mode)
{
    void *h = real_dlopen(file, mode);
    if (h != NULL) {
        pthread_mutex_lock(&scan_mu);
        if (installed)
            scan_locked(1);
        pthread_mutex_unlock(&scan_mu);
    }
    return h;
}

/* ---- patched slots ----------------------------------------------------- */

typedef struct slot {
    void **at;
    void *orig;
} slot;
static slot *slots;
static size_t nslots, capslots;

static slot *slot_find(void **at)
{
    for (size_t i = 0; i < nslots; i++)
        if (slots[i].at == at)
            return &slots[i];
    return NULL;
}

/* Protection of the page holding addr, from /proc/self/maps; -1 if not
 * found.  Read with plain system calls into a stack buffer. */
static int page_prot(uintptr_t addr)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[8192];
    size_t have = 0;
    int prot = -1;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = 0;
            unsigned long lo, hi;
            char perms[5];
            if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
                addr >= lo && addr < hi) {
                prot = (perms[0] == 'r' ? PROT_READ : 0) |
                       (perms[1] == 'w' ? PROT_WRITE : 0) |
                       (perms[2] == 'x' ? PROT_EXEC : 0);
                goto done;
            }
            line = nl + 1;
        }
        have = (size_t)(buf + have - line);
        memmove(buf, line, have);
        if (have == sizeof buf - 1)
            have = 0; /* a line longer than the buffer: not one we want */
    }
done:
    close(fd);
    return prot;
}

/* Store v into *at; a read-only page (RELRO) is made writable for the
 * store and then given back its protection. */
static int slot_store(void **at, void *v, int relro)
{
    if (!relro) {
        __atomic_store_n(at, v, __ATOMIC_RELEASE);
        return 0;
    }
    int prot = page_prot((uintptr_t)at);
    if (prot < 0)
        return -1;
    long psz = sysconf(_SC_PAGESIZE);
    void *page = (void *)((uintptr_t)at & ~(uintptr_t)(psz - 1));
    if (!(prot & PROT_WRITE) &&
        mprotect(page, (size_t)psz, prot | PROT_WRITE) != 0)
        return -1;
    __atomic_store_n(at, v, __ATOMIC_RELEASE);
    if (!(prot & PROT_WRITE))
        mprotect(page, (size_t)psz, prot);
    return 0;
}

/* ---- scanning loaded objects --------------------------------------------- */

typedef struct target {
    const char *name;
    void *wrapper;
    int cpython_only; /* patch only CPython's own slot (dlopen) */
} target;

static target targets[3];
static int ntargets;

typedef struct scan_ctx {
    int patch;          /* 1 install, 0 restore */
    uintptr_t self;     /* an address inside this extension */
    uintptr_t cpy;      /* an address inside CPython's object */
} scan_ctx;

static uintptr_t dyn_ptr(uintptr_t base, ElfW(Addr) p)
{
    /* glibc has relocated most pointers of a loaded object's dynamic
     * section in place; the vDSO's are still offsets. */
    return p < base ? base + p : p;
}

static int contains(const struct dl_phdr_info *info, uintptr_t a)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && a >= lo && a < lo + ph->p_memsz)
            return 1;
    }
    return 0;
}

static void visit_rela(const scan_ctx *c, const struct dl_phdr_info *info,
                       int is_cpython, const ElfW(Rela) *rel, size_t n,
                       const ElfW(Sym) *symtab, const char *strtab,
                       uintptr_t relro_lo, uintptr_t relro_hi)
{
    for (size_t i = 0; i < n; i++) {
        unsigned type = (unsigned)ELF64_R_TYPE(rel[i].r_info);
        if (type != R_JUMP_SLOT && type != R_GLOB_DAT)
            continue;
        const ElfW(Sym) *sym = &symtab[ELF64_R_SYM(rel[i].r_info)];
        if (sym->st_name == 0 || sym->st_shndx != SHN_UNDEF)
            continue;
        const char *name = strtab + sym->st_name;
        if (name[0] != 'P' && name[0] != 'd')
            continue;
        for (int k = 0; k < ntargets; k++) {
            const target *t = &targets[k];
            if (strcmp(name, t->name) != 0 || t->cpython_only != is_cpython)
                continue;
            void **at = (void **)(info->dlpi_addr + rel[i].r_offset);
            int relro = (uintptr_t)at >= relro_lo && (uintptr_t)at < relro_hi;
            void *cur = __atomic_load_n(at, __ATOMIC_ACQUIRE);
            if (c->patch) {
                if (cur == t->wrapper)
                    break;
                slot *s = slot_find(at); /* a reloaded object at an old address */
                if (s == NULL) {
                    if (nslots == capslots) {
                        size_t ncap = capslots ? capslots * 2 : 16;
                        slot *ns = tmt_malloc(ncap * sizeof *ns);
                        if (ns == NULL)
                            break;
                        if (nslots)
                            memcpy(ns, slots, nslots * sizeof *ns);
                        tmt_free(slots);
                        slots = ns;
                        capslots = ncap;
                    }
                    s = &slots[nslots++];
                    s->at = at;
                }
                s->orig = cur;
                if (slot_store(at, t->wrapper, relro) != 0)
                    nslots--; /* left as it was: only this object is missed */
            } else if (cur == t->wrapper) {
                slot *s = slot_find(at);
                if (s != NULL)
                    slot_store(at, s->orig, relro);
            }
            break;
        }
    }
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    const scan_ctx *c = arg;
    const ElfW(Dyn) *dyn = NULL;
    uintptr_t relro_lo = 0, relro_hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
        else if (ph->p_type == PT_GNU_RELRO) {
            relro_lo = info->dlpi_addr + ph->p_vaddr;
            relro_hi = relro_lo + ph->p_memsz;
        }
    }
    if (dyn == NULL || contains(info, c->self))
        return 0;
    if (info->dlpi_name && strncmp(info->dlpi_name, "linux-vdso", 10) == 0)
        return 0;
    int is_cpython = contains(info, c->cpy);
    uintptr_t base = info->dlpi_addr;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Rela) *jmprel = NULL, *rela = NULL;
    size_t pltrelsz = 0, relasz = 0;
    long pltrel = DT_RELA;
    for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: symtab = (const void *)dyn_ptr(base, d->d_un.d_ptr); break;
        case DT_STRTAB: strtab = (const void *)dyn_ptr(base, d->d_un.d_ptr); break;
        case DT_JMPREL: jmprel = (const void *)dyn_ptr(base, d->d_un.d_ptr); break;
        case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
        case DT_PLTREL: pltrel = (long)d->d_un.d_val; break;
        case DT_RELA: rela = (const void *)dyn_ptr(base, d->d_un.d_ptr); break;
        case DT_RELASZ: relasz = d->d_un.d_val; break;
        default: break;
        }
    }
    if (symtab == NULL || strtab == NULL)
        return 0;
    if (jmprel && pltrel == DT_RELA)
        visit_rela(c, info, is_cpython, jmprel, pltrelsz / sizeof(ElfW(Rela)),
                   symtab, strtab, relro_lo, relro_hi);
    if (rela)
        visit_rela(c, info, is_cpython, rela, relasz / sizeof(ElfW(Rela)),
                   symtab, strtab, relro_lo, relro_hi);
    return 0;
}

static void scan_locked(int patch)
{
    scan_ctx c = {patch, (uintptr_t)w_track, (uintptr_t)real_track};
    dl_iterate_phdr(visit, &c);
    if (!patch)
        nslots = 0;
}

/* ---- install / uninstall ------------------------------------------------- */

static void atfork_prepare(void) { pthread_mutex_lock(&scan_mu); }
static void atfork_parent(void) { pthread_mutex_unlock(&scan_mu); }
static void atfork_child(void) { pthread_mutex_init(&scan_mu, NULL); }

int tmt_extblocks_install(void)
{
#if EXT_SUPPORTED
    static int once;
    if (!once) {
        real_track = PyTraceMalloc_Track;
        real_untrack = PyTraceMalloc_Untrack;
        real_dlopen = dlopen;
        targets[0] = (target){"PyTraceMalloc_Track", (void *)w_track, 0};
        targets[1] = (target){"PyTraceMalloc_Untrack", (void *)w_untrack, 0};
        targets[2] = (target){"dlopen", (void *)w_dlopen, 1};
        ntargets = 3;
        if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
            return -1;
        once = 1;
    }
    pthread_mutex_lock(&scan_mu);
    installed = 1;
    scan_locked(1);
    pthread_mutex_unlock(&scan_mu);
#endif
    return 0;
}

void tmt_extblocks_uninstall(void)
{
#if EXT_SUPPORTED
    pthread_mutex_lock(&scan_mu);
    if (installed) {
        installed = 0;
        scan_locked(0);
    }
    pthread_mutex_unlock(&scan_mu);
#endif
}
