// State tracking trained short, tested long (evals.md §7: parity 40 → 256, modular arithmetic 39 → 499;
// also induction heads, selective copy, S5): the run's task regenerated at longer lengths, with the
// token accuracy over scored positions, the fraction of sequences entirely right, and the accuracy of
// the last scored position (the parity bit, the final value). Written to runs/<id>/analyses/state-tracking.json.

import type { Engine } from '../../../gpu/engine.js';
import { fraction, mean } from '../../../gpu/analysis/recall.js';
import { DEFAULT_BUDGET_BYTES } from './extrapolation.js';
import { AnalysisError, loadRun, openRun, saveAnalysis, type AnalysisDocument } from './run-model.js';
import { evaluateTask, runTask } from './task-eval.js';
import { taskAtLength } from './task-length.js';

export interface StateTrackingRequest {
  runsDir: string;
  run: string;
  step?: number;
  /** Test lengths in tokens (default 1, 2, 4, 8 × the training length). */
  lengths?: number[];
  samples?: number;
  batch?: number;
  memoryBudgetBytes?: number;
  seed?: number;
}

export interface LengthPoint {
  /** The length asked for and the task's actual sequence length. */
  length: number;
  seqLen: number;
  tokenAccuracy: number;
  sequenceAccuracy: number;
  lastAccuracy: number;
}

export async function runStateTracking(
  engine: Engine,
  request: StateTrackingRequest,
): Promise<{ path: string; doc: AnalysisDocument; result: { task: string; points: LengthPoint[] } }> {
  const run = openRun(request.runsDir, request.run);
  const loaded = loadRun(engine, run, request.step);
  try {
    const { task, params } = runTask(loaded);
    const T = loaded.trainLength;
    const lengths = request.lengths ?? [1, 2, 4, 8].map((m) => m * T);
    const samples = request.samples ?? 100;
    if (lengths.some((l) => !Number.isInteger(l) || l < 2))
      throw new AnalysisError('state-tracking: lengths must be integers ≥ 2');
    const points: LengthPoint[] = [];
    for (const [i, length] of lengths.entries()) {
      const resolved = taskAtLength(task, params, length);
      const scores = await evaluateTask(engine, loaded, resolved, {
        count: samples,
        seed: request.seed ?? 1,
        batch: request.batch ?? 64,
        chunk: T,
        memoryBudgetBytes: request.memoryBudgetBytes ?? DEFAULT_BUDGET_BYTES,
        start: i * samples,
      });
      points.push({
        length,
        seqLen: resolved.seqLen,
        tokenAccuracy: mean(scores.accuracy.filter(Number.isFinite)),
        sequenceAccuracy: fraction(scores.allCorrect),
        lastAccuracy: fraction(scores.lastCorrect),
      });
    }
    const doc: AnalysisDocument = {
      analysis: 'state-tracking',
      run: run.id,
      step: loaded.step,
      created: new Date().toISOString(),
      trainLength: T,
      config: { task, params, lengths, samples },
      results: { task, points },
    };
    return { path: saveAnalysis(run, 'state-tracking', doc), doc, result: { task, points } };
  } finally {
    loaded.release();
  }
}
