import { describe, expect, it } from 'vitest';
import {
  generateTaskBatch,
  getTask,
  IGNORE_INDEX,
  PARITY,
  PASSKEY,
  resolveTask,
  TASKS,
  TaskSampler,
  type TaskBatch,
} from '../../shared/tasks/index.js';

/** Row b of a batch as plain arrays. */
function row(batch: TaskBatch, b: number): { x: number[]; y: number[] } {
  const T = batch.seqLen;
  return {
    x: Array.from(batch.inputs.subarray(b * T, (b + 1) * T)),
    y: Array.from(batch.targets.subarray(b * T, (b + 1) * T)),
  };
}

function rows(name: string, params: Record<string, number>, count = 50, seed = 7): { x: number[]; y: number[] }[] {
  const batch = generateTaskBatch(name, params, { seed, count });
  return Array.from({ length: count }, (_, b) => row(batch, b));
}

/** Small settings so every task runs fast. */
const small: Record<string, Record<string, number>> = {
  mqar: { vocab_size: 128, seq_len: 64, num_kv_pairs: 8 },
  passkey: { seq_len: 64 },
  copy: { copy_len: 8, lag: 3 },
  'selective-copy': { seq_len: 48, num_data: 6 },
  'induction-heads': { seq_len: 32 },
  parity: { min_bits: 3, max_bits: 20 },
  'modular-arithmetic': { seq_len: 21 },
  s5: { seq_len: 16 },
};

describe('every task', () => {
  it('is registered with the expected names', () => {
    expect(TASKS.map((t) => t.name)).toEqual(Object.keys(small));
  });

  for (const task of TASKS) {
    const params = small[task.name];

    it(`${task.name}: the same seed gives the same batch, another seed a different one`, () => {
      const a = generateTaskBatch(task.name, params, { seed: 1, count: 8 });
      expect(generateTaskBatch(task.name, params, { seed: 1, count: 8 })).toEqual(a);
      expect(generateTaskBatch(task.name, params, { seed: 2, count: 8 }).inputs).not.toEqual(a.inputs);
    });

    it(`${task.name}: example i is the same whichever batch it is generated in`, () => {
      const whole = generateTaskBatch(task.name, params, { seed: 3, count: 8 });
      const part = generateTaskBatch(task.name, params, { seed: 3, count: 3, start: 5 });
      const T = whole.seqLen;
      expect(part.inputs).toEqual(whole.inputs.subarray(5 * T));
      expect(part.targets).toEqual(whole.targets.subarray(5 * T));
    });

    it(`${task.name}: ids lie in the vocabulary, the mask marks exactly the scored targets`, () => {
      const { vocabSize, seqLen } = resolveTask(task.name, params);
      const batch = generateTaskBatch(task.name, params, { seed: 4, count: 16 });
      expect([batch.vocabSize, batch.seqLen, batch.inputs.length]).toEqual([vocabSize, seqLen, 16 * seqLen]);
      for (const id of batch.inputs) expect(id >= 0 && id < vocabSize).toBe(true);
      batch.targets.forEach((t, i) => {
        expect(t === IGNORE_INDEX || (t >= 0 && t < vocabSize)).toBe(true);
        expect(batch.mask[i]).toBe(t === IGNORE_INDEX ? 0 : 1);
      });
      expect(batch.mask.some((m) => m === 1)).toBe(true);
    });
  }
});

