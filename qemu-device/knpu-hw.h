/*
 * KNPU: register map and in-memory formats of docs/hw-spec.md (v1.0).
 *
 * Shared by the device model (knpu*.c) and its qtests (tests/).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_MISC_KNPU_HW_H
#define HW_MISC_KNPU_HW_H

/* 1. PCI identity */
#define KNPU_VENDOR_ID              0x1234
#define KNPU_DEVICE_ID              0x4b4e
#define KNPU_REVISION               0x01
#define KNPU_CLASS_ACCEL            0x1200
#define KNPU_SUBSYS_VENDOR_ID       0x1234
#define KNPU_SUBSYS_ID              0x0001

#define KNPU_BAR_REGS               0
#define KNPU_BAR_DEVMEM             2
#define KNPU_BAR_MSIX               4
#define KNPU_REGS_SIZE              0x10000

/* 3.1 Identification and capabilities */
#define KNPU_REG_ID                 0x000
#define KNPU_REG_HW_VERSION         0x004
#define KNPU_REG_FW_VERSION         0x008
#define KNPU_REG_CONFIG0            0x00c
#define KNPU_REG_SRAM_SIZE          0x010
#define KNPU_REG_DEVMEM_SIZE_LO     0x018
#define KNPU_REG_DEVMEM_SIZE_HI     0x01c
#define KNPU_REG_DTYPES             0x020
#define KNPU_REG_OPS_LO             0x024
#define KNPU_REG_OPS_HI             0x028
#define KNPU_REG_FEATURES           0x02c
#define KNPU_REG_SERIAL_LO          0x030
#define KNPU_REG_SERIAL_HI          0x034
#define KNPU_REG_SCRATCH            0x038

#define KNPU_ID_VALUE               0x55504e4b /* "KNPU" */
#define KNPU_HW_VERSION_VALUE       0x00010008  /* v1.8 (7.4.8) */
#define KNPU_FW_VERSION_VALUE       0x01000000
#define KNPU_NUM_ASIDS              64
#define KNPU_VA_BITS                48

#define KNPU_FEAT_LARGE_PAGES       (1u << 0)
#define KNPU_FEAT_DEVMEM            (1u << 1)
#define KNPU_FEAT_SEMAPHORES        (1u << 2)
#define KNPU_FEAT_TIMESTAMPS        (1u << 3)
#define KNPU_FEAT_FAULT_INJECT      (1u << 4)
#define KNPU_FEAT_JOB_TIMESTAMPS    (1u << 5)

/* 3.2 Device control, status and events */
#define KNPU_REG_DEV_CTRL           0x100
#define KNPU_REG_DEV_STATUS         0x104
#define KNPU_REG_SOFT_RESET         0x108
#define KNPU_REG_EVENT_STATUS       0x10c
#define KNPU_REG_EVENT_MASK         0x110
#define KNPU_REG_TIMESTAMP_LO       0x114
#define KNPU_REG_TIMESTAMP_HI       0x118

#define KNPU_DEV_CTRL_ENABLE        (1u << 0)
#define KNPU_DEV_STATUS_READY       (1u << 0)
#define KNPU_DEV_STATUS_ENABLED     (1u << 1)
#define KNPU_DEV_STATUS_FATAL       (1u << 2)
#define KNPU_DEV_STATUS_THROTTLED   (1u << 3)
#define KNPU_DEV_STATUS_MMU_ENABLED (1u << 4)
#define KNPU_DEV_STATUS_BUSY        (1u << 5)
#define KNPU_SOFT_RESET_MAGIC       0x52534554 /* "TESR" */
#define KNPU_EVENT_UNCORRECTABLE    (1u << 0)
#define KNPU_EVENT_CORRECTABLE      (1u << 1)
#define KNPU_EVENT_THERMAL          (1u << 2)
#define KNPU_EVENT_RESET_DONE       (1u << 3)
#define KNPU_EVENT_ALL              0xfu

