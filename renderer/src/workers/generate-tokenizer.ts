// The run's tokenizer as generation needs it (gpu/generate's `Tokenizer`): byte-level UTF-8, or an imported
// teacher's tokenizer.json through shared/tokenizers. The page may not import main/, so the stream decoder
// of main/import/tokenizer.ts (`generationTokenizer`, what `statelab generate` uses) is mirrored here: it
// decodes everything generated so far and hands out the new text, holding it back while it ends in U+FFFD
// (a character whose bytes are still arriving).

import { byteTokenizer, type StreamDecoder, type Tokenizer } from '../../../gpu/generate/tokenizer';
import type { PlaygroundTokenizer } from '../../../shared/lab-api';
import { loadTokenizer } from '../../../shared/tokenizers/index';

export function playgroundTokenizer(spec: PlaygroundTokenizer, modelVocab: number): Tokenizer {
  if (spec.kind === 'byte') return byteTokenizer(modelVocab);
  const tokenizer = loadTokenizer(spec.json, 'tokenizer.json');
  return {
    name: `${tokenizer.kind} (tokenizer.json)`,
    vocabSize: tokenizer.vocabSize,
    encode: (text) => tokenizer.encode(text),
    decode: (ids) => tokenizer.decode(ids),
    streamDecoder(): StreamDecoder {
      const ids: number[] = [];
      let emitted = '';
      const next = (final: boolean) => {
        const text = tokenizer.decode(ids);
        if (!final && text.endsWith('\uFFFD')) return '';
        const fresh = text.slice(emitted.length);
        emitted = text;
        return fresh;
      };
      return {
        push: (id) => {
          ids.push(id);
          return next(false);
        },
        flush: () => next(true),
      };
    },
  };
}
