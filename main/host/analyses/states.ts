// State statistics and the collapse detector for a run (evals.md §1, Stuffed Mamba's analyze_states.py):
// a probe streams `factor` × the training length in chunks of `every` tokens; after each chunk every
// mixer's memory state is summarized per head (RMS, mean, variance, max |·|), and each head's RMS and
// standard-deviation series go through the collapse detector. Written to runs/<id>/analyses/states.json.

import type { Engine } from '../../../gpu/engine.js';
import { detectCollapse, type CollapseFinding, type CollapseStatus } from '../../../gpu/analysis/collapse.js';
import { checkStreamBudget, estimateStreamMemory } from '../../../gpu/analysis/memory-estimate.js';
import { entryStats, headLayout, isMemoryEntry, MAX_HEADS, type HeadStats } from '../../../gpu/analysis/state-stats.js';
import { streamScores, type HostState, type HostTensor } from '../../../gpu/analysis/stream.js';
import { implicitLayer, supportsImplicit } from '../../../gpu/analysis/implicit/index.js';
import { mixerLayers, type MixerLayer } from '../../../gpu/generate/memory.js';
import { mixerNode, mixerParams } from './implicit-attention.js';
import { DEFAULT_BUDGET_BYTES } from './extrapolation.js';
import { probeTokens, type ProbeKind } from './probes.js';
import { AnalysisError, loadRun, openRun, saveAnalysis, type AnalysisDocument, type AnalysisRun } from './run-model.js';

export interface StatesRequest {
  runsDir: string;
  run: string;
  step?: number;
  factor?: number;
  /** Tokens between state samples (the streamed chunk; default an eighth of T, at least 1). */
  every?: number;
  batch?: number;
  probe?: ProbeKind;
  prompt?: string;
  token?: number;
  /** The detector's ratio (default 4). */
  ratio?: number;
  maxHeads?: number;
  memoryBudgetBytes?: number;
  seed?: number;
}

const STATISTICS = ['rms', 'mean', 'variance', 'maxAbs'] as const;
// The detector compares magnitudes: the RMS and the standard deviation (the variance is a squared
// quantity, so a 4× ratio on it would be a 2× ratio in the state's own units).
const DETECTED = ['rms', 'std'] as const;

export interface EntrySeries {
  entry: string;
  /** The entry's shape for one sequence ([H, …]). */
  shape: number[];
  heads: number;
  /** Channels of the second axis per reported head (1 = real heads/channels). */
  groupSize: number;
  /** Per statistic: [head][sample]. */
  series: Record<(typeof STATISTICS)[number], number[][]>;
  collapse: ({ head: number; statistic: (typeof DETECTED)[number] } & CollapseFinding)[];
}

export interface DecaySeries {
  /** What a unit is (a head of a matrix state, a channel of a diagonal one). */
  unit: string;
  units: number;
  /** Units per reported group (as for the state heads). */
  groupSize: number;
  /** Mean log decay per group over the tokens of each sample window [group][sample] (≤ 0; 0 = no forgetting). */
  meanLogDecay: number[][];
}

export interface LayerStates {
  name: string;
  kind: string;
  family: string;
  entries: EntrySeries[];
  /** The decay of the state per token, from the family's gates (null where the family has none). */
  decay: DecaySeries | null;
}

export interface FlaggedHead {
  layer: string;
  entry: string;
  head: number;
  statistic: string;
  status: Exclude<CollapseStatus, 'stable'>;
  flaggedAt: number;
  onset: number;
}

export interface StatesResult {
  probe: string;
  /** Tokens absorbed at each sample. */
  positions: number[];
  layers: LayerStates[];
  flagged: FlaggedHead[];
}

