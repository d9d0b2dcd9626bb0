// Distillation stages: each has its loss terms with weights, the parameters that train (a freeze mask by
// name pattern), a learning rate, a step count and a schedule. The default recipe is the one the
// linearization papers share (evals.md §4): stage 1 attention transfer — only the new mixers train, each fed
// the teacher's mixer input and matched to the teacher's attention output (LoLCATs, MambaInLlama's
// layerwise stage) — then stage 2 end to end on the teacher's logits plus the labels.

import type { Schedule } from '../train/schedule.js';
import { DistillError, type StudentMap } from './student.js';

export const LOSS_TERMS = ['kl', 'ce', 'attention', 'hidden'] as const;
export type LossTerm = (typeof LOSS_TERMS)[number];

export interface StageLosses {
  /** KL(teacher‖student) of the next-token distributions at `temperature` (default 1), times τ². */
  kl?: { weight: number; temperature?: number };
  /** Hard-label next-token cross-entropy. */
  ce?: { weight: number };
  /** Per-layer MSE of each converted mixer's output against the teacher's attention output (same input). */
  attention?: { weight: number };
  /** MSE of every block's output against the teacher's. */
  hidden?: { weight: number };
}

export interface DistillStage {
  name: string;
  losses: StageLosses;
  /** Name patterns of the parameters that train (`*` within one dotted segment, `**` across segments). */
  train: string[];
  lr: number;
  steps: number;
  schedule?: 'cosine' | 'constant';
  /** Linear warm-up steps of the cosine schedule (default: a tenth of the steps, at most 100). */
  warmupSteps?: number;
  weightDecay?: number;
  clipNorm?: number;
}

/** `layers.*.attn.**` → a RegExp: `*` matches within one dotted segment, `**` across segments. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^.]*'),
    )
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** The parameter names a stage trains. */
export function trainableNames(names: readonly string[], patterns: readonly string[]): Set<string> {
  const regexps = patterns.map(globToRegExp);
  return new Set(names.filter((n) => regexps.some((r) => r.test(n))));
}

/** The active terms of a stage (weight > 0), in a fixed order. */
export function activeTerms(losses: StageLosses): LossTerm[] {
  return LOSS_TERMS.filter((t) => (losses[t]?.weight ?? 0) > 0);
}

export function stageSchedule(stage: DistillStage): Schedule {
  if (stage.schedule === 'constant') return { kind: 'constant' };
  return {
    kind: 'cosine',
    warmupSteps: stage.warmupSteps ?? Math.min(100, Math.floor(stage.steps / 10)),
    totalSteps: stage.steps,
    minRatio: 0.1,
  };
}

