// Capacity against recurrent state size across runs (evals.md §1 Fig 12, §2 Zoology's recall–memory
// plot): each run is placed by its state size in bytes at fp32 (Σ over mixer layers of their recurrent
// floats × 4 — an attention layer's KV cache counted at the evaluated length, as Zoology's
// _compute_state_size does) and its recall: MQAR accuracy (mean over the evaluated KV counts, or at one
// count) or passkey capacity in tokens. Reads each run's saved analysis; writes <runs>/capacity-<metric>.json.

import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { compileGraph } from '../../../gpu/graph/compile.js';
import { mixerLayers } from '../../../gpu/generate/memory.js';
import { writeFileAtomic } from '../atomic-file.js';
import { AnalysisError, openRun } from './run-model.js';
import type { MqarResult } from './mqar.js';
import type { PasskeyResult } from './passkey.js';

export type CapacityMetric = 'mqar' | 'passkey';

export interface CapacityRequest {
  runsDir: string;
  runs: string[];
  metric: CapacityMetric;
  /** MQAR: the KV count to read (default: the mean over all evaluated counts). */
  kv?: number;
  /** Where to write (default <runs>/capacity-<metric>.json). */
  out?: string;
}

export interface CapacityPoint {
  run: string;
  name: string;
  /** The mixer kinds of the model, in order (its architecture). */
  mixers: string[];
  dModel: number;
  stateBytes: number;
  /** MQAR accuracy in [0, 1], or passkey capacity in tokens. */
  value: number;
}

export interface CapacityResult {
  metric: CapacityMetric;
  unit: string;
  points: CapacityPoint[];
  /** Per architecture: the smallest state whose value reaches the target (MQAR ≥ 0.99), if any. */
  saturation: { mixers: string; stateBytes: number | null }[];
}

/** State bytes of one sequence at `tokens` tokens (attention layers grow with it). */
export function stateBytesAt(graph: ReturnType<typeof compileGraph>, tokens: number): number {
  const families = new Map(mixerLayers(graph).map((l) => [l.name, l.family]));
  return graph.modules.reduce((n, m) => {
    const family = families.get(m.name);
    if (!family) return n;
    return n + 4 * m.stateFloats * (family === 'attention' ? tokens : 1);
  }, 0);
}

export function runCapacity(request: CapacityRequest): { path: string; result: CapacityResult } {
  if (request.runs.length === 0) throw new AnalysisError('capacity: name at least one run');
  const points = request.runs.map((ref): CapacityPoint => {
    const run = openRun(request.runsDir, ref);
    const file = join(run.dir, 'analyses', `${request.metric}.json`);
    if (!existsSync(file))
      throw new AnalysisError(
        `capacity: run ${run.id} has no ${request.metric} analysis yet (statelab inspect ${run.id} --analysis ${request.metric})`,
      );
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { results: MqarResult | PasskeyResult };
    const graph = run.graph();
    const model = compileGraph(graph);
    let value: number;
    let tokens: number;
    if (request.metric === 'mqar') {
      const r = saved.results as MqarResult;
      tokens = r.length;
      const chosen = request.kv === undefined ? r.points : r.points.filter((p) => p.kv === request.kv);
      if (chosen.length === 0)
        throw new AnalysisError(`capacity: run ${run.id}'s MQAR analysis has no point at kv = ${request.kv}`);
      value = chosen.reduce((s, p) => s + p.accuracy, 0) / chosen.length;
    } else {
      const r = saved.results as PasskeyResult;
      tokens = Math.max(...r.lengths);
      value = r.capacity;
    }
    return {
      run: run.id,
      name: run.info().name,
      mixers: mixerLayers(model).map((l) => l.kind),
      dModel: graph.model.d_model,
      stateBytes: stateBytesAt(model, tokens),
      value,
    };
  });
  points.sort((a, b) => a.stateBytes - b.stateBytes);
  const architectures = [...new Set(points.map((p) => p.mixers.join('+')))];
  const result: CapacityResult = {
    metric: request.metric,
    unit: request.metric === 'mqar' ? 'accuracy' : 'tokens',
    points,
    saturation: architectures.map((mixers) => ({
      mixers,
      stateBytes:
        request.metric === 'mqar'
          ? (points.find((p) => p.mixers.join('+') === mixers && p.value >= 0.99)?.stateBytes ?? null)
          : null,
    })),
  };
  const path = request.out ?? join(request.runsDir, `capacity-${request.metric}.json`);
  writeFileAtomic(
    path,
    `${JSON.stringify({ analysis: 'capacity', created: new Date().toISOString(), ...result }, null, 1)}\n`,
  );
  return { path, result };
}
