// Training smoke test on running parity (the state-tracking task of Grazzi et al., "Unlocking
// State-Tracking in Linear RNNs Through Negative Eigenvalues"): the target at t is x_0 ⊕ … ⊕ x_t.
// With β ∈ [0, 2] one delta step can reflect the state (I − 2kkᵀ), which is exactly a parity flip;
// with β ∈ [0, 1] every step is a contraction, so parity is out of reach beyond what the short
// convolution sees. Both variants must train (finite, falling loss); the negative-eigenvalue one must
// solve the task. Uses the lead's step executor (AdamW).

import { describe, expect, it } from 'vitest';
import { crossEntropy } from '../../gpu/ops/cross-entropy.js';
import { embedding } from '../../gpu/ops/embedding.js';
import { linear } from '../../gpu/ops/matmul.js';
import { reshape } from '../../gpu/ops/shape.js';
import { mixerFactory } from '../../gpu/nn/mixer.js';
import '../../gpu/nn/mixers/delta-rule/index.js';
import { createParams, paramView } from '../../gpu/nn/module.js';
import { StepExecutor } from '../../gpu/train/step.js';
import { useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const [B, T, D] = [16, 16, 16];

async function trainParity(negativeEigenvalues: boolean, steps: number) {
  const e = await engine();
  const mixer = mixerFactory('deltanet').create(D, {
    num_heads: 1,
    negative_eigenvalues: negativeEigenvalues,
    chunk_size: '16',
  });
  const specs = [
    { name: 'embed.weight', shape: [2, D], init: { kind: 'normal' as const, std: 1 } },
    ...mixer.params().map((s) => ({ ...s, name: `mixer.${s.name}` })),
    { name: 'head.weight', shape: [2, D], init: { kind: 'normal' as const, std: 0.2 } },
  ];
  const params = createParams(e, specs, 11);
  const executor = new StepExecutor(
    e,
    params,
    (p, inputs, targets) => {
      const h = mixer.forward(paramView(p, 'mixer'), embedding(p.get('embed.weight')!, inputs)).y;
      return crossEntropy(reshape(linear(h, p.get('head.weight')!), [B * T, 2]), reshape(targets, [B * T]));
    },
    { optimizer: { lr: 1e-2, weightDecay: 0, clipNorm: 1, noDecay: new Set() } },
  );
  let seed = 2024;
  const bit = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), (seed >> 16) & 1);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const inputs = Int32Array.from({ length: B * T }, bit);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let parity = 0;
      for (let t = 0; t < T; t++) targets[b * T + t] = parity ^= inputs[b * T + t];
    }
    losses.push((await executor.run({ inputs, targets, batch: B, seqLen: T })).loss);
    if (step >= 20 && losses.slice(-10).every((l) => l < 0.02)) break;
  }
  await executor.drain();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    first: mean(losses.slice(0, 5)),
    last: mean(losses.slice(-10)),
    trace: losses
      .filter((_, i) => i % 25 === 0)
      .map((l) => l.toFixed(3))
      .join(' '),
  };
}

describe('DeltaNet learns running parity (T=16) only with negative eigenvalues', () => {
  it('β ∈ [0, 2]: cross-entropy falls from ln 2 ≈ 0.69 to below 0.05', async () => {
    const r = await trainParity(true, 400);
    console.log(`parity, negative eigenvalues: ${r.trace}`);
    expect(r.first).toBeGreaterThan(0.6);
    expect(r.last, r.trace).toBeLessThan(0.05);
  });
  it('β ∈ [0, 1]: trains (finite, falling loss) but stays well above the negative-eigenvalue result', async () => {
    // 400 steps measured: 0.69 → ~0.47-0.50 and flat; 150 steps show the same picture for less CI time.
    const r = await trainParity(false, 150);
    console.log(`parity, β in [0, 1]: ${r.trace}`);
    expect(Number.isFinite(r.last)).toBe(true);
    expect(r.last, r.trace).toBeLessThan(r.first - 0.03);
    expect(r.last, r.trace).toBeGreaterThan(0.2);
  });
});