/** Stage 1 attention transfer (only the new mixers train), stage 2 end-to-end KL + CE. */
export function defaultStages(map: StudentMap, { steps, lr }: { steps: number; lr: number }): DistillStage[] {
  const converted = map.layers.filter((l) => l.converted).map((l) => `${l.student}.**`);
  const first = Math.max(1, Math.floor(steps / 2));
  return [
    { name: 'attention-transfer', losses: { attention: { weight: 1 } }, train: converted, lr, steps: first },
    {
      name: 'end-to-end',
      losses: { kl: { weight: 1, temperature: 1 }, ce: { weight: 0.1 } },
      train: ['**'],
      lr: lr / 3,
      steps: Math.max(1, steps - first),
    },
  ];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Checks stages from a config file; errors name `<where>.stages[i].<field>`. */
export function parseStages(value: unknown, where: string): DistillStage[] {
  if (!Array.isArray(value) || value.length === 0) throw new DistillError(`${where}.stages must be a non-empty list`);
  return value.map((raw, i) => parseStage(raw, `${where}.stages[${i}]`, `stage-${i + 1}`));
}

/** Checks one stage (a config file's, or one the app edited); errors name `<at>.<field>`. */
export function parseStage(raw: unknown, at: string, defaultName: string): DistillStage {
  if (!isRecord(raw)) throw new DistillError(`${at} must be an object`);
  const number = (field: string, ok: (n: number) => boolean, what: string, fallback?: number): number => {
    const v = raw[field] ?? fallback;
    if (typeof v !== 'number' || !ok(v))
      throw new DistillError(`${at}.${field} must be ${what} (got ${JSON.stringify(v)})`);
    return v;
  };
  const name = raw.name ?? defaultName;
  if (typeof name !== 'string' || !name) throw new DistillError(`${at}.name must be a non-empty string`);
  if (!isRecord(raw.losses)) throw new DistillError(`${at}.losses must be an object with kl, ce, attention or hidden`);
  const losses: StageLosses = {};
  for (const [term, spec] of Object.entries(raw.losses)) {
    if (!(LOSS_TERMS as readonly string[]).includes(term))
      throw new DistillError(`${at}.losses.${term} is not a loss term (use ${LOSS_TERMS.join(', ')})`);
    if (!isRecord(spec) || typeof spec.weight !== 'number' || !(spec.weight >= 0))
      throw new DistillError(`${at}.losses.${term}.weight must be a number ≥ 0`);
    if (term === 'kl') {
      const t = spec.temperature ?? 1;
      if (typeof t !== 'number' || !(t > 0)) throw new DistillError(`${at}.losses.kl.temperature must be > 0`);
      losses.kl = { weight: spec.weight, temperature: t };
    } else losses[term as Exclude<LossTerm, 'kl'>] = { weight: spec.weight };
  }
  if (activeTerms(losses).length === 0) throw new DistillError(`${at}.losses: no term has a weight > 0`);
  const train = raw.train ?? ['**'];
  if (!Array.isArray(train) || train.length === 0 || !train.every((p) => typeof p === 'string' && p))
    throw new DistillError(`${at}.train must be a non-empty list of name patterns`);
  const schedule = raw.schedule ?? 'cosine';
  if (schedule !== 'cosine' && schedule !== 'constant')
    throw new DistillError(`${at}.schedule must be "cosine" or "constant"`);
  const steps = number('steps', (n) => Number.isInteger(n) && n >= 1, 'an integer ≥ 1');
  const stage: DistillStage = {
    name,
    losses,
    train: train as string[],
    lr: number('lr', (n) => n > 0, 'a number > 0'),
    steps,
    schedule,
  };
  if (raw.warmupSteps !== undefined)
    stage.warmupSteps = number('warmupSteps', (n) => Number.isInteger(n) && n >= 0 && n <= steps, `0…${steps}`);
  if (raw.weightDecay !== undefined) stage.weightDecay = number('weightDecay', (n) => n >= 0, 'a number ≥ 0');
  if (raw.clipNorm !== undefined) stage.clipNorm = number('clipNorm', (n) => n >= 0, 'a number ≥ 0');
  return stage;
}

/**
 * Checks stages against the student before anything runs: each term must have something to measure, and
 * each stage must train some parameter its losses reach.
 */
export function checkStages(stages: readonly DistillStage[], map: StudentMap, names: readonly string[]): void {
  const converted = map.layers.filter((l) => l.converted).map((l) => l.student);
  stages.forEach((stage, i) => {
    const at = `stage ${i + 1} "${stage.name}"`;
    const trained = trainableNames(names, stage.train);
    if (trained.size === 0)
      throw new DistillError(`${at}: train patterns ${JSON.stringify(stage.train)} match no student parameter`);
    const terms = activeTerms(stage.losses);
    if (terms.includes('attention') && converted.length === 0)
      throw new DistillError(`${at}: the attention term needs a converted layer, and the student has none`);
    if (terms.includes('hidden') && map.hidden.length === 0)
      throw new DistillError(
        `${at}: the hidden term needs repeated blocks whose outputs can be matched; there are none`,
      );
    // Attention transfer alone reaches only the converted mixers' parameters.
    if (
      terms.length === 1 &&
      terms[0] === 'attention' &&
      ![...trained].some((n) => converted.some((c) => n.startsWith(`${c}.`)))
    )
      throw new DistillError(
        `${at}: attention transfer trains only the converted mixers (${converted.join(', ')}), but train matches none of their parameters`,
      );
  });
}
