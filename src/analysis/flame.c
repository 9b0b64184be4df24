/* flame.c -- memory by call path: the tree behind a flame graph.
 *
 * Each traceback with memory is a path from its oldest captured frame to
 * its most recent one; paths sharing a prefix share nodes.  The tree is
 * built from per-traceback totals (totals.c), so a file can stream into
 * it exactly as it does for `top --group-by traceback`, and every number
 * is the same sum: a node's size is the memory of every trace whose
 * traceback passes through it, the root's is the snapshot's total.
 *
 * Nodes are keyed by (parent node, frame id).  Frame ids are unique by
 * value within a snapshot (SPEC: dictionaries hold no duplicates), so one
 * id is one (filename, lineno): no string comparison while building.
 * An empty traceback (a GIL-less RAW call) is one child of the root with
 * frame TMS_NONE, the unknown frame, as tma_group counts it.
 *
 * Output order: depth first, children biggest first (ties by key value,
 * so the order does not depend on ids), which is what both a renderer
 * (parents before children, siblings in drawing order) and the folded
 * format want. */
#include <stdlib.h>
#include <string.h>

#include "tm_hash.h"
#include "tma_internal.h"

typedef struct builder {
    tma_flame_node *nodes;
    size_t n, cap;
    uint32_t *slots;       /* node index + 1; 0 = empty */
    size_t mask;
} builder;

static uint64_t edge_hash(uint32_t parent, uint32_t frame)
{
    return tm_mix64(((uint64_t)parent << 32) ^ frame);
}

static int grow_slots(builder *b)
{
    size_t cap = (b->mask + 1) * 2;
    uint32_t *s = calloc(cap, sizeof *s);
    if (s == NULL)
        return TMS_E_NOMEM;
    for (size_t i = 0; i < b->n; i++) {
        if (i == 0)
            continue;      /* the root is never looked up */
        size_t h = edge_hash(b->nodes[i].parent, b->nodes[i].frame) & (cap - 1);
        while (s[h] != 0)
            h = (h + 1) & (cap - 1);
        s[h] = (uint32_t)i + 1;
    }
    free(b->slots);
    b->slots = s;
    b->mask = cap - 1;
    return TMS_OK;
}

static int add_node(builder *b, uint32_t parent, uint32_t frame,
                    uint32_t depth, uint32_t *out)
{
    if (b->n >= UINT32_MAX - 1)
        return TMS_E_LIMIT;
    uint64_t cap = b->cap;
    if (tms_grow((void **)&b->nodes, &cap, b->n + 1, sizeof *b->nodes) < 0)
        return TMS_E_NOMEM;
    b->cap = (size_t)cap;
    tma_flame_node *nd = &b->nodes[b->n];
    memset(nd, 0, sizeof *nd);
    nd->frame = frame;
    nd->parent = parent;
    nd->depth = depth;
    *out = (uint32_t)b->n++;
    return TMS_OK;
}

/* The child of parent for frame, created if missing. */
static int child(builder *b, uint32_t parent, uint32_t frame, uint32_t *out)
{
    if ((b->n + 1) * 2 > b->mask + 1) {
        int rc = grow_slots(b);
        if (rc < 0)
            return rc;
    }
    size_t h = edge_hash(parent, frame) & b->mask;
    for (; b->slots[h] != 0; h = (h + 1) & b->mask) {
        const tma_flame_node *nd = &b->nodes[b->slots[h] - 1];
        if (nd->parent == parent && nd->frame == frame) {
            *out = b->slots[h] - 1;
            return TMS_OK;
        }
    }
    int rc = add_node(b, parent, frame, b->nodes[parent].depth + 1, out);
    if (rc == TMS_OK)
        b->slots[h] = *out + 1;
    return rc;
}

/* ---- ordering ------------------------------------------------------------- */

typedef struct order_ctx {
    const tms_snapshot *s;
    const tma_flame_node *nodes;
} order_ctx;

/* qsort has no context argument in C11: the comparison reads this. */
static order_ctx sort_ctx;

static int cmp_children(const void *pa, const void *pb)
{
    const tma_flame_node *a = &sort_ctx.nodes[*(const uint32_t *)pa];
    const tma_flame_node *b = &sort_ctx.nodes[*(const uint32_t *)pb];
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    tma_key ka = { .snap = sort_ctx.s, .filename = TMS_NONE,
                   .lineno = TMS_LINENO_NONE, .function = TMS_NONE };
    tma_key kb = ka;
    if (a->frame != TMS_NONE) {
        ka.filename = sort_ctx.s->frames[a->frame].filename;
        ka.lineno = sort_ctx.s->frames[a->frame].lineno;
    }
    if (b->frame != TMS_NONE) {
        kb.filename = sort_ctx.s->frames[b->frame].filename;
        kb.lineno = sort_ctx.s->frames[b->frame].lineno;
    }
    return tma_key_cmp(TMA_BY_LINE, &ka, &kb);
}

