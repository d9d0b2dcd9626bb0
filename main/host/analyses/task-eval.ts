// Evaluates a task-trained run on freshly generated examples of its task (the shared/tasks generators,
// validation stream) with some parameters changed — a longer sequence, a needle depth, a number of
// key-value pairs — streaming them through the checkpoint in sub-batches that fit the memory budget.

import type { Engine } from '../../../gpu/engine.js';
import { checkStreamBudget, estimateStreamMemory, MemoryBudgetError } from '../../../gpu/analysis/memory-estimate.js';
import { scoreExamples, type ExampleScores } from '../../../gpu/analysis/recall.js';
import { streamScores } from '../../../gpu/analysis/stream.js';
import { generateExamples, type ResolvedTask } from '../../../shared/tasks/index.js';
import { runData } from './probes.js';
import { AnalysisError, type AnalysisRun } from './run-model.js';

/** The run's task and its training parameters; refuses runs trained on text or on another task. */
export function runTask(
  loaded: AnalysisRun,
  expected?: readonly string[],
): { task: string; params: Record<string, number> } {
  const data = runData(loaded.info);
  if (data.kind !== 'task')
    throw new AnalysisError(
      `run ${loaded.run.id} was trained on text, not on a synthetic task${expected ? ` (${expected.join(' or ')})` : ''}`,
    );
  if (expected && !expected.includes(data.task))
    throw new AnalysisError(
      `run ${loaded.run.id} was trained on the task "${data.task}", not ${expected.join(' or ')}`,
    );
  return { task: data.task, params: data.params ?? {} };
}

export interface TaskEvalOptions {
  count: number;
  seed: number;
  /** Examples per streamed pass (split further when over the budget). */
  batch: number;
  chunk: number;
  memoryBudgetBytes: number;
  /** Offset of the examples in the validation stream (different cells draw different examples). */
  start?: number;
}

export async function evaluateTask(
  engine: Engine,
  loaded: AnalysisRun,
  resolved: ResolvedTask,
  o: TaskEvalOptions,
): Promise<ExampleScores> {
  const vocab = loaded.model.graph.doc.model.vocab_size;
  if (resolved.vocabSize > vocab)
    throw new AnalysisError(`task ${resolved.task.name} needs ${resolved.vocabSize} token ids; the model has ${vocab}`);
  const length = resolved.seqLen;
  let batch = Math.min(o.batch, o.count);
  // Halve the pass until one fits; a single example that does not fit is refused with its estimate.
  for (;;) {
    const estimate = await estimateStreamMemory(engine, loaded.probe, loaded.params, { batch, chunk: o.chunk, length });
    try {
      checkStreamBudget(engine, estimate, o.memoryBudgetBytes, `${resolved.task.name} at length ${length}`);
      break;
    } catch (error) {
      if (!(error instanceof MemoryBudgetError) || batch === 1) throw error;
      batch = Math.ceil(batch / 2);
    }
  }
  const all: ExampleScores = { accuracy: [], allCorrect: [], lastCorrect: [] };
  for (let first = 0; first < o.count; first += batch) {
    const n = Math.min(batch, o.count - first);
    const ex = generateExamples(resolved.task, resolved.params, o.seed, (o.start ?? 0) + first, n, 1);
    const scores = await streamScores(engine, loaded.probe, loaded.params, {
      inputs: ex.inputs,
      targets: ex.targets,
      batch: n,
      length,
      chunk: o.chunk,
    });
    const s = scoreExamples(scores, ex.targets, n, length);
    all.accuracy.push(...s.accuracy);
    all.allCorrect.push(...s.allCorrect);
    all.lastCorrect.push(...s.lastCorrect);
  }
  return all;
}
