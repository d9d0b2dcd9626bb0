// The run's tokenizer as generation needs it (gpu/generate's `Tokenizer`): byte-level UTF-8, or an imported
// teacher's tokenizer.json — the same adapters `statelab generate` uses.

import { byteTokenizer, jsonTokenizer, type Tokenizer } from '../../../gpu/generate/tokenizer';
import type { PlaygroundTokenizer } from '../../../shared/lab-api';

export function playgroundTokenizer(spec: PlaygroundTokenizer, modelVocab: number): Tokenizer {
  if (spec.kind === 'byte') return byteTokenizer(modelVocab);
  return jsonTokenizer(spec.json, 'tokenizer.json');
}
