// One stage's distillation objective on a batch: the teacher runs without gradients (its logits, each
// attention mixer's input and output, each block's output), the student runs where a term needs it, and the
// weighted terms add up. Attention transfer feeds each converted student mixer the TEACHER's mixer input,
// so each layer learns to imitate its attention in isolation (LoLCATs stage 1), whatever the other layers do.

import type { Engine } from '../engine.js';
import type { CompiledModel } from '../graph/compile.js';
import { MIXER_PREFIX } from '../graph/catalogue.js';
import { add, scale } from '../ops/elementwise.js';
import { reshape } from '../ops/shape.js';
import type { Tensor } from '../tensor.js';
import { mixerFactory, type Mixer } from '../nn/mixer.js';
import { paramView, type ParamMap } from '../nn/module.js';
import { klDivergence, labelCrossEntropy, mse } from './losses.js';
import { activeTerms, type LossTerm, type StageLosses } from './stages.js';
import { mixerInstances, type StudentMap } from './student.js';

export interface DistillModels {
  teacher: CompiledModel;
  teacherParams: ParamMap;
  student: CompiledModel;
  studentParams: ParamMap;
  map: StudentMap;
}

export interface DistillTerms {
  total: Tensor;
  /** The unweighted value of each active term. */
  terms: Partial<Record<LossTerm, Tensor>>;
  /** Attention-transfer MSE per converted layer and hidden-state MSE per block, by student module name. */
  layers: { attention: Record<string, Tensor>; hidden: Record<string, Tensor> };
}

function mean(values: Tensor[]): Tensor {
  return scale(
    values.reduce((a, b) => add(a, b)),
    1 / values.length,
  );
}

/** The student's converted mixers, built once (the compiled model does not expose its mixer objects). */
function convertedMixers(models: DistillModels): { teacher: string; student: string; mixer: Mixer }[] {
  const nodes = new Map(mixerInstances(models.student.graph).map((m) => [m.name, m.node]));
  return models.map.layers
    .filter((l) => l.converted)
    .map((l) => {
      const node = nodes.get(l.student)!;
      const mixer = mixerFactory(node.spec.kind.slice(MIXER_PREFIX.length)).create(node.inWidth, node.params);
      return { teacher: l.teacher, student: l.student, mixer };
    });
}

/** Builds the objective of a stage: (ids, targets) [B, T] → total loss, terms, per-layer values. */
export function distillObjective(
  engine: Engine,
  models: DistillModels,
  losses: StageLosses,
): (ids: Tensor, targets: Tensor) => DistillTerms {
  const active = activeTerms(losses);
  const needs = (t: LossTerm) => active.includes(t);
  const mixers = needs('attention') ? convertedMixers(models) : [];
  const wantedMixers = new Set(mixers.map((m) => m.teacher));
  const hiddenTeacher = new Set(models.map.hidden.map((h) => h.teacher));
  const hiddenStudent = new Set(models.map.hidden.map((h) => h.student));

  return (ids, targets) => {
    const mixerIO = new Map<string, { x: Tensor; y: Tensor }>();
    const teacherHidden = new Map<string, Tensor>();
    let teacherLogits: Tensor | undefined;
    if (needs('attention') || needs('kl') || needs('hidden')) {
      teacherLogits = engine.noGrad(() =>
        models.teacher.logits(models.teacherParams, ids, {
          onMixer: (name, x, y) => {
            if (wantedMixers.has(name)) mixerIO.set(name, { x, y });
          },
          onNode: (name, y) => {
            if (needs('hidden') && hiddenTeacher.has(name)) teacherHidden.set(name, y);
          },
        }),
      );
    }
    const terms: DistillTerms['terms'] = {};
    const layers: DistillTerms['layers'] = { attention: {}, hidden: {} };

    if (needs('attention')) {
      for (const m of mixers) {
        const io = mixerIO.get(m.teacher)!;
        const y = m.mixer.forward(paramView(models.studentParams, m.student), io.x).y;
        layers.attention[m.student] = mse(y, io.y);
      }
      terms.attention = mean(Object.values(layers.attention));
    }
    if (needs('kl') || needs('ce') || needs('hidden')) {
      const studentHidden = new Map<string, Tensor>();
      const logits = models.student.logits(models.studentParams, ids, {
        onNode: (name, y) => {
          if (needs('hidden') && hiddenStudent.has(name)) studentHidden.set(name, y);
        },
      });
      const [b, t, v] = logits.shape;
      if (needs('kl')) {
        terms.kl = klDivergence(reshape(logits, [b * t, v]), reshape(teacherLogits!, [b * t, v]), {
          temperature: losses.kl!.temperature ?? 1,
          targets: reshape(targets, [b * t]),
        });
      }
      if (needs('ce')) terms.ce = labelCrossEntropy(logits, targets);
      if (needs('hidden')) {
        for (const h of models.map.hidden)
          layers.hidden[h.student] = mse(studentHidden.get(h.student)!, teacherHidden.get(h.teacher)!);
        terms.hidden = mean(Object.values(layers.hidden));
      }
    }
    const weighted = active.map((term) => scale(terms[term]!, losses[term]!.weight));
    return { total: weighted.reduce((a, b) => add(a, b)), terms, layers };
  };
}

/** Mean next-token cross-entropy of a model (validation; no gradients). */
export function modelLoss(
  engine: Engine,
  model: CompiledModel,
  params: ParamMap,
  ids: Tensor,
  targets: Tensor,
): Tensor {
  return engine.noGrad(() => labelCrossEntropy(model.logits(params, ids), targets));
}
