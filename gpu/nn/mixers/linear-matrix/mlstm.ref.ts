// float64 reference of the mLSTM block, the cell written as fla's naive_recurrent_mlstm: per head
// m ← max(log σ(f̃) + m, ĩ), C ← f' C + i' (k/√d) vᵀ, n ← f' n + i' k/√d, h = Cᵀq / max(|nᵀq|, e^(−m) + ε);
// around it the up-projection, conv + swish, block-diagonal q/k/v, per-head GroupNorm, skip, ⊙ swish(z).

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  convStep,
  histories,
  matvec,
  param,
  row,
  setRow,
  silu,
  stackRows,
  type RefParams,
  type RefState,
} from '../linear-diagonal/ref-utils.js';
import { MLSTM_EPS, type MlstmConfig } from './mlstm.js';
import { head, headStates, layerNormVec, logsigmoid } from './ref-utils.js';

/** Block-diagonal projection: block g of the output is W[g·bs:(g+1)·bs, :] times block g of x. */
function grouped(W: CpuTensor, x: number[], bs: number): number[] {
  return x.map((_, o) => {
    const g = Math.floor(o / bs);
    let acc = 0;
    for (let i = 0; i < bs; i++) acc += W.data[o * bs + i] * x[g * bs + i];
    return acc;
  });
}

export function mlstmRef(
  c: MlstmConfig,
  params: RefParams,
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const { inner: I, heads: H, headDim: K, blockSize: bs } = c;
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const scale = 1 / Math.sqrt(K);
  const y = cpuTensor([B, T, d]);
  const finals = { S: [] as number[][], n: [] as number[][], m: [] as number[][], conv: [] as number[][] };
  for (let b = 0; b < B; b++) {
    const C = headStates(state?.S, b, H, K * K);
    const n = headStates(state?.n, b, H, K);
    const m = Array.from({ length: H }, (_, h) => (state ? state.m.data[b * H + h] : -Infinity));
    let history = histories(state?.conv, B, c.convSize, I)[b];
    for (let t = 0; t < T; t++) {
      const up = matvec(P('proj_up.weight'), row(x, b, t));
      const xm = up.slice(0, I);
      const z = up.slice(I);
      const xc = convStep(history, xm, P('conv1d.weight'), P('conv1d.bias')).map(silu);
      history = [...history.slice(1), xm];
      const q = grouped(P('q_proj.weight'), xc, bs);
      const k = grouped(P('k_proj.weight'), xc, bs);
      const v = grouped(P('v_proj.weight'), xm, bs);
      const gatesIn = [...q, ...k, ...v];
      const ig = matvec(P('igate.weight'), gatesIn, P('igate.bias'));
      const fg = matvec(P('fgate.weight'), gatesIn, P('fgate.bias'));
      const hidden: number[] = [];
      for (let h = 0; h < H; h++) {
        const logF = m[h] + logsigmoid(fg[h]);
        m[h] = Math.max(logF, ig[h]);
        const iGate = Math.exp(ig[h] - m[h]);
        const fGate = Math.exp(logF - m[h]);
        const kh = head(k, h, K).map((w) => scale * w);
        const qh = head(q, h, K);
        const vh = head(v, h, K);
        for (let i = 0; i < K; i++) {
          for (let j = 0; j < K; j++) C[h][i * K + j] = fGate * C[h][i * K + j] + iGate * kh[i] * vh[j];
          n[h][i] = fGate * n[h][i] + iGate * kh[i];
        }
        const zq = qh.reduce((s, w, i) => s + w * n[h][i], 0);
        const denominator = Math.max(Math.abs(zq), Math.exp(-m[h]) + MLSTM_EPS);
        const hTilde = Array.from({ length: K }, (_, j) => {
          let acc = 0;
          for (let i = 0; i < K; i++) acc += C[h][i * K + j] * qh[i];
          return acc / denominator;
        });
        hidden.push(...layerNormVec(hTilde, c.normEps, head(Array.from(P('o_norm.weight').data), h, K)));
      }
      const out = hidden.map((w, i) => (w + P('learnable_skip').data[i] * xc[i]) * silu(z[i]));
      setRow(y, b, t, matvec(P('proj_down.weight'), out));
    }
    finals.S.push(C.flatMap((s) => Array.from(s)));
    finals.n.push(n.flatMap((s) => Array.from(s)));
    finals.m.push(m);
    finals.conv.push(history.flat());
  }
  return {
    y,
    state: {
      S: stackRows(finals.S, [H, K, K]),
      n: stackRows(finals.n, [H, K]),
      m: stackRows(finals.m, [H]),
      conv: stackRows(finals.conv, [c.convSize - 1, I]),
    },
  };
}
