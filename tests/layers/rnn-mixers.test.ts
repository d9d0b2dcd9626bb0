// The nonlinear-RNN mixers (lstm, gru, elman, slstm, paragru, paralstm): registry and options, forward
// and gradients against float64 references of the whole mixer (projections + recurrence), step form =
// parallel form, the Newton/sequential mode switch over the same parameters, and a training smoke test
// per cell on a delayed-recall task with the lead's step executor (AdamW).

import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { crossEntropy } from '../../gpu/ops/cross-entropy.js';
import { embedding } from '../../gpu/ops/embedding.js';
import { linear } from '../../gpu/ops/matmul.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { reshape } from '../../gpu/ops/shape.js';
import { FUSED_CELLS, type FusedCellKind } from '../../gpu/ops/rnn/cells.js';
import { fusedRnnRef } from '../../gpu/ops/rnn/fused-rnn.ref.js';
import { DIAG_CELLS, type DiagCellKind } from '../../gpu/ops/newton/diag-cells.js';
import { diagRnnRef } from '../../gpu/ops/newton/diag-rnn.ref.js';
import '../../gpu/nn/mixers/nonlinear-rnn/index.js';
import { mixerFactory, type Mixer, type MixerOptions, type MixerState } from '../../gpu/nn/mixer.js';
import { createParams, initialValues, paramView, type ParamMap } from '../../gpu/nn/module.js';
import type { ParaRnnMixer } from '../../gpu/nn/mixers/nonlinear-rnn/para.js';
import { StepExecutor } from '../../gpu/train/step.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { download, expectGpuClose, relativeError, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const FUSED: FusedCellKind[] = ['lstm', 'gru', 'elman', 'slstm'];
const PARA: DiagCellKind[] = ['paragru', 'paralstm'];
const CASES: [string, MixerOptions][] = [
  ['lstm', { heads: 2 }],
  ['gru', { heads: 2 }],
  ['elman', { heads: 2 }],
  ['slstm', { heads: 2 }],
  ['paragru', { mode: 'sequential' }],
  ['paragru', { mode: 'newton', newton_iterations: 12 }],
  ['paralstm', { mode: 'sequential' }],
  ['paralstm', { mode: 'newton', newton_iterations: 12 }],
];
const D_MODEL = 6;
const seed = () => Math.floor(Math.random() * 1e9);

type RefParams = Map<string, CpuTensor>;

function cpuLinear(x: CpuTensor, w: CpuTensor, b?: CpuTensor): CpuTensor {
  const [outF, inF] = w.shape;
  const rows = x.data.length / inF;
  const y = cpuTensor([...x.shape.slice(0, -1), outF]);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let acc = b ? b.data[o] : 0;
      for (let i = 0; i < inF; i++) acc += x.data[r * inF + i] * w.data[o * inF + i];
      y.data[r * outF + o] = acc;
    }
  return y;
}

/** The whole mixer in float64: projections around the recurrence reference. s0 is [B, S, hidden]. */
function mixerRef(kind: string, p: RefParams, x: CpuTensor, s0?: CpuTensor): { y: CpuTensor; state: CpuTensor } {
  if ((FUSED as string[]).includes(kind)) {
    const cell = FUSED_CELLS[kind as FusedCellKind];
    const out = fusedRnnRef(
      cell,
      cpuLinear(x, p.get('in_proj.weight')!),
      p.get('recurrent.weight')!,
      p.get('bias')!,
      s0,
    );
    return { y: cpuLinear(out.y, p.get('out_proj.weight')!), state: out.state };
  }
  const cell = DIAG_CELLS[kind as DiagCellKind];
  const pre = cpuLinear(x, p.get('in_proj.weight')!, p.get('in_proj.bias')!);
  const { states, y } = diagRnnRef(cell, pre, p.get('recurrent_diag')!, s0);
  const [B, T, S, d] = states.shape;
  const last = cpuTensor([B, S, d]);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < S * d; i++) last.data[b * S * d + i] = states.data[(b * T + T - 1) * S * d + i];
  return { y: cpuLinear(y, p.get('out_proj.weight')!), state: last };
}

