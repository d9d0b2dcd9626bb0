// What the Playground says about a prompt and its settings before anything runs, with the engine's own
// rules (gpu/generate): an empty prompt and characters the tokenizer cannot encode are refused there too,
// and a prompt longer than a local-attention window is announced there with the same words. Checking here
// as the user types lets the page say so next to the prompt instead of after a round trip to the Worker.

import type { MixerLayer } from '../../../../gpu/generate/memory';
import { resolveSampling, type SamplingOptions } from '../../../../gpu/generate/sampling';
import type { Tokenizer } from '../../../../gpu/generate/tokenizer';

export interface PlaygroundSettings extends SamplingOptions {
  maxTokens: number;
  /** One stop sequence as typed ('' = none); `\n` and `\t` stand for a newline and a tab. */
  stop: string;
}

export const DEFAULT_SETTINGS: PlaygroundSettings = {
  temperature: 0.8,
  topK: 0,
  topP: 1,
  repetitionPenalty: 1,
  seed: 1,
  maxTokens: 64,
  stop: '',
};

export const MAX_TOKENS_LIMIT = 100_000;

/** The prompt's token count, or why it cannot be generated from. */
export function checkPrompt(prompt: string, tokenizer: Tokenizer | null): { tokens: number } | { problem: string } {
  // A byte-level model has no beginning-of-sequence token: there is nothing to condition the first token on.
  if (prompt.length === 0) return { problem: 'Type a prompt: generation continues from at least one character.' };
  if (!tokenizer) return { tokens: 0 };
  try {
    return { tokens: tokenizer.encode(prompt).length };
  } catch (error) {
    return { problem: `The prompt cannot be encoded: ${(error as Error).message}.` };
  }
}

/** Local-attention layers whose window the prompt overflows — the engine's documented behaviour, in its words. */
export function windowNotes(promptTokens: number, layers: readonly MixerLayer[]): string[] {
  return layers
    .filter((layer) => layer.window > 0 && promptTokens > layer.window)
    .map(
      (layer) =>
        `The prompt (${promptTokens} tokens) is longer than the ${layer.window}-token window of local attention layer ` +
        `"${layer.name}": at each position that layer attends to the last ${layer.window} tokens only, as in ` +
        `training (recurrent layers still carry the whole prompt).`,
    );
}

export function stopSequences(stop: string): string[] {
  if (stop === '') return [];
  return [stop.replace(/\\n/g, '\n').replace(/\\t/g, '\t')];
}

/** Every settings problem, each naming its field (the sampler's own checks plus the token limit). */
export function settingsProblems(s: PlaygroundSettings): string[] {
  const problems: string[] = [];
  try {
    resolveSampling(s);
  } catch (error) {
    problems.push((error as Error).message.replace(/^sampling: /, ''));
  }
  if (!Number.isInteger(s.maxTokens) || s.maxTokens < 1 || s.maxTokens > MAX_TOKENS_LIMIT)
    problems.push(`max tokens must be an integer from 1 to ${MAX_TOKENS_LIMIT} (got ${s.maxTokens})`);
  return problems;
}

export function samplingOf(s: PlaygroundSettings): SamplingOptions {
  const { temperature, topK, topP, repetitionPenalty, seed } = s;
  return { temperature, topK, topP, repetitionPenalty, seed };
}
