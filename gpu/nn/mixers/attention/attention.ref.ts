// float64 reference of the attention layer: projections token by token, the KV cache joined in front,
// the forget gate's cumulative log, then the naive T×T attention reference and the output projection.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import { attentionRef } from '../../../ops/attention/attention.ref.js';
import { rotaryRef } from '../../../ops/rotary.ref.js';
import { matvec, param, row, setRow, sigmoid, type RefParams, type RefState } from '../linear-diagonal/ref-utils.js';
import type { AttentionConfig } from './attention.js';

/** Joins [B, L, ...] and [B, T, ...] along time. */
function joinTime(a: CpuTensor | undefined, b: CpuTensor): CpuTensor {
  if (!a || a.shape[1] === 0) return b;
  const [B, L] = a.shape;
  const T = b.shape[1];
  const inner = b.data.length / (B * T);
  const out = cpuTensor([B, L + T, ...b.shape.slice(2)]);
  for (let i = 0; i < B; i++) {
    out.data.set(a.data.subarray(i * L * inner, (i + 1) * L * inner), i * (L + T) * inner);
    out.data.set(b.data.subarray(i * T * inner, (i + 1) * T * inner), (i * (L + T) + L) * inner);
  }
  return out;
}

/** The last n time steps of [B, L, ...]. */
function lastTokens(x: CpuTensor, n: number): CpuTensor {
  const [B, L] = x.shape;
  const inner = x.data.length / (B * L);
  const out = cpuTensor([B, n, ...x.shape.slice(2)]);
  for (let b = 0; b < B; b++)
    out.data.set(x.data.subarray((b * L + L - n) * inner, (b * L + L) * inner), b * n * inner);
  return out;
}

export function attentionLayerRef(
  c: AttentionConfig,
  params: RefParams,
  x: CpuTensor,
  cache?: RefState,
): { y: CpuTensor; state: RefState } {
  const { heads: H, kvHeads: G, headDim: D } = c;
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const bias = (name: string) => (c.qkvBias ? P(`${name}.bias`) : undefined);
  let q = cpuTensor([B, T, H, D]);
  let k = cpuTensor([B, T, G, D]);
  const v = cpuTensor([B, T, G, D]);
  const logF = cpuTensor([B, T, H]);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      q.data.set(matvec(P('q_proj.weight'), xt, bias('q_proj')), (b * T + t) * H * D);
      k.data.set(matvec(P('k_proj.weight'), xt, bias('k_proj')), (b * T + t) * G * D);
      v.data.set(matvec(P('v_proj.weight'), xt, bias('v_proj')), (b * T + t) * G * D);
      if (c.forgetGate) {
        const f = matvec(P('fgate_proj.weight'), xt, P('fgate_proj.bias')).map((z) => Math.log(sigmoid(z)));
        logF.data.set(f, (b * T + t) * H);
      }
    }
  // RoPE at positions counted inside the cache: the new tokens continue from the cache length.
  const L0 = cache?.k?.shape[1] ?? 0;
  const rope = (t: CpuTensor) =>
    c.ropeTheta > 0 ? rotaryRef(t, { offset: new Array<number>(B).fill(L0), base: c.ropeTheta }) : t;
  q = rope(q);
  k = rope(k);
  const kAll = joinTime(cache?.k, k);
  const vAll = joinTime(cache?.v, v);
  const state: RefState = { k: kAll, v: vAll };
  let cumLogForget: CpuTensor | undefined;
  if (c.forgetGate) {
    const L = cache?.f?.shape[1] ?? 0;
    const F = cpuTensor([B, T, H]);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++) {
        let acc = L > 0 ? cache!.f.data[(b * L + L - 1) * H + h] : 0;
        for (let t = 0; t < T; t++) {
          acc += logF.data[(b * T + t) * H + h];
          F.data[(b * T + t) * H + h] = acc;
        }
      }
    cumLogForget = joinTime(cache?.f, F);
    state.f = cumLogForget;
  }
  const o = attentionRef({ q, k: kAll, v: vAll, cumLogForget, scale: 1 / Math.sqrt(D), window: c.window });
  // A windowed cache keeps its last `window` tokens, their keys rotated back by the dropped count.
  const L = kAll.shape[1];
  if (c.window > 0 && L > c.window) {
    for (const name of Object.keys(state)) state[name] = lastTokens(state[name], c.window);
    if (c.ropeTheta > 0) {
      const rows = cpuTensor([B * c.window, 1, G, D], state.k.data);
      const offset = new Array<number>(B * c.window).fill(c.window - L);
      state.k = cpuTensor(state.k.shape, rotaryRef(rows, { offset, base: c.ropeTheta }).data);
    }
  }
  const y = cpuTensor([B, T, d]);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      setRow(
        y,
        b,
        t,
        matvec(
          P('o_proj.weight'),
          Array.from(o.data.subarray((b * T + t) * H * D, (b * T + t + 1) * H * D)),
          c.oBias ? P('o_proj.bias') : undefined,
        ),
      );
    }
  return { y, state };
}
