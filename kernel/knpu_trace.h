/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Tracepoints of the job life cycle and of device resets, for perf and
 * trace-cmd: `perf trace -e 'knpu:*'`, `trace-cmd record -e knpu`.
 * The arguments are plain values so the events do not depend on the
 * layout of the driver's structures.
 */

#undef TRACE_SYSTEM
#define TRACE_SYSTEM knpu

#if !defined(__KNPU_TRACE_H__) || defined(TRACE_HEADER_MULTI_READ)
#define __KNPU_TRACE_H__

#include <linux/device.h>
#include <linux/tracepoint.h>

TRACE_EVENT(knpu_job_submit,
	    TP_PROTO(struct device *dev, u32 queue_id, u32 asid, u64 seqno),
	    TP_ARGS(dev, queue_id, asid, seqno),
	    TP_STRUCT__entry(__string(dev, dev_name(dev))
			     __field(u32, queue_id)
			     __field(u32, asid)
			     __field(u64, seqno)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->queue_id = queue_id;
			   __entry->asid = asid;
			   __entry->seqno = seqno;),
	    TP_printk("dev=%s queue=%u asid=%u seqno=%llu", __get_str(dev),
		      __entry->queue_id, __entry->asid, __entry->seqno)
);

TRACE_EVENT(knpu_job_run,
	    TP_PROTO(struct device *dev, u32 hwq, u32 asid, u64 seqno),
	    TP_ARGS(dev, hwq, asid, seqno),
	    TP_STRUCT__entry(__string(dev, dev_name(dev))
			     __field(u32, hwq)
			     __field(u32, asid)
			     __field(u64, seqno)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->hwq = hwq;
			   __entry->asid = asid;
			   __entry->seqno = seqno;),
	    TP_printk("dev=%s hwq=%u asid=%u seqno=%llu", __get_str(dev),
		      __entry->hwq, __entry->asid, __entry->seqno)
);

/* Emitted just before the doorbell write that hands the ring up to @tail to the device. */
TRACE_EVENT(knpu_hwq_doorbell,
	    TP_PROTO(struct device *dev, u32 hwq, u32 tail),
	    TP_ARGS(dev, hwq, tail),
	    TP_STRUCT__entry(__string(dev, dev_name(dev))
			     __field(u32, hwq)
			     __field(u32, tail)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->hwq = hwq;
			   __entry->tail = tail;),
	    TP_printk("dev=%s hwq=%u tail=%u", __get_str(dev), __entry->hwq, __entry->tail)
);

TRACE_EVENT(knpu_job_complete,
	    TP_PROTO(struct device *dev, u32 hwq, u32 asid, u64 seqno, int error),
	    TP_ARGS(dev, hwq, asid, seqno, error),
	    TP_STRUCT__entry(__string(dev, dev_name(dev))
			     __field(u32, hwq)
			     __field(u32, asid)
			     __field(u64, seqno)
			     __field(int, error)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->hwq = hwq;
			   __entry->asid = asid;
			   __entry->seqno = seqno;
			   __entry->error = error;),
	    TP_printk("dev=%s hwq=%u asid=%u seqno=%llu error=%d", __get_str(dev),
		      __entry->hwq, __entry->asid, __entry->seqno, __entry->error)
);

TRACE_EVENT(knpu_job_fault,
	    TP_PROTO(struct device *dev, u32 hwq, u64 seqno, u32 code, u32 info, u64 addr, u32 pc),
	    TP_ARGS(dev, hwq, seqno, code, info, addr, pc),
	    TP_STRUCT__entry(__string(dev, dev_name(dev))
			     __field(u32, hwq)
			     __field(u64, seqno)
			     __field(u32, code)
			     __field(u32, info)
			     __field(u64, addr)
			     __field(u32, pc)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->hwq = hwq;
			   __entry->seqno = seqno;
			   __entry->code = code;
			   __entry->info = info;
			   __entry->addr = addr;
			   __entry->pc = pc;),
	    TP_printk("dev=%s hwq=%u seqno=%llu code=0x%x info=0x%x addr=0x%llx pc=0x%x",
		      __get_str(dev), __entry->hwq, __entry->seqno, __entry->code,
		      __entry->info, __entry->addr, __entry->pc)
);

TRACE_EVENT(knpu_device_reset,
	    TP_PROTO(struct device *dev, int ret),
	    TP_ARGS(dev, ret),
	    TP_STRUCT__entry(__string(dev, dev_name(dev))
			     __field(int, ret)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->ret = ret;),
	    TP_printk("dev=%s ret=%d", __get_str(dev), __entry->ret)
);

#endif /* __KNPU_TRACE_H__ */

/* Out of tree and in drivers/accel/knpu alike: the header is next to us. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE knpu_trace
#include <trace/define_trace.h>
