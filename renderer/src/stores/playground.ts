// The Playground's state: the chosen run and checkpoint (loaded into the generation Worker), the prompt
// and sampling settings, the text streaming in with its tokens/s, the memory the sequence holds — per
// layer, next to what a KV cache of the same length would need — and the workspace's prompt sets. The
// host only hands over the checkpoint and keeps the prompt sets; generation runs in the Worker.

import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef } from 'vue';
import type { AdapterSummary } from '../../../gpu/device';
import type { MixerLayer, SequenceMemory } from '../../../gpu/generate/memory';
import type { Tokenizer } from '../../../gpu/generate/tokenizer';
import { upgradeGraph } from '../../../shared/graph/parse';
import type { PromptSet, RunSummary } from '../../../shared/lab-api';
import {
  checkPrompt,
  DEFAULT_SETTINGS,
  samplingOf,
  settingsProblems,
  stopSequences,
  windowNotes,
  type PlaygroundSettings,
} from '../components/playground/prompt-checks';
import { lab } from '../lab';
import { playgroundTokenizer } from '../workers/generate-tokenizer';
import type { FromGenerateWorker, GenerateFailure, ToGenerateWorker } from '../workers/generate-protocol';

export type ModelStatus = 'none' | 'loading' | 'ready' | 'failed';
export type GenerateStatus = 'idle' | 'generating' | 'stopping';

/** One point of the memory chart: after `tokens` tokens, the state held and a KV cache's size. */
export interface MemoryPoint {
  tokens: number;
  stateBytes: number;
  kvCacheBytes: number;
}

