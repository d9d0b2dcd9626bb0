// Run in its own process by tests/data/token-cache.test.ts, so that its peak resident memory is the data
// pipeline's alone and so that it can be killed mid-tokenization:
//   node --import tsx token-cache-child.ts <data file> <cache dir> <memory budget bytes> [batches]
// Opens the file as a training data source (byte tokenizer) through the real openDataSource, draws
// `batches` training batches and one validation set, and prints one JSON line with what it measured.
// Log lines ("… writing the token cache …") go to stdout as they happen, for the killing test to wait on.

import { readFileSync } from 'node:fs';
import { openDataSource } from '../../../main/host/data-source.js';

/**
 * Peak resident memory of this process image. Linux's VmHWM starts afresh at exec; getrusage's maxRSS
 * does not (it can report the parent's size from before the exec, e.g. the vitest worker's).
 */
function peakRssMiB(): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

const [path, cacheDir, budget, batches = '0'] = process.argv.slice(2);
const baseRss = process.memoryUsage().rss;
const started = performance.now();
const data = await openDataSource(
  { kind: 'text', path, tokenizer: 'byte', validationFraction: 0.01 },
  { vocabSize: 256, batch: 16, seqLen: 256, seed: 3 },
  { cacheDir, memoryBudgetBytes: Number(budget), onLog: (m) => console.log(JSON.stringify({ log: m })) },
);
const openSeconds = (performance.now() - started) / 1000;
const sampled = performance.now();
let checksum = 0;
for (let i = 0; i < Number(batches); i++) checksum += data.train.next().inputs[0];
const sampleSeconds = (performance.now() - sampled) / 1000;
const validation = data.validation(4);
data.close();
console.log(
  JSON.stringify({
    baseRssMiB: baseRss / 2 ** 20,
    peakRssMiB: peakRssMiB(),
    openSeconds,
    sampleSeconds,
    batches: Number(batches),
    checksum,
    validationBatches: validation?.length ?? 0,
    cacheFile: data.cacheFile ?? null,
    position: data.train.position(),
  }),
);
