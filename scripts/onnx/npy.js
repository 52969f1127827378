// NumPy .npy files in C order that the reference scripts exchange with
// npu-infer and npu-bench, as onnxruntime tensors (npm package
// onnxruntime-node): little-endian float32, float16 (a model exported in
// half precision; its raw bits), float64, uint8 and int8 (an image's bytes), int64
// and int32 (a model's token ids and attention mask) and bool (a mask),
// inputs and outputs.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

// descr: onnxruntime's type and the typed array of its data.
const DESCR = { '<f4': ['float32', Float32Array], '<f2': ['float16', Uint16Array],
  '<f8': ['float64', Float64Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array], '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array], '|b1': ['bool', Uint8Array] };

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = (header.match(/'descr':\s*'([^']*)'/) || [])[1];
  if (!(descr in DESCR) || /'fortran_order':\s*True/.test(header)) {
    throw new Error(`${file}: only little-endian float32, float16, float64, uint8, int8, int64, int32 and bool in C order are supported`);
  }
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').map((s) => s.trim())
    .filter((s) => s.length > 0).map(Number);
  const data = buf.subarray(start + headerLen);
  const [type, ArrayType] = DESCR[descr];
  const values = new ArrayType(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
  return new ort.Tensor(type, values, shape);
}

function writeNpy(file, tensor) {
  const descr = Object.keys(DESCR).find((d) => DESCR[d][0] === tensor.type);
  if (!descr) throw new Error(`output ${file}: type ${tensor.type} is not float32, float16, float64, uint8, int8, int64, int32 or bool`);
  const dims = tensor.dims.length === 1 ? `${tensor.dims[0]},` : tensor.dims.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
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

// A graph output's file name, as npu-infer writes it ('/' becomes '_').
function outputFileName(name) {
  return `${name.replace(/\//g, '_')}.npy`;
}

module.exports = { readNpy, writeNpy, outputFileName };
