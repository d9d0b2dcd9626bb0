// The training Worker replays the CLI's data pipeline (it may not import main/): these tests hold the two
// to the same batches, validation batches and resume positions, so a run the app starts is one the CLI
// can resume exactly. If main/host/data-source.ts changes, this fails until the Worker follows.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { openDataSource } from '../../main/host/data-source.js';
import { openWorkerData } from '../../renderer/src/workers/data.js';

const shape = { batch: 3, seqLen: 12, seed: 11 };
const service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR });

describe('Worker data = CLI data', () => {
  it('bundled text: the same training and validation batches, and the same positions', async () => {
    const tokens = await service.readTextTokens('lighthouse', 0.1);
    const asInt32 = (bytes: Uint8Array) => new Int32Array(bytes.slice().buffer);
    const app = openWorkerData(
      { kind: 'tokens', train: asInt32(tokens.train), validation: asInt32(tokens.validation) },
      shape,
      256,
    );
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
    expect(() =>
      openWorkerData({ kind: 'tokens', train: new Int32Array(100), validation: new Int32Array(0) }, shape, 128),
    ).toThrow(/vocab_size is 128/);
    expect(() =>
      openWorkerData(
        { kind: 'task', task: 'mqar', params: { vocab_size: 200, seq_len: 16, num_kv_pairs: 2 } },
        shape,
        64,
      ),
    ).toThrow(/200 ids/);
    expect(() =>
      openWorkerData({ kind: 'tokens', train: new Int32Array(5), validation: new Int32Array(0) }, shape, 256),
    ).toThrow(/fewer than one window/);
  });
});
