import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import { chunkDeltaRule } from '../../gpu/ops/delta/chunk.js';
import { deltaRuleGradRef, deltaRuleRef, type DeltaRuleRefInputs } from '../../gpu/ops/delta/delta-rule.ref.js';
import { deltaRuleStep, fusedRecurrentDeltaRule } from '../../gpu/ops/delta/recurrent.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { add } from '../../gpu/ops/elementwise.js';
import type { Tensor } from '../../gpu/tensor.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { download, expectGpuClose, upload, useEngine } from '../helpers/gpu.js';
import { freshSeed, randomDeltaCase, readSafetensors, swapAxes12, type DeltaCase } from './delta-helpers.js';

const engine = useEngine();

function refInputs(c: DeltaCase): DeltaRuleRefInputs {
  return { q: c.q, k: c.k, v: c.v, beta: c.beta, g: c.g, h0: c.h0, scale: 1 / Math.sqrt(c.q.shape[3]) };
}

/** L = Σ o·dO + Σ S_T·dS on the GPU (both outputs feed the loss, as in the fla fixtures). */
function lossOf(e: Engine, o: Tensor, finalState: Tensor, dO: CpuTensor, dS: CpuTensor): Tensor {
  return add(sumAll(mul(o, upload(e, dO))), sumAll(mul(finalState, upload(e, dS))));
}

describe('delta rule float64 reference', () => {
  it('reference gradients of q, k, v, β, g and the initial state equal finite differences', () => {
    const c = randomDeltaCase({ B: 1, T: 6, H: 2, K: 3, V: 2 }, freshSeed());
    const x = refInputs(c);
    const dO = randn([1, 6, 2, 2], 11);
    const dS = randn([1, 2, 3, 2], 12);
    const grads = deltaRuleGradRef(x, dO, dS);
    // Both outputs joined into one vector, weighted by the joined upstream gradient.
    const joined = (inputs: CpuTensor[]) => {
      const [q, k, v, beta, g, h0] = inputs;
      const out = deltaRuleRef({ q, k, v, beta, g, h0, scale: x.scale });
      return cpuTensor([out.o.data.length + out.finalState.data.length], [...out.o.data, ...out.finalState.data]);
    };
    const upstream = cpuTensor([dO.data.length + dS.data.length], [...dO.data, ...dS.data]);
    checkGradients(
      joined,
      [c.q, c.k, c.v, c.beta, c.g!, c.h0!],
      upstream,
      [grads.q, grads.k, grads.v, grads.beta, grads.g, grads.h0],
      {
        samples: 12,
      },
    );
  });
});

async function expectChunkMatchesReference(c: DeltaCase, chunkSize: number, label: string) {
  const e = await engine();
  const x = refInputs(c);
  const ref = deltaRuleRef(x);
  const [B, T, H] = c.beta.shape;
  const dO = toFloat32(randn([B, T, H, c.v.shape[3]], 21));
  const dS = toFloat32(randn([B, H, c.k.shape[3], c.v.shape[3]], 22));
  const grads = deltaRuleGradRef(x, dO, dS);
  const t = {
    q: upload(e, c.q, true),
    k: upload(e, c.k, true),
    v: upload(e, c.v, true),
    beta: upload(e, c.beta, true),
    g: c.g ? upload(e, c.g, true) : undefined,
    h0: c.h0 ? upload(e, c.h0, true) : undefined,
  };
  const { o, finalState } = chunkDeltaRule(t.q, t.k, t.v, t.beta, { g: t.g, initialState: t.h0, chunkSize });
  await expectGpuClose(o, ref.o, 1e-4, `${label} o`);
  await expectGpuClose(finalState, ref.finalState, 1e-4, `${label} final state`);
  backward(lossOf(e, o, finalState, dO, dS));
  await expectGpuClose(t.q.grad!, grads.q, 1e-4, `${label} dq`);
  await expectGpuClose(t.k.grad!, grads.k, 1e-4, `${label} dk`);
  await expectGpuClose(t.v.grad!, grads.v, 1e-4, `${label} dv`);
  await expectGpuClose(t.beta.grad!, grads.beta, 1e-4, `${label} dβ`);
  if (t.g) await expectGpuClose(t.g.grad!, grads.g, 1e-4, `${label} dg`);
  if (t.h0) await expectGpuClose(t.h0.grad!, grads.h0, 1e-4, `${label} dh0`);
}

