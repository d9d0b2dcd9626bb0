// tokenizer.json on disk: saved temp-then-rename (a crash never leaves half a file), loaded with the
// file's path in every error.

import { readFile } from 'node:fs/promises';
import { loadTokenizer, type Tokenizer } from '../../../shared/tokenizers/index.js';
import { writeFileAtomic } from '../atomic-file.js';
import { DatasetError, describeFsError } from './errors.js';

export function saveTokenizerFile(path: string, tokenizer: Tokenizer): void {
  const text = JSON.stringify(tokenizer.toJSON(), null, 2) + '\n';
  try {
    writeFileAtomic(path, text);
  } catch (error) {
    throw new DatasetError(path, `cannot write (${describeFsError(error)})`);
  }
}

export async function loadTokenizerFile(path: string): Promise<Tokenizer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DatasetError(path, `cannot read (${describeFsError(error)})`);
  }
  return loadTokenizer(text, path);
}
