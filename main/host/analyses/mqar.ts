// MQAR accuracy against the number of key-value pairs (evals.md §2, Zoology's slice_keys=["num_kv_pairs"]):
// for each count, `samples` fresh examples of the run's MQAR task at that count (and, optionally, another
// sequence length); the accuracy is Zoology's — the mean over examples of the fraction of queries
// answered. Counts that do not fit the sequence (2·kv·passes + 2·kv > seq_len) are listed as skipped.
// Written to runs/<id>/analyses/mqar.json.

import type { Engine } from '../../../gpu/engine.js';
import { fraction, mean } from '../../../gpu/analysis/recall.js';
import { DEFAULT_BUDGET_BYTES } from './extrapolation.js';
import { loadRun, openRun, saveAnalysis, type AnalysisDocument } from './run-model.js';
import { evaluateTask, runTask } from './task-eval.js';
import { taskAtLength } from './task-length.js';

export interface MqarRequest {
  runsDir: string;
  run: string;
  step?: number;
  /** Key-value pair counts (default 1, 2, 4, … up to what the length allows). */
  kv?: number[];
  /** Sequence length (default the training length). */
  length?: number;
  samples?: number;
  batch?: number;
  memoryBudgetBytes?: number;
  seed?: number;
}

export interface MqarPoint {
  kv: number;
  /** Zoology's accuracy: mean over examples of the fraction of queries answered. */
  accuracy: number;
  /** Fraction of examples with every query answered. */
  exampleAccuracy: number;
}

export interface MqarResult {
  length: number;
  trainedKv: number | null;
  points: MqarPoint[];
  skipped: { kv: number; reason: string }[];
  samples: number;
}

export async function runMqar(
  engine: Engine,
  request: MqarRequest,
): Promise<{ path: string; doc: AnalysisDocument; result: MqarResult }> {
  const run = openRun(request.runsDir, request.run);
  const loaded = loadRun(engine, run, request.step);
  try {
    const { task, params } = runTask(loaded, ['mqar']);
    const length = request.length ?? loaded.trainLength;
    const passes = params.num_passes ?? 1;
    const maxKv = Math.floor(length / (2 * passes + 2));
    const kvs = request.kv ?? Array.from({ length: Math.floor(Math.log2(Math.max(1, maxKv))) + 1 }, (_, i) => 2 ** i);
    const samples = request.samples ?? 100;
    const points: MqarPoint[] = [];
    const skipped: MqarResult['skipped'] = [];
    for (const [i, kv] of kvs.entries()) {
      let resolved;
      try {
        resolved = taskAtLength(task, { ...params, num_kv_pairs: kv }, length);
      } catch (error) {
        skipped.push({ kv, reason: (error as Error).message });
        continue;
      }
      const scores = await evaluateTask(engine, loaded, resolved, {
        count: samples,
        seed: request.seed ?? 1,
        batch: request.batch ?? 64,
        chunk: loaded.trainLength,
        memoryBudgetBytes: request.memoryBudgetBytes ?? DEFAULT_BUDGET_BYTES,
        start: i * samples,
      });
      points.push({ kv, accuracy: mean(scores.accuracy), exampleAccuracy: fraction(scores.allCorrect) });
    }
    const result: MqarResult = { length, trainedKv: params.num_kv_pairs ?? null, points, skipped, samples };
    const doc: AnalysisDocument = {
      analysis: 'mqar',
      run: run.id,
      step: loaded.step,
      created: new Date().toISOString(),
      trainLength: loaded.trainLength,
      config: { task, params, length, kv: kvs, samples },
      results: result,
    };
    return { path: saveAnalysis(run, 'mqar', doc), doc, result };
  } finally {
    loaded.release();
  }
}