/** The mixer's own initialization plus noise (so zero-initialized weights are exercised too). */
function randomParams(mixer: Mixer, s: number): RefParams {
  const params: RefParams = new Map();
  for (const spec of mixer.params()) {
    const values = initialValues(spec, s);
    const noise = randn(spec.shape, s + spec.name.length * 31, 0.3);
    params.set(
      spec.name,
      toFloat32(
        cpuTensor(
          spec.shape,
          values.data.map((v, i) => v + noise.data[i]),
        ),
      ),
    );
  }
  return params;
}

function uploadParams(e: Engine, params: RefParams): ParamMap {
  return new Map([...params].map(([name, t]) => [name, upload(e, t, true)]));
}

const stateKind = (kind: string) => (FUSED_CELLS[kind as FusedCellKind] ?? DIAG_CELLS[kind as DiagCellKind]).states;

/** A plausible packed state [B, S, hidden] (sLSTM: n > 0). */
function randomState(kind: string, B: number, hidden: number, s: number): CpuTensor {
  const S = stateKind(kind).length;
  const t = toFloat32(randn([B, S, hidden], s, 0.5));
  if (kind === 'slstm')
    for (let b = 0; b < B; b++)
      for (let u = 0; u < hidden; u++)
        t.data[(b * S + 2) * hidden + u] = 0.5 + Math.abs(t.data[(b * S + 2) * hidden + u]);
  return t;
}

function asMixerState(e: Engine, kind: string, packed: CpuTensor): MixerState {
  const states = stateKind(kind);
  const [B, S, hidden] = packed.shape;
  return { [states.join('_')]: S === 1 ? upload(e, cpuTensor([B, hidden], packed.data)) : upload(e, packed) };
}

