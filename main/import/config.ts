// Typed reads of a Hugging Face config.json. Every error names the file, the field and the value found,
// e.g. `…/config.json: rope_scaling {"type":"yarn"} is not supported`.

import { TeacherImportError } from './errors.js';

export class ConfigReader {
  constructor(
    /** The config.json path, as errors name it. */
    readonly path: string,
    readonly json: Record<string, unknown>,
  ) {}

  fail(field: string, message: string): never {
    throw new TeacherImportError(`${this.path}: ${field} ${message}`);
  }

  /** Whether a field is present with a value (null counts as absent, as in transformers). */
  has(field: string): boolean {
    return this.json[field] !== undefined && this.json[field] !== null;
  }

  value(field: string): unknown {
    return this.json[field];
  }

  /** A positive integer; `fallback` when absent, an error when absent without one. */
  int(field: string, fallback?: number): number {
    if (!this.has(field)) return fallback ?? this.fail(field, 'is missing');
    const v = this.json[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      this.fail(field, `must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  }

  /** A finite positive number. */
  positive(field: string, fallback: number): number {
    if (!this.has(field)) return fallback;
    const v = this.json[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      this.fail(field, `must be a positive number (got ${JSON.stringify(v)})`);
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    if (!this.has(field)) return fallback;
    const v = this.json[field];
    if (typeof v !== 'boolean') this.fail(field, `must be true or false (got ${JSON.stringify(v)})`);
    return v;
  }

  string(field: string, fallback: string): string {
    if (!this.has(field)) return fallback;
    const v = this.json[field];
    if (typeof v !== 'string') this.fail(field, `must be a string (got ${JSON.stringify(v)})`);
    return v;
  }

  /** Refuses a present field whose value `ok` rejects: `<field> <value> is not supported (<why>)`. */
  refuse(field: string, ok: (value: unknown) => boolean, why: string): void {
    if (!this.has(field)) return;
    const v = this.json[field];
    if (!ok(v)) this.fail(field, `${JSON.stringify(v)} is not supported (${why})`);
  }
}
