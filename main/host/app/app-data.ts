// Data for app runs, prepared with the CLI's own dataset code (readDataset → tokenizer → buildTokenStream
// with its tail validation split), so a run the Worker trains sees the tokens `statelab resume` would.

import { join } from 'node:path';
import { LabApiError, type TokenData } from '../../../shared/lab-api.js';
import { ByteTokenizer } from '../../../shared/tokenizers/index.js';
import { buildTokenStream, readDataset } from '../datasets/index.js';
import { listBundledTexts } from '../bundled-texts.js';

export async function bundledTextTokens(textDir: string, id: string, validationFraction: number): Promise<TokenData> {
  if (!listBundledTexts(textDir).some((t) => t.id === id)) {
    throw new LabApiError('not-found', `readTextTokens: no bundled text "${id}"`);
  }
  const path = join(textDir, `${id}.txt`);
  const stream = await buildTokenStream(readDataset({ path, format: 'txt' }), new ByteTokenizer(), {
    validationFraction,
    source: path,
  });
  return {
    tokenizer: 'byte',
    vocabSize: 256,
    train: int32Bytes(stream.train),
    validation: int32Bytes(stream.validation),
  };
}

function int32Bytes(tokens: Int32Array): Uint8Array {
  // Int32Array is little-endian on every platform Node and Chromium run on.
  return new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);
}
