// float64 references of the pre-norm residual block (over any mixer reference), the gated MLPs and the
// Griffin group: the block equations token by token, with the mixer's own reference in the middle.

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';
import { erf } from '../../ops/elementwise.defs.js';
import {
  matvec,
  param,
  rmsNormVec,
  row,
  setRow,
  silu,
  type RefParams,
  type RefState,
} from '../mixers/linear-diagonal/ref-utils.js';
import type { GatedActivation } from './mlp.js';

export type MixerRef = (params: RefParams, x: CpuTensor, state?: RefState) => { y: CpuTensor; state: RefState };

/** The parameters under `name.`, renamed without the prefix. */
export function subParams(params: RefParams, name: string): RefParams {
  return new Map([...params].filter(([k]) => k.startsWith(`${name}.`)).map(([k, t]) => [k.slice(name.length + 1), t]));
}

export function nestRefState(name: string, state: RefState): RefState {
  return Object.fromEntries(Object.entries(state).map(([k, t]) => [`${name}.${k}`, t]));
}

export function unnestRefState(name: string, state: RefState | undefined): RefState | undefined {
  if (!state) return undefined;
  const inner = Object.entries(state).filter(([k]) => k.startsWith(`${name}.`));
  return inner.length ? Object.fromEntries(inner.map(([k, t]) => [k.slice(name.length + 1), t])) : undefined;
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

export function gatedMlpVec(params: RefParams, x: number[], activation: GatedActivation): number[] {
  const act = activation === 'swiglu' ? silu : gelu;
  const gate = matvec(param(params, 'gate_proj.weight'), x).map(act);
  const up = matvec(param(params, 'up_proj.weight'), x);
  return matvec(
    param(params, 'down_proj.weight'),
    gate.map((g, i) => g * up[i]),
  );
}

/** Applies f to every token row of x [B, T, d]. */
function mapRows(x: CpuTensor, f: (v: number[]) => number[]): CpuTensor {
  const [B, T] = x.shape;
  const out = cpuTensor(x.shape);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) setRow(out, b, t, f(row(x, b, t)));
  return out;
}

export function preNormBlockRef(
  params: RefParams,
  x: CpuTensor,
  state: RefState | undefined,
  mixerRef: MixerRef,
  mlp: GatedActivation | null,
  eps = 1e-6,
): { y: CpuTensor; state: RefState } {
  const normed = mapRows(x, (v) => rmsNormVec(v, param(params, 'attn_norm.weight'), eps));
  const mixed = mixerRef(subParams(params, 'attn'), normed, unnestRefState('attn', state));
  const h = cpuTensor(
    x.shape,
    x.data.map((v, i) => v + mixed.y.data[i]),
  );
  const y = mlp
    ? mapRows(h, (v) => {
        const m = gatedMlpVec(subParams(params, 'mlp'), rmsNormVec(v, param(params, 'mlp_norm.weight'), eps), mlp);
        return v.map((z, i) => z + m[i]);
      })
    : h;
  return { y, state: nestRefState('attn', mixed.state) };
}