describe('chunked delta rule (WGSL) equals the step-by-step recurrence', () => {
  const dims = { B: 2, T: 37, H: 2, K: 8, V: 6 };
  it('gated, with initial state, chunk 16, T=37: outputs, final state and all gradients', async () => {
    await expectChunkMatchesReference(randomDeltaCase(dims, freshSeed()), 16, 'gated C=16');
  });
  it('plain DeltaNet (no decay, no initial state), chunk 32, T=37', async () => {
    await expectChunkMatchesReference(
      randomDeltaCase(dims, freshSeed(), { gated: false, initial: false }),
      32,
      'plain C=32',
    );
  });
  it('negative eigenvalues (β in [0, 2]), chunk 16, T=21, K ≠ V', async () => {
    const c = randomDeltaCase({ B: 1, T: 21, H: 3, K: 5, V: 12 }, freshSeed(), { betaMax: 2 });
    await expectChunkMatchesReference(c, 16, 'β∈[0,2]');
  });
});

describe('recurrent and one-token forms', () => {
  it('fused recurrent form equals the reference at T=37 (gated, initial state)', async () => {
    const e = await engine();
    const c = randomDeltaCase({ B: 2, T: 37, H: 2, K: 8, V: 20 }, freshSeed());
    const ref = deltaRuleRef(refInputs(c));
    const { o, finalState } = fusedRecurrentDeltaRule(
      upload(e, c.q),
      upload(e, c.k),
      upload(e, c.v),
      upload(e, c.beta),
      {
        g: upload(e, c.g!),
        initialState: upload(e, c.h0!),
      },
    );
    await expectGpuClose(o, ref.o, 1e-4, 'recurrent o');
    await expectGpuClose(finalState, ref.finalState, 1e-4, 'recurrent state');
  });
  it('one-token steps with carried state equal the chunked form over the whole sequence', async () => {
    const e = await engine();
    const dims = { B: 2, T: 9, H: 2, K: 4, V: 3 };
    const c = randomDeltaCase(dims, freshSeed());
    const whole = chunkDeltaRule(upload(e, c.q), upload(e, c.k), upload(e, c.v), upload(e, c.beta), {
      g: upload(e, c.g!),
      initialState: upload(e, c.h0!),
      chunkSize: 16,
    });
    const wholeO = await download(whole.o);
    let state = upload(e, c.h0!);
    const pick = (x: CpuTensor, t: number) => {
      const [B, T, H] = x.shape;
      const inner = x.data.length / (B * T * H);
      const out = cpuTensor([B, H, ...x.shape.slice(3)]);
      for (let b = 0; b < B; b++)
        out.data.set(x.data.subarray((b * T + t) * H * inner, (b * T + t + 1) * H * inner), b * H * inner);
      return out;
    };
    for (let t = 0; t < dims.T; t++) {
      const step = deltaRuleStep(
        {
          q: upload(e, pick(c.q, t)),
          k: upload(e, pick(c.k, t)),
          v: upload(e, pick(c.v, t)),
          beta: upload(e, pick(c.beta, t)),
          g: upload(e, pick(c.g!, t)),
        },
        state,
      );
      await expectGpuClose(step.o, pick(wholeO, t), 1e-4, `step ${t}`);
      state = step.state;
    }
    await expectGpuClose(state, await download(whole.finalState), 1e-4, 'state after the last step');
  });
});

