// ONNX exports run in onnxruntime-web (WebAssembly, in Node) and reproduce StateLab's logits (computed by
// the WGSL engine); the step model fed token by token equals the parallel model, and a parallel prefill
// continued by steps equals the whole sequence in parallel.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../gpu/graph/compile.js';
import { createParams } from '../../gpu/nn/module.js';
import type { Engine } from '../../gpu/engine.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import type { TensorMap } from '../../main/host/runs/checkpoint-file.js';
import { buildOnnxModels, DATA_FILE, writeOnnxFolder, type OnnxModels } from '../../main/export/onnx/export.js';
import { FAMILY_CASES, familyGraph } from '../../bench/parity/families.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { testParams } from './helpers.js';

ort.env.wasm.numThreads = 1;
const engine = useEngine();
const root = mkdtempSync(join(tmpdir(), 'statelab-onnx-export-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const B = 2;
const T = 9;
const V = 64;
const ids = Array.from({ length: B * T }, (_, i) => (i * 29 + 7) % V);

async function statelabLogits(e: Engine, graph: GraphDoc, params: TensorMap): Promise<Float32Array> {
  const model = compileGraph(graph);
  const p = createParams(e, model.specs, 0);
  for (const [name, t] of p) e.write(t, params.get(name)!.data);
  const logits = await e.noGrad(() => model.logits(p, e.fromArray(ids, [B, T], 'i32'))).read();
  for (const t of p.values()) t.release();
  return logits as Float32Array;
}

async function sessions(m: OnnxModels) {
  const externalData = m.data ? [{ path: DATA_FILE, data: m.data }] : undefined;
  return {
    parallel: await ort.InferenceSession.create(m.parallel, { externalData }),
    step: await ort.InferenceSession.create(m.step, { externalData }),
  };
}

const tokens = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

/** Zero states of the step model (empty KV caches). */
function zeroStates(m: OnnxModels): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const s of m.states) {
    const dims = s.dims.map((d) => (d === 'batch' ? B : d === 'past' ? 0 : (d as number)));
    feeds[s.input] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  }
  return feeds;
}

/** Feeds tokens t0…t1−1 through the step model from `feeds`; returns logits [B, t1−t0, V] and the states. */
async function stepThrough(
  step: ort.InferenceSession,
  m: OnnxModels,
  feeds: Record<string, ort.Tensor>,
  t0: number,
  t1: number,
) {
  const out = new Float32Array(B * (t1 - t0) * V);
  for (let t = t0; t < t1; t++) {
    const r = await step.run({
      ...feeds,
      input_ids: tokens(
        [0, 1].map((b) => ids[b * T + t]),
        [B],
      ),
    });
    const logits = r.logits.data as Float32Array;
    for (let b = 0; b < B; b++) out.set(logits.subarray(b * V, (b + 1) * V), (b * (t1 - t0) + t - t0) * V);
    feeds = Object.fromEntries(m.states.map((s) => [s.input, r[s.output]]));
  }
  return { logits: out, feeds };
}

