// A finished run's sweep metric, read from (and, for MQAR, written into) its run folder: the validation
// loss is the last one the trainer logged; MQAR accuracy is Zoology's (mean fraction of queries answered)
// on fresh examples at the trained number of pairs, saved as analyses/mqar.json like `statelab inspect`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricsRow } from '../../../gpu/train/trainer.js';
import { resolveTask } from '../../../shared/tasks/index.js';
import type { SweepMetric } from '../../../shared/sweeps/schema.js';
import { runMqar } from '../analyses/mqar.js';
import { createNodeEngine } from '../node-gpu.js';
import type { Run } from '../runs/run-store.js';
import type { PlannedPoint } from './plan.js';

export interface PointMetrics {
  valLoss?: number;
  accuracy?: number;
  /** Steps trained (the last metrics row). */
  steps: number;
  trainLoss?: number;
}

export function metricsFromRows(rows: MetricsRow[]): PointMetrics {
  const last = rows[rows.length - 1];
  const withVal = rows.filter((r) => r.val_loss !== undefined && Number.isFinite(r.val_loss));
  return {
    steps: last ? last.step + 1 : 0,
    trainLoss: last && Number.isFinite(last.loss) ? last.loss : undefined,
    valLoss: withVal.length ? withVal[withVal.length - 1].val_loss : undefined,
  };
}

/** Trained MQAR pairs of a point (the task's default when the sweep does not set them). */
export function trainedKv(point: PlannedPoint): number {
  if (point.dataSpec.kind !== 'task') throw new Error(`run ${point.id}: MQAR accuracy needs the mqar task`);
  return resolveTask(point.dataSpec.task, point.dataSpec.params ?? {}).params.num_kv_pairs;
}

export async function evaluatePoint(
  point: PlannedPoint,
  run: Run,
  runsDir: string,
  metric: SweepMetric,
  samples: number,
): Promise<PointMetrics> {
  const found = metricsFromRows(run.metrics());
  if (metric !== 'mqar_accuracy' || run.checkpointSteps().length === 0) return found;
  const engine = await createNodeEngine();
  try {
    const { result } = await runMqar(engine, {
      runsDir,
      run: run.dir,
      kv: [trainedKv(point)],
      samples,
      batch: Math.min(samples, point.train.batch),
      seed: 1,
    });
    return { ...found, accuracy: result.points[0]?.accuracy };
  } finally {
    engine.destroy();
  }
}

/** MQAR accuracy saved in a run folder at the given pair count, if the run was evaluated. */
export function savedAccuracy(run: Run, kv: number): number | undefined {
  try {
    const doc = JSON.parse(readFileSync(join(run.dir, 'analyses', 'mqar.json'), 'utf8')) as {
      results?: { points?: { kv: number; accuracy: number | null }[] };
    };
    const point = doc.results?.points?.find((p) => p.kv === kv);
    return point?.accuracy ?? undefined;
  } catch {
    return undefined;
  }
}
