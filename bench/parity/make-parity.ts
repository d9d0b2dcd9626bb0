// The StateLab side of the PyTorch parity bench. For every exported family: train a tiny run on the
// bundled text, export it as a PyTorch package, and write what the Python side must reproduce —
//   out/<name>/                 the exported package (config.json, model.safetensors, model.py, …)
//   out/<name>/onnx/            the ONNX export (model.onnx, model_step.onnx, model.onnx.data)
//   out/<name>/expected.json    fixed token ids and StateLab's logits for them; K training steps from the
//                               checkpoint (batches, AdamW settings, StateLab's loss at each step)
//   out/<name>/params.bin       every parameter as little-endian F32 in the order of expected.json's
//                               `params`, for the bit-exactness check of the Python safetensors library
// Usage: npx tsx bench/parity/make-parity.ts [--only name,name] [--out bench/parity/out]
// Then on a machine with PyTorch: python3 bench/parity/pytorch_parity.py bench/parity/out

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileGraph } from '../../gpu/graph/compile.js';
import { createParams } from '../../gpu/nn/module.js';
import { StepExecutor, type Batch } from '../../gpu/train/step.js';
import { createNodeEngine } from '../../main/host/node-gpu.js';
import { trainRun } from '../../main/host/train-run.js';
import { buildPlan } from '../../main/export/plan.js';
import { writeOnnxFolder } from '../../main/export/onnx/export.js';
import { writePytorchPackage } from '../../main/export/pytorch.js';
import { loadRunSource } from '../../main/export/source.js';
import { FAMILY_CASES, familyGraph } from './families.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const outDir = option('out') ?? 'bench/parity/out';
const only = option('only')?.split(',');
const TEXT = 'assets/text/lighthouse.txt';
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const text = new Uint8Array(readFileSync(TEXT));

/** Windows of the text at fixed offsets: inputs [B, T] and next-token targets. */
function windows(batch: number, seqLen: number, first: number): Batch {
  const inputs = new Int32Array(batch * seqLen);
  const targets = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    const start = (first + b * 997) % (text.length - seqLen - 1);
    for (let t = 0; t < seqLen; t++) {
      inputs[b * seqLen + t] = text[start + t];
      targets[b * seqLen + t] = text[start + t + 1];
    }
  }
  return { inputs, targets, batch, seqLen };
}

const TRAIN = { lr: 1e-3, weight_decay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, clip: 1.0 };
const cases = FAMILY_CASES.filter((c) => !only || only.includes(c.name));
mkdirSync(outDir, { recursive: true });
const runsDir = join(outDir, 'runs');
rmSync(runsDir, { recursive: true, force: true });

// 1. Train a tiny run per family (each trainRun owns its device while it trains).
const runs = new Map<string, string>();
for (const c of cases) {
  const started = performance.now();
  const { run, outcome } = await trainRun({
    graph: familyGraph(c),
    data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
    runsDir,
    name: c.name,
    steps: 30,
    batch: 4,
    seqLen: 32,
    lr: 3e-3,
    seed: 7,
    evalEvery: 0,
    checkpointEvery: 30,
  });
  if (outcome.status !== 'completed') throw new Error(`${c.name}: training ended ${outcome.status}`);
  runs.set(c.name, run.dir);
  console.log(
    `${c.name}: trained 30 steps, loss ${outcome.lastLoss.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
}

// 2. Export each run and record StateLab's logits and K training steps from its checkpoint.
const engine = await createNodeEngine();
try {
  for (const c of cases) {
    const source = loadRunSource(runs.get(c.name)!, runsDir);
    const dir = join(outDir, c.name);
    rmSync(dir, { recursive: true, force: true });
    writePytorchPackage(source, dir, VERSION);
    writeOnnxFolder(source, join(dir, 'onnx'));

    const model = compileGraph(source.graph);
    const { plan } = buildPlan(source.graph);
    const params = createParams(engine, model.specs, 0);
    for (const [name, tensor] of params) engine.write(tensor, source.params.get(name)!.data);

    const probe = windows(2, 24, 12345);
    const logits = await engine
      .noGrad(() => engine.tidy(() => model.logits(params, engine.fromArray(probe.inputs, [2, 24], 'i32'))))
      .read();

    const batches = [0, 1, 2, 3, 4].map((k) => windows(4, 32, 777 + 4111 * k));
    const executor = new StepExecutor(engine, params, (p, x, y) => model.loss(p, x, y), {
      optimizer: {
        lr: TRAIN.lr,
        weightDecay: TRAIN.weight_decay,
        clipNorm: TRAIN.clip,
        beta1: TRAIN.beta1,
        beta2: TRAIN.beta2,
        eps: TRAIN.eps,
        noDecay: new Set(plan.noDecay),
      },
      schedule: { kind: 'constant' },
    });
    const losses: number[] = [];
    for (const batch of batches) losses.push((await executor.run(batch)).loss);
    await executor.drain();
    executor.destroy();
    for (const p of params.values()) p.release();

    const names = model.specs.map((s) => s.name);
    const bin = new Float32Array(names.reduce((n, name) => n + source.params.get(name)!.data.length, 0));
    let offset = 0;
    for (const name of names) {
      bin.set(source.params.get(name)!.data, offset);
      offset += source.params.get(name)!.data.length;
    }
    writeFileSync(join(dir, 'params.bin'), new Uint8Array(bin.buffer));
    const expected = {
      family: c.name,
      kind: c.kind,
      options: c.options,
      run: source.origin,
      ids: Array.from(probe.inputs),
      ids_shape: [2, 24],
      logits: Array.from(logits),
      logits_shape: [2, 24, 256],
      params: model.specs.map((s) => ({ name: s.name, shape: s.shape })),
      train: {
        ...TRAIN,
        no_decay: plan.noDecay,
        batches: batches.map((b) => ({
          inputs: Array.from(b.inputs),
          targets: Array.from(b.targets),
          shape: [b.batch, b.seqLen],
        })),
        losses,
      },
    };
    writeFileSync(join(dir, 'expected.json'), JSON.stringify(expected));
    console.log(`${c.name}: exported to ${dir}; StateLab losses ${losses.map((l) => l.toFixed(5)).join(' ')}`);
  }
} finally {
  engine.destroy();
}
console.log('make-parity: done');
