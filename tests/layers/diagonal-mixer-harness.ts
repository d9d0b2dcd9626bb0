// The property suite every class-A mixer passes: parallel form = float64 reference (forward, with and
// without a carried state), gradients of every parameter, the input and the carried state = central
// differences of the reference, step-by-step = parallel form, a long strongly decaying sequence stays
// finite and on the reference, state size by formula = floats actually carried, and bad options fail
// with errors naming the layer and the option.

import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import '../../gpu/nn/mixers/linear-diagonal/index.js';
import { mixerFactory, type Mixer, type MixerOptions, type MixerState } from '../../gpu/nn/mixer.js';
import { initialValues, paramView, type ParamMap } from '../../gpu/nn/module.js';
import type { RefParams, RefState } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import type { Tensor } from '../../gpu/tensor.js';
import { download, expectGpuClose, relativeError, upload, useEngine } from '../helpers/gpu.js';
import { centralDifferences, stack, tokens } from './diagonal-helpers.js';

export interface MixerCase {
  kind: string;
  options: MixerOptions;
  dModel: number;
  reference(params: RefParams, x: CpuTensor, state?: RefState): { y: CpuTensor; state: RefState };
  /** A plausible carried state for batch rows (e.g. positive for minGRU). */
  randomState(batch: number, seed: number): RefState;
  /** State entries that are differentiable inputs (flags such as a reset marker are not). */
  stateGradKeys: string[];
  /** Rewrites parameters so that decays are strong (numerics test at T = 2048). */
  strongDecay(params: RefParams): void;
  /** Options that must fail, with the error expected. */
  badOptions: [MixerOptions, RegExp][];
  /** Sequence length of the gradient check (defaults to 37). */
  gradT?: number;
  /** Per-parameter gradient tolerances where 1e-4 is too tight for f32 (each says why at its case). */
  gradTolerance?: Record<string, number>;
}

const freshSeed = () => Math.floor(Math.random() * 1e9);

/** The mixer's own initialization, nudged by noise so that zero- and one-initialized parameters are exercised. */
function randomParams(mixer: Mixer, seed: number, noise = 0.05): RefParams {
  const params: RefParams = new Map();
  for (const spec of mixer.params()) {
    const values = initialValues(spec, seed);
    const jitter = randn(spec.shape, seed + spec.name.length * 7919 + 1, noise);
    params.set(
      spec.name,
      toFloat32(
        cpuTensor(
          spec.shape,
          values.data.map((v, i) => v + jitter.data[i]),
        ),
      ),
    );
  }
  return params;
}

function uploadParams(engine: Engine, params: RefParams): ParamMap {
  const map: ParamMap = new Map();
  for (const [name, t] of params) map.set(name, upload(engine, t, true));
  return map;
}

function uploadState(engine: Engine, state: RefState, keys: string[]): MixerState {
  return Object.fromEntries(Object.entries(state).map(([k, t]) => [k, upload(engine, t, keys.includes(k))]));
}