describe('ONNX export in onnxruntime-web', () => {
  for (const c of FAMILY_CASES) {
    it(`${c.name}: parallel logits within 1e-4 of StateLab's, step model token by token equals it`, async () => {
      const graph = familyGraph(c, { dModel: 16, vocab: V, layers: 2 });
      const params = testParams(graph);
      const expected = await statelabLogits(await engine(), graph, params);
      const m = buildOnnxModels({ graph, params }, { externalBytes: 512 });
      expect(m.data).not.toBeNull();
      const { parallel, step } = await sessions(m);
      const out = await parallel.run({ input_ids: tokens(ids, [B, T]) });
      expect(out.logits.dims).toEqual([B, T, V]);
      expect(relativeError(out.logits.data as Float32Array, expected)).toBeLessThan(1e-4);

      const stepped = await stepThrough(step, m, zeroStates(m), 0, T);
      expect(relativeError(stepped.logits, out.logits.data as Float32Array)).toBeLessThan(1e-5);
      for (const s of m.states) {
        expect(
          relativeError(stepped.feeds[s.input].data as Float32Array, out[s.output].data as Float32Array),
          s.output,
        ).toBeLessThan(1e-5);
      }
    });
  }

  it('a parallel prefill continued by steps equals the whole sequence (attention and Mamba)', async () => {
    const a = familyGraph(FAMILY_CASES[1], { dModel: 16, vocab: V, layers: 1 });
    const graph = familyGraph(FAMILY_CASES[5], { dModel: 16, vocab: V, layers: 1 });
    // One block with attention, a second (top-level) Repeat of a Mamba block.
    graph.blocks!.attn_block = a.blocks!.block;
    graph.nodes.splice(3, 0, { id: 'mixers', kind: 'repeat', params: { block: 'attn_block', count: 1 } });
    graph.edges = graph.edges.filter((e) => e.from !== 'layers.y');
    graph.edges.push({ from: 'layers.y', to: 'mixers.x' }, { from: 'mixers.y', to: 'norm.x' });
    const params = testParams(graph);
    const m = buildOnnxModels({ graph, params });
    expect(m.plan.mixerKinds).toEqual(['mamba', 'attention']);
    const { parallel, step } = await sessions(m);
    const whole = (await parallel.run({ input_ids: tokens(ids, [B, T]) })).logits.data as Float32Array;
    const P = 5;
    const prefixIds = [0, 1].flatMap((b) => ids.slice(b * T, b * T + P));
    const prefill = await parallel.run({ input_ids: tokens(prefixIds, [B, P]) });
    const feeds = Object.fromEntries(m.states.map((s) => [s.input, prefill[s.output]]));
    const rest = await stepThrough(step, m, feeds, P, T);
    const tail = new Float32Array(B * (T - P) * V);
    for (let b = 0; b < B; b++) tail.set(whole.subarray((b * T + P) * V, (b + 1) * T * V), b * (T - P) * V);
    expect(relativeError(rest.logits, tail)).toBeLessThan(1e-5);
  });

  it('writes the folder; weights inline or external give the same logits', async () => {
    const graph = familyGraph(FAMILY_CASES[6], { dModel: 16, vocab: V, layers: 1 });
    const params = testParams(graph);
    const dir = join(root, 'deltanet');
    const written = writeOnnxFolder({ graph, params }, dir, { externalBytes: 0 });
    expect(written.files).toEqual(['model.onnx', 'model_step.onnx', DATA_FILE, 'onnx.json', 'config.json']);
    const manifest = JSON.parse(readFileSync(join(dir, 'onnx.json'), 'utf8'));
    expect(manifest.states.map((s: { input: string }) => s.input)).toEqual([
      'state.layers.0.attn.S',
      'state.layers.0.attn.q_conv1d',
      'state.layers.0.attn.k_conv1d',
      'state.layers.0.attn.v_conv1d',
    ]);
    // Every float weight went to the data file: the models hold the graph and small int constants only.
    const total = [...params.values()].reduce((n, t) => n + t.data.byteLength, 0);
    expect(readFileSync(join(dir, DATA_FILE)).length).toBeGreaterThanOrEqual(total);
    const inline = buildOnnxModels({ graph, params }, { externalBytes: Infinity });
    expect(inline.data).toBeNull();
    expect(inline.parallel.length - written.parallel.length).toBeGreaterThan(0.95 * total);
    const a = await sessions({ ...written, data: new Uint8Array(readFileSync(join(dir, DATA_FILE))) });
    const b = await sessions(inline);
    const x = { input_ids: tokens(ids, [B, T]) };
    const la = (await a.parallel.run(x)).logits.data as Float32Array;
    const lb = (await b.parallel.run(x)).logits.data as Float32Array;
    expect(relativeError(la, lb)).toBe(0);
  });
});

describe('ONNX export of a cross-layer input', () => {
  it("RWKV-7 with the value residual (3 layers): the first layer's values reach the later ones in the parallel and the step model", async () => {
    const rwkv7 = FAMILY_CASES.find((c) => c.kind === 'rwkv7')!;
    const options = { ...rwkv7.options, value_residual: 'on', v_low_rank_dim: 4 };
    const graph = familyGraph({ ...rwkv7, options }, { dModel: 16, vocab: V, layers: 3 });
    const params = testParams(graph);
    expect(params.has('layers.2.attn.v_lora.lora.2.bias')).toBe(true);
    const expected = await statelabLogits(await engine(), graph, params);
    const m = buildOnnxModels({ graph, params });
    const { parallel, step } = await sessions(m);
    const out = await parallel.run({ input_ids: tokens(ids, [B, T]) });
    expect(relativeError(out.logits.data as Float32Array, expected)).toBeLessThan(1e-4);
    // Without the residual the same weights give other logits: the comparison above sees it.
    const off = familyGraph(
      { ...rwkv7, options: { ...options, value_residual: 'off' } },
      { dModel: 16, vocab: V, layers: 3 },
    );
    const offParams = new Map([...params].filter(([name]) => !name.includes('.v_lora.')));
    const plain = await (
      await sessions(buildOnnxModels({ graph: off, params: offParams }))
    ).parallel.run({
      input_ids: tokens(ids, [B, T]),
    });
    expect(relativeError(plain.logits.data as Float32Array, expected)).toBeGreaterThan(1e-3);

    const stepped = await stepThrough(step, m, zeroStates(m), 0, T);
    expect(relativeError(stepped.logits, out.logits.data as Float32Array)).toBeLessThan(1e-5);
    const P = 4;
    const prefill = await parallel.run({
      input_ids: tokens(
        [0, 1].flatMap((b) => ids.slice(b * T, b * T + P)),
        [B, P],
      ),
    });
    const rest = await stepThrough(
      step,
      m,
      Object.fromEntries(m.states.map((s) => [s.input, prefill[s.output]])),
      P,
      T,
    );
    const whole = out.logits.data as Float32Array;
    const tail = new Float32Array(B * (T - P) * V);
    for (let b = 0; b < B; b++) tail.set(whole.subarray((b * T + P) * V, (b + 1) * T * V), b * (T - P) * V);
    expect(relativeError(rest.logits, tail)).toBeLessThan(1e-5);
  });
});
