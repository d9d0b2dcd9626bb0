// CPU-side cost of encoding one training step (recording the forward, the tape backward and AdamW, and
// submitting), for a graph file: prints encode ms per step and the number of dispatches, so that engine
// overheads can be profiled with `node --cpu-prof` on any machine (the GPU's own time is not in it).
//   npx tsx bench/encode-profile.ts <graph.json> [batch] [seqLen] [steps]

import { readFileSync } from 'node:fs';
import { compileGraph } from '../gpu/graph/compile.js';
import { createParams } from '../gpu/nn/module.js';
import { StepExecutor } from '../gpu/train/step.js';
import { parseGraph } from '../shared/graph/parse.js';
import { createNodeEngine } from '../main/host/node-gpu.js';

const [file, batchArg = '8', seqArg = '64', stepsArg = '10'] = process.argv.slice(2);
const [batch, seqLen, steps] = [Number(batchArg), Number(seqArg), Number(stepsArg)];
const graph = parseGraph(readFileSync(file, 'utf8'), file);
const model = compileGraph(graph);
const engine = await createNodeEngine();
const params = createParams(engine, model.specs, 1);
const executor = new StepExecutor(engine, params, (p, ids, targets) => model.loss(p, ids, targets));
const vocab = graph.model.vocab_size;
const ids = Int32Array.from({ length: batch * seqLen }, (_, i) => (i * 7919) % vocab);
const encode: number[] = [];
let dispatches = 0;
for (let i = 0; i < steps; i++) {
  const before = engine.dispatchCount;
  const m = await executor.run({ inputs: ids, targets: ids, batch, seqLen });
  encode.push(m.encodeMs);
  dispatches = engine.dispatchCount - before;
}
encode.sort((a, b) => a - b);
console.log(
  `encode ms/step: median ${encode[encode.length >> 1].toFixed(2)}, min ${encode[0].toFixed(2)}; dispatches/step ${dispatches}`,
);
engine.destroy();
