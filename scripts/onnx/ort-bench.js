#!/usr/bin/env node
// The baseline of npu-bench's model figure: the PaddleOCR models run with
// onnxruntime (CPU, natively on the host, npm package onnxruntime-node) with
// as many intra-op threads as the device has cores. Writes, into OUTDIR, each
// case's input (deterministic, so both sides run on the same bytes) and
// onnxruntime's output as .npy, and baseline.json: the cases and their
// latency (warm-up runs excluded, median and p99, nearest rank as npu-bench
// computes them) and throughput. npu-bench --model-baseline OUTDIR/baseline.json
// then runs the same cases on the device (docs/performance.md).
//
//   NODE_PATH=<models>/node_modules node ort-bench.js --models ASSETS --out OUTDIR
//       [--threads N] [--runs N] [--warmup N] [--quick]
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const { readNpy, writeNpy, outputFileName } = require('./npy.js');

// PaddleOCR's three models at the shapes its pipeline feeds them: a text
// line crop for the direction classifier and the recogniser (48 high), and
// detection at one fixed image size (multiples of 32).
const CASES = [
  { name: 'cls', model: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [1, 3, 48, 192], quickShape: [1, 3, 48, 192] },
  { name: 'det', model: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 320, 320], quickShape: [1, 3, 64, 64] },
  { name: 'rec', model: 'ch_PP-OCRv4_rec_infer.onnx', shape: [1, 3, 48, 320], quickShape: [1, 3, 48, 64] },
];

function parseArgs(argv) {
  const options = { threads: 4, runs: 30, warmup: 3, quick: false };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    if (flag === '--quick') {
      options.quick = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag}: missing value`);
    switch (flag) {
      case '--models': options.models = value; break;
      case '--out': options.out = value; break;
      case '--threads': options.threads = positiveInteger(flag, value); break;
      case '--runs': options.runs = positiveInteger(flag, value); break;
      case '--warmup': options.warmup = positiveInteger(flag, value); break;
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  if (!options.models || !options.out) {
    throw new Error('usage: ort-bench.js --models ASSETS --out OUTDIR [--threads N] [--runs N] [--warmup N] [--quick]');
  }
  if (options.quick) {
    options.runs = Math.min(options.runs, 3);
    options.warmup = 1;
  }
  return options;
}

function positiveInteger(flag, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: ${text} is not a positive integer`);
  return n;
}

// Uniform in [-1, 1), the range of PaddleOCR's normalised pixels, from a
// seeded 32-bit generator (mulberry32): the same file on every run.
function deterministicInput(shape, seed) {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let state = seed >>> 0;
  for (let i = 0; i < data.length; ++i) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return new ort.Tensor('float32', data, shape);
}

// Nearest rank, as npu-bench's summarize(): sorted[floor(q * (n - 1))].
function percentile(sorted, q) {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

async function benchCase(spec, index, options) {
  const shape = options.quick ? spec.quickShape : spec.shape;
  const model = path.join(options.models, spec.model);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const inputName = session.inputNames[0];
  const inputFile = path.join(options.out, `${spec.name}.input.npy`);
  writeNpy(inputFile, deterministicInput(shape, index + 1));
  const feeds = { [inputName]: readNpy(inputFile) };
  let results;
  for (let i = 0; i < options.warmup; ++i) results = await session.run(feeds);
  const samplesUs = [];
  for (let i = 0; i < options.runs; ++i) {
    const start = process.hrtime.bigint();
    results = await session.run(feeds);
    samplesUs.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  const outputName = session.outputNames[0];
  const outputDir = path.join(options.out, `${spec.name}.ort`);
  fs.mkdirSync(outputDir, { recursive: true });
  const outputFile = path.join(outputDir, outputFileName(outputName));
  writeNpy(outputFile, results[outputName]);
  const totalUs = samplesUs.reduce((a, b) => a + b, 0);
  const sorted = [...samplesUs].sort((a, b) => a - b);
  return {
    name: spec.name,
    model,
    input_name: inputName,
    input_shape: shape,
    input: inputFile,
    output_name: outputName,
    output: outputFile,
    warmup_runs: options.warmup,
    latency: { median_us: percentile(sorted, 0.5), p99_us: percentile(sorted, 0.99), samples: sorted.length },
    throughput_per_s: sorted.length / (totalUs / 1e6),
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  fs.mkdirSync(options.out, { recursive: true });
  const cases = [];
  for (const [index, spec] of CASES.entries()) {
    console.error(`ort-bench.js: ${spec.name}`);
    cases.push(await benchCase(spec, index, options));
  }
  const ortPackage = require('onnxruntime-node/package.json');
  const baseline = {
    schema: 1,
    runtime: `onnxruntime-node ${ortPackage.version} (CPU execution provider, natively on the host)`,
    threads: options.threads,
    cases,
  };
  fs.writeFileSync(path.join(options.out, 'baseline.json'), `${JSON.stringify(baseline, null, 2)}\n`);
}

main().catch((e) => {
  console.error(`ort-bench.js: ${e.message}`);
  process.exit(1);
});