describe('MQAR', () => {
  const p = { vocab_size: 128, seq_len: 64, num_kv_pairs: 8, random_non_queries: 0 };

  it('queries every key once, after the key-value block, with its value as the target', () => {
    for (const { x, y } of rows('mqar', p)) {
      const block = new Map<number, number>();
      for (let j = 0; j < 8; j++) {
        const [k, v] = [x[2 * j], x[2 * j + 1]];
        expect(k >= 1 && k < 64 && v >= 64 && v < 128).toBe(true);
        block.set(k, v);
      }
      expect(block.size).toBe(8); // distinct keys
      expect(new Set(block.values()).size).toBe(8); // distinct values
      const scored = y.flatMap((t, i) => (t === IGNORE_INDEX ? [] : [i]));
      expect(scored.length).toBe(8);
      expect(new Set(scored.map((i) => x[i]))).toEqual(new Set(block.keys()));
      for (const i of scored) {
        expect(i >= 16 && (i - 16) % 2 === 0).toBe(true);
        expect(y[i]).toBe(block.get(x[i]));
      }
      // With random_non_queries = 0, everything else after the block is token 0.
      for (let i = 16; i < 64; i++) if (!scored.includes(i)) expect(x[i]).toBe(0);
    }
  });

  it('repeats the key-value block num_passes times', () => {
    for (const { x } of rows('mqar', { ...p, num_passes: 2 }, 10)) expect(x.slice(16, 32)).toEqual(x.slice(0, 16));
  });

  it('places queries by a power law: a = 0.01 favours short gaps, a = 1 is near uniform', () => {
    const early = (a: number) => {
      const slots = rows('mqar', { ...p, power_a: a }, 400).flatMap(({ y }) =>
        y.flatMap((t, i) => (t === IGNORE_INDEX ? [] : [(i - 16) / 2])),
      );
      return slots.filter((s) => s < 6).length / slots.length; // 6 of the 24 slots
    };
    expect(early(0.01)).toBeGreaterThan(0.45);
    expect(early(1)).toBeLessThan(0.35);
  });

  it('fills non-query positions with random tokens when random_non_queries = 1', () => {
    const zeros = rows('mqar', { ...p, random_non_queries: 1 }, 20).flatMap(({ x }) => x.filter((t) => t === 0));
    expect(zeros.length).toBeLessThan(20 * 3);
  });
});

describe('passkey', () => {
  it('hides the digits at the chosen depth and asks for them after QUERY', () => {
    const T = 64;
    for (const depth of [0, 0.5, 1]) {
      for (const { x, y } of rows('passkey', { seq_len: T, digits: 5, depth_min: depth, depth_max: depth }, 10)) {
        const key = x.indexOf(PASSKEY.KEY);
        expect(key).toBe(Math.floor(depth * (T + 1 - 13)));
        const digits = x.slice(key + 1, key + 6);
        expect(x[key + 6]).toBe(PASSKEY.END);
        const query = x.indexOf(PASSKEY.QUERY);
        expect(query).toBe(T - 5);
        // Scored: the QUERY position predicts digit 1, then each digit predicts the next.
        expect(y.slice(query)).toEqual(digits);
        expect(x.slice(query + 1)).toEqual(digits.slice(0, 4));
        expect(y.slice(0, query).every((t) => t === IGNORE_INDEX)).toBe(true);
        for (const t of [...x.slice(0, key), ...x.slice(key + 7, query)])
          expect(t).toBeGreaterThanOrEqual(PASSKEY.FILLER);
      }
    }
  });
});

describe('copy and selective copy', () => {
  it('copy: the scored targets are the data tokens, in order, after SEP', () => {
    for (const { x, y } of rows('copy', { copy_len: 8, lag: 3, num_tokens: 8 })) {
      expect(x.length).toBe(19);
      expect(x.slice(8, 11)).toEqual([8, 8, 8]); // BLANK × lag
      expect(x[11]).toBe(9); // SEP
      expect(y.filter((t) => t !== IGNORE_INDEX)).toEqual(x.slice(0, 8));
      expect(y.slice(11)).toEqual(x.slice(0, 8));
    }
  });

  it('selective copy: the targets at the marks are the scattered data tokens in order', () => {
    for (const { x, y } of rows('selective-copy', { seq_len: 48, num_data: 6, num_tokens: 16 })) {
      const context = x.slice(0, 42);
      const data = context.filter((t) => t !== 16);
      expect(data.length).toBe(6);
      expect(x.slice(42)).toEqual(Array(6).fill(17));
      expect(y.slice(42)).toEqual(data);
      expect(y.slice(0, 42).every((t) => t === IGNORE_INDEX)).toBe(true);
    }
  });
});

describe('induction heads', () => {
  it('the target at the final TRIGGER is the token that followed the first TRIGGER', () => {
    for (const { x, y } of rows('induction-heads', { seq_len: 32, num_tokens: 16 })) {
      const triggers = x.flatMap((t, i) => (t === 16 ? [i] : []));
      expect(triggers.length).toBe(2);
      expect(triggers[1]).toBe(31);
      expect(y[31]).toBe(x[triggers[0] + 1]);
      expect(y.filter((t) => t !== IGNORE_INDEX).length).toBe(1);
    }
  });
});