/* 3.3 MMU */
#define KNPU_REG_MMU_CTRL           0x200
#define KNPU_REG_MMU_TLB_INVAL      0x204
#define KNPU_REG_MMU_FAULT_COUNT    0x208
#define KNPU_REG_AS_ROOT_LO(a)      (0x800 + 8 * (a))
#define KNPU_REG_AS_ROOT_HI(a)      (0x804 + 8 * (a))
#define KNPU_MMU_CTRL_ENABLE        (1u << 0)
#define KNPU_TLB_INVAL_ASID_MASK    0xffu
#define KNPU_TLB_INVAL_ALL          (1u << 31)
#define KNPU_AS_ROOT_VALID          (1u << 0)
#define KNPU_AS_ROOT_ADDR_MASK      0xfffff000u

/* 3.4 Telemetry */
#define KNPU_REG_TEMP               0x400
#define KNPU_REG_POWER              0x404
#define KNPU_REG_CLOCK              0x408
#define KNPU_REG_ERR_CORRECTABLE    0x40c
#define KNPU_REG_ERR_UNCORRECTABLE  0x410
#define KNPU_REG_JOBS_COMPLETED_LO  0x418
#define KNPU_REG_JOBS_COMPLETED_HI  0x41c
#define KNPU_REG_BYTES_MOVED_LO     0x420
#define KNPU_REG_BYTES_MOVED_HI     0x424
#define KNPU_REG_CORE_BUSY_LO(c)    (0x480 + 8 * (c))
#define KNPU_REG_CORE_BUSY_HI(c)    (0x484 + 8 * (c))

/* 3.5 Queue registers */
#define KNPU_REG_QUEUE_BASE         0x1000
#define KNPU_REG_QUEUE_STRIDE       0x100
#define KNPU_REG_Q(q, r)            (KNPU_REG_QUEUE_BASE + \
                                     KNPU_REG_QUEUE_STRIDE * (q) + (r))
#define KNPU_Q_RING_BASE_LO         0x00
#define KNPU_Q_RING_BASE_HI         0x04
#define KNPU_Q_RING_SIZE            0x08
#define KNPU_Q_CONFIG               0x0c
#define KNPU_Q_FENCE_ADDR_LO        0x10
#define KNPU_Q_FENCE_ADDR_HI        0x14
#define KNPU_Q_CTRL                 0x18
#define KNPU_Q_STATUS               0x1c
#define KNPU_Q_HEAD                 0x20
#define KNPU_Q_TAIL                 0x24
#define KNPU_Q_DOORBELL             0x28
#define KNPU_Q_IRQ_STATUS           0x2c
#define KNPU_Q_ERROR                0x30
#define KNPU_Q_ERROR_INFO           0x34
#define KNPU_Q_ERROR_ADDR_LO        0x38
#define KNPU_Q_ERROR_ADDR_HI        0x3c
#define KNPU_Q_ERROR_PC             0x40
#define KNPU_Q_COMPLETED_LO         0x44
#define KNPU_Q_COMPLETED_HI         0x48

#define KNPU_Q_CONFIG_ASID(v)       ((v) & 0xffu)
#define KNPU_Q_CONFIG_PRIO(v)       (((v) >> 16) & 0x3u)
#define KNPU_Q_CONFIG_MASK          0x000300ffu
#define KNPU_Q_CTRL_ENABLE          (1u << 0)
#define KNPU_Q_CTRL_RESET           (1u << 1)
#define KNPU_Q_CTRL_RESUME          (1u << 2)
#define KNPU_Q_STATUS_ENABLED       (1u << 0)
#define KNPU_Q_STATUS_RUNNING       (1u << 1)
#define KNPU_Q_STATUS_ERROR         (1u << 2)
#define KNPU_Q_IRQ_COMPLETE         (1u << 0)
#define KNPU_Q_IRQ_ERROR            (1u << 1)
#define KNPU_RING_SIZE_MIN          2
#define KNPU_RING_SIZE_MAX          4096

