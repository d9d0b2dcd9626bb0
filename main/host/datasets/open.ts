// One entry point for local text datasets: picks the reader by format (or file extension) and refuses a
// dataset that yields no text at all, so an empty file fails at load time with its name rather than as a
// mysterious zero-token run.

import { readCsvColumn } from './csv.js';
import { DatasetError } from './errors.js';
import { readJsonlField } from './jsonl.js';
import { readParquetColumn } from './parquet.js';
import { readTextFile } from './text-file.js';

export type DatasetFormat = 'txt' | 'jsonl' | 'csv' | 'tsv' | 'parquet';

export interface DatasetSpec {
  path: string;
  /** Default: from the extension (.txt .text .md, .jsonl .ndjson, .csv, .tsv, .parquet). */
  format?: DatasetFormat;
  /** JSONL field or CSV/Parquet column holding the text. Default "text". */
  field?: string;
  /** Bytes per disk read for txt/jsonl/csv (default 1 MiB). */
  chunkBytes?: number;
  /** Parquet: the longest one row group may take to decode (default: parquet.ts's decodeDeadlineMs). */
  parquetDeadlineMs?: number;
}

const EXTENSIONS: Record<string, DatasetFormat> = {
  txt: 'txt',
  text: 'txt',
  md: 'txt',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  csv: 'csv',
  tsv: 'tsv',
  parquet: 'parquet',
};

export function detectFormat(path: string): DatasetFormat {
  const ext = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  const format = EXTENSIONS[ext];
  if (!format)
    throw new DatasetError(
      path,
      `cannot tell the format from the extension "${ext}" (known: ${Object.keys(EXTENSIONS)
        .map((e) => '.' + e)
        .join(', ')}); name the format`,
    );
  return format;
}

/** True when each text the reader yields is a separate record (document), false for chunks of one text. */
export function yieldsDocuments(format: DatasetFormat): boolean {
  return format !== 'txt';
}

/** The texts of a dataset, streamed. Throws DatasetError when the dataset holds no text. */
export async function* readDataset(spec: DatasetSpec): AsyncGenerator<string> {
  const format = spec.format ?? detectFormat(spec.path);
  const field = spec.field ?? 'text';
  const options = { chunkBytes: spec.chunkBytes };
  const texts =
    format === 'txt'
      ? readTextFile(spec.path, options)
      : format === 'jsonl'
        ? readJsonlField(spec.path, field, options)
        : format === 'csv' || format === 'tsv'
          ? readCsvColumn(spec.path, field, { ...options, delimiter: format === 'tsv' ? '\t' : ',' })
          : format === 'parquet'
            ? readParquetColumn(spec.path, field, { deadlineMs: spec.parquetDeadlineMs })
            : unknownFormat(spec.path, format);
  let any = false;
  for await (const text of texts) {
    if (text === '') continue;
    any = true;
    yield text;
  }
  if (!any)
    throw new DatasetError(
      spec.path,
      format === 'txt'
        ? 'dataset is empty (the file has no text)'
        : `dataset is empty (no text in ${format} field "${field}")`,
    );
}

function unknownFormat(path: string, format: never): never {
  throw new DatasetError(path, `unknown dataset format ${JSON.stringify(format)}`);
}
