// The class-B (matrix-state) ONNX exports carry StateLab's states, not only its logits: after a prompt, every
// state the parallel model returns (state_out.<module>.<name>) equals the state StateLab's layer returns, in
// the same layout (GSA's slot-major Sk, Mamba-2's [heads, d_state, headdim] S, RetNet's positions, mLSTM's
// stabilizer m). Logits alone would not show a transposed state or mLSTM's m started at 0 instead of −∞
// (that changes the logits only through the normalizer's 1e-6). And a StateLab state fed to the step
// model continues the sequence as StateLab's own step does.

import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { compileGraph, type ModelState } from '../../gpu/graph/compile.js';
import { createParams } from '../../gpu/nn/module.js';
import { buildOnnxModels, DATA_FILE } from '../../main/export/onnx/export.js';
import { FAMILY_CASES, familyGraph } from '../../bench/parity/families.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { testParams } from './helpers.js';

ort.env.wasm.numThreads = 1;
const engine = useEngine();

const CLASS_B = ['linear_attn', 'retnet', 'gla', 'mamba2', 'hgrn2', 'mlstm', 'rwkv6', 'gsa'];
/** States the ONNX export adds (mLSTM's `started`: 0 before the first token, so zeros are a fresh sequence). */
const ONNX_ONLY = new Set(['started']);

const B = 2;
const T = 7;
const V = 64;
const ids = Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % V);
const tokens = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

describe('class-B ONNX exports carry StateLab states', () => {
  for (const kind of CLASS_B) {
    const c = FAMILY_CASES.find((f) => f.kind === kind)!;
    // One token shows a wrong starting state most clearly (mLSTM: m₁ = ĩ₁ only from m₀ = −∞), six tokens the
    // states after several updates.
    it.each([1, T - 1])(
      `${kind}: after %i tokens the parallel model's states equal StateLab's, and StateLab's state continues in the step model`,
      async (length) => {
        const e = await engine();
        const graph = familyGraph(c, { dModel: 16, vocab: V, layers: 2 });
        const params = testParams(graph);
        const model = compileGraph(graph);
        const p = createParams(e, model.specs, 0);
        for (const [name, t] of p) e.write(t, params.get(name)!.data);
        const prefix = ids.filter((_, i) => i % T < length); // tokens 0…length−1 of each row
        const final: ModelState = new Map();
        await e.noGrad(() => model.logits(p, e.fromArray(prefix, [B, length], 'i32'), final)).read();
        const next = [0, 1].map((b) => ids[b * T + length]);
        const stepped = e.noGrad(() => model.step(p, e.fromArray(next, [B], 'i32'), final));
        const expectedNext = (await stepped.logits.read()) as Float32Array;

        const m = buildOnnxModels({ graph, params }, { externalBytes: 512 });
        const externalData = m.data ? [{ path: DATA_FILE, data: m.data }] : undefined;
        const parallel = await ort.InferenceSession.create(m.parallel, { externalData });
        const out = await parallel.run({ input_ids: tokens(prefix, [B, length]) });

        const feeds: Record<string, ort.Tensor> = {};
        let compared = 0;
        for (const s of m.states) {
          const onnx = out[s.output];
          if (ONNX_ONLY.has(s.state)) {
            expect(Array.from(onnx.data as Float32Array), s.output).toEqual(new Array(B).fill(1));
            feeds[s.input] = onnx;
            continue;
          }
          const mine = final.get(s.module)?.[s.state];
          expect(mine, `StateLab has no state "${s.state}" in ${s.module}`).toBeDefined();
          expect(onnx.dims, s.output).toEqual(mine!.shape);
          const values = (await mine!.read()) as Float32Array;
          expect(relativeError(onnx.data as Float32Array, values), s.output).toBeLessThan(1e-4);
          feeds[s.input] = new ort.Tensor('float32', values, [...mine!.shape]);
          compared++;
        }
        // Every StateLab state of every layer was compared.
        expect(compared).toBe([...final.values()].reduce((n, st) => n + Object.keys(st).length, 0));

        // StateLab's own state (and `started` = 1) continues the sequence in the step model.
        const step = await ort.InferenceSession.create(m.step, { externalData });
        const result = await step.run({ ...feeds, input_ids: tokens(next, [B]) });
        expect(relativeError(result.logits.data as Float32Array, expectedNext)).toBeLessThan(1e-4);
        for (const t of p.values()) t.release();
      },
    );
  }
});
