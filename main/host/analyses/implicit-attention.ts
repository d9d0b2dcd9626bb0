// Implicit attention of a run (evals.md §5): one probe sequence goes through the checkpoint once; every
// mixer layer's input is captured, and each layer's T×T matrices are built in float64 from it (exact for
// linear families, Jacobian-based for nonlinear RNNs). For each layer the analysis keeps the chosen
// heads' matrices and the mean |A| over heads, checks the exact ones against the layer's own GPU output
// (the reconstruction error is written next to the matrix), and composes the layers by rollout. Layers
// are built in evaluation order, each seeing what earlier ones of the same forward published (RWKV-7's
// value residual: the first layer's v), so cross-layer families reconstruct too. Written to
// runs/<id>/analyses/implicit-attention.json.

import type { Engine } from '../../../gpu/engine.js';
import { cpuTensor, type CpuTensor } from '../../../gpu/cpu/tensor.js';
import { implicitContext, summarizeLayer } from '../../../gpu/analysis/implicit/core.js';
import {
  implicitKinds,
  implicitLayer,
  implicitPublishes,
  supportsImplicit,
} from '../../../gpu/analysis/implicit/index.js';
import { rollout } from '../../../gpu/analysis/implicit/rollout.js';
import { mixerLayers } from '../../../gpu/generate/memory.js';
import type { Tensor } from '../../../gpu/tensor.js';
import { probeTokens, runTokenizer, runData, type ProbeKind } from './probes.js';
import { AnalysisError, loadRun, openRun, saveAnalysis, type AnalysisDocument } from './run-model.js';

export interface ImplicitRequest {
  runsDir: string;
  run: string;
  step?: number;
  /** Tokens of the probe sequence (default: the training length, at most 64). */
  length?: number;
  probe?: ProbeKind;
  prompt?: string;
  token?: number;
  /** Heads (or channels) whose matrices are written (default [0]). */
  heads?: number[];
  /** Only these layers (instance names); default all. */
  layers?: string[];
  /** Residual weight of the rollout (default 0.5). */
  residual?: number;
  seed?: number;
}

/** Above these the float64 matrices would take minutes or the JSON hundreds of MiB. */
export const MAX_EXACT_LENGTH = 1024;
export const MAX_JACOBIAN_LENGTH = 128;
const MAX_MULTIPLY_ADDS = 3e10;

export interface ImplicitLayerResult {
  name: string;
  kind: string;
  supported: boolean;
  reason?: string;
  method?: 'exact' | 'jacobian';
  unit?: string;
  units?: number;
  description?: string;
  /** Kept matrices [T][T] by unit index. */
  matrices?: Record<string, number[][]>;
  /** Mean |A| over units, [T][T]. */
  meanAbs?: number[][];
  /** max |reconstruction − GPU output| / max |GPU output| (exact layers only). */
  reconstructionError?: number | null;
  /** Mean over tokens of each unit's log decay, where the family has one. */
  meanLogDecay?: number[];
}

export interface ImplicitResult {
  tokens: number[];
  /** Decoded tokens for text runs (axis labels). */
  labels: string[] | null;
  layers: ImplicitLayerResult[];
  /** Rollout over the supported layers [T][T]; null when none is supported. */
  rollout: number[][] | null;
}

const round = (v: number) => (v === 0 ? 0 : Number(v.toPrecision(6)));
const rows = (M: Float64Array, T: number, columns = T) =>
  Array.from({ length: T }, (_, t) => Array.from(M.subarray(t * columns, (t + 1) * columns), round));

