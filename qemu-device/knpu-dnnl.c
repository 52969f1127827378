/*
 * KNPU device model: the math engine, oneDNN (Debian's libdnnl, C API).
 *
 * One CPU engine for the process. Primitives are kept in a bounded LRU
 * cache keyed by operation, data type, flags and shape (KnpuPrimKey), so a
 * repeated job does not re-create them. The cache is shared by all devices
 * (the same model on two devices shares its primitives); each realized
 * device adds its "prim-cache" property to its capacity and takes it back
 * when it goes away. Primitives use a user scratchpad,
 * one per worker thread, so the cores of one or several devices can run
 * the same cached primitive at the same time.
 *
 * Threads: Debian builds oneDNN with OpenMP (libgomp). Each core's worker
 * is an ordinary thread that starts its own OpenMP team when it runs a
 * primitive, so without a limit N busy cores would each start a team of
 * one thread per host CPU. A worker limits the team of each primitive, when
 * it creates it and when it runs it, to its share of the host: host CPUs /
 * busy cores (at least 1). One busy core gets the whole host (a single
 * GEMM runs as fast as oneDNN on the host); N busy cores split it instead
 * of oversubscribing it. A primitive on small operands runs on the
 * worker's thread alone.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/queue.h"
#include "qemu/timer.h"
#include <omp.h>
#include "trace.h"
#include "knpu-compute.h"

/* Operands of one execution, the scratchpad included. */
#define KNPU_PRIM_ARGS_MAX  16

/*
 * The memory objects of one execution of a primitive: its operands'
 * descriptors around the buffers of that execution. Creating and
 * destroying one per operand cost about 1 us per primitive, a tenth of a
 * small model's inference (docs/performance.md "Per-execution costs");
 * kept with the primitive, they are pointed at the next execution's
 * buffers instead (the same initialization as creating them).
 */
typedef struct KnpuPrimMems {
    dnnl_memory_t mem[KNPU_PRIM_ARGS_MAX];
} KnpuPrimMems;

struct KnpuPrim {
    KnpuPrimKey key;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    unsigned users;         /* executions in progress */
    bool cached;            /* still in the cache */
    bool mems_busy;         /* an execution is using @mems */
    KnpuPrimMems mems;
    QTAILQ_ENTRY(KnpuPrim) lru;
};

static struct {
    QemuMutex lock;
    dnnl_engine_t engine;
    QTAILQ_HEAD(, KnpuPrim) lru;    /* most recently used first */
    GHashTable *by_key;             /* KnpuPrimKey -> cached KnpuPrim */
    unsigned count;
    unsigned capacity;              /* sum of the devices' "prim-cache" */
} knpu_dnnl;

/*
 * FNV-1a over the key's 64-bit words (the key, without padding, is
 * compared bytewise): a lookup per primitive, byte by byte it was 3 % of a
 * small model's device time.
 */
static guint knpu_prim_key_hash(gconstpointer key)
{
    uint64_t w[sizeof(KnpuPrimKey) / sizeof(uint64_t)];
    uint64_t h = 14695981039346656037ull;
    size_t i;

    QEMU_BUILD_BUG_ON(sizeof(KnpuPrimKey) % sizeof(uint64_t));
    memcpy(w, key, sizeof(w));
    for (i = 0; i < ARRAY_SIZE(w); i++) {
        h = (h ^ w[i]) * 1099511628211ull;
    }
    return h ^ (h >> 32);
}

static gboolean knpu_prim_key_equal(gconstpointer a, gconstpointer b)
{
    return !memcmp(a, b, sizeof(KnpuPrimKey));
}

static bool knpu_dnnl_init(void)
{
    static gsize done;
    static bool ok;

    if (g_once_init_enter(&done)) {
        qemu_mutex_init(&knpu_dnnl.lock);
        QTAILQ_INIT(&knpu_dnnl.lru);
        knpu_dnnl.by_key = g_hash_table_new(knpu_prim_key_hash,
                                            knpu_prim_key_equal);
        ok = dnnl_engine_create(&knpu_dnnl.engine, dnnl_cpu, 0) ==
             dnnl_success;
        g_once_init_leave(&done, 1);
    }
    return ok;
}

