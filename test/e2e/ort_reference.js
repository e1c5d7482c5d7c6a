// Reference outputs from onnxruntime (npm onnxruntime-node), for tests and
// benchmarks. Usage: node ort_reference.js JOB.json
// JOB: {model, threads, inputs: [{name, dtype, dims, file}], outputs_dir,
//       bench: N (optional)} — raw little-endian tensors in and out; writes
//       OUT/<output name>.bin and OUT/<output name>.json (dtype, dims).
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const ctor = {float32: Float32Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array};

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(job.model, {
    intraOpNumThreads: job.threads || 2, interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const feeds = {};
  for (const inp of job.inputs) {
    const buf = fs.readFileSync(inp.file);
    const C = ctor[inp.dtype];
    const data = new C(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    feeds[inp.name] = new ort.Tensor(inp.dtype, data, inp.dims);
  }
  const results = await session.run(feeds);
  fs.mkdirSync(job.outputs_dir, {recursive: true});
  for (const [name, t] of Object.entries(results)) {
    fs.writeFileSync(path.join(job.outputs_dir, name + '.bin'), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.writeFileSync(path.join(job.outputs_dir, name + '.json'), JSON.stringify({dtype: t.type, dims: t.dims}));
  }
  if (job.bench) {
    for (let i = 0; i < 3; ++i) await session.run(feeds);
    const ms = [];
    for (let i = 0; i < job.bench; ++i) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    console.log(JSON.stringify({median_ms: ms[Math.floor(ms.length / 2)], min_ms: ms[0]}));
  }
}

main().catch((e) => { console.error('ort_reference: ' + e.message); process.exit(1); });