function relativeError(actual: Float64Array, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Rough cost of one layer's matrices (multiply-adds), to refuse hopeless requests up front. */
function costOf(units: number, T: number, dModel: number, jacobian: boolean): number {
  return jacobian ? dModel * T * T * dModel * dModel * 8 : units * T * T * Math.max(dModel, 16);
}

export async function runImplicitAttention(
  engine: Engine,
  request: ImplicitRequest,
): Promise<{ path: string; doc: AnalysisDocument; result: ImplicitResult }> {
  const run = openRun(request.runsDir, request.run);
  const loaded = loadRun(engine, run, request.step);
  try {
    const T = request.length ?? Math.min(loaded.trainLength, 64);
    const all = mixerLayers(loaded.model); // in evaluation order
    const wanted = (name: string) => !request.layers || request.layers.includes(name);
    const mixers = all.filter((l) => wanted(l.name));
    if (request.layers)
      for (const name of request.layers)
        if (!mixers.some((l) => l.name === name))
          throw new AnalysisError(
            `implicit attention: no mixer layer "${name}" (layers: ${mixerLayers(loaded.model)
              .map((l) => l.name)
              .join(', ')})`,
          );
    const hasJacobian = mixers.some((l) => l.family === 'nonlinear-rnn');
    const limit = hasJacobian ? MAX_JACOBIAN_LENGTH : MAX_EXACT_LENGTH;
    const bytes = T * T * 8 * 3;
    if (!(Number.isInteger(T) && T >= 1) || T > limit)
      throw new AnalysisError(
        `implicit attention: length ${T} is over the limit of ${limit} tokens${hasJacobian ? ' (a nonlinear RNN layer needs its full Jacobian)' : ''}: ` +
          `each layer holds ${(bytes / 2 ** 20).toFixed(1)} MiB of T×T float64 matrices and the JSON grows with T²`,
      );
    const vocab = loaded.model.graph.doc.model.vocab_size;
    const tokens = await probeTokens(run, loaded.info, vocab, request.probe ?? 'validation', {
      batch: 1,
      length: T,
      seed: request.seed ?? 1,
      prompt: request.prompt,
      token: request.token,
    });
    const ids = Array.from(tokens.inputs.subarray(0, tokens.length));
    const L = tokens.length;

    // One parallel forward; every mixer's input and output recorded for readback.
    const captured = new Map<
      string,
      { x: Promise<Float32Array | Int32Array>; y: Promise<Float32Array | Int32Array> }
    >();
    engine.tidy(() =>
      engine.noGrad(() => {
        loaded.probe.logits(loaded.params, engine.fromArray(ids, [1, L], 'i32'), {
          onMixer: (name: string, x: Tensor, y: Tensor) =>
            captured.set(name, { x: engine.readLater(x), y: engine.readLater(y) }),
        });
      }),
    );
    engine.flush();

    const heads = request.heads ?? [0];
    const layers: ImplicitLayerResult[] = [];
    const mixing: Float64Array[] = [];
    // Layers are built in evaluation order with one context, the float64 twin of the compiler's
    // MixerContext: what a layer published in this forward (RWKV-7's first value-residual layer: its v,
    // from its captured input) reaches the later layers, whose values mix it in. A layer left out of
    // `layers` is still built when it publishes something a later wanted layer reads.
    const context = implicitContext();
    const lastWanted = all.findLastIndex((l) => wanted(l.name));
    for (const layer of all.slice(0, lastWanted + 1)) {
      const node = mixerNode(loaded.model, layer.name);
      if (!wanted(layer.name)) {
        if (implicitPublishes(layer.kind, node, layer.width, context)) {
          const x = Float64Array.from(await captured.get(layer.name)!.x);
          implicitLayer(layer.kind, await mixerParams(loaded.params, layer.name), node, layer.width, x, context);
        }
        continue;
      }
      if (!supportsImplicit(layer.kind)) {
        layers.push({
          name: layer.name,
          kind: layer.kind,
          supported: false,
          reason: `no implicit-attention formulation for "${layer.kind}" yet (have: ${implicitKinds().join(', ')}); left out of the rollout`,
        });
        continue;
      }
      const io = captured.get(layer.name)!;
      const params = await mixerParams(loaded.params, layer.name);
      // Building computes only the gates; the matrices (the cost) come later, so the check is here.
      const built = implicitLayer(layer.kind, params, node, layer.width, Float64Array.from(await io.x), context);
      const cost = costOf(built.count, L, layer.width, built.method === 'jacobian');
      if (cost > MAX_MULTIPLY_ADDS)
        throw new AnalysisError(
          `implicit attention: layer ${layer.name} (${layer.kind}) at ${L} tokens would take about ` +
            `${cost.toExponential(1)} multiply-adds on the CPU; use a shorter --length`,
        );
      const keep = heads.filter((h) => h < built.count);
      const summary = summarizeLayer(built, keep);
      mixing.push(summary.meanAbs);
      let meanLogDecay: number[] | undefined;
      if (built.logDecay) {
        const units = built.logDecay.length / L;
        meanLogDecay = Array.from({ length: units }, (_, u) => {
          let acc = 0;
          for (let t = 0; t < L; t++) acc += built.logDecay![t * units + u];
          return round(acc / L);
        });
      }
      layers.push({
        name: layer.name,
        kind: layer.kind,
        supported: true,
        method: built.method,
        unit: built.unit,
        units: built.count,
        description: built.description,
        matrices: Object.fromEntries([...summary.kept].map(([u, A]) => [String(u), rows(A, L)])),
        meanAbs: rows(summary.meanAbs, L),
        reconstructionError: summary.reconstruction ? relativeError(summary.reconstruction, await io.y) : null,
        meanLogDecay,
      });
    }
    const tokenizer = runData(loaded.info).kind === 'text' ? await runTokenizer(run, loaded.info) : null;
    const result: ImplicitResult = {
      tokens: ids,
      labels: tokenizer ? ids.map((id) => tokenizer.decode([id])) : null,
      layers,
      rollout: mixing.length ? rows(rollout(mixing, L, request.residual ?? 0.5), L) : null,
    };
    const doc: AnalysisDocument = {
      analysis: 'implicit-attention',
      run: run.id,
      step: loaded.step,
      created: new Date().toISOString(),
      trainLength: loaded.trainLength,
      config: {
        length: L,
        probe: request.probe ?? 'validation',
        probeDescription: tokens.description,
        heads,
        residual: request.residual ?? 0.5,
        notes: tokens.notes,
      },
      results: result,
    };
    return { path: saveAnalysis(run, 'implicit-attention', doc), doc, result };
  } finally {
    loaded.release();
  }
}

/** The options of a mixer instance: `<node>` at the top level, `<repeat>.<i>.<block node>` in a block. */
export function mixerNode(
  model: ReturnType<typeof loadRun>['model'],
  name: string,
): Record<string, number | boolean | string> {
  const parts = name.split('.');
  const top = model.graph.order.find((n) => n.node.id === parts[0]);
  const node =
    parts.length === 3 && top?.spec.kind === 'repeat'
      ? model.graph.blocks.get(String(top.params.block))?.find((n) => n.node.id === parts[2])
      : top;
  if (!node) throw new AnalysisError(`implicit attention: no mixer node for layer "${name}"`);
  return node.params as Record<string, number | boolean | string>;
}

/** The layer's parameters read back as float64, named relative to the layer. */
export async function mixerParams(params: Map<string, Tensor>, prefix: string): Promise<Map<string, CpuTensor>> {
  const out = new Map<string, CpuTensor>();
  for (const [name, t] of params)
    if (name.startsWith(`${prefix}.`)) out.set(name.slice(prefix.length + 1), cpuTensor(t.shape, await t.read()));
  return out;
}
