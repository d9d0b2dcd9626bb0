// The teacher's tokenizer.json. Import checks that StateLab's tokenizer (shared/tokenizers: BPE with the
// byte-level pipeline of GPT-2 and Llama 3) can run it; when it cannot, the weights still import and the
// report names the unsupported part (e.g. Llama 2's SentencePiece-style `model.byte_fallback`). The file
// is copied into the run either way, so the run is the whole teacher. `generationTokenizer` adapts it to
// what `statelab generate` needs.

import { readFileSync } from 'node:fs';
import { jsonTokenizer, type Tokenizer as GenerationTokenizer } from '../../gpu/generate/tokenizer.js';
import { loadTokenizer, TokenizerError, type Tokenizer } from '../../shared/tokenizers/index.js';

export interface TeacherTokenizerReport {
  /** The folder's tokenizer.json, null when there is none. */
  path: string | null;
  /** Why StateLab cannot tokenize with it; null when it can. */
  problem: string | null;
}

export function checkTeacherTokenizer(path: string | null, modelVocab: number): TeacherTokenizerReport {
  if (!path) return { path, problem: 'the folder has no tokenizer.json' };
  let tokenizer: Tokenizer;
  try {
    tokenizer = loadTokenizer(readFileSync(path, 'utf8'), path);
  } catch (error) {
    if (error instanceof TokenizerError) return { path, problem: error.message };
    throw error;
  }
  if (tokenizer.vocabSize > modelVocab)
    return {
      path,
      problem: `${path}: ${tokenizer.vocabSize} token ids, more than the model's vocab_size ${modelVocab}`,
    };
  return { path, problem: null };
}

/** A run's tokenizer.json for generation (what `statelab generate` uses). */
export function generationTokenizer(path: string): GenerationTokenizer {
  return jsonTokenizer(readFileSync(path, 'utf8'), path);
}