describe('parity', () => {
  it('scores the XOR of the bits at EQ, with lengths in range and PAD after', () => {
    const lengths = new Set<number>();
    for (const { x, y } of rows('parity', { min_bits: 3, max_bits: 8 }, 200)) {
      const n = x.indexOf(PARITY.EQ);
      lengths.add(n);
      const bits = x.slice(0, n);
      expect(bits.every((b) => b === 0 || b === 1)).toBe(true);
      expect(y[n]).toBe(bits.reduce((a, b) => a + b, 0) % 2);
      expect(x.slice(n + 1).every((t) => t === PARITY.PAD)).toBe(true);
      expect(y.filter((t) => t !== IGNORE_INDEX).length).toBe(1);
    }
    expect([...lengths].sort()).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('running = 1 scores the parity so far at every bit', () => {
    for (const { x, y } of rows('parity', { min_bits: 5, max_bits: 12, running: 1 })) {
      const n = x.indexOf(PARITY.EQ);
      for (let i = 0; i < n; i++) expect(y[i]).toBe(x.slice(0, i + 1).reduce((a, b) => a + b, 0) % 2);
    }
  });
});

describe('modular arithmetic', () => {
  // Independent check: rebuild the expression text and evaluate each prefix by splitting into terms.
  function evaluate(tokens: number[], M: number): number {
    const ops = ['+', '-', '*'];
    const text = tokens.map((t) => (t < M ? String(t) : ops[t - M])).join(' ');
    let total = 0;
    for (const signed of text.replace(/ - /g, ' + -').split(' + ')) {
      const product = signed.split(' * ').reduce((acc, f) => acc * BigInt(f), 1n);
      total = (total + Number(((product % BigInt(M)) + BigInt(M)) % BigInt(M))) % M;
    }
    return total;
  }

  it('the target at each number is the value of the expression so far, × before + and −, mod M', () => {
    for (const M of [5, 7]) {
      for (const { x, y } of rows('modular-arithmetic', { modulus: M, seq_len: 21 })) {
        for (let t = 0; t < 21; t++) {
          if (t % 2 === 1) {
            expect(x[t]).toBeGreaterThanOrEqual(M);
            expect(y[t]).toBe(IGNORE_INDEX);
          } else expect(y[t]).toBe(evaluate(x.slice(0, t + 1), M));
        }
      }
    }
  });

  it('final_only = 1 scores only the last number', () => {
    for (const { x, y } of rows('modular-arithmetic', { seq_len: 9, final_only: 1 }, 20)) {
      expect(y.slice(0, 8).every((t) => t === IGNORE_INDEX)).toBe(true);
      expect(y[8]).toBe(evaluate(x, 5));
    }
  });
});

describe('S5 permutation composition', () => {
  // Independent permutation ids: the Lehmer-code rank, which orders permutations lexicographically.
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  function unrank(id: number, n: number): number[] {
    const pool = Array.from({ length: n }, (_, i) => i);
    return Array.from({ length: n }, (_, i) => {
      const f = factorial(n - 1 - i);
      const pick = Math.floor(id / f);
      id %= f;
      return pool.splice(pick, 1)[0];
    });
  }
  function rank(p: number[]): number {
    return p.reduce((r, v, i) => r + p.slice(i + 1).filter((w) => w < v).length * factorial(p.length - 1 - i), 0);
  }

  it('the target at t is the product g1·…·gt (g1 applied first), ids in lexicographic order', () => {
    expect(resolveTask('s5').vocabSize).toBe(120);
    for (const { x, y } of rows('s5', { seq_len: 16 })) {
      let product = [0, 1, 2, 3, 4];
      x.forEach((g, t) => {
        const perm = unrank(g, 5);
        product = product.map((v) => perm[v]);
        expect(y[t]).toBe(rank(product));
      });
    }
  });

  it('degree 3 gives S3 with 6 tokens', () => {
    expect(resolveTask('s5', { degree: 3 }).vocabSize).toBe(6);
    for (const { x, y } of rows('s5', { seq_len: 8, degree: 3 }, 10)) {
      let product = [0, 1, 2];
      x.forEach((g, t) => {
        const perm = unrank(g, 3);
        product = product.map((v) => perm[v]);
        expect(y[t]).toBe(rank(product));
      });
    }
  });
});

describe('task parameters', () => {
  it('lists each parameter with a default inside its range', () => {
    for (const task of TASKS) {
      for (const p of task.params) {
        expect(p.default).toBeGreaterThanOrEqual(p.min);
        expect(p.default).toBeLessThanOrEqual(p.max);
        expect(p.description.length).toBeGreaterThan(0);
      }
      expect(() => resolveTask(task.name)).not.toThrow(); // defaults are a valid combination
    }
  });

  const refusals: [string, Record<string, unknown>, RegExp][] = [
    ['mqar', { nope: 1 }, /task mqar: unknown parameter "nope" \(parameters: vocab_size, seq_len, /],
    ['mqar', { seq_len: 3 }, /seq_len 3 is outside \[4, 65536\]/],
    ['mqar', { seq_len: 63.5 }, /seq_len must be an integer \(got 63.5\)/],
    ['mqar', { seq_len: 63 }, /seq_len 63 must be even/],
    ['mqar', { seq_len: 32, num_kv_pairs: 10 }, /2·num_kv_pairs·num_passes \+ 2·num_kv_pairs = 40 exceeds seq_len 32/],
    ['mqar', { vocab_size: 64, seq_len: 64 }, /vocab_size 64 must exceed seq_len 64/],
    ['mqar', { seq_len: '64' }, /seq_len must be a number \(got "64"\)/],
    ['passkey', { depth_min: 0.8, depth_max: 0.2 }, /depth_min 0.8 is above depth_max 0.2/],
    ['passkey', { seq_len: 8, digits: 5 }, /seq_len 8 is too short for a 5-digit needle/],
    ['selective-copy', { seq_len: 10, num_data: 6 }, /leaves a context of 4, fewer than num_data 6/],
    ['parity', { min_bits: 9, max_bits: 4 }, /min_bits 9 is above max_bits 4/],
    ['modular-arithmetic', { seq_len: 40 }, /seq_len 40 must be odd/],
    ['s5', { degree: 7 }, /degree 7 is outside \[2, 6\]/],
  ];
  for (const [name, params, message] of refusals) {
    it(`refuses ${name} ${JSON.stringify(params)} with a message naming the parameter`, () => {
      expect(() => generateTaskBatch(name, params, { seed: 0, count: 1 })).toThrow(message);
    });
  }

  it('refuses an unknown task, listing the known ones', () => {
    expect(() => getTask('mqr')).toThrow(/task mqr: unknown task \(tasks: mqar, passkey, copy, /);
  });
});

describe('TaskSampler', () => {
  it('resumes exactly from a saved position and keeps train and validation streams apart', () => {
    const uninterrupted = new TaskSampler('mqar', small.mqar, { batch: 4, seed: 9 });
    const expected = Array.from({ length: 6 }, () => uninterrupted.next());
    const first = new TaskSampler('mqar', small.mqar, { batch: 4, seed: 9 });
    first.next();
    first.next();
    const saved = JSON.parse(JSON.stringify(first.position()));
    const resumed = new TaskSampler('mqar', small.mqar, { batch: 4, seed: 9 });
    resumed.restore(saved);
    for (let k = 2; k < 6; k++) expect(resumed.next()).toEqual(expected[k]);
    const validation = new TaskSampler('mqar', small.mqar, { batch: 4, seed: 9, split: 'validation' });
    expect(validation.next().inputs).not.toEqual(expected[0].inputs);
  });

  it('refuses a position saved for another task, seed or batch size', () => {
    const sampler = new TaskSampler('parity', {}, { batch: 4, seed: 1 });
    expect(() => sampler.restore({ kind: 'task', task: 'parity', seed: 2, batch: 4, drawn: 1 })).toThrow(
      /saved position has seed 2, but this run has 1/,
    );
    expect(() => sampler.restore({ kind: 'task', task: 'mqar', seed: 1, batch: 4, drawn: 1 })).toThrow(/task mqar/);
    expect(() => sampler.restore(null)).toThrow(/is not a task position/);
  });
});
