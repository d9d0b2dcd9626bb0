// `statelab generate <run> --prompt "…"`: load a run's checkpoint and stream a continuation to stdout (the
// prompt, then each token as it comes), with throughput and the memory the sequence holds on stderr at the
// end; `--json` prints one JSON line per event instead. Exit codes: 0 done, 64 bad usage, 1 anything else
// (unknown run, no checkpoint, a prompt the tokenizer cannot encode, …), each with a message naming it.

import { join } from 'node:path';
import { generate, type GenerationEvent } from '../../gpu/generate/generate.js';
import type { SequenceMemory } from '../../gpu/generate/memory.js';
import { uploadParams } from '../../gpu/generate/load-params.js';
import { byteTokenizer, type Tokenizer } from '../../gpu/generate/tokenizer.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { createNodeEngine } from '../host/node-gpu.js';
import { RunStore, type Run } from '../host/runs/run-store.js';
import { generationTokenizer } from '../import/tokenizer.js';
import { numberOption, parseArgs, stringOption, UsageError, type ParsedArgs } from './args.js';

export const GENERATE_USAGE = `statelab generate <run> --prompt "…" [options]
      --max-tokens N (64)  --temperature X (1; 0 = greedy)  --top-k K (0 = off)  --top-p P (1 = off)
      --repetition-penalty R (1 = off)  --seed S (1)  --step N (checkpoint; latest)  --stop "…"
      --runs DIR (runs)  --json
  --prompt and --stop may be repeated (several prompts decode as one batch). Prints the prompt and its
  continuation; the stop sequence ends a continuation and is not printed.`;

const VALUES = [
  'prompt',
  'max-tokens',
  'temperature',
  'top-k',
  'top-p',
  'repetition-penalty',
  'seed',
  'step',
  'stop',
  'runs',
];

export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Every value of an option that may be given more than once (parseArgs keeps only the last). */
function repeated(argv: string[], name: string): string[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === `--${name}` && i + 1 < argv.length) values.push(argv[i + 1]);
    else if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
  });
  return values;
}

