// Public API of shared/tokenizers: byte-level, char-level and BPE tokenizers, the BPE trainer, and
// Hugging Face tokenizer.json loading/saving (toJSON).
export {
  TokenizerError,
  type HfTokenizerJson,
  type HfAddedToken,
  type HfBpeModel,
  type SpecialToken,
  type Tokenizer,
} from './tokenizer.js';
export { ByteTokenizer } from './byte.js';
export { CharTokenizer, type CharTokenizerOptions } from './char.js';
export { BpeTokenizer } from './bpe.js';
export { BpeTrainer, trainBpe, type BpeTrainOptions } from './bpe-train.js';
export { loadTokenizer } from './load.js';
export { byteChar, charByte, gpt2Split, toByteLevel, GPT2_PATTERN } from './byte-level.js';