static void knpu_prim_mems_free(KnpuPrimMems *m)
{
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(m->mem); i++) {
        if (m->mem[i]) {
            dnnl_memory_destroy(m->mem[i]);
        }
    }
}

static void knpu_prim_free(KnpuPrim *p)
{
    knpu_prim_mems_free(&p->mems);
    dnnl_primitive_destroy(p->prim);
    dnnl_primitive_desc_destroy(p->pd);
    g_free(p);
}

/* The engine could not run the instruction: a limit of this model. */
static bool knpu_dnnl_fail(KnpuJob *job, const char *what,
                           dnnl_status_t st)
{
    qemu_log_mask(LOG_UNIMP, "knpu: oneDNN %s failed (status %d)\n", what,
                  st);
    return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID,
                         KNPU_ERR_OPERAND_NONE, 0, 0, 0);
}

static KnpuPrim *knpu_prim_create(KnpuJob *job, const KnpuPrimKey *key,
                                  KnpuPrimDescFn fn)
{
    g_autofree KnpuPrim *p = g_new0(KnpuPrim, 1);
    dnnl_primitive_attr_t attr;
    dnnl_status_t st;

    st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success) {
        st = dnnl_primitive_attr_set_scratchpad_mode(attr,
                                                     dnnl_scratchpad_mode_user);
    }
    if (st == dnnl_success) {
        st = fn(key, knpu_dnnl.engine, attr, &p->pd);
    }
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
        knpu_dnnl_fail(job, "primitive descriptor", st);
        return NULL;
    }
    st = dnnl_primitive_create(&p->prim, p->pd);
    if (st != dnnl_success) {
        dnnl_primitive_desc_destroy(p->pd);
        knpu_dnnl_fail(job, "primitive", st);
        return NULL;
    }
    p->key = *key;
    return g_steal_pointer(&p);
}

/*
 * Take least recently used primitives out of the cache until it is within
 * its capacity; those no job uses are added to @victims, to be freed
 * outside the lock (their last user frees the others).
 */
static void knpu_prim_evict_locked(GSList **victims)
{
    while (knpu_dnnl.count > knpu_dnnl.capacity) {
        KnpuPrim *victim = QTAILQ_LAST(&knpu_dnnl.lru);

        QTAILQ_REMOVE(&knpu_dnnl.lru, victim, lru);
        g_hash_table_remove(knpu_dnnl.by_key, &victim->key);
        victim->cached = false;
        knpu_dnnl.count--;
        if (!victim->users) {
            *victims = g_slist_prepend(*victims, victim);
        }
    }
}

/*
 * A device's share of the primitive cache: @delta entries more (realize)
 * or fewer (unrealize). False if the engine cannot be created.
 */
bool knpu_dnnl_cache_resize(int delta)
{
    GSList *victims = NULL;

    if (!knpu_dnnl_init()) {
        return false;
    }
    qemu_mutex_lock(&knpu_dnnl.lock);
    knpu_dnnl.capacity += delta;
    knpu_prim_evict_locked(&victims);
    qemu_mutex_unlock(&knpu_dnnl.lock);
    g_slist_free_full(victims, (GDestroyNotify)knpu_prim_free);
    return true;
}

/*
 * Operands below this many bytes in all run on the worker's thread alone:
 * their primitive takes tens of microseconds, about what starting a team
 * and meeting at its barrier costs, and on a busy host a team member the
 * scheduler does not run stalls that barrier for a whole time slice
 * (docs/performance.md "Convolution layouts and the primitive cache").
 */
#define KNPU_DNNL_SERIAL_BYTES  (512 * KiB)

