// The worked examples of docs/examples/README.md, as one script: trains ten small models with the train
// service (the same code path as `statelab train`) and runs the Inspect analyses on them (the same code
// path as `statelab inspect`). Every run is capped in wall time so the whole script fits a few minutes.
//
//   node worked-examples.mjs <out dir> <text corpus> [--quick] [--only text,passkey,mqar]
//   node worked-examples.mjs <out dir> - --mqar-model gla-d64 [--seconds 140]   (one MQAR model: train + analyze)
//   node worked-examples.mjs <out dir> - --mqar-collect                          (capacity + summary of those)
//
// The MQAR models train one per process (--mqar-model), all at once: a step of these small models is
// bound by the CPU's command encoding (5-30 ms), so six processes on the GPU machine's 16 cores train six
// models in the time of one. mqar-parallel.sh runs them and then --mqar-collect.
//
// --quick trains 6 steps per model (a smoke test on a CPU adapter); the committed results come from full
// runs on the GPU machine. Runs land in <out>/runs, each keeping only its last checkpoint (so the
// analyses can be recomputed anywhere); a summary of every analysis in <out>/summary.json.

import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { templatePath } from '../../main/host/templates.js';
import { createNodeEngine } from '../../main/host/node-gpu.js';
import { trainRun, type TrainRequest } from '../../main/host/train-run.js';
import { runExtrapolation } from '../../main/host/analyses/extrapolation.js';
import { runStates } from '../../main/host/analyses/states.js';
import { runPasskey } from '../../main/host/analyses/passkey.js';
import { runMqar } from '../../main/host/analyses/mqar.js';
import { runCapacity } from '../../main/host/analyses/capacity.js';
import { runImplicitAttention } from '../../main/host/analyses/implicit-attention.js';

const [out, corpus] = process.argv.slice(2);
const quick = process.argv.includes('--quick');
const flag = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const onlyAt = process.argv.indexOf('--only');
const only = new Set(onlyAt > 0 ? process.argv[onlyAt + 1].split(',') : ['text', 'passkey', 'mqar']);
const mqarModel = flag('--mqar-model');
const mqarCollect = process.argv.includes('--mqar-collect');
if (!out || !corpus)
  throw new Error(
    'usage: worked-examples <out dir> <text corpus | -> [--quick] [--only …] [--mqar-model M | --mqar-collect]',
  );
const runsDir = join(out, 'runs');
const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);
const log = (message: string) => console.log(`[${elapsed()} s] ${message}`);

function graph(
  name: string,
  width: number,
  vocab: number,
  mixer?: { kind: string; params: Record<string, unknown> },
): GraphDoc {
  const doc = parseGraph(readFileSync(templatePath(name)!, 'utf8'), `${name}.json`);
  doc.model.d_model = width;
  doc.model.vocab_size = vocab;
  if (mixer) {
    const node = Object.values(doc.blocks ?? {})
      .flatMap((b) => b.nodes)
      .find((n) => n.kind.startsWith('mixer.'))!;
    node.kind = `mixer.${mixer.kind}`;
    node.params = mixer.params as typeof node.params;
  }
  return doc;
}

interface Plan {
  name: string;
  graph: GraphDoc;
  data: TrainRequest['data'];
  seqLen: number;
  batch: number;
  steps: number;
  lr: number;
  /** Wall-time cap of the training in seconds. */
  seconds: number;
  /** Steps between checkpoints (default 50; the analyses read the last one). */
  checkpointEvery?: number;
}

async function train(p: Plan) {
  const steps = quick ? 6 : p.steps;
  let timer: NodeJS.Timeout | undefined;
  const t0 = Date.now();
  const { run, outcome } = await trainRun(
    {
      graph: p.graph,
      data: p.data,
      runsDir,
      name: p.name,
      steps,
      batch: p.batch,
      seqLen: p.seqLen,
      lr: p.lr,
      seed: 1,
      evalEvery: quick ? 3 : 100,
      checkpointEvery: quick ? 3 : (p.checkpointEvery ?? 50),
    },
    { onTrainer: (trainer) => (timer = setTimeout(() => trainer.stop(), p.seconds * 1000)) },
  );
  clearTimeout(timer);
  // Keep the last checkpoint only: enough to rerun every analysis (its optimizer file marks it complete).
  const keep = String(run.checkpointSteps().at(-1)).padStart(7, '0');
  for (const file of readdirSync(join(run.dir, 'checkpoints')))
    if (!file.includes(keep)) rmSync(join(run.dir, 'checkpoints', file));
  const last = run.metrics().at(-1);
  log(
    `${p.name}: ${outcome.status} at step ${outcome.step} in ${((Date.now() - t0) / 1000).toFixed(1)} s, loss ${last?.loss.toFixed(3)}`,
  );
  return run.id;
}

