/*
 * KNPU device model: CONV2D's weights in the layout of its blocked
 * convolution, kept by each worker thread from one instruction to the next.
 *
 * A blocked convolution (knpu-compute-conv.c) computes on weights reordered
 * from OIHW into the layout oneDNN chose, a primitive of its own in every
 * CONV2D: for the small convolutions of a MobileNet, with its lookup and
 * execution, about as long as the convolution (docs/performance.md
 * "Per-execution costs"). A model's weights rarely change between
 * inferences, but the guest may rewrite them at any time, from the CPU or
 * by an earlier instruction of the same job. So an entry keeps the weights
 * it was reordered from, and serves its reordered copy only while the
 * weights the instruction just loaded are those same bytes (one memcmp,
 * which reads each weight once where the reorder reads and writes it).
 * The instruction does that comparison as it loads them: the guest's bytes
 * are compared with the entry's copy instead of copied into a staging
 * buffer (knpu_conv_weights_known(), knpu_tensor_load_known()), and the
 * copy is what it computes on. No guest write can make an entry serve
 * stale weights: it is checked against what the guest memory holds now,
 * at every use.
 *
 * Entries are found by the convolution's primitive key and the weights'
 * guest address (one entry per convolution of a model, also where several
 * have one shape), the least recently used dropped past
 * KNPU_CONV_WEIGHTS_BYTES or KNPU_CONV_WEIGHTS_ENTRIES per worker.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/queue.h"
#include "knpu-compute.h"

/*
 * Per worker: the weights of the largest model run here (PP-OCRv4 rec,
 * about 11 MB FP32) twice, as loaded and reordered.
 */
#define KNPU_CONV_WEIGHTS_BYTES     (32 * MiB)
#define KNPU_CONV_WEIGHTS_ENTRIES   512

typedef struct WeightsEntry {
    /* Key: */
    KnpuPrimKey conv;           /* the blocked convolution's key */
    uint64_t va;                /* the weights' guest address */
    /* Value: */
    void *plain;                /* the weights as loaded... */
    size_t plain_bytes;
    void *blocked;              /* ...and reordered */
    size_t blocked_bytes;
    QTAILQ_ENTRY(WeightsEntry) lru;
} WeightsEntry;

/*
 * Entries are found through a hash table: searched along the LRU list, a
 * model's inferences, running their convolutions in the same order each
 * time, found theirs at its far end (2 % of a small model's device time).
 */
typedef struct WeightsCache {
    GHashTable *by_key;                 /* entry -> itself, by its key */
    GHashTable *by_va;                  /* address -> its latest entry */
    /* The entry knpu_conv_weights_known() last gave the weights of */
    WeightsEntry *known;
    QTAILQ_HEAD(, WeightsEntry) lru;    /* most recently used first */
    size_t bytes;
    unsigned count;
} WeightsCache;

static guint weights_hash(gconstpointer key)
{
    const WeightsEntry *e = key;

    /* Distinct weights have distinct addresses; the key tells the rest. */
    return e->va ^ (e->va >> 32) ^ e->conv.kind;
}

static gboolean weights_equal(gconstpointer a, gconstpointer b)
{
    const WeightsEntry *x = a, *y = b;

    return x->va == y->va && !memcmp(&x->conv, &y->conv, sizeof(x->conv));
}

static void weights_drop(WeightsCache *cache, WeightsEntry *e)
{
    g_hash_table_remove(cache->by_key, e);
    if (cache->known == e) {
        cache->known = NULL;
    }
    if (g_hash_table_lookup(cache->by_va, &e->va) == e) {
        g_hash_table_remove(cache->by_va, &e->va);
    }
    QTAILQ_REMOVE(&cache->lru, e, lru);
    cache->bytes -= e->plain_bytes + e->blocked_bytes;
    cache->count--;
    g_free(e->plain);
    g_free(e->blocked);
    g_free(e);
}

static void weights_cache_free(gpointer opaque)
{
    WeightsCache *cache = opaque;

    while (!QTAILQ_EMPTY(&cache->lru)) {
        weights_drop(cache, QTAILQ_FIRST(&cache->lru));
    }
    g_hash_table_destroy(cache->by_key);
    g_hash_table_destroy(cache->by_va);
    g_free(cache);
}

static GPrivate weights_cache_key = G_PRIVATE_INIT(weights_cache_free);

