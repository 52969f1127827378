#!/usr/bin/python3
"""host.npu-bench: npu-bench's model figure without a device (--host-only):
the baseline of scripts/onnx/ort-bench.js is read and reported, each case in
FP32 and INT8, the device side null with its reason; a malformed baseline is
refused naming the file; the DMA copy figures carry memcpy's bandwidth; a
native run's JSON (--host-baseline) is matched figure by figure and a run
that was not native is refused; bench-chart.py draws a bar per measured
figure (the 4-queue over 1-queue jobs/s among them, against the native host
where there is one; a device run's GEMM and conv2d streamed, then one job at
a time) and a reason per skipped one.

    npu_bench_test.py NPU_BENCH"""
import importlib.util
import json
import pathlib
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
CHART = HERE / '../../tools/npu-bench/bench-chart.py'
NPU_BENCH = None  # set from argv

BASELINE = {
    'schema': 1,
    'runtime': 'onnxruntime-node 1.30.0 (CPU execution provider, natively on the host)',
    'threads': 2,
    'cases': [
        {'name': 'cls', 'model': '/models/cls.onnx', 'input_name': 'x', 'input_shape': [1, 3, 48, 192],
         'input': '/w/cls.input.npy', 'output_name': 'y', 'output': '/w/cls.ort/y.npy',
         'warmup_runs': 3, 'latency': {'median_us': 1500.0, 'p99_us': 2500.0, 'samples': 30},
         'throughput_per_s': 600.0},
        {'name': 'det', 'model': '/models/det.onnx', 'input_name': 'x', 'input_shape': [1, 3, 320, 320],
         'input': '/w/det.input.npy', 'output_name': 'y', 'output': '/w/det.ort/y.npy',
         'warmup_runs': 3, 'latency': {'median_us': 90000.0, 'p99_us': 120000.0, 'samples': 30},
         'throughput_per_s': 11.0},
    ],
}


def run_bench(baseline_path):
    return subprocess.run([NPU_BENCH, '--host-only', '--quick', '--threads', '2', '--json',
                           '--model-baseline', str(baseline_path)],
                          capture_output=True, text=True, check=False)


