// CSV (RFC 4180) streamed: a header row names the columns; fields may be quoted with "…", quotes inside
// doubled (""), and quoted fields may hold delimiters and line breaks. Records end at LF, CRLF or a lone
// CR. A quote inside an unquoted field is kept as a literal character (common in hand-made files);
// anything after a closing quote other than a delimiter or line break is an error.

import { DatasetError } from './errors.js';
import { readTextFile, type ReadOptions } from './text-file.js';

export interface CsvRecord {
  fields: string[];
  /** Line on which the record starts (1-based). */
  line: number;
}

/** Incremental parser: push text chunks, collect finished records; end() flushes the last one. */
export class CsvParser {
  private fields: string[] = [];
  private field = '';
  private quoted = false; // the current field began with a quote…
  private inQuotes = false; // …and we are between its quotes
  private quoteSeen = false; // a quote inside quotes: an escaped "" or the closing quote
  private afterClosing = false; // the closing quote has passed; only a delimiter or line break may follow
  private pendingCr = false;
  private line = 1;
  private recordLine = 1;

  constructor(
    private readonly source: string,
    private readonly delimiter = ',',
  ) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r')
      throw new DatasetError(
        source,
        `CSV delimiter ${JSON.stringify(delimiter)} must be one character, not a quote or line break`,
      );
  }

  push(text: string): CsvRecord[] {
    const records: CsvRecord[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c === '\n') continue; // CRLF: the record already ended at the CR
      }
      if (this.inQuotes) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (c === '"') {
            this.field += '"';
            continue;
          }
          this.inQuotes = false;
          this.afterClosing = true; // fall through: c is the first character after the closing quote
        } else {
          if (c === '"') this.quoteSeen = true;
          else {
            this.field += c;
            if (c === '\n') this.line++;
          }
          continue;
        }
      }
      if (c === this.delimiter) this.endField();
      else if (c === '\n' || c === '\r') {
        this.endField();
        records.push({ fields: this.fields, line: this.recordLine });
        this.fields = [];
        this.line++;
        this.recordLine = this.line;
        this.pendingCr = c === '\r';
      } else if (this.afterClosing) {
        throw new DatasetError(
          `${this.source}:${this.line}`,
          `unexpected ${JSON.stringify(c)} after the closing quote of field ${this.fields.length + 1}`,
        );
      } else if (c === '"' && this.field === '' && !this.quoted) {
        this.quoted = true;
        this.inQuotes = true;
      } else this.field += c;
    }
    return records;
  }

  end(): CsvRecord[] {
    if (this.inQuotes && !this.quoteSeen)
      throw new DatasetError(
        this.source,
        `unterminated quoted field: the quote opened in the record starting on line ${this.recordLine} never closes`,
      );
    if (this.quoteSeen) this.inQuotes = false;
    if (this.fields.length === 0 && this.field === '' && !this.quoted) return [];
    this.endField();
    const record = { fields: this.fields, line: this.recordLine };
    this.fields = [];
    return [record];
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.quoted = false;
    this.inQuotes = false;
    this.afterClosing = false;
  }
}

export interface CsvOptions extends ReadOptions {
  delimiter?: string;
}

/** The values of one column, by header name. Blank lines are skipped. */
export async function* readCsvColumn(path: string, column: string, options: CsvOptions = {}): AsyncGenerator<string> {
  const parser = new CsvParser(path, options.delimiter ?? ',');
  let index = -1;
  let header: string[] | null = null;
  async function* records(): AsyncGenerator<CsvRecord> {
    for await (const text of readTextFile(path, options)) yield* parser.push(text);
    yield* parser.end();
  }
  for await (const { fields, line } of records()) {
    if (!header) {
      header = fields;
      index = header.indexOf(column);
      if (index < 0)
        throw new DatasetError(
          path,
          `no column "${column}" in the header (columns: ${header.map((h) => JSON.stringify(h)).join(', ')})`,
        );
      continue;
    }
    if (fields.length === 1 && fields[0] === '') continue;
    if (index >= fields.length)
      throw new DatasetError(
        `${path}:${line}`,
        `row has ${fields.length} field${fields.length === 1 ? '' : 's'}, but column "${column}" is field ${index + 1}`,
      );
    yield fields[index];
  }
  if (!header) throw new DatasetError(path, 'is empty (no header row)');
}
