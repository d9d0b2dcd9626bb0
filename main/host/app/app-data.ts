// Data for app runs, prepared with the CLI's own dataset code — readDataset → tokenizer (byte, char built
// from the data, or BPE trained on it) → buildTokenStream with its tail validation split, records joined
// by the end-of-text token — mirroring main/host/data-source.ts, so a run the Worker trains sees the
// tokens `statelab resume` would. User files live in the workspace's `data/` folder, by name.

import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import {
  DATA_FILE_NAME,
  LabApiError,
  type DataFileInfo,
  type DataPreview,
  type TextDataSpec,
  type TokenData,
} from '../../../shared/lab-api.js';
import { ByteTokenizer, CharTokenizer, trainBpe, type Tokenizer } from '../../../shared/tokenizers/index.js';
import { writeFileAtomic } from '../atomic-file.js';
import { listBundledTexts } from '../bundled-texts.js';
import {
  buildTokenStream,
  detectFormat,
  loadTokenizerFile,
  readDataset,
  yieldsDocuments,
  type DatasetFormat,
} from '../datasets/index.js';
import { confined, isInside } from './confine.js';

export function dataDir(workspaceRoot: string): string {
  return join(workspaceRoot, 'data');
}

function dataPath(workspaceRoot: string, name: string): string {
  if (!DATA_FILE_NAME.test(name) || name.includes('..')) {
    throw new LabApiError('bad-arguments', `data file name ${JSON.stringify(name)} is not a plain file name`);
  }
  const dir = dataDir(workspaceRoot);
  const path = resolve(dir, name);
  if (!path.startsWith(dir + sep)) throw new LabApiError('bad-arguments', `data file ${name} leaves the workspace`);
  return confined(workspaceRoot, path, `data file "${name}"`);
}

export function listDataFiles(workspaceRoot: string): DataFileInfo[] {
  const dir = dataDir(workspaceRoot);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => DATA_FILE_NAME.test(name) && isInside(workspaceRoot, join(dir, name)))
    .filter((name) => statSync(join(dir, name)).isFile())
    .sort()
    .map((name) => fileInfo(workspaceRoot, name));
}

function fileInfo(workspaceRoot: string, name: string): DataFileInfo {
  const stat = statSync(dataPath(workspaceRoot, name));
  let format: DatasetFormat | null = null;
  try {
    format = detectFormat(name);
  } catch {
    format = null;
  }
  return { name, bytes: stat.size, modified: stat.mtime.toISOString(), format };
}

/** Copies a file the user picked or dropped into `data/` (temp-then-rename); its format must be known. */
export function importDataFile(workspaceRoot: string, name: string, bytes: Uint8Array): DataFileInfo {
  const path = dataPath(workspaceRoot, name);
  try {
    detectFormat(name);
  } catch (error) {
    throw new LabApiError('bad-arguments', `importDataFile: ${(error as Error).message}`);
  }
  mkdirSync(dataDir(workspaceRoot), { recursive: true });
  writeFileAtomic(path, bytes);
  return fileInfo(workspaceRoot, name);
}

/** Where a data spec's text lives on disk, and how run.json names it for the CLI. */
export function resolveDataSpec(
  spec: TextDataSpec,
  textDir: string,
  workspaceRoot: string | null,
): { path: string; format: DatasetFormat; cliSpec: Record<string, unknown> } {
  if (spec.kind === 'bundled-text') {
    if (!listBundledTexts(textDir).some((t) => t.id === spec.id)) {
      throw new LabApiError('not-found', `no bundled text "${spec.id}"`);
    }
    const path = join(textDir, `${spec.id}.txt`);
    return {
      path,
      format: 'txt',
      cliSpec: { kind: 'text', path, tokenizer: 'byte', validationFraction: spec.validationFraction },
    };
  }
  if (!workspaceRoot) throw new LabApiError('not-found', 'no workspace is open');
  const path = dataPath(workspaceRoot, spec.name);
  if (!existsSync(path)) throw new LabApiError('not-found', `no data file "${spec.name}" in ${dataDir(workspaceRoot)}`);
  const format = detectFormat(spec.name);
  return {
    path,
    format,
    cliSpec: {
      kind: 'text',
      path,
      tokenizer: spec.tokenizer,
      format,
      ...(spec.field ? { field: spec.field } : {}),
      validationFraction: spec.validationFraction,
    },
  };
}

