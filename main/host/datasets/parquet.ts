// Parquet (e.g. Hugging Face dataset shards): one named text column, read one row group at a time with
// hyparquet (pure JS; the file is read by byte ranges, never whole). hyparquet decompresses SNAPPY and
// uncompressed pages itself; other codecs (ZSTD, GZIP, …) need hyparquet-compressors and are reported by
// name. Null values (rows without text) are skipped. The metadata is read and checked here; the pages are
// decoded in a child process (parquet-decoder.mjs) with a deadline, because a corrupt page can hold
// hyparquet in one synchronous loop for minutes, or abort V8 (found by the fuzz suite).

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetMetadataAsync, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData, RowGroup } from 'hyparquet';
import { DatasetError, describeFsError } from './errors.js';

/**
 * The longest a row group may take to decode before the file is called corrupt: 10 s plus 1 s per 10 MB
 * of the row group (hyparquet decodes text at well over 100 MB/s, so a real file is far inside this).
 */
export function decodeDeadlineMs(groupBytes: number): number {
  return 10_000 + groupBytes / 10_000;
}

/** At most this many rows per stored byte: run-length encoding lets a few bytes claim many rows. */
const MAX_ROWS_PER_BYTE = 1024;

export interface ParquetReadOptions {
  /** Overrides decodeDeadlineMs (tests). */
  deadlineMs?: number;
}

export async function* readParquetColumn(
  path: string,
  column: string,
  options: ParquetReadOptions = {},
): AsyncGenerator<string> {
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
  const decoder = new RowGroupDecoder(path, column);
  try {
    let rowStart = 0;
    for (const [index, group] of metadata.row_groups.entries()) {
      const rowEnd = rowStart + Number(group.num_rows);
      const problem = rowGroupProblem(group, column, file.byteLength);
      if (problem) throw new DatasetError(path, `row group ${index} is corrupt: ${problem}`);
      const deadline = options.deadlineMs ?? decodeDeadlineMs(Number(group.total_byte_size));
      const values = await decoder.decode(rowStart, rowEnd, deadline);
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
  } finally {
    await decoder.close();
  }
}

/** Why a row group's metadata cannot be right for a file of `fileBytes` bytes, or undefined. */
function rowGroupProblem(group: RowGroup, column: string, fileBytes: number): string | undefined {
  const chunk = group.columns.find((c) => c.meta_data?.path_in_schema[0] === column)?.meta_data;
  if (!chunk) return `it has no column chunk for "${column}"`;
  const start = Number(chunk.dictionary_page_offset || chunk.data_page_offset);
  const size = Number(chunk.total_compressed_size);
  if (!(start >= 0 && size > 0 && start + size <= fileBytes))
    return `its column chunk (bytes ${start}–${start + size}) lies outside the file's ${fileBytes} bytes`;
  for (const [what, count] of [
    ['rows', group.num_rows],
    ['values', chunk.num_values],
  ] as const)
    if (!(Number(count) >= 0 && Number(count) <= MAX_ROWS_PER_BYTE * size + MAX_ROWS_PER_BYTE))
      return `it claims ${count} ${what} in ${size} bytes`;
  return undefined;
}

/** The child process that decodes row groups, one request at a time; killed when one overruns its deadline. */
class RowGroupDecoder {
  private readonly child: ChildProcess;
  private stderr = '';
  private waiting: ((message: { values?: unknown[]; error?: string; exited?: string }) => void) | undefined;

  constructor(
    private readonly path: string,
    column: string,
  ) {
    const script = fileURLToPath(new URL('./parquet-decoder.mjs', import.meta.url));
    // Plain node: none of this process's loaders (tsx, vitest); structured clone keeps binary values binary.
    this.child = fork(script, [path, column], {
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-2000)));
    this.child.on('message', (message) => this.waiting?.(message as { values?: unknown[]; error?: string }));
    this.child.on('error', (error) => this.waiting?.({ exited: error.message }));
    this.child.on('exit', (code, signal) => this.waiting?.({ exited: signal ?? `exit code ${code}` }));
  }

  decode(rowStart: number, rowEnd: number, deadlineMs: number): Promise<unknown[]> {
    const rows = `rows ${rowStart}–${rowEnd - 1}`;
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new DatasetError(this.path, `cannot read ${rows}: ${why}`));
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.child.kill('SIGKILL');
        fail(
          `decoding took over ${(deadlineMs / 1000).toFixed(1)} s, so the file is taken as corrupt (a page claims far more values than it holds)`,
        );
      }, deadlineMs);
      this.waiting = (message) => {
        clearTimeout(timer);
        this.waiting = undefined;
        if (message.exited !== undefined) {
          const said = /invalid size|out of memory|RangeError[^\n]*/i.exec(this.stderr)?.[0];
          fail(`the decoder stopped (${message.exited}${said ? `: ${said}` : ''}), so the file is taken as corrupt`);
        } else if (message.error !== undefined) fail(message.error);
        else resolve(message.values ?? []);
      };
      this.child.send({ rowStart, rowEnd });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}
