// Sweep files without the GPU: the grid a file expands to, the ids and keys of its points, and every bad
// input refused before anything runs with a message naming the file, field, graph, node or parameter.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeCatalogue } from '../../gpu/graph/catalogue.js';
import { sweepCommand } from '../../main/cli/sweep.js';
import { listSweeps, loadSweep, planSweep, readSweep } from '../../main/host/sweeps/index.js';
import { markBest, summarize, type SweepRow } from '../../main/host/sweeps/results.js';
import { setParam } from '../../shared/sweeps/expand.js';
import { parseSweep } from '../../shared/sweeps/parse.js';
import type { SweepFile } from '../../shared/sweeps/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'sweep-plan-'));

function sweep(change: Record<string, unknown> = {}): SweepFile {
  return {
    format: 'statelab-sweep',
    version: 1,
    name: 'plan-test',
    graphs: [
      { family: 'gla', template: 'gla', set: { 'attn.num_heads': 2 } },
      { family: 'conv', template: 'short-conv' },
    ],
    data: { task: 'mqar', params: { vocab_size: 32, seq_len: 16, num_kv_pairs: 2 } },
    axes: { d_model: [16, 32], 'train.lr': [0.001, 0.01] },
    train: { lr: 0.003, steps: 4, seqLen: 16, batch: 4 },
    seeds: [1, 2],
    metric: 'mqar_accuracy',
    bestOf: { axis: 'train.lr' },
    ...change,
  } as SweepFile;
}

function fileOf(doc: unknown, name = `s${Math.random().toString(36).slice(2)}.json`): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

describe('axis expansion', () => {
  it('gives graphs × axis values × seeds, each point with its own graph, settings and keys', () => {
    const planned = planSweep(sweep(), join(dir, 'x.json'));
    expect(planned.points).toHaveLength(2 * 2 * 2 * 2);
    const combos = new Set(planned.points.map((p) => `${p.family}/${p.axes.d_model}/${p.axes['train.lr']}/${p.seed}`));
    expect(combos.size).toBe(16);
    for (const p of planned.points) {
      expect(p.graph.model.d_model).toBe(p.axes.d_model);
      expect(p.train.lr).toBe(p.axes['train.lr']);
      expect(p.graph.model.vocab_size).toBe(256); // the template's vocabulary already holds the task's 32
      expect(p.seqLen).toBe(16);
      // the fixed edit reaches only the GLA graph's attn node
      const attn = p.graph.blocks!.block.nodes.find((n) => n.id === 'attn')!;
      expect(attn.params?.num_heads).toBe(p.family === 'gla' ? 2 : undefined);
    }
    // best-of groups: same family, width and seed, differing only in lr; configs pool the seeds too
    const groups = new Map<string, number>();
    for (const p of planned.points) groups.set(p.group, (groups.get(p.group) ?? 0) + 1);
    expect([...groups.values()]).toEqual(Array(8).fill(2));
    expect(new Set(planned.points.map((p) => p.config)).size).toBe(4);
    // wider models have more parameters
    const gla = planned.points.filter((p) => p.family === 'gla');
    expect(gla.find((p) => p.axes.d_model === 32)!.params).toBeGreaterThan(
      gla.find((p) => p.axes.d_model === 16)!.params,
    );
  });

  it('names runs deterministically from the runName scheme, and refuses a scheme that collides', () => {
    const a = planSweep(sweep({ runName: '{family}-d{d_model}-lr{train.lr}-s{seed}' }), join(dir, 'x.json'));
    const b = planSweep(sweep({ runName: '{family}-d{d_model}-lr{train.lr}-s{seed}' }), join(dir, 'x.json'));
    expect(a.points.map((p) => p.id)).toEqual(b.points.map((p) => p.id));
    expect(a.points[0].id).toBe('gla-d16-lr0.001-s1');
    expect(() => planSweep(sweep({ runName: '{family}-d{d_model}' }), join(dir, 'x.json'))).toThrow(
      /runName gives runs 0 and 1 the same id "gla-d16"/,
    );
    expect(() => planSweep(sweep({ runName: '{family}-{width}' }), join(dir, 'x.json'))).toThrow(
      /"\{width\}" names no axis/,
    );
  });

  it('addresses node parameters by id, by bare name (every node that has it) and task parameters', () => {
    const planned = planSweep(
      sweep({
        axes: { 'layers.count': [1, 3], num_heads: [2], 'task.num_kv_pairs': [1, 3] },
        graphs: [{ family: 'gla', template: 'gla' }],
        bestOf: undefined,
      }),
      join(dir, 'x.json'),
    );
    expect(planned.points).toHaveLength(2 * 1 * 2 * 2);
    for (const p of planned.points) {
      expect(p.graph.nodes.find((n) => n.id === 'layers')!.params!.count).toBe(p.axes['layers.count']);
      expect(p.graph.blocks!.block.nodes.find((n) => n.id === 'attn')!.params!.num_heads).toBe(2);
      expect(p.dataSpec).toMatchObject({ kind: 'task', params: { num_kv_pairs: p.axes['task.num_kv_pairs'] } });
    }
  });
});