const text = () => ({ kind: 'text' as const, path: corpus, tokenizer: 'byte' });

// MQAR as Zoology's Figure 2 sets it (random_non_queries off: with a vocabulary of 128 the default random
// fillers would repeat each key ~0.4 times per sequence as a distractor; at Zoology's 8192 they almost
// never do), batch 128, AdamW 3e-3 with cosine decay over the steps a run is expected to reach; every
// model is Zoology's hybrid with a short convolution before each mixer (withShortConv), '-plain' without.
const MQAR_TASK = {
  kind: 'task' as const,
  task: 'mqar',
  params: { vocab_size: 128, seq_len: 64, num_kv_pairs: 4, random_non_queries: 0 },
};
const MQAR_MODELS = ['llama-d32', 'gla-d32', 'mamba-d32', 'llama-d64', 'gla-d64', 'mamba-d64'];

/**
 * Zoology's Hybrid[BaseConv, mixer]: every block gets a short causal convolution (3 taps, its own residual)
 * before its mixer, so a token can see the one before it without a learned previous-token head. Without
 * it, two-layer models sit on the "answer is one of the values" plateau (loss ≈ ln N) for many steps.
 */
function withShortConv(doc: GraphDoc): GraphDoc {
  for (const block of Object.values(doc.blocks ?? {})) {
    const mixer = block.nodes.find((n) => n.kind.startsWith('mixer.'))!;
    const norm = block.edges.find((e) => e.to === `${mixer.id}.x`)!.from.split('.')[0];
    const residual = block.edges.find((e) => e.from === `${mixer.id}.y`)!.to.split('.')[0];
    block.nodes.push(
      { id: 'conv', kind: 'mixer.shortconv', params: { kernel: 3 } },
      { id: 'conv_residual', kind: 'add' },
    );
    for (const e of block.edges)
      if (e.from === 'input.x' && (e.to === `${norm}.x` || e.to === `${residual}.a`)) e.from = 'conv_residual.y';
    block.edges.push(
      { from: 'input.x', to: 'conv.x' },
      { from: 'input.x', to: 'conv_residual.a' },
      { from: 'conv.y', to: 'conv_residual.b' },
    );
  }
  return doc;
}

async function trainMqar(model: string, seconds: number): Promise<string> {
  const [, template, width, plain] = /^([a-z0-9_]+)-d(\d+)(-plain)?$/.exec(model) ?? [];
  if (!template) throw new Error(`MQAR model "${model}" is not <template>-d<width>[-plain]`);
  const doc = graph(template, Number(width), 128);
  return train({
    name: `mqar-${model}`,
    graph: plain ? doc : withShortConv(doc),
    data: MQAR_TASK,
    seqLen: 64,
    batch: 128,
    steps: Math.max(200, Math.round(seconds * 40)),
    lr: 3e-3,
    seconds,
    checkpointEvery: 250,
  });
}

/** Accuracy by pairs; for GLA d64 also the implicit attention. */
async function analyzeMqar(engine: Awaited<ReturnType<typeof createNodeEngine>>, run: string, model: string) {
  const mq = await runMqar(engine, { runsDir, run, kv: [1, 2, 4, 8, 16], samples: quick ? 4 : 200 });
  const out: Record<string, unknown> = { [run]: { mqar: mq.result.points } };
  log(`${run}: mqar done (${mq.result.points.map((p) => `${p.kv}: ${p.accuracy.toFixed(3)}`).join(', ')})`);
  if (model === 'gla-d64') {
    const ia = await runImplicitAttention(engine, {
      runsDir,
      run,
      length: 64,
      probe: 'validation',
      heads: [0, 1, 2, 3],
    });
    out.implicitAttention = ia.result.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      reconstructionError: l.reconstructionError,
    }));
  }
  return out;
}