export const usePlaygroundStore = defineStore('playground', () => {
  const runs = ref<RunSummary[]>([]);
  const runId = ref<string | null>(null);
  const step = ref<number | null>(null);
  const modelStatus = ref<ModelStatus>('none');
  /** Why the chosen checkpoint cannot be used (the host's or the Worker's words). */
  const modelProblem = ref<string | null>(null);
  const model = shallowRef<{
    key: string;
    name: string;
    vocabSize: number;
    tokenizer: Tokenizer;
    trainLength: number | null;
    parameters: number;
    layers: MixerLayer[];
    adapter: AdapterSummary | null;
  } | null>(null);

  const prompt = ref('');
  const settings = reactive<PlaygroundSettings>({ ...DEFAULT_SETTINGS });
  const status = ref<GenerateStatus>('idle');
  /** The prompt the current text continues, and the continuation so far. */
  const shownPrompt = ref('');
  const output = ref('');
  const generated = ref(0);
  const tokensPerSecond = ref(0);
  const memory = shallowRef<SequenceMemory | null>(null);
  const history = shallowRef<MemoryPoint[]>([]);
  const warnings = ref<string[]>([]);
  const ended = ref<{ reason: string; seconds: number } | null>(null);
  const failure = ref<{ kind: GenerateFailure | 'host'; message: string } | null>(null);

  const promptSets = ref<PromptSet[]>([]);
  const setName = ref('');
  const setsProblem = ref<string | null>(null);

  let worker: Worker | null = null;
  let loadSeq = 0;

  const usable = computed(() => runs.value.filter((r) => r.checkpoints.length > 0));
  const promptCheck = computed(() => checkPrompt(prompt.value, model.value?.tokenizer ?? null));
  const promptTokens = computed(() => ('tokens' in promptCheck.value ? promptCheck.value.tokens : 0));
  const promptProblem = computed(() => ('problem' in promptCheck.value ? promptCheck.value.problem : null));
  const notes = computed(() => {
    const list = windowNotes(promptTokens.value, model.value?.layers ?? []);
    const T = model.value?.trainLength;
    if (T && promptTokens.value + settings.maxTokens > T)
      list.push(
        `Prompt and continuation (${promptTokens.value} + ${settings.maxTokens} tokens) run past the training length of ` +
          `${T} tokens: the state keeps going, but the model never saw positions that far.`,
      );
    return list;
  });
  const problems = computed(() => settingsProblems(settings));
  const canGenerate = computed(
    () =>
      modelStatus.value === 'ready' && status.value === 'idle' && !promptProblem.value && problems.value.length === 0,
  );

  function send(message: ToGenerateWorker, transfer: Transferable[] = []): void {
    if (!worker) {
      worker = new Worker(new URL('../workers/generate.worker.ts', import.meta.url), { type: 'module' });
      worker.onmessage = (event: MessageEvent<FromGenerateWorker>) => onMessage(event.data);
      worker.onerror = (event) =>
        onMessage({ type: 'failed', kind: 'error', message: `generation worker: ${event.message}` });
    }
    worker.postMessage(message, transfer);
  }

  function onMessage(message: FromGenerateWorker): void {
    switch (message.type) {
      case 'loaded':
        if (model.value?.key !== message.key) return; // a later choice replaced it
        model.value = {
          ...model.value,
          parameters: message.parameters,
          layers: message.layers,
          adapter: message.adapter,
        };
        modelStatus.value = 'ready';
        break;
      case 'warning':
        warnings.value = [...warnings.value, message.message];
        break;
      case 'prefill':
        record(message.memory);
        break;
      case 'tokens':
        output.value += message.text;
        generated.value = message.generated;
        tokensPerSecond.value = message.tokensPerSecond;
        record(message.memory);
        break;
      case 'end':
        status.value = 'idle';
        generated.value = message.generated;
        tokensPerSecond.value = message.tokensPerSecond;
        if (message.memory) record(message.memory);
        ended.value = { reason: message.reason, seconds: message.seconds };
        break;
      case 'failed':
        status.value = 'idle';
        if (modelStatus.value === 'loading' || message.kind === 'load') {
          modelStatus.value = 'failed';
          modelProblem.value = message.message;
        } else failure.value = { kind: message.kind, message: message.message };
        if (message.kind === 'device-lost') {
          worker?.terminate(); // the next load starts a fresh Worker with a fresh device
          worker = null;
          modelStatus.value = 'failed';
          modelProblem.value = `${message.message}. Choose the checkpoint again to reload it on a new device.`;
        }
        break;
    }
  }

  function record(m: SequenceMemory): void {
    memory.value = m;
    const last = history.value.at(-1);
    if (last?.tokens === m.tokens) return;
    history.value = [...history.value, { tokens: m.tokens, stateBytes: m.stateBytes, kvCacheBytes: m.kvCacheBytes }];
  }

  async function refreshRuns(): Promise<void> {
    try {
      runs.value = await lab.listRuns();
    } catch (error) {
      modelProblem.value = `Could not list the runs: ${(error as Error).message}`;
    }
  }

  /** Loads a run's checkpoint (its latest when no step is given) into the Worker. */
  async function choose(id: string, at?: number): Promise<void> {
    const run = runs.value.find((r) => r.id === id);
    runId.value = id;
    step.value = at ?? run?.checkpoints.at(-1) ?? null;
    model.value = null;
    modelProblem.value = null;
    if (step.value === null) {
      modelStatus.value = 'failed';
      modelProblem.value = `Run ${id} has no checkpoint yet: generation needs trained parameters.`;
      return;
    }
    const seq = ++loadSeq;
    modelStatus.value = 'loading';
    try {
      const found = await lab.playgroundModel(id, step.value);
      if (seq !== loadSeq) return;
      const graph = upgradeGraph(found.graph, `run ${id}`);
      const key = `${found.run}@${found.step}`;
      model.value = {
        key,
        name: found.name,
        vocabSize: graph.model.vocab_size,
        tokenizer: playgroundTokenizer(found.tokenizer, graph.model.vocab_size),
        trainLength: found.trainLength,
        parameters: 0,
        layers: [],
        adapter: null,
      };
      send({ type: 'load', key, graph, model: found.model, tokenizer: found.tokenizer }, [found.model.buffer]);
    } catch (error) {
      if (seq !== loadSeq) return;
      modelStatus.value = 'failed';
      modelProblem.value = (error as Error).message;
    }
  }

  function generate(): void {
    if (!canGenerate.value) return;
    status.value = 'generating';
    shownPrompt.value = prompt.value;
    output.value = '';
    generated.value = 0;
    tokensPerSecond.value = 0;
    memory.value = null;
    history.value = [];
    warnings.value = [];
    ended.value = null;
    failure.value = null;
    send({
      type: 'generate',
      prompt: prompt.value,
      sampling: samplingOf(settings),
      maxTokens: settings.maxTokens,
      stop: stopSequences(settings.stop),
    });
  }

  function stop(): void {
    if (status.value !== 'generating') return;
    status.value = 'stopping';
    send({ type: 'stop' });
  }

  // ---- prompt sets (the workspace's prompt-sets.json)

  async function setsCall(what: string, call: () => Promise<PromptSet[]>): Promise<void> {
    setsProblem.value = null;
    try {
      promptSets.value = await call();
    } catch (error) {
      setsProblem.value = `Could not ${what}: ${(error as Error).message}`;
    }
  }

  const refreshSets = () => setsCall('read the prompt sets', () => lab.listPromptSets());

  /** Adds the current prompt to the named set (created when new). */
  async function addToSet(): Promise<void> {
    const name = setName.value.trim();
    if (!name || !prompt.value) return;
    const existing = promptSets.value.find((s) => s.name === name)?.prompts ?? [];
    if (existing.includes(prompt.value)) return;
    await setsCall('save the prompt set', () => lab.savePromptSet({ name, prompts: [...existing, prompt.value] }));
  }

  async function removeFromSet(name: string, index: number): Promise<void> {
    const set = promptSets.value.find((s) => s.name === name);
    if (!set) return;
    const prompts = set.prompts.filter((_, i) => i !== index);
    await setsCall('save the prompt set', () =>
      prompts.length ? lab.savePromptSet({ name, prompts }) : lab.deletePromptSet(name),
    );
  }

  async function deleteSet(name: string): Promise<void> {
    await setsCall('delete the prompt set', () => lab.deletePromptSet(name));
  }

  function usePrompt(text: string): void {
    prompt.value = text;
  }

  return {
    runs,
    runId,
    step,
    modelStatus,
    modelProblem,
    model,
    prompt,
    settings,
    status,
    shownPrompt,
    output,
    generated,
    tokensPerSecond,
    memory,
    history,
    warnings,
    ended,
    failure,
    promptSets,
    setName,
    setsProblem,
    usable,
    promptTokens,
    promptProblem,
    notes,
    problems,
    canGenerate,
    refreshRuns,
    choose,
    generate,
    stop,
    refreshSets,
    addToSet,
    removeFromSet,
    deleteSet,
    usePrompt,
  };
});
