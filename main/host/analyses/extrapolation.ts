// Length extrapolation of a run (evals.md §3's protocol): each probe streams `factor` × the training
// length through the checkpoint with the state carried across chunks, and the result gives the mean loss
// per position, per bucket, at 1/2/4/8/16×, and the extrapolation factor. Written to
// runs/<id>/analyses/extrapolation.json.

import type { Engine } from '../../../gpu/engine.js';
import {
  buckets,
  extrapolationFactor,
  lossAtMultiples,
  positionLoss,
  type Bucket,
  type ExtrapolationFactor,
  type MultipleLoss,
} from '../../../gpu/analysis/extrapolation.js';
import { checkStreamBudget, estimateStreamMemory } from '../../../gpu/analysis/memory-estimate.js';
import { streamScores } from '../../../gpu/analysis/stream.js';
import { AnalysisError, loadRun, openRun, saveAnalysis, type AnalysisDocument } from './run-model.js';
import { probeTokens, PROBES, type ProbeKind } from './probes.js';

export const MULTIPLES = [1, 2, 4, 8, 16, 32, 64] as const;

export interface ExtrapolationRequest {
  runsDir: string;
  run: string;
  step?: number;
  /** Probe length as a multiple of the training length (default 16). */
  factor?: number;
  batch?: number;
  /** Tokens per streamed chunk (default: the training length). */
  chunk?: number;
  /** Bucket size in tokens (default: an eighth of the training length, at least 8). */
  bucket?: number;
  probes?: ProbeKind[];
  prompt?: string;
  token?: number;
  /** ε of the extrapolation factor: perplexity within (1 + ε) of the one at T (default 0.1). */
  tolerance?: number;
  /**
   * Window of the extrapolation factor in tokens (default T): the reference is the loss over the last
   * window before T, and windows of this size are walked past T. Windows much shorter than T make the
   * factor follow the noise of a few sequences (a small probe's 32-token buckets vary by ±0.2 nats).
   */
  factorWindow?: number;
  memoryBudgetBytes?: number;
  seed?: number;
}

export interface ProbeResult {
  probe: ProbeKind;
  description: string;
  notes: string[];
  length: number;
  /** Mean loss at every position (null where nothing is scored). */
  positionLoss: number[];
  buckets: Bucket[];
  multiples: MultipleLoss[];
  /** Null when nothing up to the training length is scored (a task that scores only its last token). */
  extrapolation: ExtrapolationFactor | null;
}

export const DEFAULT_BUDGET_BYTES = 4 * 2 ** 30;

export async function runExtrapolation(
  engine: Engine,
  request: ExtrapolationRequest,
): Promise<{ path: string; doc: AnalysisDocument; results: ProbeResult[] }> {
  const run = openRun(request.runsDir, request.run);
  const loaded = loadRun(engine, run, request.step);
  try {
    const T = loaded.trainLength;
    const factor = request.factor ?? 16;
    if (!(factor >= 1)) throw new AnalysisError(`extrapolation: factor ${factor} must be at least 1`);
    const length = Math.round(factor * T);
    const batch = request.batch ?? 4;
    const chunk = request.chunk ?? T;
    const bucket = request.bucket ?? Math.min(T, Math.max(8, Math.round(T / 8)));
    const tolerance = request.tolerance ?? 0.1;
    const factorWindow = request.factorWindow ?? T;
    const probes = request.probes ?? [...PROBES];
    const vocab = loaded.model.graph.doc.model.vocab_size;
    const estimate = await estimateStreamMemory(engine, loaded.probe, loaded.params, { batch, chunk, length });
    checkStreamBudget(engine, estimate, request.memoryBudgetBytes ?? DEFAULT_BUDGET_BYTES, 'extrapolation');

    const results: ProbeResult[] = [];
    for (const kind of probes) {
      const tokens = await probeTokens(run, loaded.info, vocab, kind, {
        batch,
        length,
        seed: request.seed ?? 1,
        prompt: request.prompt,
        token: request.token,
      });
      const scores = await streamScores(engine, loaded.probe, loaded.params, { ...tokens, chunk });
      const perPosition = positionLoss(scores, tokens.batch, tokens.length);
      const reference = lossAtMultiples(perPosition, T, [1], bucket)[0];
      const scoredAtT = reference !== undefined && Number.isFinite(reference.loss);
      if (!scoredAtT)
        tokens.notes.push(
          'no position up to the training length is scored: no extrapolation factor (see state-tracking)',
        );
      results.push({
        probe: kind,
        description: tokens.description,
        notes: tokens.notes,
        length: tokens.length,
        positionLoss: Array.from(perPosition.loss),
        buckets: buckets(perPosition, bucket),
        multiples: lossAtMultiples(perPosition, T, MULTIPLES, bucket),
        extrapolation: scoredAtT ? extrapolationFactor(perPosition, T, factorWindow, factorWindow, tolerance) : null,
      });
    }
    const doc: AnalysisDocument = {
      analysis: 'extrapolation',
      run: run.id,
      step: loaded.step,
      created: new Date().toISOString(),
      trainLength: T,
      config: { factor, length, batch, chunk, bucket, tolerance, factorWindow, probes, memoryEstimate: estimate },
      results,
    };
    return { path: saveAnalysis(run, 'extrapolation', doc), doc, results };
  } finally {
    loaded.release();
  }
}
