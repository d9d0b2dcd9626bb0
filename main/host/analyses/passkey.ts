// Passkey retrieval as a depth × context-length heatmap (evals.md §1, Stuffed Mamba's passkey.py/plot.py):
// for each length and each of `depths` depth bins (needle at (i + ½)/depths of the filler), `samples`
// fresh examples of the run's passkey task; an example counts when every digit of the key is predicted.
// The capacity is the longest evaluated length whose mean accuracy over depths stays ≥ the threshold.
// Written to runs/<id>/analyses/passkey.json.

import type { Engine } from '../../../gpu/engine.js';
import { fraction } from '../../../gpu/analysis/recall.js';
import { DEFAULT_BUDGET_BYTES } from './extrapolation.js';
import { AnalysisError, loadRun, openRun, saveAnalysis, type AnalysisDocument } from './run-model.js';
import { evaluateTask, runTask } from './task-eval.js';
import { taskAtLength } from './task-length.js';

export interface PasskeyRequest {
  runsDir: string;
  run: string;
  step?: number;
  /** Context lengths in tokens (default 0.5, 1, 2, 4, 8, 16 × the training length). */
  lengths?: number[];
  depths?: number;
  samples?: number;
  batch?: number;
  threshold?: number;
  memoryBudgetBytes?: number;
  seed?: number;
}

export interface PasskeyResult {
  lengths: number[];
  /** Depth of each row: the needle's position as a fraction of the filler. */
  depths: number[];
  /** accuracy[depth][length]: fraction of examples with every digit right. */
  accuracy: number[][];
  /** Mean over depths per length. */
  meanAccuracy: number[];
  samples: number;
  threshold: number;
  /** Longest length whose mean accuracy ≥ threshold with every shorter evaluated length also ≥ it (0 if none). */
  capacity: number;
}

export async function runPasskey(
  engine: Engine,
  request: PasskeyRequest,
): Promise<{ path: string; doc: AnalysisDocument; result: PasskeyResult }> {
  const run = openRun(request.runsDir, request.run);
  const loaded = loadRun(engine, run, request.step);
  try {
    const { task, params } = runTask(loaded, ['passkey']);
    const T = loaded.trainLength;
    const lengths = (request.lengths ?? [0.5, 1, 2, 4, 8, 16].map((m) => Math.round(m * T))).filter(
      (l, i, a) => a.indexOf(l) === i,
    );
    const bins = request.depths ?? 10;
    const samples = request.samples ?? 20;
    if (!(bins >= 1 && samples >= 1)) throw new AnalysisError('passkey: depths and samples must be at least 1');
    const depths = Array.from({ length: bins }, (_, i) => (i + 0.5) / bins);
    const threshold = request.threshold ?? 0.9;
    const accuracy = depths.map(() => new Array<number>(lengths.length).fill(NaN));
    for (const [li, length] of lengths.entries())
      for (const [di, depth] of depths.entries()) {
        const resolved = taskAtLength(task, { ...params, depth_min: depth, depth_max: depth }, length);
        const scores = await evaluateTask(engine, loaded, resolved, {
          count: samples,
          seed: request.seed ?? 1,
          batch: request.batch ?? 64,
          chunk: T,
          memoryBudgetBytes: request.memoryBudgetBytes ?? DEFAULT_BUDGET_BYTES,
          start: (li * bins + di) * samples,
        });
        accuracy[di][li] = fraction(scores.allCorrect);
      }
    const meanAccuracy = lengths.map((_, li) => depths.reduce((s, _d, di) => s + accuracy[di][li], 0) / bins);
    let capacity = 0;
    for (const [li, length] of lengths.entries()) {
      if (!(meanAccuracy[li] >= threshold)) break;
      capacity = length;
    }
    const result: PasskeyResult = { lengths, depths, accuracy, meanAccuracy, samples, threshold, capacity };
    const doc: AnalysisDocument = {
      analysis: 'passkey',
      run: run.id,
      step: loaded.step,
      created: new Date().toISOString(),
      trainLength: T,
      config: { task, params, lengths, depths: bins, samples, threshold },
      results: result,
    };
    return { path: saveAnalysis(run, 'passkey', doc), doc, result };
  } finally {
    loaded.release();
  }
}
