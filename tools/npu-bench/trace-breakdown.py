#!/usr/bin/python3
"""Where a job's time goes on the device, from the device model's trace
(qemu-device/trace-events, QEMU's log backend with `-msg timestamp=on`):
per instruction kind, the wall time from its fetch to the next fetch (or
the job's end) on the worker that ran it, and the parts of it the model
measures itself: the oneDNN primitive (knpu_prim_exec), tensors staged in
(knpu_tensor_load) and out (knpu_tensor_store) through the MMU; the rest is
decoding, primitive lookup and everything else per instruction. Also the
primitives created (cache misses) and the jobs' own wall time.

    trace-breakdown.py TRACE.log [--last-jobs N] [--json]

--last-jobs keeps the last N jobs of the trace (npu-bench's timed runs of a
model come last; warm-up and other jobs are left out).
"""
import argparse
import collections
import json
import re
import sys

LINE = re.compile(r'^(\d+)@(\d+)\.(\d+):(knpu_\w+) (.*)$')
OPCODES = {
    0x00: 'NOP', 0x01: 'DMA_COPY', 0x02: 'DMA_FILL', 0x03: 'COPY_STRIDED', 0x08: 'BARRIER',
    0x09: 'SEM_SIGNAL', 0x0a: 'SEM_WAIT', 0x0b: 'TIMESTAMP', 0x10: 'GEMM', 0x11: 'CONV2D',
    0x12: 'POOL2D', 0x13: 'ELTWISE', 0x14: 'ACTIVATION', 0x15: 'SOFTMAX', 0x16: 'LAYERNORM',
    0x17: 'RMSNORM', 0x18: 'REDUCE', 0x19: 'TRANSPOSE', 0x1a: 'GEMM_BATCHED',
    0x1b: 'CONV_TRANSPOSE', 0x1c: 'RESIZE', 0x1d: 'ACTIVATION_PARAM', 0x1e: 'CONVERT',
    0x1f: 'GATHER', 0x20: 'COMPARE', 0x21: 'SELECT',
}
NS = re.compile(r'in (-?\d+) ns|, (-?\d+) ns')


class Kind:
    def __init__(self):
        self.count = 0
        self.wall_us = 0.0
        self.prim_us = 0.0
        self.load_us = 0.0
        self.store_us = 0.0
        self.created = 0


class Job:
    def __init__(self, start):
        self.start = start
        self.wall_us = None  # set when the job ends
        self.kinds = collections.defaultdict(Kind)
        self.running = None  # (kind name, fetch time) of the instruction running


def parse(lines):
    """The jobs of the trace that ended, in the order they started."""
    jobs = []
    running = {}  # thread -> its Job
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        tid, now = m.group(1), int(m.group(2)) + int(m.group(3)) / 1e6
        event, args = m.group(4), m.group(5)
        if event == 'knpu_job_start':
            running[tid] = Job(now)
            jobs.append(running[tid])
            continue
        job = running.get(tid)
        if job is None:
            continue
        if event in ('knpu_insn', 'knpu_job_done', 'knpu_job_abort'):
            if job.running:
                job.kinds[job.running[0]].wall_us += (now - job.running[1]) * 1e6
                job.running = None
            if event == 'knpu_insn':
                opcode = int(re.search(r'opcode 0x([0-9a-f]+)', args).group(1), 16)
                name = OPCODES.get(opcode, hex(opcode))
                job.running = (name, now)
                job.kinds[name].count += 1
            else:
                job.wall_us = (now - job.start) * 1e6
                del running[tid]
        elif job.running and event == 'knpu_prim_create':
            job.kinds[job.running[0]].created += 1
        elif job.running and event in ('knpu_prim_exec', 'knpu_tensor_load', 'knpu_tensor_store'):
            kind = job.kinds[job.running[0]]
            us = next(int(g) for g in NS.search(args).groups() if g is not None) / 1000
            if event == 'knpu_prim_exec':
                kind.prim_us += us
            elif event == 'knpu_tensor_load':
                kind.load_us += us
            else:
                kind.store_us += us
    return [job for job in jobs if job.wall_us is not None]


def merge(jobs):
    kinds = collections.defaultdict(Kind)
    for job in jobs:
        for name, k in job.kinds.items():
            total = kinds[name]
            for field in ('count', 'wall_us', 'prim_us', 'load_us', 'store_us', 'created'):
                setattr(total, field, getattr(total, field) + getattr(k, field))
    return kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('trace')
    parser.add_argument('--last-jobs', type=int, default=0,
                        help='only the last N jobs (the timed runs; 0: all)')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()
    with open(args.trace, encoding='utf-8', errors='replace') as f:
        jobs = parse(f)[-args.last_jobs:]
    if not jobs:
        sys.exit(f'{args.trace}: no complete job traced (knpu_job_start/knpu_insn/knpu_job_done '
                 'enabled, -msg timestamp=on?)')
    kinds = merge(jobs)
    jobs_us = [job.wall_us for job in jobs]
    n = len(jobs)
    total = sum(k.wall_us for k in kinds.values())
    rows = sorted(kinds.items(), key=lambda kv: -kv[1].wall_us)
    if args.json:
        json.dump({'jobs': n, 'job_us': sorted(jobs_us),
                   'per_job': {name: {'count': k.count / n, 'wall_us': k.wall_us / n,
                                      'prim_us': k.prim_us / n, 'load_us': k.load_us / n,
                                      'store_us': k.store_us / n, 'created': k.created / n}
                               for name, k in rows}}, sys.stdout, indent=2)
        print()
        return
    jobs_us.sort()
    print(f'{n} jobs; wall per job: median {jobs_us[n // 2] / 1000:.2f} ms, '
          f'min {jobs_us[0] / 1000:.2f} ms, mean {sum(jobs_us) / n / 1000:.2f} ms; '
          'below: the mean per job (ms)')
    print(f"{'instruction':<18} {'count':>6} {'wall':>9} {'share':>6} {'oneDNN':>9} "
          f"{'load':>8} {'store':>8} {'other':>8} {'created':>8}")
    for name, k in rows:
        other = k.wall_us - k.prim_us - k.load_us - k.store_us
        print(f'{name:<18} {k.count / n:>6.0f} {k.wall_us / n / 1000:>9.2f} '
              f'{100 * k.wall_us / total:>5.1f}% {k.prim_us / n / 1000:>9.2f} '
              f'{k.load_us / n / 1000:>8.2f} {k.store_us / n / 1000:>8.2f} '
              f'{other / n / 1000:>8.2f} {k.created / n:>8.1f}')
    sums = [sum(getattr(k, f) for k in kinds.values()) / n / 1000
            for f in ('wall_us', 'prim_us', 'load_us', 'store_us')]
    print(f"{'all':<18} {sum(k.count for k in kinds.values()) / n:>6.0f} {sums[0]:>9.2f} "
          f"{100.0:>5.1f}% {sums[1]:>9.2f} {sums[2]:>8.2f} {sums[3]:>8.2f} "
          f'{sums[0] - sums[1] - sums[2] - sums[3]:>8.2f}')


if __name__ == '__main__':
    main()
