// JSON Lines: one JSON object per line, the text in a named (top-level) field. Blank lines are skipped;
// anything else that is not an object with a string in that field is an error naming file:line.

import { DatasetError } from './errors.js';
import { readLines, readTextFile, type ReadOptions } from './text-file.js';

export async function* readJsonlField(path: string, field: string, options: ReadOptions = {}): AsyncGenerator<string> {
  for await (const { text, line } of readLines(readTextFile(path, options))) {
    if (text.trim() === '') continue;
    const where = `${path}:${line}`;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      throw new DatasetError(where, `malformed JSON (${(error as Error).message})`);
    }
    if (!record || typeof record !== 'object' || Array.isArray(record))
      throw new DatasetError(
        where,
        `expected a JSON object, got ${Array.isArray(record) ? 'an array' : JSON.stringify(record)}`,
      );
    const value = (record as Record<string, unknown>)[field];
    if (!Object.hasOwn(record, field)) {
      const fields = Object.keys(record);
      throw new DatasetError(
        where,
        `no field "${field}" (fields: ${fields.length ? fields.map((f) => JSON.stringify(f)).join(', ') : 'none'})`,
      );
    }
    if (value === null) continue; // a missing text, as datasets exported from tables often have
    if (typeof value !== 'string')
      throw new DatasetError(
        where,
        `field "${field}" is ${Array.isArray(value) ? 'an array' : typeof value}, not text`,
      );
    yield value;
  }
}
