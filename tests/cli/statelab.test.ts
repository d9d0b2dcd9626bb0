import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { templatePath } from '../../main/host/templates.js';

const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;

function statelab(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/statelab.mjs', ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('statelab CLI', () => {
  it('validate prints parameters, state size and FLOPs per module, or every problem (exit 2; unreadable files exit 1)', () => {
    const ok = statelab('validate', 'short-conv');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Short-convolution LM: valid/);
    expect(ok.stdout).toMatch(/layers\.0\.attn\s+mixer\.shortconv\s+256\s+768/);
    const json = JSON.parse(statelab('validate', 'short-conv', '--json').stdout);
    expect(json.valid).toBe(true);
    expect(json.totals.stateBytes).toBe(2 * 3 * 64 * 4);
    const dir = mkdtempSync(join(tmpdir(), 'statelab-cli-'));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"format": "statelab-graph", "version": 2, "nodes": [');
    const bad = statelab('validate', broken);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/broken\.json: malformed JSON \(the file looks truncated\)/);
    const cyclic = join(dir, 'cyclic.json');
    const doc = JSON.parse(readFileSync(templatePath('short-conv')!, 'utf8'));
    doc.edges.push({ from: 'norm.y', to: 'layers.x' });
    doc.edges = doc.edges.filter((e: { from: string; to: string }) => e.from !== 'embeddings.y');
    writeFileSync(cyclic, JSON.stringify(doc));
    const cycle = statelab('validate', cyclic);
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toMatch(/error: .*cycle through layers → norm/);
  });

  it('train --json streams metrics and ends with the run folder; runs lists it; unknown options are refused', () => {
    const runs = mkdtempSync(join(tmpdir(), 'statelab-cli-'));
    const train = statelab(
      'train',
      'short-conv',
      '--data',
      TEXT,
      '--steps',
      '4',
      '--batch',
      '2',
      '--seq',
      '16',
      '--eval-every',
      '2',
      '--checkpoint-every',
      '2',
      '--runs',
      runs,
      '--json',
    );
    expect(train.code).toBe(0);
    const events = train.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.filter((e) => e.event === 'metrics').map((e) => e.step)).toEqual([0, 1, 2, 3]);
    const done = events[events.length - 1];
    expect(done).toMatchObject({ event: 'done', status: 'completed', step: 4 });
    const listed = JSON.parse(statelab('runs', '--runs', runs, '--json').stdout);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ status: 'completed', steps: 4, checkpoints: 2 });
    const typo = statelab('train', 'short-conv', '--dta', TEXT);
    expect(typo.code).toBe(64);
    expect(typo.stderr).toMatch(/unknown option --dta/);
    const unknown = statelab('train', 'no-such-template', '--data', TEXT);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(
      /"no-such-template" is neither a graph file nor a template \(templates: .*short-conv/,
    );
  });
});
