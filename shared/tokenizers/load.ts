// Loads a Hugging Face tokenizer.json (a file's text or its parsed object). Only the BPE model is
// supported; anything else — WordPiece, Unigram, WordLevel, or BPE options that change how text is split
// (dropout, subword prefixes, byte fallback) — is refused with its name, never approximated. The
// post_processor (e.g. adding BOS/EOS) is written back by toJSON but not applied by encode: language-model
// training streams want the text's own tokens.

import { BpeTokenizer } from './bpe.js';
import { TokenizerError, type HfTokenizerJson, type Tokenizer } from './tokenizer.js';

export function loadTokenizer(input: string | unknown, source = 'tokenizer.json'): Tokenizer {
  let json: unknown = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (error) {
      throw new TokenizerError(source, `not valid JSON (${(error as Error).message})`);
    }
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new TokenizerError(source, 'not a JSON object');
  const file = json as Record<string, unknown>;
  const model = file.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object') throw new TokenizerError(source, 'has no "model" object');
  // Files from before tokenizers 0.10 have no model.type; they are BPE when they carry merges.
  const type = model.type ?? (Array.isArray(model.merges) ? 'BPE' : undefined);
  if (type !== 'BPE')
    throw new TokenizerError(source, `model type ${JSON.stringify(type)} is not supported (supported: BPE)`);
  if (model.dropout !== null && model.dropout !== undefined && model.dropout !== 0)
    throw new TokenizerError(source, `model.dropout ${model.dropout} is not supported (BPE dropout is random)`);
  for (const field of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[field] !== null && model[field] !== undefined && model[field] !== '')
      throw new TokenizerError(source, `model.${field} ${JSON.stringify(model[field])} is not supported`);
  }
  if (model.byte_fallback === true) throw new TokenizerError(source, 'model.byte_fallback is not supported');
  if (!model.vocab || typeof model.vocab !== 'object' || Array.isArray(model.vocab))
    throw new TokenizerError(source, 'model.vocab is not an object of token → id');
  if (!Array.isArray(model.merges)) throw new TokenizerError(source, 'model.merges is not a list');
  if (model.unk_token !== null && model.unk_token !== undefined && typeof model.unk_token !== 'string')
    throw new TokenizerError(source, 'model.unk_token is not a string');
  if (file.added_tokens !== undefined && !Array.isArray(file.added_tokens))
    throw new TokenizerError(source, 'added_tokens is not a list');
  const normalized: HfTokenizerJson = {
    version: typeof file.version === 'string' ? file.version : '1.0',
    truncation: file.truncation ?? null,
    padding: file.padding ?? null,
    added_tokens: (file.added_tokens as HfTokenizerJson['added_tokens']) ?? [],
    normalizer: (file.normalizer as HfTokenizerJson['normalizer']) ?? null,
    pre_tokenizer: (file.pre_tokenizer as HfTokenizerJson['pre_tokenizer']) ?? null,
    post_processor: (file.post_processor as HfTokenizerJson['post_processor']) ?? null,
    decoder: (file.decoder as HfTokenizerJson['decoder']) ?? null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: (model.unk_token as string | null | undefined) ?? null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: model.fuse_unk === true,
      byte_fallback: false,
      ignore_merges: model.ignore_merges === true,
      vocab: model.vocab as Record<string, number>,
      merges: model.merges as HfTokenizerJson['model']['merges'],
    },
  };
  return new BpeTokenizer(normalized, source);
}
