#!/usr/bin/env node
// The reference: runs an ONNX model with onnxruntime (CPU, natively on the
// host, npm package onnxruntime-node) on .npy inputs and writes one .npy per
// graph output, as npu-infer does.
//
//   NODE_PATH=<models>/node_modules node ort-run.js MODEL.onnx OUTDIR NAME=FILE.npy...
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const { readNpy, writeNpy, outputFileName } = require('./npy.js');

async function main() {
  const [model, outDir, ...specs] = process.argv.slice(2);
  if (!model || !outDir || specs.length === 0) {
    console.error('usage: ort-run.js MODEL.onnx OUTDIR NAME=FILE.npy...');
    process.exit(2);
  }
  const feeds = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    feeds[spec.slice(0, eq)] = readNpy(spec.slice(eq + 1));
  }
  // One thread: the reference's numbers do not depend on the host's load.
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) {
    writeNpy(path.join(outDir, outputFileName(name)), results[name]);
  }
}

main().catch((e) => {
  console.error(`ort-run.js: ${e.message}`);
  process.exit(1);
});