/*
 * The OpenMP team for a primitive on operands of @bytes in all: this
 * worker's share of the host CPUs (see the comment at the top), or one
 * thread for small operands.
 */
static uint32_t knpu_dnnl_threads(KnpuState *s, size_t bytes)
{
    unsigned busy;

    if (bytes < KNPU_DNNL_SERIAL_BYTES) {
        return 1;
    }
    qemu_mutex_lock(&s->lock);
    busy = MAX(s->busy_cores, 1);
    qemu_mutex_unlock(&s->lock);
    return MAX(omp_get_num_procs() / (int)busy, 1);
}

/* The bytes of the operands @args, which size a primitive's team. */
size_t knpu_dnnl_args_bytes(const KnpuDnnlArg *args, int nargs)
{
    size_t bytes = 0;
    int i;

    for (i = 0; i < nargs; i++) {
        bytes += dnnl_memory_desc_get_size(&args[i].md);
    }
    return bytes;
}

/*
 * The primitive for @key on operands of @bytes in all, from the cache or
 * created with @fn and cached. Release it with knpu_prim_put(). NULL when
 * the job failed.
 *
 * Its team is part of the key: @key's own (a helper primitive on the team
 * of the primitive it serves), or if 0 knpu_dnnl_threads() of @bytes. The
 * team is set before the primitive is created: oneDNN's convolutions and
 * matmuls size their work for the team of the thread that creates them
 * and run on that many threads whatever the caller's setting when they
 * execute. Created under whatever team the worker's previous primitive
 * had, small convolutions ran on a team of two.
 */
KnpuPrim *knpu_prim_get(KnpuJob *job, const KnpuPrimKey *key,
                        KnpuPrimDescFn fn, size_t bytes)
{
    KnpuPrimKey team_key = *key;
    GSList *victims = NULL;
    KnpuPrim *p;

    if (!knpu_dnnl_init()) {
        knpu_dnnl_fail(job, "engine", dnnl_runtime_error);
        return NULL;
    }
    if (!team_key.threads) {
        team_key.threads = knpu_dnnl_threads(job->s, bytes);
    }
    key = &team_key;
    qemu_mutex_lock(&knpu_dnnl.lock);
    p = g_hash_table_lookup(knpu_dnnl.by_key, key);
    if (p) {
        QTAILQ_REMOVE(&knpu_dnnl.lru, p, lru);
        QTAILQ_INSERT_HEAD(&knpu_dnnl.lru, p, lru);
        p->users++;
        qemu_mutex_unlock(&knpu_dnnl.lock);
        return p;
    }
    qemu_mutex_unlock(&knpu_dnnl.lock);

    /* Created outside the lock: JIT generation takes milliseconds. */
    omp_set_num_threads(key->threads);
    p = knpu_prim_create(job, key, fn);
    if (!p) {
        return NULL;
    }
    trace_knpu_prim_create(key->kind, key->dtype);
    qemu_mutex_lock(&knpu_dnnl.lock);
    p->users = 1;
    /* Another worker may have cached the same key meanwhile: keep that. */
    p->cached = !g_hash_table_contains(knpu_dnnl.by_key, key);
    if (p->cached) {
        g_hash_table_insert(knpu_dnnl.by_key, &p->key, p);
        QTAILQ_INSERT_HEAD(&knpu_dnnl.lru, p, lru);
        knpu_dnnl.count++;
    }
    knpu_prim_evict_locked(&victims);
    qemu_mutex_unlock(&knpu_dnnl.lock);
    g_slist_free_full(victims, (GDestroyNotify)knpu_prim_free);
    return p;
}

void knpu_prim_put(KnpuPrim *p)
{
    bool free_it;

    qemu_mutex_lock(&knpu_dnnl.lock);
    free_it = !--p->users && !p->cached;
    qemu_mutex_unlock(&knpu_dnnl.lock);
    if (free_it) {
        knpu_prim_free(p);
    }
}

