// The training Worker replays the CLI's data pipeline (it may not import main/): these tests hold the two
// to the same batches, validation batches and resume positions, so a run the app starts is one the CLI
// can resume exactly. If main/host/data-source.ts changes, this fails until the Worker follows.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TokenData } from '../../shared/lab-api.js';
import { createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { openDataSource } from '../../main/host/data-source.js';
import { openWorkerData } from '../../renderer/src/workers/data.js';

const shape = { batch: 3, seqLen: 12, seed: 11 };
const workspaceDir = mkdtempSync(join(tmpdir(), 'statelab-worker-data-'));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));
const service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
const asInt32 = (bytes: Uint8Array) => new Int32Array(bytes.slice().buffer);
const tokensOf = (t: TokenData) => ({
  kind: 'tokens' as const,
  train: asInt32(t.train),
  validation: asInt32(t.validation),
  vocabSize: t.vocabSize,
  tokenizer: t.tokenizer,
});

describe('Worker data = CLI data', () => {
  it('bundled text: the same training and validation batches, and the same positions', async () => {
    const tokens = await service.readTokens({ kind: 'bundled-text', id: 'lighthouse', validationFraction: 0.1 });
    const app = openWorkerData(tokensOf(tokens), shape, 256);
    const cli = await openDataSource(
      {
        kind: 'text',
        path: join(SOURCE_ASSETS_DIR, 'text', 'lighthouse.txt'),
        tokenizer: 'byte',
        validationFraction: 0.1,
      },
      { vocabSize: 256, ...shape },
    );
    for (let i = 0; i < 5; i++) {
      const a = app.train.next();
      const b = cli.train.next();
      expect([...a.inputs], `batch ${i}`).toEqual([...b.inputs]);
      expect([...a.targets]).toEqual([...b.targets]);
    }
    expect(app.train.position()).toEqual(cli.train.position());
    const [va, vb] = [app.validation(2)!, cli.validation(2)!];
    expect(va.map((b) => [...b.inputs])).toEqual(vb.map((b) => [...b.inputs]));
    // Resume: a position saved by either side restores the other to the same next batch.
    cli.train.restore(app.train.position());
    app.train.restore(cli.train.position());
    expect([...app.train.next().inputs]).toEqual([...cli.train.next().inputs]);
  });

  it('a JSONL file with a character tokenizer: the same vocabulary and batches', async () => {
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ text: `record ${i}: ${'abcdefg'.slice(0, (i % 7) + 1)} ✓` }),
    );
    await service.importDataFile('records.jsonl', new TextEncoder().encode(lines.join('\n')));
    const spec = { kind: 'file' as const, name: 'records.jsonl', tokenizer: 'char', validationFraction: 0.2 };
    const tokens = await service.readTokens(spec);
    const cli = await openDataSource(
      { kind: 'text', path: join(workspaceDir, 'data', 'records.jsonl'), tokenizer: 'char', validationFraction: 0.2 },
      { vocabSize: 1000, ...shape },
    );
    expect(tokens.vocabSize).toBe(cli.vocabSize);
    const app = openWorkerData(tokensOf(tokens), shape, 1000);
    for (let i = 0; i < 3; i++) expect([...app.train.next().inputs]).toEqual([...cli.train.next().inputs]);
    expect(app.validation(1)!.map((b) => [...b.targets])).toEqual(cli.validation(1)!.map((b) => [...b.targets]));
    const preview = await service.previewData(spec);
    expect(preview.trainTokens + preview.validationTokens).toBe(tokens.train.length / 4 + tokens.validation.length / 4);
    expect(preview.sample).toMatch(/^record 0: a ✓/);
  });

  it('synthetic task: the same batches and validation set', async () => {
    const params = { vocab_size: 32, seq_len: 16, num_kv_pairs: 2 };
    const app = openWorkerData({ kind: 'task', task: 'mqar', params }, { ...shape, seqLen: 16 }, 64);
    const cli = await openDataSource({ kind: 'task', task: 'mqar', params }, { vocabSize: 64, ...shape, seqLen: 16 });
    for (let i = 0; i < 3; i++) {
      const [a, b] = [app.train.next(), cli.train.next()];
      expect([...a.inputs]).toEqual([...b.inputs]);
      expect([...a.targets]).toEqual([...b.targets]);
    }
    expect(app.train.position()).toEqual(cli.train.position());
    expect(app.validation(2)!.map((b) => [...b.targets])).toEqual(cli.validation(2)!.map((b) => [...b.targets]));
  });

  it('refuses data the graph cannot take, naming the vocabulary', () => {
    const tokens = (n: number) => ({
      kind: 'tokens' as const,
      train: new Int32Array(n),
      validation: new Int32Array(0),
      vocabSize: 256,
      tokenizer: 'byte',
    });
    expect(() => openWorkerData(tokens(100), shape, 128)).toThrow(
      /byte tokenizer needs a vocabulary of 256 ids, but the graph's vocab_size is 128/,
    );
    const mqar = { vocab_size: 200, seq_len: 16, num_kv_pairs: 2 };
    expect(() => openWorkerData({ kind: 'task', task: 'mqar', params: mqar }, shape, 64)).toThrow(/200 ids/);
    expect(() => openWorkerData(tokens(5), shape, 256)).toThrow(/fewer than one window/);
  });
});
