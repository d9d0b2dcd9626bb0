// float64 reference of the RWKV-7 time-mixing layer, token by token (equations in rwkv7.ts), and of a
// stack of RWKV-7 layers with residual connections, where the value residual crosses layers.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  matvec,
  param,
  row,
  setRow,
  sigmoid,
  stackRows,
  stateRow,
  type RefParams,
  type RefState,
} from '../linear-diagonal/ref-utils.js';
import { LOG_DECAY_FLOOR, MIXES, type Rwkv7Config } from './rwkv7.js';

/**
 * One layer. `vFirst` [B, T, d]: the first value-residual layer's values, mixed into this layer's v when
 * c.valueResidual is set (absent: this layer is the first). Returns the values v it used.
 */
export function rwkv7Ref(
  c: Rwkv7Config,
  params: RefParams,
  x: CpuTensor,
  state?: RefState,
  vFirst?: CpuTensor,
): { y: CpuTensor; state: RefState; v: CpuTensor } {
  const { heads: H, headDim: N } = c;
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const lora = (name: string, v: number[], inner: (z: number) => number, bias: boolean) =>
    matvec(
      P(`${name}.lora.2.weight`),
      matvec(P(`${name}.lora.0.weight`), v).map(inner),
      bias ? P(`${name}.lora.2.bias`) : undefined,
    );
  const y = cpuTensor([B, T, d]);
  const values = cpuTensor([B, T, d]);
  const finalS: number[][] = [];
  const finalShift: number[][] = [];
  for (let b = 0; b < B; b++) {
    const S = state ? stateRow(state.S, b) : new Array<number>(H * N * N).fill(0); // S[h][i (key)][j (value)]
    let previous = state ? stateRow(state.shift, b) : new Array<number>(d).fill(0);
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const mixed = Object.fromEntries(
        MIXES.map((m) => [m, xt.map((v, i) => v + (previous[i] - v) * P(m).data[i])]),
      ) as Record<(typeof MIXES)[number], number[]>;
      previous = xt;
      const r = matvec(P('r_proj.weight'), mixed.x_r);
      const logw = lora('w_lora', mixed.x_w, Math.tanh, true).map((z) => LOG_DECAY_FLOOR * sigmoid(z));
      const k0 = matvec(P('k_proj.weight'), mixed.x_k);
      let v = matvec(P('v_proj.weight'), mixed.x_v);
      if (c.valueResidual && vFirst) {
        const first = row(vFirst, b, t);
        const mix = lora('v_lora', mixed.x_v, (z) => z, true).map(sigmoid);
        v = v.map((z, i) => z + (first[i] - z) * mix[i]);
      }
      setRow(values, b, t, v);
      const alpha = lora('a_lora', mixed.x_a, (z) => z, true).map(sigmoid);
      const g = lora('g_lora', mixed.x_g, sigmoid, false);
      const k = k0.map((z, i) => z * (1 + (alpha[i] - 1) * P('k_a').data[i]));
      const out: number[] = [];
      for (let h = 0; h < H; h++) {
        const slice = (a: number[]) => a.slice(h * N, (h + 1) * N);
        const scaled = slice(k0).map((z, i) => z * P('k_k').data[h * N + i]);
        const norm = Math.sqrt(scaled.reduce((s, z) => s + z * z, 0) + 1e-12);
        const kappa = scaled.map((z) => z / norm);
        const [rh, kh, vh, wh, ah] = [r, k, v, logw, alpha].map(slice);
        const at = (i: number, j: number) => (h * N + i) * N + j;
        for (let j = 0; j < N; j++) {
          let p = 0;
          for (let i = 0; i < N; i++) p -= kappa[i] * S[at(i, j)];
          for (let i = 0; i < N; i++)
            S[at(i, j)] = Math.exp(wh[i]) * S[at(i, j)] + kappa[i] * ah[i] * p + kh[i] * vh[j];
        }
        const o = Array.from({ length: N }, (_, j) => {
          let acc = 0;
          for (let i = 0; i < N; i++) acc += rh[i] * S[at(i, j)];
          return acc;
        });
        const mean = o.reduce((s, z) => s + z, 0) / N;
        const variance = o.reduce((s, z) => s + (z - mean) ** 2, 0) / N;
        const bonus = rh.reduce((s, z, i) => s + z * kh[i] * P('r_k').data[h * N + i], 0);
        for (let j = 0; j < N; j++) {
          const channel = h * N + j;
          const normed =
            ((o[j] - mean) / Math.sqrt(variance + N * c.normEps)) * P('g_norm.weight').data[channel] +
            P('g_norm.bias').data[channel];
          out.push((normed + bonus * vh[j]) * g[channel]);
        }
      }
      setRow(y, b, t, matvec(P('o_proj.weight'), out));
    }
    finalS.push(S);
    finalShift.push(previous);
  }
  return { y, state: { S: stackRows(finalS, [H, N, N]), shift: stackRows(finalShift, [d]) }, v: values };
}

/**
 * h ← h + layer_l(h) for each layer in turn, from zero states: the first value-residual layer's v is
 * handed to every later value-residual layer (what the graph compiler's MixerContext does on the GPU).
 */
export function rwkv7StackRef(configs: Rwkv7Config[], layers: RefParams[], x: CpuTensor): CpuTensor {
  let h = x;
  let vFirst: CpuTensor | undefined;
  configs.forEach((c, l) => {
    const out = rwkv7Ref(c, layers[l], h, undefined, vFirst);
    if (c.valueResidual && !vFirst) vFirst = out.v;
    h = cpuTensor(
      h.shape,
      h.data.map((z, i) => z + out.y.data[i]),
    );
  });
  return h;
}