describe('fla golden fixtures', () => {
  it('delta_rule fixture (fla delta_rule_recurrence): outputs, final state and gradients', async () => {
    const f = readSafetensors('tests/fixtures/fla/delta_rule.safetensors');
    // The fixture is head-major [B,H,T,·]; the op is token-major [B,T,H,·].
    const c: DeltaCase = {
      q: swapAxes12(f.get('in.q')!),
      k: swapAxes12(f.get('in.k')!),
      v: swapAxes12(f.get('in.v')!),
      beta: swapAxes12(f.get('in.beta')!),
    };
    await expectFixture(c, f, (x) => swapAxes12(x));
  });
  it('gated_delta_rule fixture (fla naive_recurrent_gated_delta_rule): outputs, final state and gradients', async () => {
    const f = readSafetensors('tests/fixtures/fla/gated_delta_rule.safetensors');
    const c: DeltaCase = {
      q: f.get('in.q')!,
      k: f.get('in.k')!,
      v: f.get('in.v')!,
      beta: f.get('in.beta')!,
      g: f.get('in.g')!,
      h0: f.get('in.h0')!,
    };
    await expectFixture(c, f, (x) => x);
  });
});

async function expectFixture(c: DeltaCase, f: Map<string, CpuTensor>, toOpLayout: (x: CpuTensor) => CpuTensor) {
  const e = await engine();
  const t = {
    q: upload(e, c.q, true),
    k: upload(e, c.k, true),
    v: upload(e, c.v, true),
    beta: upload(e, c.beta, true),
    g: c.g ? upload(e, c.g, true) : undefined,
    h0: c.h0 ? upload(e, c.h0, true) : undefined,
  };
  const { o, finalState } = chunkDeltaRule(t.q, t.k, t.v, t.beta, { g: t.g, initialState: t.h0 });
  await expectGpuClose(o, toOpLayout(f.get('out.o')!), 1e-4, 'fixture o');
  await expectGpuClose(finalState, f.get('out.final_state')!, 1e-4, 'fixture final state');
  backward(lossOf(e, o, finalState, toOpLayout(f.get('grad_out.o')!), f.get('grad_out.final_state')!));
  await expectGpuClose(t.q.grad!, toOpLayout(f.get('grad.q')!), 1e-4, 'fixture dq');
  await expectGpuClose(t.k.grad!, toOpLayout(f.get('grad.k')!), 1e-4, 'fixture dk');
  await expectGpuClose(t.v.grad!, toOpLayout(f.get('grad.v')!), 1e-4, 'fixture dv');
  await expectGpuClose(t.beta.grad!, toOpLayout(f.get('grad.beta')!), 1e-4, 'fixture dβ');
  if (t.g) await expectGpuClose(t.g.grad!, f.get('grad.g')!, 1e-4, 'fixture dg');
  if (t.h0) await expectGpuClose(t.h0.grad!, f.get('grad.h0')!, 1e-4, 'fixture dh0');
}

describe('bad input', () => {
  it('mismatched shapes, unsupported chunk sizes and training the recurrent form raise errors naming the parameter', async () => {
    const e = await engine();
    const c = randomDeltaCase({ B: 1, T: 5, H: 2, K: 4, V: 3 }, 1);
    const q = upload(e, c.q);
    const k = upload(e, c.k);
    const v = upload(e, c.v);
    const beta = upload(e, c.beta);
    expect(() => chunkDeltaRule(q, upload(e, randn([1, 5, 2, 3], 2)), v, beta)).toThrow(
      /chunkDeltaRule: k must have shape \[1,5,2,4\]/,
    );
    expect(() => chunkDeltaRule(q, k, v, upload(e, randn([1, 5], 3)))).toThrow(
      /chunkDeltaRule: beta must have shape \[1,5,2\]/,
    );
    expect(() => chunkDeltaRule(q, k, v, beta, { chunkSize: 24 })).toThrow(
      /chunkSize must be one of 16, 32 \(got 24\)/,
    );
    const trainable = upload(e, c.q, true);
    expect(() => fusedRecurrentDeltaRule(trainable, k, v, beta)).toThrow(
      /fusedRecurrentDeltaRule: the recurrent form has no backward/,
    );
  });
});
