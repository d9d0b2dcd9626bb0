// MQAR is learnable through the project's own path — the task generator, the masked cross-entropy (only
// the answers are scored) and the StepExecutor's AdamW — by a tiny 2-layer attention model with a short
// convolution before each layer (Zoology's hybrid; without it such models sit on the "one of the N
// values" plateau for many steps, docs/examples/README.md §3). Accuracy is Zoology's, on fresh
// validation examples; chance is 1/2 once the model knows which tokens are values.

import { describe, expect, it } from 'vitest';
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
import { useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const [D, V, T, B, STEPS] = [32, 32, 16, 16, 200];
const TASK = { vocab_size: V, seq_len: T, num_kv_pairs: 2, random_non_queries: 0 };

describe('MQAR training end to end', () => {
  it(`a 2-layer attention model with short convolutions answers ≥ 90 % of MQAR queries after ${STEPS} steps`, async () => {
    const e = await engine();
    const attention = mixerFactory('attention').create(D, { num_heads: 1 });
    const conv = mixerFactory('shortconv').create(D, { kernel: 3 });
    const specs: ParamSpec[] = [{ name: 'embed.weight', shape: [V, D], init: { kind: 'normal', std: 0.02 } }];
    for (let l = 0; l < 2; l++) {
      specs.push({ name: `layers.${l}.norm.weight`, shape: [D], init: { kind: 'constant', value: 1 }, noDecay: true });
      specs.push(...attention.params().map((s) => ({ ...s, name: `layers.${l}.attn.${s.name}` })));
      specs.push(...conv.params().map((s) => ({ ...s, name: `layers.${l}.conv.${s.name}` })));
    }
    specs.push({ name: 'norm.weight', shape: [D], init: { kind: 'constant', value: 1 }, noDecay: true });
    const params = createParams(e, specs, 11);
    const logits = (p: ParamMap, ids: Tensor) => {
      let x = embedding(p.get('embed.weight')!, ids);
      for (let l = 0; l < 2; l++) {
        x = add(x, conv.forward(paramView(p, `layers.${l}.conv`), x).y);
        x = add(
          x,
          attention.forward(paramView(p, `layers.${l}.attn`), rmsNorm(x, p.get(`layers.${l}.norm.weight`)!)).y,
        );
      }
      return matmul(rmsNorm(x, p.get('norm.weight')!), p.get('embed.weight')!, { transB: true });
    };
    const executor = new StepExecutor(
      e,
      params,
      (p, ids, targets) => crossEntropy(reshape(logits(p, ids), [B * T, V]), reshape(targets, [B * T])),
      { optimizer: { lr: 1e-2, weightDecay: 0, clipNorm: 1, noDecay: new Set() } },
    );
    const sampler = new TaskSampler('mqar', TASK, { batch: B, seed: 3 });
    const losses: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      const b = sampler.next();
      losses.push((await executor.run({ inputs: b.inputs, targets: b.targets, batch: B, seqLen: T })).loss);
    }
    await executor.drain();
    executor.destroy();
    const count = 128;
    const val = generateTaskBatch('mqar', TASK, { seed: 3, count, split: 'validation' });
    const out = e.noGrad(() => logits(params, e.fromArray(val.inputs, [count, T], 'i32')));
    const scores = await out.read();
    out.release();
    let accuracy = 0;
    for (let b = 0; b < count; b++) {
      let [scored, correct] = [0, 0];
      for (let t = 0; t < T; t++) {
        const target = val.targets[b * T + t];
        if (target === IGNORE_INDEX) continue;
        const row = Array.from(scores.subarray((b * T + t) * V, (b * T + t + 1) * V));
        scored++;
        if (row.indexOf(Math.max(...row)) === target) correct++;
      }
      accuracy += correct / scored / count;
    }
    const trace = losses
      .filter((_, i) => i % 20 === 0)
      .map((l) => l.toFixed(2))
      .join(' ');
    expect(losses[0]).toBeGreaterThan(2.5); // ≈ ln 32 at the start
    expect(accuracy, `losses every 20 steps: ${trace}`).toBeGreaterThan(0.9);
  }, 180_000);
});