describe('nonlinear-RNN mixers', () => {
  it('all six kinds are registered in the nonlinear-rnn family; stateSize equals the floats actually carried', async () => {
    const e = await engine();
    const expected: Record<string, number> = { lstm: 2, gru: 1, elman: 1, slstm: 4, paragru: 1, paralstm: 2 };
    for (const [kind, states] of Object.entries(expected)) {
      const f = mixerFactory(kind);
      expect(f.family).toBe('nonlinear-rnn');
      const mixer = f.create(8, kind.startsWith('para') ? { hidden: 12 } : { hidden: 12, heads: 3 });
      expect(mixer.stateSize()).toBe(states * 12);
      const carried = Object.values(mixer.initialState(e, 3)).reduce((n, t) => n + t.size, 0);
      expect(carried / 3).toBe(mixer.stateSize());
      expect(mixer.flopsPerToken()).toBeGreaterThan(0);
    }
  });

  it('bad options fail with errors naming the layer and the option', async () => {
    expect(() => mixerFactory('lstm').create(10, { heads: 3 })).toThrow(
      /lstm: hidden size 10 is not divisible by heads 3 \(option "heads"\)/,
    );
    expect(() => mixerFactory('slstm').create(8, { hidden: 12, heads: 5 })).toThrow(
      /slstm: hidden size 12 is not divisible by heads 5/,
    );
    expect(() => mixerFactory('gru').create(4096, { heads: 1, hidden: 2048 })).toThrow(
      /gru: head size 2048 exceeds 1024/,
    );
    expect(() => mixerFactory('paragru').create(8, { mode: 'parallel' })).toThrow(/paragru: option "mode"/);
    expect(() => mixerFactory('paralstm').create(8, { newton_iterations: -1 })).toThrow(
      /paralstm: option "newton_iterations"/,
    );
    const e = await engine();
    const mixer = mixerFactory('lstm').create(4, { heads: 2 });
    const p = paramView(createParams(e, mixer.params(), 1), '');
    const state = mixer.initialState(e, 1);
    state.h_c.requiresGrad = true;
    expect(() => mixer.forward(p, e.empty([1, 3, 4]), { initialState: state })).toThrow(
      /carried state are not supported/,
    );
  });

  for (const [kind, options] of CASES) {
    const label = `${kind} ${JSON.stringify(options)}`;
    const newton = options.mode === 'newton';
    const tol = newton ? 2e-4 : 1e-4;

    it(`${label}: forward and final state equal the float64 mixer reference, from zero and from a carried state`, async () => {
      const e = await engine();
      const mixer = mixerFactory(kind).create(D_MODEL, options);
      const s = seed();
      const params = randomParams(mixer, s);
      const p = paramView(uploadParams(e, params), '');
      const x = toFloat32(randn([2, 23, D_MODEL], s + 1));
      const hidden = mixer.stateSize() / stateKind(kind).length;
      for (const s0 of [undefined, randomState(kind, 2, hidden, s + 2)]) {
        const ref = mixerRef(kind, params, x, s0);
        const out = mixer.forward(p, upload(e, x), {
          initialState: s0 ? asMixerState(e, kind, s0) : undefined,
          returnState: true,
        });
        await expectGpuClose(out.y, ref.y, tol, 'y');
        const state = Object.values(out.state!)[0];
        expect(relativeError(await state.read(), ref.state.data)).toBeLessThan(tol);
      }
    });

    it(`${label}: gradients of every parameter and of the input equal central differences of the reference`, async () => {
      const e = await engine();
      const mixer = mixerFactory(kind).create(D_MODEL, options);
      const s = seed();
      const params = randomParams(mixer, s);
      const gpu = uploadParams(e, params);
      const x = toFloat32(randn([2, 11, D_MODEL], s + 1));
      const s0 = randomState(kind, 2, mixer.stateSize() / stateKind(kind).length, s + 2);
      const upstream = toFloat32(randn([2, 11, D_MODEL], s + 3));
      const xt = upload(e, x, true);
      const out = mixer.forward(paramView(gpu, ''), xt, { initialState: asMixerState(e, kind, s0) });
      backward(sumAll(mul(out.y, upload(e, upstream))));
      const names = [...params.keys()];
      const analytic = [
        ...(await Promise.all(names.map((n) => download(gpu.get(n)!.grad!)))),
        await download(xt.grad!),
      ];
      checkGradients(
        (values) => mixerRef(kind, new Map(names.map((n, k) => [n, values[k]])), values[names.length], s0).y,
        [...names.map((n) => params.get(n)!), x],
        upstream,
        analytic,
        { samples: 12, tolerance: newton ? 5e-4 : 1e-4 },
      );
    });

    it(`${label}: step-by-step with carried state equals the parallel form at T=9`, async () => {
      const e = await engine();
      const mixer = mixerFactory(kind).create(D_MODEL, options);
      const s = seed();
      const p = paramView(uploadParams(e, randomParams(mixer, s)), '');
      const x = toFloat32(randn([2, 9, D_MODEL], s + 1));
      const s0 = randomState(kind, 2, mixer.stateSize() / stateKind(kind).length, s + 2);
      const parallel = mixer.forward(p, upload(e, x), { initialState: asMixerState(e, kind, s0), returnState: true });
      const py = await parallel.y.read();
      let state = asMixerState(e, kind, s0);
      for (let t = 0; t < 9; t++) {
        const token = cpuTensor([2, D_MODEL]);
        for (let b = 0; b < 2; b++)
          for (let i = 0; i < D_MODEL; i++) token.data[b * D_MODEL + i] = x.data[(b * 9 + t) * D_MODEL + i];
        const out = mixer.step(p, upload(e, token), state);
        const expected = cpuTensor([2, D_MODEL]);
        for (let b = 0; b < 2; b++)
          for (let i = 0; i < D_MODEL; i++) expected.data[b * D_MODEL + i] = py[(b * 9 + t) * D_MODEL + i];
        await expectGpuClose(out.y, expected, newton ? 1e-4 : 1e-5, `step ${t}`);
        state = out.state;
      }
      const [key] = Object.keys(state);
      expect(relativeError(await state[key].read(), await parallel.state![key].read())).toBeLessThan(
        newton ? 1e-4 : 1e-5,
      );
    });
  }

  for (const kind of PARA) {
    it(`${kind}: switching mode on the same parameters gives the same outputs and gradients (T=300), and Newton reports convergence`, async () => {
      const e = await engine();
      const s = seed();
      const x = toFloat32(randn([2, 300, D_MODEL], s + 1));
      const upstream = toFloat32(randn([2, 300, D_MODEL], s + 2));
      const results: { y: Float32Array; grads: Float32Array[] }[] = [];
      let params: RefParams | null = null;
      for (const mode of ['sequential', 'newton']) {
        const mixer = mixerFactory(kind).create(D_MODEL, { mode }) as ParaRnnMixer;
        params ??= randomParams(mixer, s);
        const gpu = uploadParams(e, params);
        const out = mixer.forward(paramView(gpu, ''), upload(e, x));
        backward(sumAll(mul(out.y, upload(e, upstream))));
        const y = (await out.y.read()) as Float32Array;
        results.push({ y, grads: (await Promise.all([...gpu.values()].map((t) => t.grad!.read()))) as Float32Array[] });
        if (mode === 'newton') {
          const outcome = await mixer.lastNewtonReport!.outcome;
          expect(outcome.converged, outcome.message).toBe(true);
        } else expect(mixer.lastNewtonReport).toBeNull();
      }
      expect(relativeError(results[1].y, results[0].y)).toBeLessThan(1e-4);
      results[0].grads.forEach((g, k) => expect(relativeError(results[1].grads[k], g)).toBeLessThan(1e-4));
    });
  }
});

