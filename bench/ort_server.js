// onnxruntime (npm onnxruntime-node) as a timing server, so that a benchmark
// can alternate it with Sinter run by run. Usage: node ort_server.js JOB.json
// JOB: {model, threads, inputs: [{name, dtype, dims, file}]}. After loading
// it prints "ready"; each line "run" on stdin runs the session once and
// prints the milliseconds session.run took; "quit" or EOF ends it.
const fs = require('fs');
const readline = require('readline');
const ort = require('onnxruntime-node');

const ctor = {float32: Float32Array, int64: BigInt64Array, int32: Int32Array};

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(job.model, {
    intraOpNumThreads: job.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const feeds = {};
  for (const inp of job.inputs) {
    const buf = fs.readFileSync(inp.file);
    const data = new ctor[inp.dtype](buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    feeds[inp.name] = new ort.Tensor(inp.dtype, data, inp.dims);
  }
  console.log('ready');
  const lines = readline.createInterface({input: process.stdin});
  for await (const line of lines) {
    if (line.trim() === 'quit')
      break;
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    console.log(String(Number(process.hrtime.bigint() - t0) / 1e6));
  }
}

main().catch((e) => { console.error('ort_server: ' + e.message); process.exit(1); });