interface Prepared {
  key: string;
  tokenizer: Tokenizer;
  train: Int32Array;
  validation: Int32Array;
  truncated: boolean;
  sample: string;
}

/** The last prepared dataset, so previewing and then training tokenizes a big file once. */
let cache: Prepared | null = null;

export async function prepareTokens(
  spec: TextDataSpec,
  textDir: string,
  workspaceRoot: string | null,
): Promise<Prepared> {
  const { path, format } = resolveDataSpec(spec, textDir, workspaceRoot);
  return prepareSource({
    path,
    format,
    tokenizer: spec.kind === 'bundled-text' ? 'byte' : spec.tokenizer,
    field: spec.kind === 'file' ? spec.field : undefined,
    validationFraction: spec.validationFraction,
  });
}

/** A text source as run.json's CLI data spec names it (the tokenizer may be a tokenizer.json path). */
export interface TextSource {
  path: string;
  format: DatasetFormat;
  tokenizer: string;
  field?: string;
  validationFraction: number;
}

export async function prepareSource(source: TextSource): Promise<Prepared> {
  const { path, format, field, validationFraction } = source;
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new LabApiError('not-found', `the data file ${path} does not exist (any more)`);
  }
  const key = JSON.stringify([path, stat.size, stat.mtimeMs, source.tokenizer, field, validationFraction]);
  if (cache?.key === key) return cache;
  const texts = () => readDataset({ path, format, field });
  try {
    const tokenizer = await makeTokenizer(source.tokenizer, texts);
    const separator = yieldsDocuments(format)
      ? tokenizer.specialTokens.find((t) => t.content === '<|endoftext|>')?.id
      : undefined;
    const stream = await buildTokenStream(texts(), tokenizer, {
      validationFraction,
      separatorId: separator,
      source: path,
    });
    let sample = '';
    for await (const text of texts()) {
      sample += (sample ? '\n␞\n' : '') + text;
      if (sample.length >= 2000) break;
    }
    cache = { key, tokenizer, ...stream, sample: sample.slice(0, 2000) };
    return cache;
  } catch (error) {
    if (error instanceof LabApiError) throw error;
    throw new LabApiError('bad-arguments', (error as Error).message);
  }
}

/** The CLI's tokenizer choices (data-source.ts makeTokenizer); paths only as run.json names them. */
async function makeTokenizer(spec: string, texts: () => AsyncIterable<string>): Promise<Tokenizer> {
  if (spec === 'byte') return new ByteTokenizer();
  if (spec.endsWith('.json') && existsSync(spec)) return loadTokenizerFile(spec);
  if (spec === 'char') return CharTokenizer.fromStream(texts());
  const bpe = /^bpe:(\d+)$/.exec(spec);
  if (bpe) {
    const collected: string[] = [];
    for await (const text of texts()) collected.push(text);
    return trainBpe(collected, { vocabSize: Number(bpe[1]) });
  }
  throw new LabApiError('bad-arguments', `unknown tokenizer "${spec}" (use byte, char or bpe:<vocab size>)`);
}

export function tokenData(prepared: Prepared): TokenData {
  return {
    tokenizer: prepared.tokenizer.kind,
    vocabSize: prepared.tokenizer.vocabSize,
    train: int32Bytes(prepared.train),
    validation: int32Bytes(prepared.validation),
  };
}

export function dataPreview(prepared: Prepared): DataPreview {
  return {
    tokenizer: prepared.tokenizer.kind,
    vocabSize: prepared.tokenizer.vocabSize,
    trainTokens: prepared.train.length,
    validationTokens: prepared.validation.length,
    truncated: prepared.truncated,
    sample: prepared.sample,
    sampleTokens: prepared.tokenizer.encode(prepared.sample.slice(0, 200)).length,
  };
}

function int32Bytes(tokens: Int32Array): Uint8Array {
  // Int32Array is little-endian on every platform Node and Chromium run on.
  return new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);
}
