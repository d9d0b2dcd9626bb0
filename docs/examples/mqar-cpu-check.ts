// A measured run for the MQAR diagnosis of README.md §3, small enough for a CPU adapter (Mesa lavapipe):
// a 2-layer attention model (1 head, RoPE, tied embeddings, no MLP) on MQAR with 4 pairs, vocabulary 64,
// 32 tokens, trained by the project's StepExecutor (AdamW 3e-3, batch 32), with and without a 3-tap short
// convolution before each attention layer (Zoology's hybrid). Prints the loss every 25 steps and the
// accuracy on 256 validation examples at the end (Zoology's: mean fraction of queries answered).
//
//   npx tsx docs/examples/mqar-cpu-check.ts [steps=300] [conv=1] [d=64]

import { add } from '../../gpu/ops/elementwise.js';
import { crossEntropy } from '../../gpu/ops/cross-entropy.js';
import { embedding } from '../../gpu/ops/embedding.js';
import { matmul } from '../../gpu/ops/matmul.js';
import { rmsNorm } from '../../gpu/ops/norm.js';
import { reshape } from '../../gpu/ops/shape.js';
import '../../gpu/nn/mixers/index.js';
import { mixerFactory } from '../../gpu/nn/mixer.js';
import { createParams, paramView, type ParamMap, type ParamSpec } from '../../gpu/nn/module.js';
import type { Tensor } from '../../gpu/tensor.js';
import { StepExecutor } from '../../gpu/train/step.js';
import { generateTaskBatch, IGNORE_INDEX, TaskSampler } from '../../shared/tasks/index.js';
import { createNodeEngine } from '../../main/host/node-gpu.js';

const [steps = 300, useConv = 1, D = 64] = process.argv.slice(2).map(Number);
const [V, T, B, LR] = [64, 32, 32, 3e-3];
const task = { vocab_size: V, seq_len: T, num_kv_pairs: 4, random_non_queries: 0 };
const e = await createNodeEngine();
const attention = mixerFactory('attention').create(D, { num_heads: 1 });
const conv = mixerFactory('shortconv').create(D, { kernel: 3 });
const specs: ParamSpec[] = [{ name: 'embed.weight', shape: [V, D], init: { kind: 'normal', std: 0.02 } }];
for (let l = 0; l < 2; l++) {
  specs.push({ name: `layers.${l}.norm.weight`, shape: [D], init: { kind: 'constant', value: 1 }, noDecay: true });
  specs.push(...attention.params().map((s) => ({ ...s, name: `layers.${l}.attn.${s.name}` })));
  if (useConv) specs.push(...conv.params().map((s) => ({ ...s, name: `layers.${l}.conv.${s.name}` })));
}
specs.push({ name: 'norm.weight', shape: [D], init: { kind: 'constant', value: 1 }, noDecay: true });
const params = createParams(e, specs, 11);

function logits(p: ParamMap, ids: Tensor): Tensor {
  let x = embedding(p.get('embed.weight')!, ids);
  for (let l = 0; l < 2; l++) {
    if (useConv) x = add(x, conv.forward(paramView(p, `layers.${l}.conv`), x).y);
    x = add(x, attention.forward(paramView(p, `layers.${l}.attn`), rmsNorm(x, p.get(`layers.${l}.norm.weight`)!)).y);
  }
  return matmul(rmsNorm(x, p.get('norm.weight')!), p.get('embed.weight')!, { transB: true });
}

const executor = new StepExecutor(
  e,
  params,
  (p, ids, targets) => crossEntropy(reshape(logits(p, ids), [B * T, V]), reshape(targets, [B * T])),
  { optimizer: { lr: LR, weightDecay: 0, clipNorm: 1, noDecay: new Set() } },
);
const sampler = new TaskSampler('mqar', task, { batch: B, seed: 3 });
const started = Date.now();
const losses: number[] = [];
for (let step = 1; step <= steps; step++) {
  const b = sampler.next();
  losses.push((await executor.run({ inputs: b.inputs, targets: b.targets, batch: B, seqLen: T })).loss);
  if (step % 25 === 0)
    console.log(
      `step ${step}: mean loss of the last 25 ${(losses.slice(-25).reduce((a, c) => a + c, 0) / 25).toFixed(3)} ` +
        `(${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
}
await executor.drain();
const val = generateTaskBatch('mqar', task, { seed: 3, count: 256, split: 'validation' });
const out = e.noGrad(() => logits(params, e.fromArray(val.inputs, [256, T], 'i32')));
const scores = await out.read();
let accuracy = 0;
for (let b = 0; b < 256; b++) {
  let [scored, correct] = [0, 0];
  for (let t = 0; t < T; t++) {
    const target = val.targets[b * T + t];
    if (target === IGNORE_INDEX) continue;
    const row = scores.subarray((b * T + t) * V, (b * T + t + 1) * V);
    scored++;
    if (row.indexOf(Math.max(...row)) === target) correct++;
  }
  accuracy += correct / scored / 256;
}
console.log(`conv ${useConv ? 'on' : 'off'}, d ${D}: validation accuracy ${accuracy.toFixed(3)} after ${steps} steps`);
executor.destroy();
e.destroy();