export async function runStates(
  engine: Engine,
  request: StatesRequest,
): Promise<{ path: string; doc: AnalysisDocument; result: StatesResult }> {
  const run = openRun(request.runsDir, request.run);
  const loaded = loadRun(engine, run, request.step);
  try {
    const T = loaded.trainLength;
    const factor = request.factor ?? 16;
    if (!(factor > 1)) throw new AnalysisError(`states: factor ${factor} must be above 1 (the detector looks past T)`);
    const length = Math.round(factor * T);
    const every = request.every ?? Math.max(1, Math.round(T / 8));
    const batch = request.batch ?? 2;
    const probe = request.probe ?? 'validation';
    const ratio = request.ratio ?? 4;
    const maxHeads = request.maxHeads ?? MAX_HEADS;
    const estimate = await estimateStreamMemory(engine, loaded.probe, loaded.params, { batch, chunk: every, length });
    checkStreamBudget(engine, estimate, request.memoryBudgetBytes ?? DEFAULT_BUDGET_BYTES, 'states');
    const vocab = loaded.model.graph.doc.model.vocab_size;
    const tokens = await probeTokens(run, loaded.info, vocab, probe, {
      batch,
      length,
      seed: request.seed ?? 1,
      prompt: request.prompt,
      token: request.token,
    });

    const layers = mixerLayers(loaded.model).map((l) => ({ ...l, entries: new Map<string, HeadStats[][]>() }));
    const shapes = new Map<string, number[]>();
    const positions: number[] = [];
    const collect = (end: number, state: HostState) => {
      positions.push(end);
      for (const layer of layers)
        for (const [entry, tensor] of Object.entries(state.get(layer.name) ?? {})) {
          if (!isMemoryEntry(layer.family, entry)) continue;
          shapes.set(`${layer.name}/${entry}`, tensor.shape.slice(1));
          const samples = layer.entries.get(entry) ?? [];
          samples.push(entryStats(tensor, maxHeads));
          layer.entries.set(entry, samples);
        }
    };
    // The first sequence's mixer inputs, for the decay statistics computed from each family's gates.
    const inputs = new Map<string, Float64Array>();
    const keepInput = (name: string, start: number, x: HostTensor) => {
      const [, C, d] = x.shape;
      const all = inputs.get(name) ?? new Float64Array(tokens.length * d);
      all.set(x.data.subarray(0, C * d), start * d);
      inputs.set(name, all);
    };
    await streamScores(engine, loaded.probe, loaded.params, {
      ...tokens,
      chunk: every,
      onState: collect,
      onMixerInput: keepInput,
    });
    const decays = new Map<string, DecaySeries | null>();
    for (const layer of layers)
      decays.set(layer.name, await decaySeries(loaded, layer, inputs.get(layer.name)!, positions, every, maxHeads));

    const flagged: FlaggedHead[] = [];
    const result: StatesResult = {
      probe: tokens.description,
      positions,
      flagged,
      layers: layers.map((layer) => ({
        name: layer.name,
        kind: layer.kind,
        family: layer.family,
        entries: [...layer.entries].map(([entry, samples]) => {
          const shape = shapes.get(`${layer.name}/${entry}`)!;
          const { heads, groupSize } = headLayout([batch, ...shape], maxHeads);
          const series = Object.fromEntries(
            STATISTICS.map((s) => [s, Array.from({ length: heads }, (_, h) => samples.map((sample) => sample[h][s]))]),
          ) as EntrySeries['series'];
          const magnitude = { rms: series.rms, std: series.variance.map((v) => v.map(Math.sqrt)) };
          const collapse = DETECTED.flatMap((statistic) =>
            magnitude[statistic].map((values, head) => ({
              head,
              statistic,
              ...detectCollapse(positions, values, T, { ratio }),
            })),
          );
          for (const c of collapse)
            if (c.status !== 'stable')
              flagged.push({
                layer: layer.name,
                entry,
                head: c.head,
                statistic: c.statistic,
                status: c.status,
                flaggedAt: c.flaggedAt!,
                onset: c.onset!,
              });
          return { entry, shape, heads, groupSize, series, collapse };
        }),
        decay: decays.get(layer.name) ?? null,
      })),
    };
    const doc: AnalysisDocument = {
      analysis: 'states',
      run: run.id,
      step: loaded.step,
      created: new Date().toISOString(),
      trainLength: T,
      config: { factor, length, every, batch, probe, ratio, maxHeads, notes: tokens.notes },
      results: result,
    };
    return { path: saveAnalysis(run, 'states', doc), doc, result };
  } finally {
    loaded.release();
  }
}

/**
 * Mean log decay per unit group and sample window, from the family's own gates on the first sequence's
 * layer inputs (implicit/*.ts computes them exactly as the references do). Null for families without a
 * decay (attention, convolutions, nonlinear RNNs) or without a formulation yet.
 */
async function decaySeries(
  loaded: AnalysisRun,
  layer: MixerLayer,
  x: Float64Array,
  positions: number[],
  every: number,
  maxHeads: number,
): Promise<DecaySeries | null> {
  if (!supportsImplicit(layer.kind) || layer.family === 'nonlinear-rnn' || layer.family === 'attention') return null;
  const params = await mixerParams(loaded.params, layer.name);
  const built = implicitLayer(layer.kind, params, mixerNode(loaded.model, layer.name), layer.width, x);
  if (!built.logDecay) return null;
  const units = built.logDecay.length / built.T;
  const { heads: groups, groupSize } = headLayout([1, units], maxHeads);
  const meanLogDecay = Array.from({ length: groups }, (_, g) =>
    positions.map((end) => {
      let acc = 0;
      let n = 0;
      for (let t = Math.max(0, end - every); t < end; t++)
        for (let u = g * groupSize; u < Math.min(units, (g + 1) * groupSize); u++) {
          acc += built.logDecay![t * units + u];
          n++;
        }
      return acc / n;
    }),
  );
  return { unit: built.unit, units, groupSize, meanLogDecay };
}
