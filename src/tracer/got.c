/* got.c -- GOT interposition: calls that other loaded objects make to a
 * few named functions are sent to our wrappers, by rewriting their GOT
 * slots (R_*_JUMP_SLOT through the PLT, R_*_GLOB_DAT for -fno-plt code).
 * Used for the blocks extensions report (extblocks.c) and for native
 * allocations (native.c); core.h lists the groups of symbols and the
 * objects each group is patched in.
 *
 * What is touched, and why it is safe:
 * - only GOT slots of undefined references to the registered symbols,
 *   never in this extension; each slot's previous value is kept and
 *   written back by tmt_got_restore (disable()), only where the slot
 *   still holds our wrapper;
 * - each slot is written with one aligned atomic store, so a thread
 *   calling through it concurrently sees the old or the new function,
 *   both correct; slots under RELRO get their page made writable for the
 *   store and then given back the protection /proc/self/maps showed;
 * - the wrappers call the function as this extension resolved it, never
 *   the saved slot value, which may be a lazy-binding stub that would
 *   re-resolve and overwrite the patch; where a target names that
 *   function, a slot bound to any other implementation (a library with
 *   an allocator of its own) is left alone, so no block ever goes to an
 *   allocator other than the one that would have served it;
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
 * Not covered: calls through dlsym or ctypes.pythonapi (no GOT slot), and
 * architectures other than x86-64 and AArch64 (nothing is patched). */

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
#define GOT_SUPPORTED 1
#elif defined(__aarch64__)
#define R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define R_GLOB_DAT R_AARCH64_GLOB_DAT
#define GOT_SUPPORTED 1
#else
#define GOT_SUPPORTED 0
#endif

#define MAX_TARGETS 24
static tmt_got_target targets[MAX_TARGETS];
static int ntargets;
static unsigned active;   /* groups patched (scan_mu) */

typedef void *(*dlopen_fn)(const char *, int);
static dlopen_fn real_dlopen;

static void scan_locked(unsigned groups, int patch);
static pthread_mutex_t scan_mu = PTHREAD_MUTEX_INITIALIZER;

static void *w_dlopen(const char *file, int mode)
{
    void *h = real_dlopen(file, mode);
    if (h != NULL) {
        pthread_mutex_lock(&scan_mu);
        if (active)
            scan_locked(active, 1);
        pthread_mutex_unlock(&scan_mu);
    }
    return h;
}

/* ---- patched slots ----------------------------------------------------- */