export function describeMixer(c: MixerCase): void {
  const engine = useEngine();
  const mixer = mixerFactory(c.kind).create(c.dModel, c.options);
  const label = `${c.kind} ${JSON.stringify(c.options)}`;

  describe(label, () => {
    for (const withState of [false, true]) {
      it(`parallel form equals the float64 reference at T=37${withState ? ' from a carried state' : ''}`, async () => {
        const e = await engine();
        const s = freshSeed();
        const params = randomParams(mixer, s);
        const x = toFloat32(randn([2, 37, c.dModel], s + 1));
        const state = withState ? c.randomState(2, s + 2) : undefined;
        const ref = c.reference(params, x, state);
        const p = paramView(uploadParams(e, params), '');
        const out = mixer.forward(p, upload(e, x), {
          initialState: state ? uploadState(e, state, []) : undefined,
          returnState: true,
        });
        await expectGpuClose(out.y, ref.y, 1e-4, 'y');
        for (const key of Object.keys(ref.state))
          await expectGpuClose(out.state![key], ref.state[key], 1e-4, `state ${key}`);
      });
    }

    it(`gradients of every parameter, the input and the carried state equal central differences of the reference`, async () => {
      const e = await engine();
      const s = freshSeed();
      const T = c.gradT ?? 37;
      const params = randomParams(mixer, s);
      const x = toFloat32(randn([2, T, c.dModel], s + 1));
      const state = c.randomState(2, s + 2);
      const upstream = toFloat32(randn([2, T, c.dModel], s + 3));
      const gpuParams = uploadParams(e, params);
      const xt = upload(e, x, true);
      const st = uploadState(e, state, c.stateGradKeys);
      const out = mixer.forward(paramView(gpuParams, ''), xt, { initialState: st });
      backward(sumAll(mul(out.y, upload(e, upstream))));
      const names = [...params.keys()];
      const inputs = [...names.map((n) => params.get(n)!), x, ...c.stateGradKeys.map((k) => state[k])];
      const grads = centralDifferences(
        (values) => {
          const p: RefParams = new Map(names.map((n, k) => [n, values[k]]));
          const s2: RefState = { ...state };
          c.stateGradKeys.forEach((k, j) => (s2[k] = values[names.length + 1 + j]));
          return c.reference(p, values[names.length], s2).y;
        },
        inputs,
        upstream,
      );
      for (const [k, name] of names.entries())
        await expectGpuClose(
          gpuParams.get(name)!.grad!,
          grads[k],
          c.gradTolerance?.[name] ?? 1e-4,
          `d ${name} (seed ${s})`,
        );
      await expectGpuClose(xt.grad!, grads[names.length], 1e-4, `dx (seed ${s})`);
      for (const [j, key] of c.stateGradKeys.entries()) {
        await expectGpuClose(st[key].grad!, grads[names.length + 1 + j], 1e-4, `d state ${key} (seed ${s})`);
      }
    });

    it('step-by-step with carried state equals the parallel form at T=37', async () => {
      const e = await engine();
      const s = freshSeed();
      const p = paramView(uploadParams(e, randomParams(mixer, s)), '');
      const x = toFloat32(randn([2, 37, c.dModel], s + 1));
      const state0 = c.randomState(2, s + 2);
      const parallel = mixer.forward(p, upload(e, x), { initialState: uploadState(e, state0, []), returnState: true });
      let state = uploadState(e, state0, []);
      const ys: CpuTensor[] = [];
      for (const token of tokens(x)) {
        const out = e.tidy(() => mixer.step(p, upload(e, token), state));
        ys.push(await download(out.y));
        state = out.state;
      }
      expect(relativeError(stack(ys).data, (await download(parallel.y)).data)).toBeLessThan(1e-5);
      for (const key of Object.keys(parallel.state!)) {
        const error = relativeError((await download(state[key])).data, (await download(parallel.state![key])).data);
        expect(error, `state ${key}`).toBeLessThan(1e-5);
      }
    });

    it('from the initial state, step-by-step equals the parallel form without a state (T=9)', async () => {
      const e = await engine();
      const s = freshSeed();
      const p = paramView(uploadParams(e, randomParams(mixer, s)), '');
      const x = toFloat32(randn([2, 9, c.dModel], s + 1));
      const parallel = await download(mixer.forward(p, upload(e, x)).y);
      let state = mixer.initialState(e, 2);
      const ys: CpuTensor[] = [];
      for (const token of tokens(x)) {
        const out = mixer.step(p, upload(e, token), state);
        ys.push(await download(out.y));
        state = out.state;
      }
      expect(relativeError(stack(ys).data, parallel.data)).toBeLessThan(1e-5);
    });

    it('T=2048 with strong decay stays finite and equals the reference (forward and input gradient finite)', async () => {
      const e = await engine();
      const s = freshSeed();
      const params = randomParams(mixer, s);
      c.strongDecay(params);
      const x = toFloat32(randn([1, 2048, c.dModel], s + 1, 3));
      const ref = c.reference(params, x);
      const xt = upload(e, x, true);
      const y: Tensor = mixer.forward(paramView(uploadParams(e, params), ''), xt).y;
      const values = await download(y);
      expect(values.data.every(Number.isFinite)).toBe(true);
      expect(relativeError(values.data, ref.y.data)).toBeLessThan(1e-4);
      backward(sumAll(y));
      expect((await download(xt.grad!)).data.every(Number.isFinite)).toBe(true);
    });

    it('stateSize() equals the floats of the carried state per sequence', async () => {
      const e = await engine();
      const state = mixer.initialState(e, 3);
      const floats = c.stateGradKeys.reduce((n, k) => n + state[k].size / 3, 0);
      expect(mixer.stateSize()).toBe(floats);
    });

    it('a wrong input width or carried-state shape raises an error naming the layer and the state', async () => {
      const e = await engine();
      const p = paramView(new Map(), 'layers.3.mixer');
      const where = `${c.kind} layer "layers.3.mixer"`;
      expect(() => mixer.forward(p, e.empty([2, 5, c.dModel + 1]))).toThrow(
        `${where}: parallel input must be [B, T, ${c.dModel}]`,
      );
      const state = mixer.initialState(e, 2);
      const key = Object.keys(state)[0];
      const wrong = { ...state, [key]: e.empty([3, ...state[key].shape.slice(1)]) };
      expect(() => mixer.forward(p, e.empty([2, 5, c.dModel]), { initialState: wrong })).toThrow(
        `${where}: state "${key}" must have shape`,
      );
      expect(() => mixer.step(p, e.empty([2, 5, c.dModel]), state)).toThrow(
        `${where}: step input must be [B, ${c.dModel}]`,
      );
    });

    it('bad options raise errors naming the layer and the option', () => {
      for (const [options, error] of c.badOptions) {
        expect(() => mixerFactory(c.kind).create(c.dModel, options)).toThrow(error);
      }
    });
  });
}
