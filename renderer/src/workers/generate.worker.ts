// The Playground's generation Worker: owns a GPU device (navigator.gpu inside the Worker, as training
// does, so the UI thread never waits on the GPU), keeps the chosen checkpoint's parameters uploaded, and
// runs the engine's `generate` — prefill with the parallel form, then one token at a time with the
// carried state. Text goes back at most every POST_EVERY_MS (and at the end), each batch with the tokens/s
// and the memory the sequence holds after its latest token.

import { acquireDevice, DeviceLostError, type GpuContext } from '../../../gpu/device';
import { Engine } from '../../../gpu/engine';
import { generate, GenerateError } from '../../../gpu/generate/generate';
import { uploadParams } from '../../../gpu/generate/load-params';
import { mixerLayers, type SequenceMemory } from '../../../gpu/generate/memory';
import type { Tokenizer } from '../../../gpu/generate/tokenizer';
import { compileGraph, GraphCompileError, type CompiledModel } from '../../../gpu/graph/compile';
import { countParams, type ParamMap } from '../../../gpu/nn/module';
import { decodeSafetensors } from '../../../shared/formats/safetensors';
import { playgroundTokenizer } from './generate-tokenizer';
import type {
  FromGenerateWorker,
  GenerateFailure,
  GenerateLoad,
  GenerateStart,
  ToGenerateWorker,
} from './generate-protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const POST_EVERY_MS = 50;

let context: GpuContext | null = null;
let engine: Engine | null = null;
let lostMessage: string | null = null;
let loaded: { key: string; model: CompiledModel; params: ParamMap; tokenizer: Tokenizer } | null = null;
/** Messages run one after another (a load while generating waits for the generation to end). */
let queue: Promise<void> = Promise.resolve();
let stopRequested = false;

function post(message: FromGenerateWorker): void {
  scope.postMessage(message);
}

scope.addEventListener('unhandledrejection', (event) => {
  if (lostMessage) event.preventDefault(); // reads in flight when the device went away
});

scope.onmessage = (event: MessageEvent<ToGenerateWorker>) => {
  const message = event.data;
  if (message.type === 'stop') {
    stopRequested = true;
    return;
  }
  if (message.type === 'generate') stopRequested = false;
  const task = message.type === 'load' ? () => load(message) : () => run(message);
  queue = queue.then(task).catch((error: Error) => {
    const kind = classify(error, message.type);
    post({ type: 'failed', kind, message: describe(error) });
  });
};

async function gpu(): Promise<Engine> {
  if (lostMessage) throw new DeviceLostError('lost', lostMessage);
  if (!engine) {
    context = await acquireDevice(navigator.gpu, { onLost: (error) => (lostMessage = error.message) });
    engine = new Engine(context);
  }
  return engine;
}

async function load(request: GenerateLoad): Promise<void> {
  const e = await gpu();
  if (loaded?.key !== request.key) {
    const model = compileGraph(request.graph);
    const file = decodeSafetensors(request.model, `checkpoint ${request.key}`);
    const saved = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const t of file.tensors) {
      if (!(t.data instanceof Float32Array))
        throw new Error(`checkpoint ${request.key}: tensor "${t.name}" is ${t.dtype}, not F32`);
      saved.set(t.name, { shape: t.shape, data: t.data });
    }
    if (loaded) for (const p of loaded.params.values()) p.release();
    loaded = null;
    const tokenizer = playgroundTokenizer(request.tokenizer, model.graph.doc.model.vocab_size);
    loaded = {
      key: request.key,
      model,
      params: uploadParams(e, model.specs, saved, `checkpoint ${request.key}`),
      tokenizer,
    };
  }
  post({
    type: 'loaded',
    key: request.key,
    adapter: context!.adapter,
    parameters: countParams(loaded.model.specs),
    layers: mixerLayers(loaded.model),
  });
}

async function run(request: GenerateStart): Promise<void> {
  const e = await gpu();
  if (!loaded) throw new Error('no checkpoint is loaded');
  const { model, params, tokenizer } = loaded;
  const events = generate(e, model, params, tokenizer, {
    prompts: [request.prompt],
    maxTokens: request.maxTokens,
    sampling: request.sampling,
    stop: request.stop,
  });
  let unsent = '';
  let generated = 0;
  let rate = 0;
  let memory: SequenceMemory | null = null;
  let lastPost = performance.now();
  let ended = false;
  const decodeStart = performance.now();
  const flush = () => {
    if (memory) post({ type: 'tokens', text: unsent, generated, tokensPerSecond: rate, memory });
    unsent = '';
    lastPost = performance.now();
  };
  for await (const event of events) {
    if (lostMessage) throw new DeviceLostError('lost', lostMessage);
    switch (event.type) {
      case 'warning':
        post({ type: 'warning', message: event.message });
        break;
      case 'prefill':
        post({ type: 'prefill', promptTokens: event.promptTokens[0], ms: event.ms, memory: event.memory });
        break;
      case 'token':
        unsent += event.text;
        generated = event.index + 1;
        rate = event.tokensPerSecond;
        memory = event.memory;
        if (performance.now() - lastPost >= POST_EVERY_MS) flush();
        break;
      case 'done': // its text came token by token already
        flush();
        ended = true;
        post({
          type: 'end',
          reason: event.reason,
          generated: event.tokens.length,
          seconds: (performance.now() - decodeStart) / 1000,
          tokensPerSecond: rate,
          memory,
        });
        break;
      case 'end':
        break;
    }
    // Leaving the loop returns the generator: its `finally` waits for reads in flight and frees the state.
    if (stopRequested && !ended) {
      flush();
      post({
        type: 'end',
        reason: 'stopped',
        generated,
        seconds: (performance.now() - decodeStart) / 1000,
        tokensPerSecond: rate,
        memory,
      });
      break;
    }
  }
}

function classify(error: Error, during: ToGenerateWorker['type']): GenerateFailure {
  if (lostMessage || error instanceof DeviceLostError) return 'device-lost';
  if (error instanceof GenerateError) return 'prompt';
  if (error instanceof RangeError && /^sampling:/.test(error.message)) return 'settings';
  if (during === 'load' || error instanceof GraphCompileError) return 'load';
  return 'error';
}

function describe(error: Error): string {
  if (lostMessage && !(error instanceof DeviceLostError)) return `${lostMessage} (${error.message})`;
  return error.message;
}