typedef struct slot {
    void **at;
    void *orig;
    unsigned group;
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

typedef struct scan_ctx {
    int patch;          /* 1 install, 0 restore */
    unsigned groups;    /* which targets */
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

/* The C library, the dynamic loader and sanitizer runtimes: their own
 * calls to malloc happen where no hook may run (inside fork, thread exit,
 * the loader's lock) or are the allocator itself. */
static int is_system(const char *path)
{
    static const char *const names[] = {
        "libc.so", "libc-", "ld-linux", "ld64.so", "ld-musl",
        "libasan", "libubsan", "liblsan", "libtsan", "libhwasan",
    };
    const char *base = path ? strrchr(path, '/') : NULL;
    base = base ? base + 1 : path;
    if (base == NULL)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(base, names[i], strlen(names[i])) == 0)
            return 1;
    return 0;
}

/* The groups patched in an object. */
static unsigned object_groups(const scan_ctx *c, const struct dl_phdr_info *info)
{
    if (contains(info, c->cpy))
        return TMT_GOT_DLOPEN;
    if (is_system(info->dlpi_name))
        return 0;
    return TMT_GOT_TRACK | TMT_GOT_NATIVE;
}

static void patch_one(const tmt_got_target *t, void **at, int relro,
                      const struct dl_phdr_info *info)
{
    void *cur = __atomic_load_n(at, __ATOMIC_ACQUIRE);
    if (cur == t->wrapper)
        return;
    /* Bound elsewhere than the function our wrapper calls, and not a
     * lazy-binding stub inside the object itself: not ours to redirect. */
    if (t->real != NULL && cur != t->real && !contains(info, (uintptr_t)cur))
        return;
    slot *s = slot_find(at); /* a reloaded object at an old address */
    if (s == NULL) {
        if (nslots == capslots) {
            size_t ncap = capslots ? capslots * 2 : 16;
            slot *ns = tmt_malloc(ncap * sizeof *ns);
            if (ns == NULL)
                return;
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
    s->group = t->group;
    if (slot_store(at, t->wrapper, relro) != 0)
        *s = slots[--nslots]; /* left as it was: only this object is missed */
}

static void visit_rela(const scan_ctx *c, const struct dl_phdr_info *info,
                       unsigned groups, const ElfW(Rela) *rel, size_t n,
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
        for (int k = 0; k < ntargets; k++) {
            const tmt_got_target *t = &targets[k];
            if (!(t->group & groups) || strcmp(name, t->name) != 0)
                continue;
            void **at = (void **)(info->dlpi_addr + rel[i].r_offset);
            int relro = (uintptr_t)at >= relro_lo && (uintptr_t)at < relro_hi;
            if (c->patch) {
                patch_one(t, at, relro, info);
            } else if (__atomic_load_n(at, __ATOMIC_ACQUIRE) == t->wrapper) {
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
    unsigned groups = object_groups(c, info) & c->groups;
    if (groups == 0)
        return 0;
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
        visit_rela(c, info, groups, jmprel, pltrelsz / sizeof(ElfW(Rela)),
                   symtab, strtab, relro_lo, relro_hi);
    if (rela)
        visit_rela(c, info, groups, rela, relasz / sizeof(ElfW(Rela)),
                   symtab, strtab, relro_lo, relro_hi);
    return 0;
}

static void scan_locked(unsigned groups, int patch)
{
    scan_ctx c = {patch, groups, (uintptr_t)w_dlopen,
                  (uintptr_t)PyTraceMalloc_Track};
    dl_iterate_phdr(visit, &c);
    if (!patch) {   /* forget the restored groups' slots */
        size_t k = 0;
        for (size_t i = 0; i < nslots; i++)
            if (!(slots[i].group & groups))
                slots[k++] = slots[i];
        nslots = k;
    }
}

/* ---- registration, patch / restore ------------------------------------- */

static void atfork_prepare(void) { pthread_mutex_lock(&scan_mu); }
static void atfork_parent(void) { pthread_mutex_unlock(&scan_mu); }
static void atfork_child(void) { pthread_mutex_init(&scan_mu, NULL); }

int tmt_got_register(const tmt_got_target *t, int n)
{
    static int once;
    if (!once) {
        if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
            return -1;
        real_dlopen = dlopen;
        targets[ntargets++] =
            (tmt_got_target){"dlopen", (void *)w_dlopen, NULL, TMT_GOT_DLOPEN};
        once = 1;
    }
    if (ntargets + n > MAX_TARGETS)
        return -1;
    for (int i = 0; i < n; i++)
        targets[ntargets++] = t[i];
    return 0;
}

void tmt_got_patch(unsigned groups)
{
#if GOT_SUPPORTED
    pthread_mutex_lock(&scan_mu);
    /* Every active group again: objects loaded meanwhile by other means
     * than the importer (ctypes) are covered from here. */
    active |= groups | TMT_GOT_DLOPEN;
    scan_locked(active, 1);
    pthread_mutex_unlock(&scan_mu);
#else
    (void)groups;
#endif
}

void tmt_got_restore(unsigned groups)
{
#if GOT_SUPPORTED
    pthread_mutex_lock(&scan_mu);
    unsigned drop = active & groups;
    if ((active & ~drop) == TMT_GOT_DLOPEN)
        drop |= TMT_GOT_DLOPEN;   /* nothing left to scan new objects for */
    active &= ~drop;
    if (drop)
        scan_locked(drop, 0);
    pthread_mutex_unlock(&scan_mu);
#else
    (void)groups;
#endif
}