describe('refused before anything runs', () => {
  it('an axis over a parameter the graph does not have names the graph, node and parameter', () => {
    expect(() => planSweep(sweep({ axes: { 'attn.d_state': [16] } }), join(dir, 'x.json'))).toThrow(
      /axes\["attn.d_state"\]: graph "GLA" \(family gla\) node "attn" \(mixer.gla\) has no parameter "d_state" \(parameters: num_heads/,
    );
    expect(() => planSweep(sweep({ axes: { 'mixer.num_heads': [2] } }), join(dir, 'x.json'))).toThrow(
      /has no node "mixer" \(nodes: tokens, embeddings/,
    );
    // a bare name the short-conv graph has nowhere
    expect(() => planSweep(sweep({ axes: { expand_k: [1] } }), join(dir, 'x.json'))).toThrow(
      /graph "Short-convolution LM" \(family conv\) has no node with a parameter "expand_k"/,
    );
    const catalogue = nodeCatalogue();
    const doc = loadSweep(fileOf(sweep({ axes: { d_model: [16] }, bestOf: undefined }))).points[0].graph;
    expect(() => setParam(doc, 'gla', 'lm_head.count', 2, catalogue, 'here')).toThrow(
      /node "lm_head" \(lm_head\) has no parameter "count" \(parameters: tied\)/,
    );
  });

  it('an empty grid', () => {
    expect(() => parseSweep(JSON.stringify(sweep({ axes: { d_model: [] } })), 'e.json')).toThrow(
      'e.json: axes["d_model"]: is empty: the grid would have no runs',
    );
    expect(() => parseSweep(JSON.stringify(sweep({ seeds: [] })), 'e.json')).toThrow(
      'e.json: seeds: must be a non-empty list',
    );
    expect(() => parseSweep(JSON.stringify(sweep({ graphs: [] })), 'e.json')).toThrow(
      'e.json: graphs: must be a non-empty list',
    );
  });

  it('runs that would not fit the memory budget, with the estimate and its parts', () => {
    const big = sweep({
      axes: { d_model: [16, 512] },
      bestOf: undefined,
      train: { lr: 1e-3, steps: 4, seqLen: 16, batch: 4096 },
      memoryBudgetMB: 1024,
    });
    expect(() => planSweep(big, join(dir, 'x.json'))).toThrow(
      /4 of 8 runs cannot start:\n {2}- run gla-dmodel512-s1: needs an estimated \d+ MiB to train \(parameters and optimizer \d+ MiB, activations \d+ MiB, mixer states \d+ MiB at batch 4096 × 16 tokens, plus the buffer pool's size classes\), over the memory budget of 1024 MiB/,
    );
    // the CLI's --memory-budget overrides the file's
    expect(() => loadSweep(fileOf(big), { memoryBudgetMB: 1 << 20 })).not.toThrow();
  });

  it('a graph that does not compile at a point of the grid, naming the run', () => {
    expect(() => planSweep(sweep({ axes: { d_model: [16, 18] }, bestOf: undefined }), join(dir, 'x.json'))).toThrow(
      /run gla-dmodel18-s1: graph "GLA" \(family gla\): the graph is not valid/,
    );
  });

  it('malformed files, naming the file and the field', () => {
    const path = fileOf('{"format": "statelab-sweep", ');
    expect(() => loadSweep(path)).toThrow(new RegExp(`${path}: malformed JSON`));
    const cases: [Record<string, unknown>, string][] = [
      [{ format: 'statelab-graph' }, 'format: must be "statelab-sweep"'],
      [{ version: 2 }, 'version: must be 1'],
      [{ train: { lr: 'fast', steps: 4, seqLen: 16, batch: 4 } }, 'train.lr: must be a positive number (got "fast")'],
      [{ train: { lr: 1e-3, steps: 4, seqLen: 16 } }, 'train.batch: is required'],
      [{ train: { lr: 1e-3, steps: 4, seqLen: 16, batch: 4, epochs: 2 } }, 'train.epochs: is not a training setting'],
      [{ bestOf: { axis: 'lr' } }, 'bestOf.axis: "lr" is not one of the axes (d_model, train.lr)'],
      [{ data: { task: 'copy' } }, 'metric: mqar_accuracy needs the mqar task as data'],
      [{ graphs: [{ family: 'a', template: 'gla', file: 'g.json' }] }, 'graphs[0]: needs exactly one of "template"'],
      [
        {
          graphs: [
            { family: 'a', template: 'gla' },
            { family: 'a', template: 'gla' },
          ],
        },
        'graphs[1].family: "a" is used twice',
      ],
      [{ axes: { d_model: [16, 16] } }, 'axes["d_model"]: repeats a value'],
      [{ colour: 'red' }, 'colour: is not a sweep field'],
    ];
    for (const [change, message] of cases)
      expect(() => parseSweep(JSON.stringify(sweep(change)), 'bad.json')).toThrow(`bad.json: ${message}`);
    expect(() => loadSweep(fileOf(sweep({ graphs: [{ family: 'x', template: 'no-such' }] })))).toThrow(
      /graphs\[0\]\.template: no template "no-such" \(templates: deltanet/,
    );
    expect(() => loadSweep(fileOf(sweep({ graphs: [{ family: 'x', file: 'missing.json' }] })))).toThrow(
      /graphs\[0\]\.file: graph file .*missing.json does not exist/,
    );
    expect(() =>
      loadSweep(fileOf(sweep({ data: { task: 'mqar', params: { seq_len: 8, num_kv_pairs: 4, vocab_size: 32 } } }))),
    ).toThrow(/data: .*exceeds seq_len 8/);
  });

  it('the CLI exits 1 with the message and starts nothing', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } };
    const runsDir = join(dir, 'cli-runs');
    const code = await sweepCommand(
      [fileOf(sweep({ axes: { 'attn.d_state': [1] }, bestOf: undefined })), '--runs', runsDir],
      io,
    );
    expect(code).toBe(1);
    expect(err.join('')).toMatch(/node "attn" \(mixer.gla\) has no parameter "d_state"/);
    expect(out).toEqual([]);
    expect(await sweepCommand(['--only', 'x', 'a.json'], io)).toBe(2);
  });
});

describe('the bundled sweeps', () => {
  it('plan without errors; the Zoology sweep is 8 families × 3 widths × 4 learning rates, best of lr', () => {
    const names = listSweeps().map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['zoology-mqar', 'ci-tiny']));
    const path = listSweeps().find((s) => s.name === 'zoology-mqar')!.path;
    const zoology = readSweep(path);
    // the templates' 256-token vocabulary grows to MQAR's 8192 before parameters are counted
    expect(loadSweep(path).points.every((p) => p.graph.model.vocab_size === 8192 && p.seqLen === 256)).toBe(true);
    expect(zoology.points).toHaveLength(96);
    expect(zoology.families).toEqual([
      'attention',
      'gla',
      'mamba2',
      'deltanet',
      'gated-deltanet',
      'hgrn2',
      'rwkv7',
      'shortconv',
    ]);
    expect(zoology.bestOf).toBe('train.lr');
    // attention's KV cache at 256 tokens is far larger than any recurrent state of the same width
    const at = (family: string) =>
      zoology.points.find((p) => p.family === family && p.axes.d_model === 128)!.stateBytes;
    for (const family of ['gla', 'mamba2', 'deltanet', 'gated-deltanet', 'hgrn2', 'rwkv7', 'shortconv'])
      expect(at('attention')).toBeGreaterThan(at(family));
  });
});

