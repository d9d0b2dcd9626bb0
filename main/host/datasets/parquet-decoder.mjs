// Decodes the row groups of one Parquet column for parquet.ts, in a child process. hyparquet decodes a
// page synchronously and trusts the counts inside it: a corrupt run-length header can claim 2^31 values,
// which keeps it in one loop for minutes or aborts V8 outright ("invalid size error", found by the fuzz
// suite) — neither of which the reading process could survive or interrupt. Here parquet.ts kills the
// decoder when a row group overruns its deadline and reports a crash as a corrupt file. Plain JavaScript:
// it runs under node, tsx, vitest and Electron alike, and needs nothing of ours.
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead } from 'hyparquet';

const [path, column] = process.argv.slice(2);
const opened = (async () => {
  const file = await asyncBufferFromFile(path);
  return { file, metadata: await parquetMetadataAsync(file) };
})();
opened.catch(() => {}); // reported by the message handler that awaits it

process.on('message', async ({ rowStart, rowEnd }) => {
  try {
    const { file, metadata } = await opened;
    let values = [];
    await parquetRead({
      file,
      metadata,
      columns: [column],
      rowStart,
      rowEnd,
      onComplete: (rows) => (values = rows.map((r) => r[0])),
    });
    process.send({ values });
  } catch (error) {
    process.send({ error: String(error?.message ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));
