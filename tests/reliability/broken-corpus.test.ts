// The hand-made corpus of broken files (tests/fixtures/broken/): every file breaks one rule and must be
// refused with its parser's typed error, naming the file and saying what is wrong — or, for the few
// controls, load. Then run folders are fuzzed: a valid folder with run.json, metrics.jsonl or a checkpoint
// mutated must be read or refused with a RunFolderError/SafetensorsError naming the file, through the
// host (`readRun`, `listRuns`) as well, where the reply's message names the damaged file.

import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compileGraph, GraphCompileError } from '../../gpu/graph/compile.js';
import { DatasetError, readDataset } from '../../main/host/datasets/index.js';
import { callLab, createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { Run, RunFolderError } from '../../main/host/runs/run-store.js';
import { decodeSafetensors, SafetensorsError } from '../../shared/formats/safetensors.js';
import { parseGraph } from '../../shared/graph/parse.js';
import { GraphError } from '../../shared/graph/schema.js';
import { loadTokenizer } from '../../shared/tokenizers/index.js';
import { TokenizerError } from '../../shared/tokenizers/tokenizer.js';
import { bytesFrom, loadsOrFailsTyped } from './fuzz-helpers.js';

const CORPUS = new URL('../fixtures/broken/', import.meta.url).pathname;
const LOADS = 'loads';
const RUN_FOLDER_CASES = 300;

/** What each corpus file must give: a message pattern, or LOADS for the controls. */
const EXPECTED: Record<string, Record<string, RegExp | typeof LOADS>> = {
  graphs: {
    'array.json': /a graph must be a JSON object/,
    'bom.json': /"name"/, // the byte-order mark is skipped; the (empty) graph then lacks its name
    'deep-nesting.json': /needs a non-empty "name"/,
    'duplicate-node-id.json': /node id "tokens" is used twice/,
    'edge-to-unknown-node.json': /edge starts at unknown node "nowhere"/,
    'edges-reversed.json': /has no output port/,
    'future-version.json': /version 99 is newer than this StateLab understands/,
    'huge-d-model.json': /head size 250000000000 exceeds/,
    'invalid-utf8.json': /"model" must be an object/,
    'negative-vocab.json': /vocab_size\): must be a positive integer \(got -5\)/,
    'nodes-null.json': /"nodes" must be an array/,
    'proto-kind.json': /unknown node kind "__proto__"/,
    'repeat-a-billion.json': /must be at most 512 \(got 1000000000\)/,
    'truncated.json': /truncated\.json: malformed JSON/,
    'version-string.json': /"version" must be a positive integer \(got "2"\)/,
    'wrong-format.json': /"format" must be "statelab-graph" \(got "keras"\)/,
  },
  safetensors: {
    'duplicate-tensor.safetensors': /header names "w" twice/,
    'empty.safetensors': /file of 0 bytes is too short/,
    'gap.safetensors': /gap of 4 bytes before tensor "a"/,
    'header-array.safetensors': /header is not a JSON object/,
    'header-invalid-utf8.safetensors': /header is not valid UTF-8 JSON/,
    'header-length-2-pow-63.safetensors': /header length 9223372036854775808 exceeds the 100000000-byte limit/,
    'header-not-json.safetensors': /header is not valid UTF-8 JSON/,
    'header-past-end.safetensors': /header length 4096 runs past the end of the 10-byte file/,
    'metadata-not-strings.safetensors': /__metadata__\.step must be a string/,
    'negative-shape.safetensors': /shape \[-1\] is not a list of non-negative integers/,
    'offsets-past-end.safetensors': /data_offsets \[0, 4194304\] run past the 4-byte data section/,
    'offsets-reversed.safetensors': /data_offsets \[4,0\] are not \[begin, end\]/,
    'overlapping.safetensors': /tensor "b" overlaps the previous tensor's data/,
    'seven-bytes.safetensors': /file of 7 bytes is too short/,
    'shape-does-not-match-bytes.safetensors': /F32\[3\] needs 12 bytes, data_offsets give 8/,
    'shape-overflows.safetensors': /needs 3\.\d+e\+29 bytes, data_offsets give 4/,
    'trailing-bytes.safetensors': /8 bytes after the last tensor are not described by the header/,
    'truncated-data.safetensors': /run past the 156-byte data section/,
    'unknown-dtype.safetensors': /unknown dtype "F128"/,
  },
  tokenizers: {
    'added-token-reuses-id.json': /added_tokens\[0\] \("<s>"\) reuses id 0 of "a"/,
    'dropout.json': /model\.dropout 0\.1 is not supported/,
    'duplicate-ids.json': /model\.vocab gives id 0 to both "a" and "b"/,
    'huge-id.json': /model\.vocab\["a"\] is 1e\+300, not a token id/,
    'merge-three-parts.json': /model\.merges\[0\] is "a b c"/,
    'merge-unknown-token.json': /uses "c", not in model\.vocab/,
    'merges-not-list.json': /model\.merges is not a list/,
    'negative-id.json': /model\.vocab\["a"\] is -1, not a token id/,
    'no-model.json': /has no "model" object/,
    'truncated.json': /not valid JSON/,
    'unsupported-pre-tokenizer.json': /pre_tokenizer "Whitespace" is not supported/,
    'wordpiece.json': /model type "WordPiece" is not supported \(supported: BPE\)/,
  },
  datasets: {
    'array-record.jsonl': /array-record\.jsonl:1: expected a JSON object, got an array/,
    'bad-line.jsonl': /bad-line\.jsonl:2: malformed JSON/,
    'empty.csv': /is empty \(no header row\)/,
    'empty.txt': /dataset is empty/,
    'footer-length-huge.parquet': /not a readable Parquet file \(parquet metadata length 2147483647 exceeds/,
    'invalid-utf8.txt': /is not UTF-8 text: invalid byte sequence at byte offset 10/,
    'no-column.csv': /no column "text" in the header \(columns: "id", "body"\)/,
    'no-field.jsonl': /no-field\.jsonl:1: no field "text" \(fields: "body"\)/,
    'not-parquet.parquet': /not a readable Parquet file/,
    'number-field.jsonl': /field "text" is number, not text/,
    'ok-but-quoted.csv': LOADS,
    'short-row.csv': /short-row\.csv:2: row has 2 fields, but column "text" is field 3/,
    'truncated.parquet': /not a readable Parquet file/,
    'unclosed-quote.csv': /unterminated quoted field: the quote opened in the record starting on line 2 never closes/,
  },
  runs: {
    'checkpoint-optim-missing': /no checkpoint \(have: none\)/,
    'checkpoint-truncated': /step-0000003\.safetensors: tensor "w": data_offsets \[0, 16\] run past the 13-byte/,
    'graph-json-missing': /graph\.json: cannot read \(ENOENT\)/,
    'leftover-temporary': LOADS,
    'metrics-corrupt-middle': /metrics\.jsonl:2: corrupted metrics line/,
    'metrics-row-without-step': /metrics\.jsonl:2: a metrics row needs an integer "step"/,
    'metrics-torn-last-line': LOADS,
    'run-json-array': /run\.json: not a StateLab run description: is not a JSON object/,
    'run-json-no-train': /run\.json: not a StateLab run description: "train" is not an object/,
    'run-json-truncated': /run\.json: malformed JSON/,
    'trainer-state-missing': /optim\.safetensors: missing trainer_state metadata/,
    'trainer-state-not-json': /optim\.safetensors: trainer_state is not valid JSON/,
    'trainer-state-wrong-types': /trainer_state needs integer "step" and "optimizerStep"/,
  },
};

const LOADERS: Record<
  string,
  { types: (new (...a: never[]) => Error)[]; load: (path: string, name: string) => unknown }
> = {
  graphs: {
    types: [GraphError, GraphCompileError],
    load: (path, name) => compileGraph(parseGraph(readFileSync(path, 'utf8'), name)),
  },
  safetensors: {
    types: [SafetensorsError],
    load: (path, name) => decodeSafetensors(new Uint8Array(readFileSync(path)), name),
  },
  tokenizers: {
    types: [TokenizerError],
    load: (path, name) => loadTokenizer(readFileSync(path, 'utf8'), name).encode('ab a'),
  },
  datasets: {
    types: [DatasetError],
    load: async (path) => {
      for await (const text of readDataset({ path })) expect(typeof text).toBe('string');
    },
  },
  runs: { types: [RunFolderError, SafetensorsError], load: (path) => readWholeRun(new Run(path)) },
};

function readWholeRun(run: Run) {
  run.info();
  run.graph();
  run.metrics();
  return run.loadCheckpoint();
}

const scratch = mkdtempSync(join(tmpdir(), 'statelab-broken-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the hand-made broken-file corpus', () => {
  for (const [kind, cases] of Object.entries(EXPECTED)) {
    it(`${kind}: ${Object.keys(cases).length} files each refused with a typed error saying what is wrong`, async () => {
      // Every file in the folder has a stated expectation (a new corpus file cannot go unchecked).
      const onDisk = readdirSync(join(CORPUS, kind)).sort();
      expect(onDisk).toEqual(Object.keys(cases).sort());
      for (const [name, expected] of Object.entries(cases)) {
        const path = join(CORPUS, kind, name);
        const { types, load } = LOADERS[kind];
        let outcome: string;
        try {
          await load(path, name);
          outcome = LOADS;
        } catch (error) {
          expect(
            types.some((t) => error instanceof t),
            `${kind}/${name} threw ${(error as Error).name}: ${(error as Error).message}`,
          ).toBe(true);
          outcome = (error as Error).message;
          // The message names the file (the folder, for runs), and stays one readable paragraph.
          if (kind !== 'graphs' || !(error instanceof GraphCompileError))
            expect(outcome, `${kind}/${name}`).toContain(name);
        }
        if (expected === LOADS) expect(outcome, `${kind}/${name}`).toBe(LOADS);
        else expect(outcome, `${kind}/${name}`).toMatch(expected);
      }
    });
  }
});

describe('fuzzing run folders (fast-check)', () => {
  it(`${RUN_FOLDER_CASES} mutated run folders are read or refused naming the file, also through readRun/listRuns`, async () => {
    const workspaceDir = join(scratch, 'ws');
    const service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
    const good = join(CORPUS, 'runs', 'leftover-temporary');
    const targets = [
      'run.json',
      'metrics.jsonl',
      'checkpoints/step-0000003.safetensors',
      'checkpoints/step-0000003.optim.safetensors',
    ];
    const seeds = targets.map((t) => new Uint8Array(readFileSync(join(good, t))));
    let n = 0;
    let loaded = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(targets.length - 1), fc.nat(), async (which, pick) => {
        const bytes = fc.sample(bytesFrom([seeds[which]]), { numRuns: 1, seed: pick })[0];
        const id = `run-${n++}`;
        const dir = join(workspaceDir, 'runs', id);
        cpSync(good, dir, { recursive: true });
        writeFileSync(join(dir, targets[which]), bytes);
        const outcome = await loadsOrFailsTyped(
          'run folder',
          [RunFolderError, SafetensorsError],
          () => readWholeRun(new Run(dir)),
          {
            where: dir,
          },
        );
        if (outcome === 'loaded') loaded++;
        else refused++;
        // The host's view of the same folder: a result, or a readable error — never `internal`.
        const reply = await callLab(service, 'readRun', [id]);
        // (A damaged file is reported with the host's generic code, but the message names the file.)
        if ('error' in reply) {
          expect(reply.error.message).toContain(dir);
          expect(reply.error.message).not.toMatch(/TypeError|Cannot read properties|undefined/);
        }
        const list = await callLab(service, 'listRuns', []);
        expect(list).toHaveProperty('result');
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: RUN_FOLDER_CASES },
    );
    console.log(
      `run folders: ${RUN_FOLDER_CASES} mutated folders, ${loaded} read, ${refused} refused with a typed error naming the file`,
    );
    expect(refused).toBeGreaterThan(RUN_FOLDER_CASES / 3);
  });
});