/* The OpenMP team @p runs on. */
uint32_t knpu_prim_threads(const KnpuPrim *p)
{
    return p->key.threads;
}

/* The memory descriptor @what (src, weights, dst) @p computes on. */
const dnnl_memory_desc_t *knpu_prim_md(KnpuPrim *p, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(p->pd, what, 0);
}

/*
 * A worker's scratchpad, kept from one primitive to the next and freed when
 * the thread exits: faulting in a fresh one for every GEMM tile cost as
 * much as the tile. Its size is what oneDNN needs for tensors within the
 * staging limit.
 */
typedef struct KnpuScratch {
    void *buf;
    size_t size;
} KnpuScratch;

static void knpu_scratch_free(gpointer opaque)
{
    KnpuScratch *scratch = opaque;

    g_free(scratch->buf);
    g_free(scratch);
}

static GPrivate knpu_scratch_key = G_PRIVATE_INIT(knpu_scratch_free);

static void *knpu_scratch(size_t size)
{
    KnpuScratch *scratch = g_private_get(&knpu_scratch_key);

    if (!scratch) {
        scratch = g_new0(KnpuScratch, 1);
        g_private_set(&knpu_scratch_key, scratch);
    }
    if (scratch->size < size) {
        g_free(scratch->buf);
        scratch->buf = g_malloc(size);
        scratch->size = size;
    }
    return scratch->buf;
}

static void knpu_stream_free(gpointer stream)
{
    dnnl_stream_destroy(stream);
}

static GPrivate knpu_stream_key = G_PRIVATE_INIT(knpu_stream_free);

/*
 * A worker's stream, kept from one primitive to the next and destroyed when
 * the thread exits (a CPU stream holds no state between executions).
 */
static dnnl_stream_t knpu_stream(void)
{
    dnnl_stream_t stream = g_private_get(&knpu_stream_key);

    if (!stream && dnnl_stream_create(&stream, knpu_dnnl.engine,
                                      dnnl_stream_default_flags) ==
                   dnnl_success) {
        g_private_set(&knpu_stream_key, stream);
    }
    return stream;
}

/* Point @m's memory object @i at @data as @md, created if it has another. */
static dnnl_status_t knpu_mem_bind(KnpuPrimMems *m, unsigned i,
                                   const dnnl_memory_desc_t *md, void *data)
{
    const dnnl_memory_desc_t *had;

    if (m->mem[i] &&
        dnnl_memory_get_memory_desc(m->mem[i], &had) == dnnl_success &&
        dnnl_memory_desc_equal(had, md)) {
        return dnnl_memory_set_data_handle(m->mem[i], data);
    }
    if (m->mem[i]) {
        dnnl_memory_destroy(m->mem[i]);
        m->mem[i] = NULL;
    }
    return dnnl_memory_create(&m->mem[i], md, knpu_dnnl.engine, data);
}

/*
 * Run @p on @args (memory descriptors and host buffers): on @p's memory
 * objects, or while another worker runs @p on them, on objects of this
 * execution alone.
 */
