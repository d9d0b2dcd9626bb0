// The weights of a Hugging Face checkpoint, taken one by one by the architecture mappers: each take
// checks the shape the config implies, and `finish` refuses tensors nobody took, so a bias or an expert
// the mapping does not know can never be dropped silently.

import { TeacherImportError } from './errors.js';

export interface HfTensor {
  shape: number[];
  data: Float32Array;
}

export class HfTensors {
  private readonly taken = new Set<string>();

  constructor(
    /** The weights file(s), as errors name them. */
    readonly source: string,
    private readonly tensors: Map<string, HfTensor>,
    /** What the tensors should make up, for messages ("a llama model"). */
    readonly what: string,
  ) {}

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** The tensor's data, checked to have `shape`; marks it used. */
  take(name: string, shape: readonly number[]): Float32Array {
    const t = this.tensors.get(name);
    if (!t) throw new TeacherImportError(`${this.source}: tensor "${name}" is missing (${this.what} needs it)`);
    if (t.shape.join() !== shape.join())
      throw new TeacherImportError(
        `${this.source}: tensor "${name}" has shape [${t.shape.join(', ')}], config.json implies [${shape.join(', ')}]`,
      );
    this.taken.add(name);
    return t.data;
  }

  /** Marks tensors that carry nothing to import (buffers such as a cached causal mask). */
  skip(match: (name: string) => boolean): void {
    for (const name of this.tensors.keys()) if (match(name)) this.taken.add(name);
  }

  /** Throws naming the tensors no mapping took. */
  finish(): void {
    const left = [...this.tensors.keys()].filter((n) => !this.taken.has(n));
    if (left.length === 0) return;
    const shown = left.slice(0, 3).map((n) => `"${n}"`);
    const more = left.length > 3 ? ` and ${left.length - 3} more` : '';
    throw new TeacherImportError(
      `${this.source}: tensor${left.length > 1 ? 's' : ''} ${shown.join(', ')}${more} ${left.length > 1 ? 'are' : 'is'} not part of ${this.what}; StateLab would ignore ${left.length > 1 ? 'them' : 'it'}, so the import stops`,
    );
  }
}

/** [rows, cols] row-major → [cols, rows]. */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Columns [start, start + width) of a [rows, cols] matrix. */
export function columns(data: Float32Array, rows: number, cols: number, start: number, width: number): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols + start, r * cols + start + width), r * width);
  return out;
}

/** A tied checkpoint may still store the head; it must then equal the embedding it is tied to. */
export function checkTiedCopy(t: HfTensors, name: string, embedding: Float32Array, shape: number[]): void {
  if (!t.has(name)) return;
  const head = t.take(name, shape);
  if (head.some((v, i) => v !== embedding[i]))
    throw new TeacherImportError(
      `${t.source}: tensor "${name}" differs from the token embedding although config.json ties them (tie_word_embeddings)`,
    );
}