describe('best-of', () => {
  const planned = planSweep(sweep({ seeds: [1] }), join(dir, 'x.json'));
  const rows = (metrics: (number | undefined)[]): SweepRow[] =>
    planned.points.map((p, i) => ({
      index: i,
      id: p.id,
      family: p.family,
      axes: p.axes,
      seed: p.seed,
      status: 'done',
      params: 0,
      stateBytes: 0,
      metric: metrics[i],
      best: false,
    }));

  it('picks the highest accuracy within each group, skips unscored runs, and breaks ties by grid order', () => {
    // points: gla d16 lr.001, gla d16 lr.01, gla d32 lr.001, gla d32 lr.01, conv … (same order)
    const table = rows([0.2, 0.9, undefined, 0.4, 0.5, 0.5, 0.7, 0.1]);
    markBest(table, planned);
    expect(table.map((r) => r.best)).toEqual([false, true, false, true, true, false, true, false]);
  });

  it('picks the lowest loss when the metric is val_loss', () => {
    const lossPlan = planSweep(sweep({ seeds: [1], metric: 'val_loss' }), join(dir, 'x.json'));
    const table = rows([3, 2, 1, 4, 5, 6, 8, 7]).map((r) => ({ ...r }));
    markBest(table, lossPlan);
    expect(table.map((r) => r.best)).toEqual([false, true, true, false, true, false, false, true]);
  });

  it('averages the chosen runs over seeds: mean, sample standard deviation, range and the chosen values', () => {
    const twoSeeds = planSweep(
      sweep({
        seeds: [1, 2],
        graphs: [{ family: 'gla', template: 'gla' }],
        axes: { d_model: [16], 'train.lr': [0.001, 0.01] },
      }),
      join(dir, 'x.json'),
    );
    // points: lr .001 s1, lr .001 s2, lr .01 s1, lr .01 s2
    const metrics = [0.5, 0.9, 0.7, 0.3];
    const table: SweepRow[] = twoSeeds.points.map((p, i) => ({
      index: i,
      id: p.id,
      family: p.family,
      axes: p.axes,
      seed: p.seed,
      status: 'done',
      params: p.params,
      stateBytes: p.stateBytes,
      metric: metrics[i],
      best: false,
    }));
    markBest(table, twoSeeds);
    expect(table.map((r) => r.best)).toEqual([false, true, true, false]); // seed 1 → lr .01 (0.7), seed 2 → lr .001 (0.9)
    const [config] = summarize(table, twoSeeds);
    expect(config.n).toBe(2);
    expect(config.mean).toBeCloseTo(0.8, 12);
    expect(config.std).toBeCloseTo(Math.sqrt(((0.7 - 0.8) ** 2 + (0.9 - 0.8) ** 2) / 1), 12);
    expect([config.min, config.max]).toEqual([0.7, 0.9]);
    expect(config.chosen.sort()).toEqual([0.001, 0.01]);
    expect(config.axes).toEqual({ d_model: 16 });
  });
});
