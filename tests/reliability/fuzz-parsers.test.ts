// Property-based fuzzing of every file parser: graph JSON, safetensors, tokenizer.json and the text
// datasets (txt, JSONL, CSV, TSV, Parquet). Inputs are valid seed files mutated byte by byte (fast-check
// shrinks a failure to its smallest mutation) plus random bytes. Each input must load, or fail with the
// parser's own typed error naming the file — no other exception, no hang (every case is time-bounded),
// no allocation sized by a hostile field. The case count of each parser is in the test name.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphCompileError, compileGraph } from '../../gpu/graph/compile.js';
import { DatasetError, readDataset, type DatasetFormat } from '../../main/host/datasets/index.js';
import { decodeCheckpoint } from '../../main/host/runs/checkpoint-file.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../shared/formats/safetensors.js';
import { parseGraph } from '../../shared/graph/parse.js';
import { GraphError } from '../../shared/graph/schema.js';
import { loadTokenizer, trainBpe } from '../../shared/tokenizers/index.js';
import { TokenizerError } from '../../shared/tokenizers/tokenizer.js';
import { bytesFrom, loadsOrFailsTyped, Tally, textFrom } from './fuzz-helpers.js';

/** Cases per parser; fast-check's seed is printed on failure, so a failing case replays exactly. */
export const CASES = { graph: 1000, safetensors: 2000, tokenizer: 600, dataset: 200 } as const;

const TEMPLATES = new URL('../../assets/templates/', import.meta.url);
let dir: string;
const tallies: Record<string, Tally> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'statelab-fuzz-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  console.log(
    'fuzz figures:\n' +
      Object.entries(tallies)
        .map(([name, tally]) => `  ${name}: ${tally}`)
        .join('\n'),
  );
});

function tally(name: string): Tally {
  return (tallies[name] ??= new Tally());
}

