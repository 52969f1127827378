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

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) {
    throw new Error(`${file}: only little-endian float32 in C order is supported`);
  }
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').map((s) => s.trim())
    .filter((s) => s.length > 0).map(Number);
  const data = buf.subarray(start + headerLen);
  const floats = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
  return new ort.Tensor('float32', floats, shape);
}

function writeNpy(file, tensor) {
  if (tensor.type !== 'float32') throw new Error(`output ${file}: type ${tensor.type} is not float32`);
  const dims = tensor.dims.length === 1 ? `${tensor.dims[0]},` : tensor.dims.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

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
    writeNpy(path.join(outDir, `${name.replace(/\//g, '_')}.npy`), results[name]);
  }
}

main().catch((e) => {
  console.error(`ort-run.js: ${e.message}`);
  process.exit(1);
});