/** One MQAR model per process (see the header), and the collection step after all of them. */
async function mqarProcess(): Promise<boolean> {
  if (mqarModel) {
    const seconds = Number(flag('--seconds') ?? 140);
    const run = await trainMqar(mqarModel, quick ? 1 : seconds);
    const engine = await createNodeEngine();
    try {
      const part = await analyzeMqar(engine, run, mqarModel);
      writeFileSync(join(out, `summary-${mqarModel}.json`), `${JSON.stringify(part, null, 1)}\n`);
    } finally {
      engine.destroy();
    }
    return true;
  }
  if (mqarCollect) {
    const runs = readdirSync(runsDir).filter((id) => /-mqar-/.test(id));
    Object.assign(
      summary,
      ...readdirSync(out)
        .filter((f) => /^summary-.+\.json$/.test(f))
        .map((f) => JSON.parse(readFileSync(join(out, f), 'utf8'))),
    );
    summary.capacity = runCapacity({ runsDir, runs, metric: 'mqar' }).result;
    writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
    log(`collected ${runs.length} MQAR runs`);
    return true;
  }
  return false;
}
const summary: Record<string, unknown> = {};

async function main() {
  // 1. Length extrapolation: linear attention never forgets; GLA is the same layer with a decay gate.
  const T = 64;
  const extrapolation = [
    { name: 'linear-attention-T64', mixer: { kind: 'linear_attn', params: { num_heads: 4, output_norm: 'identity' } } },
    { name: 'gla-T64', mixer: { kind: 'gla', params: { num_heads: 4 } } },
  ];
  const textRuns: string[] = [];
  if (only.has('text'))
    for (const m of extrapolation)
      textRuns.push(
        await train({
          name: m.name,
          graph: graph('gla', 64, 256, m.mixer),
          data: text(),
          seqLen: T,
          batch: 16,
          steps: 3000,
          lr: 3e-3,
          seconds: 20,
        }),
      );

  // 2. Passkey: Mamba (diagonal state, 2·64·16 floats per layer) and GLA (matrix state, 4·8·16 per layer).
  const passkeyTask = { kind: 'task' as const, task: 'passkey', params: { seq_len: 64, digits: 2, filler_tokens: 8 } };
  const passkeyRuns: string[] = [];
  if (only.has('passkey'))
    for (const [name, template] of [
      ['passkey-mamba-d64', 'mamba'],
      ['passkey-gla-d64', 'gla'],
    ] as const)
      passkeyRuns.push(
        await train({
          name,
          graph: graph(template, 64, 32),
          data: passkeyTask,
          seqLen: 64,
          batch: 32,
          steps: 4000,
          lr: 3e-3,
          seconds: 25,
        }),
      );

  // 3. MQAR: attention, GLA and Mamba at d = 32 and 64, trained with 4 pairs in 64 tokens.
  const mqarRuns: string[] = [];
  if (only.has('mqar')) for (const model of MQAR_MODELS) mqarRuns.push(await trainMqar(model, 20));

  const engine = await createNodeEngine();
  try {
    for (const run of textRuns) {
      const ex = await runExtrapolation(engine, { runsDir, run, factor: 16, batch: 16, bucket: 32 });
      const st = await runStates(engine, { runsDir, run, factor: 16, every: 16, batch: 2, probe: 'data-free' });
      summary[run] = {
        extrapolation: ex.results.map((r) => ({ probe: r.probe, multiples: r.multiples, factor: r.extrapolation })),
        flaggedHeads: st.result.flagged.length,
        firstFlag: st.result.flagged[0] ?? null,
      };
      log(`${run}: extrapolation and states done`);
    }
    for (const run of passkeyRuns) {
      const pk = await runPasskey(engine, {
        runsDir,
        run,
        lengths: [32, 64, 128, 256, 512],
        depths: 10,
        samples: quick ? 2 : 20,
      });
      summary[run] = {
        passkey: { lengths: pk.result.lengths, meanAccuracy: pk.result.meanAccuracy, capacity: pk.result.capacity },
      };
      log(`${run}: passkey done`);
    }
    for (const [i, run] of mqarRuns.entries()) Object.assign(summary, await analyzeMqar(engine, run, MQAR_MODELS[i]));
    if (mqarRuns.length) summary.capacity = runCapacity({ runsDir, runs: mqarRuns, metric: 'mqar' }).result;
  } finally {
    engine.destroy();
  }
  writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  log('worked examples complete');
}

if (!(await mqarProcess())) await main();