static WeightsCache *weights_cache(void)
{
    WeightsCache *cache = g_private_get(&weights_cache_key);

    if (!cache) {
        cache = g_new0(WeightsCache, 1);
        cache->by_key = g_hash_table_new(weights_hash, weights_equal);
        cache->by_va = g_hash_table_new(g_int64_hash, g_int64_equal);
        QTAILQ_INIT(&cache->lru);
        g_private_set(&weights_cache_key, cache);
    }
    return cache;
}

static WeightsEntry *weights_find(WeightsCache *cache, const KnpuPrimKey *conv,
                                  uint64_t va)
{
    WeightsEntry probe = { .conv = *conv, .va = va };

    return g_hash_table_lookup(cache->by_key, &probe);
}

/* @e is now the latest entry of its address and the most recently used. */
static void weights_touch(WeightsCache *cache, WeightsEntry *e)
{
    QTAILQ_REMOVE(&cache->lru, e, lru);
    QTAILQ_INSERT_HEAD(&cache->lru, e, lru);
    g_hash_table_insert(cache->by_va, &e->va, e);
}

/*
 * The weights as loaded of this worker's latest entry for guest address
 * @va, if they are @bytes long, for knpu_tensor_load_known(): a CONV2D
 * whose weights are those bytes stages them as this copy, which
 * knpu_conv_weights() then knows without comparing them again. Valid
 * until the worker's next knpu_conv_weights().
 */
const void *knpu_conv_weights_known(uint64_t va, uint64_t bytes)
{
    WeightsCache *cache = weights_cache();
    WeightsEntry *e = g_hash_table_lookup(cache->by_va, &va);

    cache->known = e && e->plain_bytes == bytes ? e : NULL;
    return cache->known ? cache->known->plain : NULL;
}

/*
 * The weights @wei (loaded from guest address @va, laid out as @plain_md)
 * in the layout @blocked_md of the blocked convolution @conv: the cached
 * copy if it was reordered from these same bytes (@wei is its copy as
 * loaded, from knpu_conv_weights_known(), or compares equal to it), else
 * reordered now by the helper primitive @reorder_fn and cached. Valid
 * until the worker's next call. NULL when the job failed.
 */
void *knpu_conv_weights(KnpuJob *job, const KnpuPrimKey *conv, uint64_t va,
                        KnpuPrimDescFn reorder_fn,
                        const dnnl_memory_desc_t *plain_md, const void *wei,
                        const dnnl_memory_desc_t *blocked_md)
{
    size_t plain = dnnl_memory_desc_get_size(plain_md);
    size_t blocked = dnnl_memory_desc_get_size(blocked_md);
    WeightsCache *cache = weights_cache();
    WeightsEntry *e = cache->known;
    void *to;

    /* Usually the entry whose weights the instruction loaded: no lookup. */
    if (!e || e->plain != wei || e->va != va ||
        memcmp(&e->conv, conv, sizeof(*conv))) {
        e = weights_find(cache, conv, va);
    }

    if (e && e->plain_bytes == plain &&
        (e->plain == wei || !memcmp(e->plain, wei, plain))) {
        weights_touch(cache, e);
        return e->blocked;
    }
    if (e) {
        weights_drop(cache, e);
    }
    if (plain + blocked > KNPU_CONV_WEIGHTS_BYTES / 4) {
        /* Would push out the weights of many smaller convolutions. */
        to = knpu_stage(job, blocked);
        return knpu_reorder_run(job, conv, KNPU_KIND_CONV_WEI_IN, reorder_fn,
                                plain_md, (void *)wei, blocked_md, to) ?
               to : NULL;
    }
    e = g_new0(WeightsEntry, 1);
    e->blocked = g_malloc(blocked);
    if (!knpu_reorder_run(job, conv, KNPU_KIND_CONV_WEI_IN, reorder_fn,
                          plain_md, (void *)wei, blocked_md, e->blocked)) {
        g_free(e->blocked);
        g_free(e);
        return NULL;
    }
    e->conv = *conv;
    e->va = va;
    e->plain = g_memdup2(wei, plain);
    e->plain_bytes = plain;
    e->blocked_bytes = blocked;
    while (!QTAILQ_EMPTY(&cache->lru) &&
           (cache->bytes + plain + blocked > KNPU_CONV_WEIGHTS_BYTES ||
            cache->count >= KNPU_CONV_WEIGHTS_ENTRIES)) {
        weights_drop(cache, QTAILQ_LAST(&cache->lru));
    }
    QTAILQ_INSERT_HEAD(&cache->lru, e, lru);
    g_hash_table_add(cache->by_key, e);
    g_hash_table_insert(cache->by_va, &e->va, e);
    cache->bytes += plain + blocked;
    cache->count++;
    return e->blocked;
}