/* Rewrite b's nodes in depth-first order, children biggest first. */
static int reorder(const tms_snapshot *s, builder *b, tma_flame *out)
{
    size_t n = b->n;
    uint32_t *nchild = calloc(n + 1, sizeof *nchild);   /* then: start */
    uint32_t *kids = malloc(n * sizeof *kids);
    uint32_t *stack = malloc(n * sizeof *stack);
    tma_flame_node *dst = malloc(n * sizeof *dst);
    uint32_t *newid = malloc(n * sizeof *newid);
    int rc = TMS_E_NOMEM;
    if (nchild == NULL || kids == NULL || stack == NULL || dst == NULL ||
        newid == NULL)
        goto out;
    for (size_t i = 1; i < n; i++)
        nchild[b->nodes[i].parent + 1]++;
    for (size_t i = 0; i < n; i++)
        nchild[i + 1] += nchild[i];                    /* start offsets */
    {
        uint32_t *fill = stack;                        /* reused as cursor */
        memcpy(fill, nchild, n * sizeof *fill);
        for (size_t i = 1; i < n; i++)
            kids[fill[b->nodes[i].parent]++] = (uint32_t)i;
    }
    sort_ctx.s = s;
    sort_ctx.nodes = b->nodes;
    for (size_t i = 0; i < n; i++)
        if (nchild[i + 1] - nchild[i] > 1)
            qsort(kids + nchild[i], nchild[i + 1] - nchild[i], sizeof *kids,
                  cmp_children);
    /* Depth first: push children in reverse so the biggest pops first. */
    size_t sp = 0, k = 0;
    stack[sp++] = 0;
    while (sp > 0) {
        uint32_t i = stack[--sp];
        newid[i] = (uint32_t)k;
        dst[k] = b->nodes[i];
        dst[k].parent = i == 0 ? TMA_FLAME_NO_PARENT : newid[b->nodes[i].parent];
        k++;
        for (uint32_t j = nchild[i + 1]; j > nchild[i]; j--)
            stack[sp++] = kids[j - 1];
    }
    out->nodes = dst;
    out->n = n;
    dst = NULL;
    rc = TMS_OK;
out:
    free(nchild);
    free(kids);
    free(stack);
    free(dst);
    free(newid);
    return rc;
}

/* ---- public --------------------------------------------------------------- */

void tma_flame_free(tma_flame *f)
{
    if (f == NULL)
        return;
    free(f->nodes);
    memset(f, 0, sizeof *f);
}

int tma_flame_build(const tms_snapshot *s, const tma_tb_totals *t,
                    tma_flame *out, tms_error *err)
{
    if (out == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot build a flame graph: bad "
                        "argument");
    memset(out, 0, sizeof *out);
    if (s == NULL || t == NULL || t->snap != s)
        return tma_fail(err, TMS_E_ARG, "cannot build a flame graph: the "
                        "totals were not summed for this snapshot");
    builder b = { 0 };
    uint32_t root;
    int rc = add_node(&b, TMA_FLAME_NO_PARENT, TMS_NONE, 0, &root);
    if (rc == TMS_OK)
        rc = grow_slots(&b);
    uint32_t max_depth = 0;
    for (uint32_t tb = 0; rc == TMS_OK && tb < t->n; tb++) {
        const tma_tb_total *tot = &t->tb[tb];
        if (tot->count == 0)
            continue;
        uint32_t len = tms_traceback_len(s, tb);
        const uint32_t *fr = tms_traceback_frames(s, tb);
        uint32_t at = root;
        if (len == 0)
            rc = child(&b, at, TMS_NONE, &at);
        /* stored most recent first: walk from the oldest frame */
        for (uint32_t k = len; rc == TMS_OK && k > 0; k--)
            rc = child(&b, at, fr[k - 1], &at);
        if (rc != TMS_OK)
            break;
        b.nodes[at].self_size += tot->size;
        b.nodes[at].self_count += tot->count;
        if (b.nodes[at].depth > max_depth)
            max_depth = b.nodes[at].depth;
    }
    if (rc == TMS_OK) {
        /* children come after their parent: one backward pass sums */
        for (size_t i = b.n; i-- > 0;) {
            tma_flame_node *nd = &b.nodes[i];
            nd->size += nd->self_size;
            nd->count += nd->self_count;
            if (i > 0) {
                b.nodes[nd->parent].size += nd->size;
                b.nodes[nd->parent].count += nd->count;
            }
        }
        rc = reorder(s, &b, out);
    }
    free(b.slots);
    free(b.nodes);
    if (rc < 0) {
        tma_flame_free(out);
        return tma_fail(err, rc, rc == TMS_E_LIMIT
                        ? "cannot build a flame graph: too many call paths"
                        : "cannot build a flame graph: out of memory");
    }
    out->snap = s;
    out->max_depth = max_depth;
    return TMS_OK;
}