/* 5.1 Job descriptor */
#define KNPU_DESC_SIZE              64
#define KNPU_DESC_TYPE_NOP          0
#define KNPU_DESC_TYPE_KERNEL       1
#define KNPU_DESC_FLAG_IRQ          (1u << 0)
#define KNPU_DESC_FLAG_TIMESTAMPS   (1u << 1)
#define KNPU_DESC_TIMES_OFFSET      0x30
#define KNPU_PROGRAM_SIZE_MAX       (1u << 20)
#define KNPU_ARGS_SIZE_MAX          (64u << 10)

typedef struct KnpuDesc {
    uint16_t type;
    uint16_t flags;
    uint32_t rsvd0;
    uint64_t program_va;
    uint32_t program_size;
    uint32_t args_size;
    uint64_t args_va;
    uint64_t fence_value;
    uint64_t job_id;
    uint64_t rsvd1[2];      /* start and end times with FLAG_TIMESTAMPS */
} QEMU_PACKED KnpuDesc;

/* 6.1 Page tables */
#define KNPU_PTE_VALID              (1ull << 0)
#define KNPU_PTE_READ               (1ull << 1)
#define KNPU_PTE_WRITE              (1ull << 2)
#define KNPU_PTE_DEVMEM             (1ull << 3)
#define KNPU_PTE_BLOCK              (1ull << 7)
#define KNPU_PTE_ADDR_MASK          0x000ffffffffff000ull
#define KNPU_PAGE_SIZE              0x1000ull
#define KNPU_LARGE_PAGE_SIZE        0x200000ull

/* 6.2 MMU fault reasons, in Q_ERROR_INFO[15:12] */
#define KNPU_MMU_NOT_PRESENT        1
#define KNPU_MMU_PERMISSION         2
#define KNPU_MMU_PTE_INVALID        3
#define KNPU_MMU_AS_INVALID         4
#define KNPU_MMU_OUT_OF_RANGE       5
#define KNPU_MMU_WALK_ERROR         6

/* 7.2 Instruction encoding */
#define KNPU_INSN_OPCODE(w)         ((w) & 0xffu)
#define KNPU_INSN_DTYPE(w)          (((w) >> 8) & 0xffu)
#define KNPU_INSN_NOPS(w)           (((w) >> 16) & 0xffu)
#define KNPU_INSN_RSVD(w)           ((w) >> 24)
#define KNPU_INSN_WORD0(op, dt, n)  ((uint32_t)(op) | ((uint32_t)(dt) << 8) | \
                                     ((uint32_t)(n) << 16))

/* 7.3 Data types */
#define KNPU_DT_NONE                0
#define KNPU_DT_FP32                1
#define KNPU_DT_FP16                2
#define KNPU_DT_BF16                3
#define KNPU_DT_INT8                4
#define KNPU_DT_INT32               5
#define KNPU_DT_COUNT               6