describe('training smoke tests: each cell learns to recall the token before the previous one', () => {
  // Task: tokens from a vocabulary of 6; the target at t is the input at t−2 (t ≥ 2), so the layer must
  // carry two steps of memory. Chance level is ln 6 ≈ 1.79; every cell must get below 0.5.
  const VOCAB = 6;
  const [B, T, D] = [8, 12, 16];
  for (const [kind, options] of [
    ['lstm', { heads: 2 }],
    ['gru', { heads: 2 }],
    ['elman', { heads: 2 }],
    ['slstm', { heads: 2 }],
    ['paragru', { mode: 'newton' }],
    ['paralstm', { mode: 'newton' }],
  ] as [string, MixerOptions][]) {
    it(`${kind}: cross-entropy falls from ~1.8 to below 0.5 within 300 AdamW steps`, async () => {
      const e = await engine();
      const mixer = mixerFactory(kind).create(D, options);
      const specs = [
        { name: 'embed.weight', shape: [VOCAB, D], init: { kind: 'normal' as const, std: 1 } },
        ...mixer.params().map((s) => ({ ...s, name: `mixer.${s.name}` })),
        { name: 'head.weight', shape: [VOCAB, D], init: { kind: 'normal' as const, std: 0.2 } },
      ];
      const params = createParams(e, specs, 3);
      const executor = new StepExecutor(
        e,
        params,
        (p, inputs, targets) => {
          const h = mixer.forward(paramView(p, 'mixer'), embedding(p.get('embed.weight')!, inputs)).y;
          const logits = linear(h, p.get('head.weight')!);
          return crossEntropy(reshape(logits, [B * T, VOCAB]), reshape(targets, [B * T]));
        },
        { optimizer: { lr: 2e-2, weightDecay: 0, clipNorm: 1, noDecay: new Set() } },
      );
      let next = 12345;
      const random = () => ((next = (next * 1103515245 + 12345) % 2147483648), next % VOCAB);
      const losses: number[] = [];
      for (let step = 0; step < 300; step++) {
        const inputs = Int32Array.from({ length: B * T }, random);
        const targets = Int32Array.from({ length: B * T }, (_, i) => (i % T >= 2 ? inputs[i - 2] : -100));
        losses.push((await executor.run({ inputs, targets, batch: B, seqLen: T })).loss);
        if (step >= 20 && losses.slice(-10).every((l) => l < 0.3)) break;
      }
      await executor.drain();
      const first = losses[0];
      const last = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
      expect(first, `first loss of ${kind}`).toBeGreaterThan(1.4);
      expect(
        last,
        `${kind} losses: ${losses
          .filter((_, i) => i % 20 === 0)
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      ).toBeLessThan(0.5);
    });
  }
});