describe('fuzzing the parsers (fast-check)', () => {
  it(`graph JSON: ${CASES.graph} mutated graphs parse and compile, or fail with GraphError`, async () => {
    const seeds = ['gru.json', 'gla.json', 'llama.json', 'hybrid-50.json'].map((f) =>
      readFileSync(new URL(f, TEMPLATES), 'utf8'),
    );
    const t = tally('graph JSON');
    await fc.assert(
      fc.asyncProperty(textFrom(seeds), async (text) => {
        t.add(
          await loadsOrFailsTyped('graph', [GraphError, GraphCompileError], () =>
            compileGraph(parseGraph(text, 'fuzz.json')),
          ),
        );
      }),
      { numRuns: CASES.graph },
    );
    expect(t.total).toBe(CASES.graph);
    expect(t.refused).toBeGreaterThan(CASES.graph / 4); // the mutations really break files
  });

  it(`safetensors: ${CASES.safetensors} mutated files decode, or fail with SafetensorsError naming the file`, async () => {
    const seeds = [
      encodeSafetensors(
        [
          { name: 'a.weight', dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
          { name: 'b', dtype: 'F16', shape: [2], data: Float32Array.from([0.5, -2]) },
          { name: 'c', dtype: 'I64', shape: [1], data: BigInt64Array.from([7n]) },
        ],
        { format: 'pt' },
      ),
      new Uint8Array(readFileSync(new URL('../fixtures/data/python-layout.safetensors', import.meta.url))),
    ];
    const t = tally('safetensors');
    await fc.assert(
      fc.asyncProperty(bytesFrom(seeds), async (bytes) => {
        t.add(
          await loadsOrFailsTyped(
            'safetensors',
            [SafetensorsError],
            () => decodeSafetensors(bytes, 'fuzz.safetensors'),
            { where: 'fuzz.safetensors' },
          ),
        );
      }),
      { numRuns: CASES.safetensors },
    );
    expect(t.refused).toBeGreaterThan(CASES.safetensors / 2);
  });

  it('safetensors: hostile header lengths and tensor sizes are refused before allocating', () => {
    const withHeader = (header: string, extra = 0) => {
      const json = new TextEncoder().encode(header);
      const out = new Uint8Array(8 + json.length + extra);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
    const cases: [Uint8Array, RegExp][] = [
      [huge, /exceeds the 100000000-byte limit/],
      [withHeader('{}').slice(0, 9), /runs past the end/],
      [withHeader('{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}', 16), /x/],
      [withHeader('{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,1e300]}}', 16), /x/],
      [withHeader('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}'), /x/],
    ];
    for (const [bytes, message] of cases) {
      const before = process.memoryUsage().arrayBuffers;
      expect(() => decodeSafetensors(bytes, 'hostile.safetensors')).toThrow(SafetensorsError);
      expect(() => decodeSafetensors(bytes, 'hostile.safetensors')).toThrow(message);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
    }
    // A checkpoint reader adds its own rule (F32 only), as a readable error too.
    const f16 = encodeSafetensors([{ name: 'w', dtype: 'F16', shape: [1], data: Float32Array.from([1]) }]);
    expect(() => decodeCheckpoint(f16, 'step.safetensors')).toThrow(/step\.safetensors: tensor "w" is F16/);
  });

  it(`tokenizer.json: ${CASES.tokenizer} mutated tokenizers load and encode, or fail with TokenizerError`, async () => {
    const trained = await trainBpe(['the cat sat on the mat, the end. ', 'hello world héllo wörld'], {
      vocabSize: 300,
      specials: ['<|endoftext|>'],
    });
    const seeds = [JSON.stringify(trained.toJSON())];
    const t = tally('tokenizer.json');
    await fc.assert(
      fc.asyncProperty(textFrom(seeds), fc.string({ maxLength: 40 }), async (text, sample) => {
        t.add(
          await loadsOrFailsTyped(
            'tokenizer',
            [TokenizerError],
            () => {
              const tokenizer = loadTokenizer(text, 'fuzz-tokenizer.json');
              const ids = tokenizer.encode(`the cat ${sample}`);
              tokenizer.decode(ids);
            },
            { where: 'fuzz-tokenizer.json' },
          ),
        );
      }),
      { numRuns: CASES.tokenizer },
    );
    expect(t.refused).toBeGreaterThan(CASES.tokenizer / 4);
  });

  const datasetSeeds: Record<DatasetFormat, string> = {
    txt: 'The keeper climbed the stair.\nThe lamp was lit.\r\nÜber alles — ok.\n',
    jsonl: '{"text": "first record"}\n{"text": "second, with \\"quotes\\""}\n\n{"text": null}\n',
    csv: 'id,text\n1,"hello, world"\n2,"multi\nline ""quoted"""\n3,plain\n',
    tsv: 'id\ttext\n1\thello\n2\t"quoted\ttab"\n',
    parquet: '',
  };
  const parquetSeed = new Uint8Array(readFileSync(new URL('../fixtures/data/texts.parquet', import.meta.url)));

  for (const format of ['txt', 'jsonl', 'csv', 'tsv', 'parquet'] as const) {
    it(`${format} datasets: ${CASES.dataset} mutated files stream their texts, or fail with DatasetError naming the file`, async () => {
      const seed = format === 'parquet' ? parquetSeed : new TextEncoder().encode(datasetSeeds[format]);
      const t = tally(`${format} dataset`);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(bytesFrom([seed]), async (bytes) => {
          const path = join(dir, `case-${n++}.${format}`);
          writeFileSync(path, bytes);
          t.add(
            await loadsOrFailsTyped(
              format,
              [DatasetError],
              async () => {
                let count = 0;
                for await (const text of readDataset({ path, chunkBytes: 7, parquetDeadlineMs: 1000 })) {
                  expect(typeof text).toBe('string');
                  if (++count > 10_000) break;
                }
              },
              { where: path, ms: 3000 },
            ),
          );
          rmSync(path);
        }),
        { numRuns: CASES.dataset },
      );
      expect(t.total).toBe(CASES.dataset);
    });
  }
});
