// Public API of main/host/datasets: streaming readers for local text datasets, the token stream with its
// train/validation split, token sources in memory or in the on-disk token cache, and the resumable batch
// sampler.
export { DatasetError, describeFsError } from './errors.js';
export { findInvalidUtf8, decodeUtf8, type Utf8Problem } from './utf8.js';
export { readByteChunks, DEFAULT_CHUNK_BYTES } from './read-file.js';
export { readTextFile, readLines, type Line, type ReadOptions } from './text-file.js';
export { readJsonlField } from './jsonl.js';
export { CsvParser, readCsvColumn, type CsvOptions, type CsvRecord } from './csv.js';
export { readParquetColumn } from './parquet.js';
export { detectFormat, readDataset, yieldsDocuments, type DatasetFormat, type DatasetSpec } from './open.js';
export { saveTokenizerFile, loadTokenizerFile } from './tokenizer-file.js';
export { buildTokenStream, splitPoint, type TokenStream, type TokenStreamOptions } from './token-stream.js';
export {
  asTokenSource,
  dtypeFor,
  FileTokenSource,
  MemoryTokenSource,
  type TokenDtype,
  type TokenSource,
} from './token-source.js';
export {
  cacheKey,
  cachePath,
  openTokenCache,
  removeSupersededCaches,
  TokenCacheWriter,
  HEADER_BYTES,
  type TokenCacheHeader,
  type TokenFingerprint,
} from './token-cache.js';
export { openTokenStore, type TokenStore, type TokenStoreOptions } from './token-store.js';
export {
  BatchSampler,
  inputsAndTargets,
  sequentialBatches,
  type SamplerPosition,
  type WindowBatch,
} from './batch-sampler.js';
