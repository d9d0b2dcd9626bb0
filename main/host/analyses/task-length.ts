// A task's parameters at another sequence length: the "train short, test long" sweeps (parity 40 → 256,
// modular arithmetic 39 → 499, induction heads 256 → 2^16, passkey and MQAR at longer contexts) need the
// same task, same alphabet, only longer. Tasks name their length differently; this table knows each.

import { resolveTask, type ResolvedTask } from '../../../shared/tasks/index.js';
import { AnalysisError } from './run-model.js';

/** The parameters that make `task` produce sequences of (about) `length` tokens; throws if it cannot. */
export function taskAtLength(task: string, params: Record<string, number>, length: number): ResolvedTask {
  const p = { ...params };
  switch (task) {
    case 'parity':
      // Exactly `length` bits (seq_len = bits + 1): every test example is as long as asked.
      p.min_bits = length - 1;
      p.max_bits = length - 1;
      break;
    case 'modular-arithmetic':
      p.seq_len = length % 2 ? length : length - 1; // the task's expressions have odd length
      break;
    case 'mqar':
      p.seq_len = length % 2 ? length - 1 : length;
      if (p.vocab_size !== undefined && p.vocab_size <= p.seq_len)
        throw new AnalysisError(
          `mqar at length ${length}: the task needs vocab_size above seq_len, and the run's model has ${p.vocab_size}`,
        );
      break;
    case 'passkey':
    case 'induction-heads':
    case 'selective-copy':
    case 's5':
      p.seq_len = length;
      break;
    default:
      throw new AnalysisError(`task "${task}" has no length parameter the analyses know how to change`);
  }
  return resolveTask(task, p);
}