bool knpu_prim_exec(KnpuJob *job, KnpuPrim *p, const KnpuDnnlArg *args,
                    int nargs)
{
    const dnnl_memory_desc_t *scratch_md;
    dnnl_exec_arg_t exec[KNPU_PRIM_ARGS_MAX];
    KnpuPrimMems own = { 0 };
    bool shared = !qatomic_xchg(&p->mems_busy, true);
    KnpuPrimMems *m = shared ? &p->mems : &own;
    dnnl_stream_t stream = knpu_stream();
    dnnl_status_t st = stream ? dnnl_success : dnnl_out_of_memory;
    int64_t start = knpu_trace_clock(TRACE_KNPU_PRIM_EXEC);
    int i, n = 0;

    g_assert(nargs < (int)ARRAY_SIZE(exec));
    for (i = 0; i < nargs && st == dnnl_success; i++, n++) {
        exec[n].arg = args[i].arg;
        st = knpu_mem_bind(m, n, &args[i].md, args[i].data);
        exec[n].memory = m->mem[n];
    }
    scratch_md = dnnl_primitive_desc_query_md(p->pd, dnnl_query_scratchpad_md,
                                              0);
    if (st == dnnl_success && scratch_md &&
        dnnl_memory_desc_get_size(scratch_md)) {
        exec[n].arg = DNNL_ARG_SCRATCHPAD;
        st = knpu_mem_bind(
            m, n, scratch_md,
            knpu_scratch(dnnl_memory_desc_get_size(scratch_md)));
        exec[n].memory = m->mem[n];
        n++;
    }
    if (st == dnnl_success) {
        omp_set_num_threads(p->key.threads);
        st = dnnl_primitive_execute(p->prim, stream, n, exec);
    }
    if (st == dnnl_success) {
        st = dnnl_stream_wait(stream);
    }
    if (shared) {
        qatomic_store_release(&p->mems_busy, false);
    } else {
        knpu_prim_mems_free(&own);
    }
    if (st != dnnl_success) {
        return knpu_dnnl_fail(job, "execution", st);
    }
    trace_knpu_prim_exec(p->key.kind, p->key.threads,
                         knpu_trace_elapsed(start));
    return true;
}

/* Get the primitive for @key, run it on @args, release it. */
bool knpu_prim_run(KnpuJob *job, const KnpuPrimKey *key, KnpuPrimDescFn fn,
                   const KnpuDnnlArg *args, int nargs)
{
    KnpuPrim *p = knpu_prim_get(job, key, fn,
                                knpu_dnnl_args_bytes(args, nargs));
    bool ok;

    if (!p) {
        return false;
    }
    ok = knpu_prim_exec(job, p, args, nargs);
    knpu_prim_put(p);
    return ok;
}

/*
 * Reorder @from into @to with the helper primitive @kind of the op of
 * @key, created by @fn.
 */
bool knpu_reorder_run(KnpuJob *job, const KnpuPrimKey *key, uint32_t kind,
                      KnpuPrimDescFn fn, const dnnl_memory_desc_t *from_md,
                      void *from, const dnnl_memory_desc_t *to_md, void *to)
{
    KnpuPrimKey reorder_key = *key;
    KnpuDnnlArg args[2] = {
        { DNNL_ARG_FROM, *from_md, from },
        { DNNL_ARG_TO, *to_md, to },
    };

    reorder_key.kind = kind;
    return knpu_prim_run(job, &reorder_key, fn, args, 2);
}

/* Memory descriptors of dense row-major tensors, and of strided ones. */
void knpu_md_plain(dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                   dnnl_data_type_t dt)
{
    int64_t strides[DNNL_MAX_NDIMS];
    int64_t stride = 1;
    int i;

    for (i = ndims - 1; i >= 0; i--) {
        strides[i] = stride;
        stride *= dims[i];
    }
    knpu_md_strided(md, ndims, dims, strides, dt);
}

/* A tensor in the layout @tag (dnnl_format_tag_any: the primitive's choice). */
void knpu_md_tag(dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                 dnnl_data_type_t dt, dnnl_format_tag_t tag)
{
    /* oneDNN reads DNNL_MAX_NDIMS entries. */
    int64_t d[DNNL_MAX_NDIMS] = { 0 };

    memcpy(d, dims, ndims * sizeof(*d));
    /* Cannot fail for the small ndims and valid types used here. */
    dnnl_memory_desc_init_by_tag(md, ndims, d, dt, tag);
}

void knpu_md_strided(dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                     const int64_t *strides, dnnl_data_type_t dt)
{
    /* oneDNN reads DNNL_MAX_NDIMS entries of both arrays. */
    int64_t d[DNNL_MAX_NDIMS] = { 0 }, st[DNNL_MAX_NDIMS] = { 0 };

    memcpy(d, dims, ndims * sizeof(*d));
    memcpy(st, strides, ndims * sizeof(*st));
    /* Cannot fail for the small ndims and valid types used here. */
    dnnl_memory_desc_init_by_strides(md, ndims, d, dt, st);
}