/** The tokenizer a run was trained with, from its run.json. */
function runTokenizer(run: Run, vocab: number): Tokenizer {
  const data = run.info().data as { kind?: string; tokenizer?: string; task?: string };
  if (data.kind === 'text' && data.tokenizer === 'byte') return byteTokenizer(vocab);
  // A teacher imported from Hugging Face (main/import) brings its own tokenizer.json.
  if (data.kind === 'imported' && typeof data.tokenizer === 'string')
    return generationTokenizer(join(run.dir, data.tokenizer));
  if (data.kind === 'task')
    throw new Error(`run ${run.id} was trained on the synthetic task "${data.task}": its tokens are not text`);
  throw new Error(`run ${run.id}: tokenizer "${data.tokenizer ?? 'unknown'}" is not supported by generate yet`);
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

const memoryJson = (m: SequenceMemory, layers: boolean) => ({
  tokens: m.tokens,
  state_bytes: m.stateBytes,
  kv_cache_bytes: m.kvCacheBytes,
  ...(layers
    ? {
        layers: m.layers.map((l) => ({
          name: l.name,
          kind: l.kind,
          state_bytes: l.stateBytes,
          kv_cache_bytes: l.kvCacheBytes,
        })),
      }
    : {}),
});

function jsonLine(event: GenerationEvent): Record<string, unknown> {
  switch (event.type) {
    case 'warning':
      return { event: 'warning', message: event.message };
    case 'prefill':
      return {
        event: 'prefill',
        prompt_tokens: event.promptTokens,
        prefill_tokens: event.prefillTokens,
        ms: event.ms,
        memory: memoryJson(event.memory, true),
      };
    case 'token':
      return {
        event: 'token',
        row: event.row,
        index: event.index,
        token: event.token,
        text: event.text,
        tokens_per_s: event.tokensPerSecond,
        memory: memoryJson(event.memory, false),
      };
    case 'done':
      return { event: 'done', row: event.row, reason: event.reason, text: event.text, tokens: event.tokens };
    case 'end':
      return {
        event: 'end',
        generated_tokens: event.generatedTokens,
        seconds: event.seconds,
        tokens_per_s: event.tokensPerSecond,
        memory: memoryJson(event.memory, true),
      };
  }
}

async function run(argv: string[], io: CommandIo): Promise<number> {
  const args: ParsedArgs = parseArgs(argv, { values: VALUES, flags: ['json'] });
  const [runRef, extra] = args.positionals;
  if (!runRef) throw new UsageError('generate needs a run id or folder');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (quote a prompt: --prompt "…")`);
  const prompts = repeated(argv, 'prompt');
  if (prompts.length === 0) throw new UsageError('--prompt is required');
  const json = args.options.has('json');
  const sampling = {
    temperature: numberOption(args, 'temperature', 1, { min: 0 }),
    topK: numberOption(args, 'top-k', 0, { integer: true, min: 0 }),
    topP: numberOption(args, 'top-p', 1, { min: 0 }),
    repetitionPenalty: numberOption(args, 'repetition-penalty', 1, { min: 0 }),
    seed: numberOption(args, 'seed', 1, { integer: true, min: 0 }),
  };
  if (sampling.topP === 0 || sampling.topP > 1)
    throw new UsageError(`--top-p must be in (0, 1] (got ${sampling.topP})`);
  if (sampling.repetitionPenalty === 0) throw new UsageError('--repetition-penalty must be > 0');
  if (sampling.seed > 0xffffffff) throw new UsageError(`--seed must be < 2^32 (got ${sampling.seed})`);
  const maxTokens = numberOption(args, 'max-tokens', 64, { integer: true, min: 1 });
  const step = args.options.has('step') ? numberOption(args, 'step', 0, { integer: true, min: 0 }) : undefined;

  const store = new RunStore(stringOption(args, 'runs', 'runs')!);
  const found = store.open(runRef);
  const graph = found.graph();
  const model = compileGraph(graph);
  const tokenizer = runTokenizer(found, graph.model.vocab_size);
  const checkpoint = found.loadCheckpoint(step);

  const engine = await createNodeEngine();
  try {
    const params = uploadParams(
      engine,
      model.specs,
      checkpoint.params,
      `run ${found.id} checkpoint ${checkpoint.step}`,
    );
    const single = prompts.length === 1;
    if (!json && single) io.stdout.write(prompts[0]);
    const events = generate(engine, model, params, tokenizer, {
      prompts,
      maxTokens,
      sampling,
      stop: repeated(argv, 'stop'),
    });
    for await (const event of events) {
      if (json) {
        const line = jsonLine(event);
        if (event.type === 'end') Object.assign(line, { run: found.dir, step: checkpoint.step, seed: sampling.seed });
        io.stdout.write(`${JSON.stringify(line)}\n`);
        continue;
      }
      if (event.type === 'warning') io.stderr.write(`warning: ${event.message}\n`);
      else if (event.type === 'token' && single) io.stdout.write(event.text);
      else if (event.type === 'done' && !single)
        io.stdout.write(`--- prompt ${event.row} (${event.reason})\n${prompts[event.row]}${event.text}\n`);
      else if (event.type === 'done' && event.reason === 'stop') io.stderr.write('\n[stop sequence]');
      else if (event.type === 'end') {
        const m = event.memory;
        io.stdout.write(single ? '\n' : '');
        io.stderr.write(
          `${event.generatedTokens} tokens · ${event.tokensPerSecond.toFixed(1)} tokens/s · state ${kib(m.stateBytes)} ` +
            `per sequence after ${m.tokens} tokens (a KV cache of the same width would hold ${kib(m.kvCacheBytes)}) · ` +
            `run ${found.id} step ${checkpoint.step} · seed ${sampling.seed}\n`,
        );
      }
    }
    return 0;
  } finally {
    engine.destroy();
  }
}

/** The `generate` command; the CLI's dispatcher calls it with the arguments after the command name. */
export async function generateCommand(argv: string[], io: CommandIo = process): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`statelab generate: ${error.message}\n\n${GENERATE_USAGE}\n`);
      return 64;
    }
    io.stderr.write(`statelab generate: ${(error as Error).message}\n`);
    return 1;
  }
}
