// End to end: a dataset whose tokens exceed the in-memory budget trains from the on-disk token cache, with
// exactly the loss trajectory of the same run with its tokens in memory, and resumes from that cache.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { resumeRun, trainRun, type TrainRequest } from '../../main/host/train-run.js';
import { templatePath } from '../../main/host/templates.js';

const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'statelab-large-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function request(runsDir: string, overrides: Partial<TrainRequest> = {}): TrainRequest {
  const graph = parseGraph(readFileSync(templatePath('short-conv')!, 'utf8'));
  graph.model.d_model = 32;
  return {
    graph,
    data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
    runsDir,
    steps: 12,
    batch: 4,
    seqLen: 32,
    lr: 3e-3,
    seed: 5,
    evalEvery: 6,
    checkpointEvery: 6,
    ...overrides,
  };
}

describe('datasets larger than the memory budget', () => {
  it('train from the disk token cache with the in-memory loss trajectory, and resume from it', async () => {
    const memoryRuns = join(dir, 'memory');
    const diskRuns = join(dir, 'disk');
    const inMemory = await trainRun(request(memoryRuns));
    expect(existsSync(join(memoryRuns, '.cache'))).toBe(false); // small enough: nothing written

    const logs: string[] = [];
    const budget = 16 << 10; // 4096 tokens; the text has several times more
    const onDisk = await trainRun(request(diskRuns, { dataMemoryBytes: budget }), { onLog: (m) => logs.push(m) });
    expect(logs.join('\n')).toMatch(/tokens exceed the 16 KiB memory budget; writing the token cache/);
    const caches = readdirSync(join(diskRuns, '.cache', 'tokens'));
    expect(caches).toEqual([expect.stringMatching(/^[0-9a-f]{32}\.bin$/)]);
    expect(new RunStore(diskRuns).list().map((r) => r.id)).toEqual([onDisk.run.id]); // the cache is not a run

    const loss = (runs: { run: { metrics(): { loss: number; val_loss?: number }[] } }) =>
      runs.run.metrics().map((m) => [m.loss, m.val_loss ?? null]);
    expect(loss(onDisk)).toHaveLength(12);
    expect(loss(onDisk)).toEqual(loss(inMemory)); // the same batches, bit for bit

    // Resume the disk run from step 6: the cache is found again (not re-tokenized) and the sampler's
    // position lands on the same windows.
    const cut = new RunStore(diskRuns).open(onDisk.run.dir);
    const straight = loss(onDisk);
    const kept = readFileSync(join(cut.dir, 'metrics.jsonl'), 'utf8').split('\n').slice(0, 6).join('\n') + '\n';
    writeFileSync(join(cut.dir, 'metrics.jsonl'), kept);
    const resumeLogs: string[] = [];
    await resumeRun(cut.dir, diskRuns, { fromStep: 6 }, { onLog: (m) => resumeLogs.push(m) });
    expect(resumeLogs.join('\n')).toMatch(/tokens from the token cache/);
    const resumed = loss({ run: cut });
    for (let i = 0; i < 12; i++) expect(Math.abs(resumed[i][0]! - straight[i][0]!)).toBeLessThan(1e-5);
  }, 60_000);
});
