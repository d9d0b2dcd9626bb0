// Bad calls of the neural-network and shape ops must throw before anything is dispatched, with a
// message naming the op, the parameter and the shapes involved — never compute a silent wrong result.

import { describe, expect, it } from 'vitest';
import type { Engine } from '../../gpu/engine.js';
import { causalConv1d } from '../../gpu/ops/conv1d.js';
import { crossEntropy } from '../../gpu/ops/cross-entropy.js';
import { embedding } from '../../gpu/ops/embedding.js';
import { layerNorm, rmsNorm } from '../../gpu/ops/norm.js';
import { concat, permute, slice, transpose } from '../../gpu/ops/shape.js';
import { logSoftmax, softmax } from '../../gpu/ops/softmax.js';
import { useEngine } from '../helpers/gpu.js';

const engine = useEngine();

const f32 = (e: Engine, shape: number[]) => e.empty(shape);
const i32 = (e: Engine, shape: number[]) =>
  e.fromArray(new Array(shape.reduce((a, b) => a * b, 1)).fill(0), shape, 'i32');

/** [what is wrong, the call, the message it must raise]. */
const CASES: [string, (e: Engine) => unknown, RegExp][] = [
  ['softmax of an i32 tensor', (e) => softmax(i32(e, [2])), /softmax: x must be f32, got i32\[2\]/],
  [
    'logSoftmax over an empty last axis',
    (e) => logSoftmax(f32(e, [3, 0])),
    /logSoftmax: the last axis of f32\[3,0\] is empty/,
  ],
  ['softmax of a scalar', (e) => softmax(f32(e, [])), /softmax: x must have at least one axis, got f32\[\]/],

  [
    'crossEntropy with f32 targets',
    (e) => crossEntropy(f32(e, [3, 4]), f32(e, [3])),
    /crossEntropy: targets must be i32, got f32\[3\]/,
  ],
  [
    'crossEntropy with i32 logits',
    (e) => crossEntropy(i32(e, [3]), i32(e, [3])),
    /crossEntropy: logits must be f32, got i32\[3\]/,
  ],
  [
    'crossEntropy with 3-D logits',
    (e) => crossEntropy(f32(e, [2, 3, 4]), i32(e, [3])),
    /crossEntropy: logits must have rank 2, got f32\[2,3,4\]/,
  ],
  [
    'crossEntropy with too few targets',
    (e) => crossEntropy(f32(e, [3, 4]), i32(e, [2])),
    /crossEntropy: targets i32\[2\] must have shape \[3\] to match logits f32\[3,4\]/,
  ],
  [
    'crossEntropy with an empty vocabulary',
    (e) => crossEntropy(f32(e, [3, 0]), i32(e, [3])),
    /crossEntropy: logits f32\[3,0\] has an empty vocabulary axis/,
  ],

  [
    'rmsNorm weight of the wrong width',
    (e) => rmsNorm(f32(e, [2, 4]), f32(e, [3])),
    /rmsNorm: weight f32\[3\] must have shape \[4\] to match x f32\[2,4\]/,
  ],
  [
    'layerNorm bias of the wrong rank',
    (e) => layerNorm(f32(e, [2, 4]), f32(e, [4]), f32(e, [4, 1])),
    /layerNorm: bias f32\[4,1\] must have shape \[4\] to match x f32\[2,4\]/,
  ],
  ['rmsNorm of an i32 tensor', (e) => rmsNorm(i32(e, [1, 2]), f32(e, [2])), /rmsNorm: x must be f32, got i32\[1,2\]/],
  [
    'layerNorm with an i32 weight',
    (e) => layerNorm(f32(e, [1, 2]), i32(e, [2]), f32(e, [2])),
    /layerNorm: weight must be f32, got i32\[2\]/,
  ],
  ['rmsNorm with eps 0', (e) => rmsNorm(f32(e, [2, 4]), f32(e, [4]), 0), /rmsNorm: eps must be positive, got 0/],
  [
    'layerNorm over an empty axis',
    (e) => layerNorm(f32(e, [2, 0]), f32(e, [0]), f32(e, [0])),
    /layerNorm: the last axis of f32\[2,0\] is empty/,
  ],

  [
    'embedding with a 1-D weight',
    (e) => embedding(f32(e, [4]), i32(e, [2])),
    /embedding: weight must have rank 2, got f32\[4\]/,
  ],
  ['embedding with f32 ids', (e) => embedding(f32(e, [4, 2]), f32(e, [2])), /embedding: ids must be i32, got f32\[2\]/],
  [
    'embedding with an i32 weight',
    (e) => embedding(i32(e, [1, 2]), i32(e, [2])),
    /embedding: weight must be f32, got i32\[1,2\]/,
  ],

  [
    'causalConv1d weight with the wrong channel count',
    (e) => causalConv1d(f32(e, [2, 5, 3]), f32(e, [4, 2])),
    /causalConv1d: weight f32\[4,2\] must have shape \[3,K\] to match x f32\[2,5,3\]/,
  ],
  [
    'causalConv1d bias of the wrong width',
    (e) => causalConv1d(f32(e, [2, 5, 3]), f32(e, [3, 2]), f32(e, [2])),
    /causalConv1d: bias f32\[2\] must have shape \[3\] to match x f32\[2,5,3\]/,
  ],
  [
    'causalConv1d of a 2-D x',
    (e) => causalConv1d(f32(e, [5, 3]), f32(e, [3, 2])),
    /causalConv1d: x must have rank 3, got f32\[5,3\]/,
  ],
  [
    'causalConv1d with K = 0',
    (e) => causalConv1d(f32(e, [2, 5, 3]), f32(e, [3, 0])),
    /causalConv1d: weight f32\[3,0\] has no taps/,
  ],
  [
    'causalConv1d with an i32 weight',
    (e) => causalConv1d(f32(e, [2, 5, 3]), i32(e, [3, 1])),
    /causalConv1d: weight must be f32, got i32\[3,1\]/,
  ],

  [
    'transpose with an axis beyond the rank',
    (e) => transpose(f32(e, [2, 3]), 0, 2),
    /transpose: axis 2 is out of range for f32\[2,3\]/,
  ],
  [
    'permute with too few dims',
    (e) => permute(f32(e, [2, 3]), [0]),
    /permute: dims \[0\] must list all 2 axes of f32\[2,3\]/,
  ],
  [
    'permute with a repeated axis',
    (e) => permute(f32(e, [2, 3]), [1, 1]),
    /permute: dims \[1,1\] repeat an axis of f32\[2,3\]/,
  ],
  [
    'slice past the end',
    (e) => slice(f32(e, [2, 3]), 1, 2, 4),
    /slice: range \[2, 4\) is not within axis 1 \(size 3\) of f32\[2,3\]/,
  ],
  ['slice with end before start', (e) => slice(f32(e, [2, 3]), 1, 2, 1), /slice: range \[2, 1\) is not within axis 1/],
  [
    'slice on a negative axis beyond the rank',
    (e) => slice(f32(e, [2, 3]), -3, 0, 1),
    /slice: axis -3 is out of range for f32\[2,3\]/,
  ],
  ['concat of nothing', () => concat([], 0), /concat: needs at least one tensor/],
  [
    'concat of mismatched shapes',
    (e) => concat([f32(e, [2, 3]), f32(e, [3, 3])], 1),
    /concat: shapes f32\[2,3\], f32\[3,3\] do not agree outside axis 1/,
  ],
  [
    'concat of mismatched ranks',
    (e) => concat([f32(e, [2, 3]), f32(e, [2, 3, 1])], 0),
    /concat: shapes f32\[2,3\], f32\[2,3,1\] do not agree/,
  ],
  [
    'concat of mixed dtypes',
    (e) => concat([f32(e, [2, 3]), i32(e, [2, 1])], 1),
    /concat: dtypes of f32\[2,3\], i32\[2,1\] differ/,
  ],
];

describe('bad input to the nn and shape ops', () => {
  for (const [what, call, message] of CASES) {
    it(`${what} raises an error naming the op and the shapes`, async () => {
      const e = await engine();
      const before = e.dispatchCount;
      expect(() => call(e)).toThrow(message);
      expect(e.dispatchCount).toBe(before);
    });
  }
});
