// S5 permutation composition — the group word problem of Merrill et al. ("The Illusion of State"):
// each token is an element of the symmetric group S_n (n = degree, 5 by default, so 120 tokens), and the
// target at position t is the running product g1·g2·…·gt, applying g1 first: P_t(i) = g_t(P_{t−1}(i)).
// Token id = the permutation's rank in lexicographic order of [p(0), …, p(n−1)] (0 is the identity).

import type { Rng } from './random.js';
import { int, type TaskDefinition, type TaskParams } from './task.js';

/** All permutations of 0..n−1 in lexicographic order; index = token id. */
export function permutationsOf(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const rest of permutationsOf(n - 1)) {
    for (let at = 0; at <= rest.length; at++) out.push([...rest.slice(0, at), n - 1, ...rest.slice(at)]);
  }
  return out.sort((a, b) => {
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  });
}

const tables = new Map<number, { perms: number[][]; compose: Int32Array }>();

/** compose[a · size + b] = id of "a then b" (x ↦ b(a(x))). */
function table(n: number): { perms: number[][]; compose: Int32Array } {
  let t = tables.get(n);
  if (!t) {
    const perms = permutationsOf(n);
    const ids = new Map(perms.map((p, i) => [p.join(','), i]));
    const compose = new Int32Array(perms.length * perms.length);
    perms.forEach((a, i) =>
      perms.forEach((b, j) => (compose[i * perms.length + j] = ids.get(a.map((x) => b[x]).join(','))!)),
    );
    tables.set(n, (t = { perms, compose }));
  }
  return t;
}

export const permutationComposition: TaskDefinition = {
  name: 's5',
  title: 'S5 permutation composition',
  description:
    'Each token is a permutation of n elements (S5 by default: ids 0..119 in lexicographic order); the target at t is the id of g1·…·gt (g1 applied first).',
  params: [
    int('seq_len', 32, 1, 1 << 20, 'Sequence length T'),
    int('degree', 5, 2, 6, 'n of S_n (5 = S5; 3 = S3, 4 = S4)'),
    int('final_only', 0, 0, 1, '1: score only the final product'),
  ],
  vocabSize: (p) => table(p.degree).perms.length,
  seqLen: (p) => p.seq_len,
  fill(p: TaskParams, rng: Rng, inputs: Int32Array, targets: Int32Array) {
    const { perms, compose } = table(p.degree);
    const size = perms.length;
    let product = 0; // the identity
    for (let t = 0; t < p.seq_len; t++) {
      const g = rng.int(size);
      inputs[t] = g;
      product = compose[product * size + g];
      if (!p.final_only || t === p.seq_len - 1) targets[t] = product;
    }
  },
};