/* 7.4 Opcodes */
#define KNPU_OP_NOP                 0x00
#define KNPU_OP_DMA_COPY            0x01
#define KNPU_OP_DMA_FILL            0x02
#define KNPU_OP_COPY_STRIDED        0x03    /* v1.1 */
#define KNPU_OP_BARRIER             0x08
#define KNPU_OP_SEM_SIGNAL          0x09
#define KNPU_OP_SEM_WAIT            0x0a
#define KNPU_OP_TIMESTAMP           0x0b
#define KNPU_OP_GEMM                0x10
#define KNPU_OP_CONV2D              0x11
#define KNPU_OP_POOL2D              0x12
#define KNPU_OP_ELTWISE             0x13
#define KNPU_OP_ACTIVATION          0x14
#define KNPU_OP_SOFTMAX             0x15
#define KNPU_OP_LAYERNORM           0x16
#define KNPU_OP_RMSNORM             0x17
#define KNPU_OP_REDUCE              0x18
#define KNPU_OP_TRANSPOSE           0x19
#define KNPU_OP_GEMM_BATCHED        0x1a    /* v1.1 */
#define KNPU_OP_CONV_TRANSPOSE      0x1b    /* v1.1 */
#define KNPU_OP_RESIZE              0x1c    /* v1.1 */
#define KNPU_OP_ACTIVATION_PARAM    0x1d    /* v1.1 */
#define KNPU_OP_CONVERT             0x1e    /* v1.2 */
#define KNPU_OP_GATHER              0x1f    /* v1.3 */
#define KNPU_OP_COMPARE             0x20    /* v1.4 */
#define KNPU_OP_SELECT              0x21    /* v1.4 */
#define KNPU_OP_COUNT               0x40
#define KNPU_SEM_SIGNAL_ADD         (1u << 0)
#define KNPU_FLAG_TRANS_A           (1u << 0)   /* GEMM, CONV2D */
#define KNPU_FLAG_TRANS_B           (1u << 1)   /* GEMM */
#define KNPU_FLAG_BIAS              (1u << 2)   /* GEMM, CONV2D */
#define KNPU_FLAG_ACT(f)            (((f) >> 4) & 0xfu)
#define KNPU_FLAG_OUT_INT32         (1u << 8)
#define KNPU_FLAG_PER_CHANNEL       (1u << 9)   /* GEMM, CONV2D, CONVERT */
#define KNPU_FLAG_CONVERT_TO(f)     ((f) & 0xfu) /* CONVERT: destination type */
#define KNPU_FLAG_OP(f)             ((f) & 0xfu) /* ELTWISE, REDUCE, POOL2D */
#define KNPU_FLAG_FUNC(f)           ((f) & 0x1fu) /* ACTIVATION_PARAM (v1.8) */
#define KNPU_FLAG_GATHER_INDEX_INT64 (1u << 0)  /* GATHER: INT64 indices */
#define KNPU_FLAG_SOFTMAX_LOG       (1u << 0)  /* SOFTMAX: log-softmax (v1.5) */

/* 7.3 Activations (ACT fields) */
#define KNPU_ACT_NONE               0
#define KNPU_ACT_RELU               1
#define KNPU_ACT_GELU               2
#define KNPU_ACT_SILU               3
#define KNPU_ACT_SIGMOID            4
#define KNPU_ACT_TANH               5
#define KNPU_ACT_HARDSWISH          6   /* v1.5 */
#define KNPU_ACT_HARDSIGMOID        7   /* v1.5 */
#define KNPU_ACT_RELU6              8   /* v1.5 */
#define KNPU_ACT_LAST               KNPU_ACT_RELU6

/* 7.4 Operations of POOL2D, ELTWISE and REDUCE (flags) */
#define KNPU_POOL_MAX               0
#define KNPU_POOL_AVG               1
#define KNPU_POOL_AVG_PAD           2
#define KNPU_ELTWISE_ADD            0
#define KNPU_ELTWISE_SUB            1
#define KNPU_ELTWISE_MUL            2
#define KNPU_ELTWISE_DIV            3
#define KNPU_ELTWISE_MAX            4
#define KNPU_ELTWISE_MIN            5
#define KNPU_ELTWISE_POW            6   /* v1.8 (7.4.8), floating types */
#define KNPU_ELTWISE_FMOD           7   /* v1.8 (7.4.8), floating types */
#define KNPU_REDUCE_SUM             0
#define KNPU_REDUCE_MEAN            1
#define KNPU_REDUCE_MAX             2
#define KNPU_REDUCE_MIN             3

/* 7.4.4 Comparisons of COMPARE (flags [3:0]) */
#define KNPU_COMPARE_EQ             0
#define KNPU_COMPARE_NE             1
#define KNPU_COMPARE_LT             2
#define KNPU_COMPARE_LE             3
#define KNPU_COMPARE_GT             4
#define KNPU_COMPARE_GE             5

