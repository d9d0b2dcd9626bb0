// Scoring of the recall and state-tracking probes from per-token scores: an example's predictions are
// the arg-max tokens at its scored positions (teacher-forced: with every earlier answer token given, which
// is exactly when greedy decoding would produce the whole answer). Zoology's MQAR accuracy is the mean
// over examples of each example's fraction of correct scored positions; passkey retrieval counts an
// example correct only when every digit is (Stuffed Mamba's "the key is in the output").

import { SCORE } from './token-scores.js';

export interface ExampleScores {
  /** Fraction of scored positions predicted correctly, per example (NaN when nothing is scored). */
  accuracy: number[];
  /** Whether every scored position is correct, per example. */
  allCorrect: boolean[];
  /** Whether the last scored position is correct (the final answer of parity, final-only arithmetic). */
  lastCorrect: boolean[];
}

export function scoreExamples(scores: Float32Array, targets: Int32Array, batch: number, length: number): ExampleScores {
  const out: ExampleScores = { accuracy: [], allCorrect: [], lastCorrect: [] };
  for (let b = 0; b < batch; b++) {
    let scored = 0;
    let correct = 0;
    let last = false;
    for (let t = 0; t < length; t++) {
      const at = (b * length + t) * 3;
      if (scores[at + SCORE.SCORED] === 0) continue;
      scored++;
      last = scores[at + SCORE.ARGMAX] === targets[b * length + t];
      if (last) correct++;
    }
    out.accuracy.push(scored ? correct / scored : NaN);
    out.allCorrect.push(scored > 0 && correct === scored);
    out.lastCorrect.push(scored > 0 && last);
  }
  return out;
}

export const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
export const fraction = (xs: readonly boolean[]) => mean(xs.map((x) => (x ? 1 : 0)));
