// Reads a Hugging Face model folder: config.json, the weights (model.safetensors, or shards listed by
// model.safetensors.index.json) widened to float32, and where its tokenizer.json is. Nothing here knows
// an architecture; llama.ts and gpt2.ts map what this returns.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';
import { ConfigReader } from './config.js';
import { TeacherImportError } from './errors.js';
import type { HfTensor } from './tensors.js';

export interface HfFolder {
  dir: string;
  config: ConfigReader;
  /** The weights file (or the index of the shards), as errors name it. */
  weightsSource: string;
  tensors: Map<string, HfTensor>;
  /** tokenizer.json, when the folder has one. */
  tokenizerPath: string | null;
}

export function readConfig(dir: string): ConfigReader {
  const path = join(dir, 'config.json');
  if (!existsSync(path))
    throw new TeacherImportError(
      `${path} does not exist (a Hugging Face model folder has config.json and model.safetensors)`,
    );
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new TeacherImportError(`${path}: malformed JSON (${(error as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new TeacherImportError(`${path}: not a JSON object`);
  return new ConfigReader(path, json as Record<string, unknown>);
}

export function readHfFolder(dir: string): HfFolder {
  const config = readConfig(dir);
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const tensors = new Map<string, HfTensor>();
  let weightsSource: string;
  if (existsSync(single)) {
    weightsSource = single;
    readWeights(single, tensors);
  } else if (existsSync(index)) {
    weightsSource = index;
    for (const shard of shardFiles(index)) readWeights(join(dir, shard), tensors);
  } else {
    const pickle = existsSync(join(dir, 'pytorch_model.bin'))
      ? '; pytorch_model.bin (a pickle) is not read — convert it to safetensors'
      : '';
    throw new TeacherImportError(`${single} does not exist${pickle}`);
  }
  const tokenizer = join(dir, 'tokenizer.json');
  return { dir, config, weightsSource, tensors, tokenizerPath: existsSync(tokenizer) ? tokenizer : null };
}

function shardFiles(index: string): string[] {
  let json: { weight_map?: unknown };
  try {
    json = JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: unknown };
  } catch (error) {
    throw new TeacherImportError(`${index}: malformed JSON (${(error as Error).message})`);
  }
  const map = json.weight_map;
  if (!map || typeof map !== 'object' || Object.values(map).some((f) => typeof f !== 'string' || f.includes('/')))
    throw new TeacherImportError(`${index}: weight_map must map tensor names to shard file names in this folder`);
  return [...new Set(Object.values(map as Record<string, string>))];
}

function readWeights(path: string, into: Map<string, HfTensor>): void {
  if (!existsSync(path)) throw new TeacherImportError(`${path} does not exist`);
  const file = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  for (const t of file.tensors) {
    if (into.has(t.name)) throw new TeacherImportError(`${path}: tensor "${t.name}" is also in another shard`);
    // F16/BF16 arrive widened to float32 by the decoder; F64 narrows to the float32 StateLab computes in.
    if (t.data instanceof Float64Array) into.set(t.name, { shape: t.shape, data: Float32Array.from(t.data) });
    else if (t.data instanceof Float32Array) into.set(t.name, { shape: t.shape, data: t.data });
    else throw new TeacherImportError(`${path}: tensor "${t.name}" is ${t.dtype}; weights must be floating point`);
  }
}