/* 7.4.1 RESIZE flags */
#define KNPU_RESIZE_MODE(f)         ((f) & 0x3u)
#define KNPU_RESIZE_COORD(f)        (((f) >> 2) & 0x3u)
#define KNPU_RESIZE_ROUND(f)        (((f) >> 4) & 0x3u)
#define KNPU_RESIZE_NEAREST         0
#define KNPU_RESIZE_LINEAR          1
#define KNPU_RESIZE_HALF_PIXEL      0
#define KNPU_RESIZE_ASYMMETRIC      1
#define KNPU_RESIZE_ALIGN_CORNERS   2
#define KNPU_RESIZE_PYTORCH_HALF_PIXEL 3
#define KNPU_RESIZE_ROUND_PREFER_FLOOR 0
#define KNPU_RESIZE_ROUND_PREFER_CEIL 1
#define KNPU_RESIZE_FLOOR           2
#define KNPU_RESIZE_CEIL            3

/* 7.4.1 ACTIVATION_PARAM functions (flags [3:0]; [4:0] from v1.8) */
#define KNPU_ACTP_HARDSIGMOID       0
#define KNPU_ACTP_HARDSWISH         1
#define KNPU_ACTP_CLIP              2
#define KNPU_ACTP_SQRT              3
#define KNPU_ACTP_EXP               4
#define KNPU_ACTP_POW               5
#define KNPU_ACTP_LEAKY_RELU        6
/* 7.4.5: v1.5 functions, no parameters */
#define KNPU_ACTP_LOG               7
#define KNPU_ACTP_SOFTPLUS          8
#define KNPU_ACTP_MISH              9
#define KNPU_ACTP_GELU_TANH         10
#define KNPU_ACTP_ABS               11
#define KNPU_ACTP_ROUND             12
/* 7.4.6: v1.6 functions, no parameters */
#define KNPU_ACTP_SIN               13
#define KNPU_ACTP_COS               14
/* 7.4.8: v1.8 functions, no parameters */
#define KNPU_ACTP_TAN               15
#define KNPU_ACTP_ASIN              16
#define KNPU_ACTP_ACOS              17
#define KNPU_ACTP_ATAN              18
#define KNPU_ACTP_SINH              19
#define KNPU_ACTP_COSH              20
#define KNPU_ACTP_ASINH             21
#define KNPU_ACTP_ACOSH             22
#define KNPU_ACTP_ATANH             23
#define KNPU_ACTP_ERF               24

/* 7.6 Error codes */
#define KNPU_ERR_NONE               0x00
#define KNPU_ERR_DESC_INVALID       0x01
#define KNPU_ERR_PROGRAM_INVALID    0x02
#define KNPU_ERR_OPCODE_INVALID     0x03
#define KNPU_ERR_OPCODE_UNSUPPORTED 0x04
#define KNPU_ERR_OPERAND_INVALID    0x05
#define KNPU_ERR_ARG_INDEX_INVALID  0x06
#define KNPU_ERR_ALIGNMENT          0x07
#define KNPU_ERR_MMU_FAULT          0x08
#define KNPU_ERR_BUS_ERROR          0x09
#define KNPU_ERR_UNCORRECTABLE      0x0a
#define KNPU_ERR_CONFIG_INVALID     0x0b
#define KNPU_ERR_TAIL_INVALID       0x0c

#define KNPU_ERR_INFO_OPERAND(i)    ((i) & 0xffu)
#define KNPU_ERR_INFO_ACCESS(i)     (((i) >> 8) & 0x3u)
#define KNPU_ERR_INFO_REASON(i)     (((i) >> 12) & 0xfu)
#define KNPU_ERR_INFO_ASID(i)       (((i) >> 16) & 0xffu)
#define KNPU_ERR_OPERAND_NONE       0xff
#define KNPU_ACCESS_READ            1
#define KNPU_ACCESS_WRITE           2
#define KNPU_ERR_PC_NONE            0xffffffffu

#endif /* HW_MISC_KNPU_HW_H */
