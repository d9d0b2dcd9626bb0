// Parquet (e.g. Hugging Face dataset shards): one named text column, read one row group at a time with
// hyparquet (pure JS; the file is read by byte ranges, never whole). hyparquet decompresses SNAPPY and
// uncompressed pages itself; other codecs (ZSTD, GZIP, …) need hyparquet-compressors and are reported by
// name. Null values (rows without text) are skipped.

import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { DatasetError, describeFsError } from './errors.js';

export async function* readParquetColumn(path: string, column: string): AsyncGenerator<string> {
  let file: AsyncBuffer;
  try {
    file = await asyncBufferFromFile(path);
  } catch (error) {
    throw new DatasetError(path, `cannot read (${describeFsError(error)})`);
  }
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw new DatasetError(path, `is not a readable Parquet file (${(error as Error).message})`);
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  if (!columns.includes(column))
    throw new DatasetError(
      path,
      `no column "${column}" (columns: ${columns.map((c) => JSON.stringify(c)).join(', ') || 'none'})`,
    );
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let values: unknown[] = [];
    try {
      await parquetRead({
        file,
        metadata,
        columns: [column],
        rowStart,
        rowEnd,
        onComplete: (rows: unknown[][]) => (values = rows.map((r) => r[0])),
      });
    } catch (error) {
      throw new DatasetError(path, `cannot read rows ${rowStart}–${rowEnd - 1} (${(error as Error).message})`);
    }
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === null || value === undefined) continue;
      if (typeof value !== 'string')
        throw new DatasetError(
          path,
          `column "${column}" holds ${value instanceof Uint8Array ? 'binary' : typeof value} values (row ${rowStart + i}), not text`,
        );
      yield value;
    }
    rowStart = rowEnd;
  }
}
