// Public API of shared/tasks: seeded synthetic tasks (MQAR, passkey, copy, selective copy, induction
// heads, parity, modular arithmetic, S5 composition), their registry and samplers, and the seeded Rng.
export { IGNORE_INDEX, TaskError, resolveParams, generateExamples } from './task.js';
export type { TaskBatch, TaskDefinition, TaskParamSpec, TaskParams } from './task.js';
export {
  TASKS,
  TaskSampler,
  generateTaskBatch,
  getTask,
  resolveTask,
  type ResolvedTask,
  type TaskPosition,
  type TaskSplit,
} from './registry.js';
export { mqar } from './mqar.js';
export { passkey, PASSKEY } from './passkey.js';
export { copy, selectiveCopy } from './copy.js';
export { inductionHeads } from './induction.js';
export { parity, PARITY } from './parity.js';
export { modularArithmetic } from './modular-arithmetic.js';
export { permutationComposition, permutationsOf } from './permutations.js';
export { Rng, hash32, mix32 } from './random.js';
