#!/usr/bin/python3
"""Draws npu-bench's JSON as a PNG a person can look at: one bar per figure,
its ratio against the baseline on a logarithmic axis, the goal marked, green
where the goal is met and red where it is missed; a figure that was not
measured is listed with its reason instead of a bar (docs/performance.md).

    bench-chart.py BENCH.json OUT.png

Pillow (Debian's python3-pil) draws it; nothing else is needed.
"""
import json
import math
import sys

from PIL import Image, ImageDraw, ImageFont

WIDTH, ROW, LEFT, RIGHT, TOP = 1240, 34, 460, 170, 70
LOG_MIN, LOG_MAX = -2.0, 3.0  # ratios 0.01 .. 1000
FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'


def against_native(figure, name, baseline, note):
    """A throughput row: against the native host's figure when the run had
    one (--host-baseline), else against the same call in the process."""
    if figure.get('native_ratio') is not None:
        return (f"{name} (device / native {baseline})", figure['native_ratio'], 0.8, True, note)
    return (f"{name} (device / {baseline} in this process)", figure['ratio'], 0.8, True, note)


def throughput_rows(t):
    """A GEMM or conv2d: streamed (jobs back to back on --streams queues, as
    a throughput is measured) where the run has it, then one job at a time."""
    if t.get('device_streamed_gflops') is None:
        return [against_native(t, t['name'], 'oneDNN', t['device_skipped'])]
    streamed = dict(t, ratio=t['streamed_ratio'], native_ratio=t['native_streamed_ratio'])
    queues = t['device_streams']
    return [against_native(streamed, f"{t['name']} streamed, {queues} queue{'s' * (queues != 1)}",
                           'oneDNN', None),
            against_native(t, f"{t['name']} one job at a time", 'oneDNN', None)]


def figures(report):
    """(label, ratio or None, goal, higher_is_better, note) per figure."""
    rows = []
    for t in report['throughput']:
        rows.extend(throughput_rows(t))
    for c in report.get('copy', []):
        rows.append(against_native(c, f"DMA copy {c['name']}", 'memcpy', c['device_skipped']))
    latency = report['latency']
    rows.append(('empty job / ping-pong (latency)', latency['empty_job_over_ping_pong'], 2.0,
                 False, None if latency['empty_job'] else 'no device'))
    four = [q['over_one_queue'] for q in latency.get('queue_throughput', []) if q['queues'] == 4]
    rows.append(('empty jobs, 4 queues / 1 queue (jobs/s)', four[0] if four else None, 3.0, True,
                 None if latency['empty_job'] else 'no device'))
    models = report.get('models')
    if models:
        goal = models['latency_goal']
        for m in models['cases']:
            shape = 'x'.join(str(d) for d in m['input_shape'])
            rows.append((f"{m['name']} {shape} {m['precision']} (device / onnxruntime latency)",
                         m['latency_ratio'], goal, False, m['device_skipped']))
    return rows


def x_of(ratio):
    log = min(max(math.log10(ratio), LOG_MIN), LOG_MAX)
    return LEFT + (log - LOG_MIN) / (LOG_MAX - LOG_MIN) * (WIDTH - LEFT - RIGHT)


def draw(report, path):
    rows = figures(report)
    height = TOP + ROW * len(rows) + 50
    image = Image.new('RGB', (WIDTH, height), 'white')
    pen = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 13)
    title = ImageFont.truetype(FONT, 16)
    pen.text((10, 10), f"npu-bench: device {report['device']}, host threads "
             f"{report['host_threads']}", fill='black', font=title)
    pen.text((10, 34), 'ratio device / baseline (log scale); | goal: throughput at least, '
             'latency at most', fill='dimgray', font=font)
    axis_y = TOP + ROW * len(rows) + 5
    for decade in range(int(LOG_MIN), int(LOG_MAX) + 1):
        x = x_of(10.0 ** decade)
        pen.line([(x, TOP - 5), (x, axis_y)], fill='gainsboro')
        pen.text((x - 10, axis_y + 4), f'{10.0 ** decade:g}', fill='black', font=font)
    for i, (label, ratio, goal, higher_is_better, note) in enumerate(rows):
        y = TOP + ROW * i
        pen.text((10, y + 8), label, fill='black', font=font)
        if ratio is None:
            pen.text((LEFT + 5, y + 8), f"not available: {note or 'not measured'}"[:90],
                     fill='gray', font=font)
            continue
        met = ratio >= goal if higher_is_better else ratio <= goal
        pen.rectangle([x_of(10.0 ** LOG_MIN), y + 6, x_of(ratio), y + ROW - 6],
                      fill='seagreen' if met else 'firebrick')
        pen.text((max(x_of(ratio), x_of(goal) + 2) + 5, y + 8), f"{ratio:.2f} (goal {'>=' if higher_is_better else '<='} "
                 f"{goal:g})", fill='black', font=font)
        goal_x = x_of(goal)
        pen.line([(goal_x, y + 2), (goal_x, y + ROW - 2)], fill='black', width=3)
    image.save(path)


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: bench-chart.py BENCH.json OUT.png')
    with open(sys.argv[1], encoding='utf-8') as f:
        draw(json.load(f), sys.argv[2])


if __name__ == '__main__':
    main()