class ModelFigure(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.work = pathlib.Path(self.dir.name)

    def tearDown(self):
        self.dir.cleanup()

    def bench(self, baseline):
        path = self.work / 'baseline.json'
        path.write_text(json.dumps(baseline))
        return run_bench(path)

    def test_each_case_in_fp32_and_int8_with_the_baseline_and_no_device_figure(self):
        result = self.bench(BASELINE)
        self.assertEqual(result.returncode, 0, result.stderr)
        models = json.loads(result.stdout)['models']
        self.assertEqual(models['baseline_runtime'], BASELINE['runtime'])
        self.assertEqual(models['baseline_threads'], 2)
        self.assertEqual(models['latency_goal'], 1.5)
        cases = models['cases']
        self.assertEqual([(c['name'], c['precision']) for c in cases],
                         [('cls', 'fp32'), ('cls', 'int8'), ('det', 'fp32'), ('det', 'int8')])
        det = cases[2]
        self.assertEqual(det['model'], 'det.onnx')
        self.assertEqual(det['input_shape'], [1, 3, 320, 320])
        self.assertEqual(det['baseline'], {'latency': {'median_us': 90000.0, 'p99_us': 120000.0,
                                                       'samples': 30}, 'throughput_per_s': 11.0})
        for case in cases:
            self.assertIsNone(case['device'])
            self.assertEqual(case['device_skipped'], 'no device (--host-only)')
            self.assertIsNone(case['latency_ratio'])
            self.assertIsNone(case['meets_goal'])
            self.assertIsNone(case['max_difference'])

    def test_no_baseline_no_model_section(self):
        result = subprocess.run([NPU_BENCH, '--host-only', '--quick', '--threads', '2', '--json'],
                                capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIsNone(json.loads(result.stdout)['models'])

    def test_a_malformed_baseline_is_refused_naming_the_file(self):
        broken = json.loads(json.dumps(BASELINE))
        del broken['cases'][1]['latency']
        result = self.bench(broken)
        self.assertEqual(result.returncode, 2)
        self.assertIn('baseline.json', result.stderr)
        self.assertIn('latency', result.stderr)

    def test_copy_figures_have_memcpy_and_no_device_side(self):
        result = subprocess.run([NPU_BENCH, '--host-only', '--quick', '--json'],
                                capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        copies = json.loads(result.stdout)['copy']
        self.assertEqual([c['name'] for c in copies],
                         ['host -> host', 'host -> device', 'device -> device'])
        for copy in copies:
            self.assertEqual(copy['bytes'], 1 << 20)
            self.assertGreater(copy['memcpy_gbps'], 0)
            self.assertAlmostEqual(copy['memcpy_gbps'], copy['bytes'] / copy['memcpy_seconds'] / 1e9)
            self.assertIsNone(copy['device_gbps'])
            self.assertIsNone(copy['device_job_gbps'])
            self.assertIsNone(copy['ratio'])
            self.assertEqual(copy['device_skipped'], 'no device (--host-only)')

    def native_run(self, *extra):
        path = self.work / 'native.json'
        result = subprocess.run([NPU_BENCH, '--host-only', '--quick', '--threads', '2',
                                 '--json-file', str(path), *extra],
                                capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        return path

    def test_a_native_run_is_matched_figure_by_figure(self):
        native = json.loads(self.native_run().read_text())
        self.assertIsNone(native['host_baseline'])
        result = subprocess.run([NPU_BENCH, '--host-only', '--quick', '--threads', '2', '--json',
                                 '--host-baseline', str(self.work / 'native.json')],
                                capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn('warning', result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(report['host_baseline'], {'file': str(self.work / 'native.json'),
                                                   'threads': 2})
        for mine, theirs in zip(report['throughput'], native['throughput'], strict=True):
            self.assertEqual(mine['native_gflops'], theirs['host_gflops'])
            self.assertIsNone(mine['native_ratio'])  # no device in this run either
        for mine, theirs in zip(report['copy'], native['copy'], strict=True):
            self.assertEqual(mine['native_memcpy_gbps'], theirs['memcpy_gbps'])

    def test_a_figure_the_native_run_lacks_is_named(self):
        self.native_run('--gemm-size', '32')
        result = subprocess.run([NPU_BENCH, '--host-only', '--quick', '--json',
                                 '--host-baseline', str(self.work / 'native.json')],
                                capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("has no figure 'gemm 64x64x64 fp32'", result.stderr)
        self.assertIn('warning: the host baseline ran 2 threads, this run 1', result.stderr)
        gemm = json.loads(result.stdout)['throughput'][0]
        self.assertIsNone(gemm['native_gflops'])

    def test_a_run_that_was_not_native_is_refused(self):
        path = self.native_run()
        report = json.loads(path.read_text())
        report['device'] = '0000:01:00.0 (4 cores)'
        path.write_text(json.dumps(report))
        result = subprocess.run([NPU_BENCH, '--host-only', '--quick', '--host-baseline', str(path)],
                                capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn('native.json: not a native run', result.stderr)

    def test_the_chart_has_a_row_per_figure(self):
        result = self.bench(BASELINE)
        report = json.loads(result.stdout)
        # One measured model figure that misses the goal, one skipped.
        report['models']['cases'][0].update(latency_ratio=3.0, device_skipped=None)
        spec = importlib.util.spec_from_file_location('bench_chart', CHART)
        chart = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(chart)
        rows = chart.figures(report)
        self.assertEqual(len(rows), 3 + 3 + 2 + 4)
        self.assertEqual(rows[0][0], 'gemm 64x64x64 fp32 (device / oneDNN in this process)')
        self.assertEqual(rows[3][0], 'DMA copy host -> host (device / memcpy in this process)')
        self.assertEqual(rows[7][1:5], (None, 3.0, True, 'no device'))
        self.assertEqual(rows[8][1:4], (3.0, 1.5, False))
        self.assertEqual(rows[9][4], 'no device (--host-only)')
        # The queue figure's bar is 4 queues over one.
        report['latency']['queue_throughput'] = [
            {'queues': n, 'jobs': 20 * n, 'seconds': 1.0, 'jobs_per_s': 20.0 * r,
             'over_one_queue': r} for n, r in ((1, 1.0), (2, 1.5), (4, 2.5))]
        self.assertEqual(chart.figures(report)[7][1], 2.5)
        # With a native run, throughput bars are against the native host.
        report['throughput'][0].update(ratio=200.0, native_ratio=0.5)
        report['copy'][1].update(ratio=3.0, native_ratio=0.25)
        rows = chart.figures(report)
        self.assertEqual(rows[0][:4], ('gemm 64x64x64 fp32 (device / native oneDNN)', 0.5, 0.8,
                                       True))
        self.assertEqual(rows[4][:2], ('DMA copy host -> device (device / native memcpy)', 0.25))
        # A device run has the streamed figure first, then one job at a time.
        report['throughput'][0].update(device_streams=4, device_streamed_gflops=9.0,
                                       streamed_ratio=300.0, native_streamed_ratio=0.9)
        rows = chart.figures(report)
        self.assertEqual(len(rows), 3 + 3 + 2 + 4 + 1)
        self.assertEqual(rows[0][:4], ('gemm 64x64x64 fp32 streamed, 4 queues '
                                       '(device / native oneDNN)', 0.9, 0.8, True))
        self.assertEqual(rows[1][:2], ('gemm 64x64x64 fp32 one job at a time '
                                       '(device / native oneDNN)', 0.5))
        png = self.work / 'bench.png'
        (self.work / 'bench.json').write_text(json.dumps(report))
        subprocess.run([sys.executable, str(CHART), str(self.work / 'bench.json'), str(png)], check=True)
        self.assertEqual(png.read_bytes()[:8], b'\x89PNG\r\n\x1a\n')


if __name__ == '__main__':
    NPU_BENCH = sys.argv.pop(1)
    unittest.main()
