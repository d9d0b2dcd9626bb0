// Per-token scores of next-token predictions, computed where the logits are: for every row of logits
// [N, V] and its target, the negative log-likelihood (log-sum-exp − logit[target]), the arg-max token and
// whether the row is scored. Streaming analyses read back 3 floats per token instead of V, which is what
// lets per-position loss run over sequences 16× the training length with a large vocabulary.
//
// Ignored rows (target = ignoreIndex) score 0 with flag 0 but still report their arg-max (passkey and MQAR
// read predictions at positions of their own choosing). Out-of-range targets give NaN, never an index.

import { uniformBytes } from '../engine.js';
import { checkDType, checkRank, checkSameEngine } from '../ops/checks.js';
import { rowGrid, rowMain, rowWorkgroupSize, workgroupReduce, WGSL_SPECIAL_VALUES } from '../ops/wgsl.js';
import type { Tensor } from '../tensor.js';

/** Columns of the [N, 3] result. */
export const SCORE = { NLL: 0, ARGMAX: 1, SCORED: 2 } as const;

function scoresKernel(size: number): string {
  return `
struct Params { rows: u32, vocab: u32, ignoreIndex: i32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
${WGSL_SPECIAL_VALUES}
${workgroupReduce(size)}
${rowMain(size)}
  let base = row * u.vocab;
  var localMax = F32_LOWEST;
  for (var k = tid; k < u.vocab; k += ${size}u) { localMax = max(localMax, logits[base + k]); }
  let m = workgroupMax(localMax, tid);
  var localSum = 0.0;
  // The first index holding the maximum (ties resolve like numpy's argmax): max of −index.
  var localFirst = F32_LOWEST;
  for (var k = tid; k < u.vocab; k += ${size}u) {
    let v = logits[base + k];
    localSum += exp(v - m);
    if (v == m) { localFirst = max(localFirst, -f32(k)); }
  }
  let lse = m + log(workgroupSum(localSum, tid));
  let first = -workgroupMax(localFirst, tid);
  if (tid != 0u) { return; }
  let t = targets[row];
  var nll = 0.0;
  var scored = 0.0;
  if (t != u.ignoreIndex) {
    scored = 1.0;
    if (t < 0 || t >= i32(u.vocab)) { nll = nan_(); } else { nll = lse - logits[base + u32(t)]; }
  }
  scores[3u * row] = nll;
  scores[3u * row + 1u] = first;
  scores[3u * row + 2u] = scored;
}`;
}

/** logits f32 [N, V], targets i32 [N] → f32 [N, 3] of (nll, argmax, scored). No gradient. */
export function tokenScores(logits: Tensor, targets: Tensor, ignoreIndex = -100): Tensor {
  const op = 'tokenScores';
  checkDType(op, 'logits', logits, 'f32');
  checkDType(op, 'targets', targets, 'i32');
  checkRank(op, 'logits', logits, 2);
  const [rows, vocab] = logits.shape;
  if (targets.shape.length !== 1 || targets.shape[0] !== rows)
    throw new RangeError(
      `${op}: targets ${targets.describe()} must have shape [${rows}] to match ${logits.describe()}`,
    );
  if (vocab === 0 || vocab >= 1 << 24)
    throw new RangeError(`${op}: vocabulary ${vocab} must be in [1, 2^24) for exact f32 arg-max indices`);
  const engine = checkSameEngine(op, [logits, targets]);
  const size = rowWorkgroupSize(vocab);
  const scores = engine.empty([rows, 3]);
  engine.dispatch(
    { name: 'tokenScores', wgsl: scoresKernel(size) },
    {
      bindings: [logits, targets, scores],
      uniforms: uniformBytes([rows, vocab, ignoreIndex]),
      workgroups: rowGrid(rows),
    },
  );
  return scores;
}