/*
 * Whether oneDNN's optimized INT8 kernels compute s8·s8 exactly on this
 * host: with VNNI (vpdpbusd) they accumulate in 32 bits; without it they
 * use vpmaddubsw, whose 16-bit pair sums saturate on full-range inputs
 * (oneDNN's "Nuances of int8 computations"), while the spec defines exact
 * INT32 accumulation.
 */
bool knpu_dnnl_int8_exact(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();

    return (isa & dnnl_cpu_isa_avx512_core_vnni) ==
           dnnl_cpu_isa_avx512_core_vnni ||
           (isa & dnnl_cpu_isa_avx2_vnni) == dnnl_cpu_isa_avx2_vnni;
}

/* The oneDNN type a tensor of @dtype is computed in. */
dnnl_data_type_t knpu_dnnl_dt(uint32_t dtype)
{
    switch (knpu_compute_dtype(dtype)) {
    case KNPU_DT_FP32:
        return dnnl_f32;
    case KNPU_DT_INT8:
        return dnnl_s8;
    case KNPU_DT_INT32:
        return dnnl_s32;
    default:
        return dnnl_data_type_undef;
    }
}

/*
 * The oneDNN eltwise steps of activation @act (sections 7.3 and 7.4.5),
 * applied in order, into @steps; returns their number, 0 for none.
 * oneDNN 2.6 has no hard-sigmoid: it is x/6 + 1/2, then a clip to [0, 1].
 */
unsigned knpu_act_steps(uint32_t act, KnpuActStep steps[KNPU_ACT_MAX_STEPS])
{
    switch (act) {
    case KNPU_ACT_RELU:
        steps[0] = (KnpuActStep){ dnnl_eltwise_relu, 0, 0 };
        return 1;
    case KNPU_ACT_GELU:
        steps[0] = (KnpuActStep){ dnnl_eltwise_gelu_erf, 0, 0 };
        return 1;
    case KNPU_ACT_SILU:
        steps[0] = (KnpuActStep){ dnnl_eltwise_swish, 1, 0 };
        return 1;
    case KNPU_ACT_SIGMOID:
        steps[0] = (KnpuActStep){ dnnl_eltwise_logistic, 0, 0 };
        return 1;
    case KNPU_ACT_TANH:
        steps[0] = (KnpuActStep){ dnnl_eltwise_tanh, 0, 0 };
        return 1;
    case KNPU_ACT_HARDSWISH:
        steps[0] = (KnpuActStep){ dnnl_eltwise_hardswish, 0, 0 };
        return 1;
    case KNPU_ACT_HARDSIGMOID:
        steps[0] = (KnpuActStep){ dnnl_eltwise_linear, 1.0f / 6, 0.5f };
        steps[1] = (KnpuActStep){ dnnl_eltwise_clip_v2, 0, 1 };
        return 2;
    case KNPU_ACT_RELU6:
        steps[0] = (KnpuActStep){ dnnl_eltwise_clip_v2, 0, 6 };
        return 1;
    default:
        return 0;
    }
}

/* Append activation @act (none: nothing) to @po as eltwise post-ops. */
dnnl_status_t knpu_post_ops_append_act(dnnl_post_ops_t po, uint32_t act)
{
    KnpuActStep steps[KNPU_ACT_MAX_STEPS];
    unsigned i, n = knpu_act_steps(act, steps);
    dnnl_status_t st = dnnl_success;

    for (i = 0; i < n && st == dnnl_success; i++) {
        st = dnnl_post_ops_append_eltwise(po, 1.0f, steps[i].alg,
                                          steps[i].alpha, steps[i].beta);
    }
    return st;
}
