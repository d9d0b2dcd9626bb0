// Shared pieces of the fuzz suites: byte-level mutations of a valid seed file (fast-check shrinks them),
// a per-case time bound, and the rule every parser must follow — load, or throw one of its own typed
// errors with a readable message. Anything else (TypeError, RangeError, a hang) fails the property.

import fc from 'fast-check';

/** One edit of a seed file: overwrite a byte, cut the tail, insert bytes, or copy a slice elsewhere. */
export type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'splice'; from: number; to: number; length: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('splice' as const), from: fc.nat(), to: fc.nat(), length: fc.nat({ max: 64 }) }),
);

export function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = Array.from(seed);
  for (const m of mutations) {
    const n = Math.max(1, bytes.length);
    if (m.kind === 'set') {
      if (bytes.length) bytes[m.at % n] = m.value;
    } else if (m.kind === 'truncate') bytes = bytes.slice(0, m.at % n);
    else if (m.kind === 'insert') bytes.splice(m.at % (bytes.length + 1), 0, ...m.bytes);
    else {
      const slice = bytes.slice(m.from % n, (m.from % n) + m.length);
      bytes.splice(m.to % (bytes.length + 1), 0, ...slice);
    }
  }
  return Uint8Array.from(bytes);
}

/** Mutated seeds (most cases) mixed with plain random bytes. */
export function bytesFrom(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.nat(seeds.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 6 }))
        .map(([i, ms]) => mutate(seeds[i], ms)),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  );
}

/** Mutated seed texts, with random JSON values spliced into objects. */
export function textFrom(seeds: string[]): fc.Arbitrary<string> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return fc.oneof(
    { weight: 3, arbitrary: bytesFrom(seeds.map((s) => encoder.encode(s))).map((b) => decoder.decode(b)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.nat(seeds.length - 1), fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 12 }))
        .map(([i, value, key]) => {
          const doc = JSON.parse(seeds[i]) as Record<string, unknown>;
          return JSON.stringify(setRandomPath(doc, key, value));
        }),
    },
  );
}

/** Replaces the value at a path chosen by `key` (a key of the top level or one level down) with `value`. */
function setRandomPath(doc: Record<string, unknown>, key: string, value: unknown): unknown {
  const keys = Object.keys(doc);
  if (!keys.length) return value;
  const top = keys[key.length % keys.length];
  const inner = doc[top];
  if (inner && typeof inner === 'object' && !Array.isArray(inner) && key.length % 2 === 1) {
    const innerKeys = Object.keys(inner);
    const k = innerKeys.length ? innerKeys[key.charCodeAt(0) % innerKeys.length || 0] : key;
    return { ...doc, [top]: { ...(inner as Record<string, unknown>), [k]: value } };
  }
  return { ...doc, [top]: value };
}

export class TimeoutError extends Error {}

/** Runs `fn` with a time bound; a hang becomes a failure instead of stalling the suite. */
export async function within<T>(ms: number, what: string, fn: () => Promise<T> | T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const started = performance.now();
  try {
    const result = await Promise.race([
      Promise.resolve().then(fn),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
    // A synchronous parser cannot be interrupted: check its elapsed time instead.
    const elapsed = performance.now() - started;
    if (elapsed > ms) throw new TimeoutError(`${what}: took ${elapsed.toFixed(0)} ms (bound ${ms} ms)`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The property every parser holds: `run` either returns, or throws an instance of one of `types` whose
 * message is readable (non-empty, one line of sane length, naming `where` when given).
 */
export async function loadsOrFailsTyped(
  what: string,
  types: (new (...args: never[]) => Error)[],
  run: () => unknown,
  options: { ms?: number; where?: string } = {},
): Promise<'loaded' | 'refused'> {
  try {
    await within(options.ms ?? 2000, what, run);
    return 'loaded';
  } catch (error) {
    if (error instanceof TimeoutError) throw error;
    if (!types.some((type) => error instanceof type)) {
      throw new Error(
        `${what}: threw ${(error as Error)?.constructor?.name ?? typeof error} instead of ${types.map((t) => t.name).join('/')}: ${(error as Error)?.message}`,
        { cause: error },
      );
    }
    const message = (error as Error).message;
    if (!message || message.length > 2000)
      throw new Error(`${what}: unreadable error message (${message.length} chars)`);
    if (options.where && !message.includes(options.where)) {
      throw new Error(`${what}: error does not name ${options.where}: ${message}`);
    }
    return 'refused';
  }
}

/** Counts outcomes, for the figures printed by each suite. */
export class Tally {
  loaded = 0;
  refused = 0;
  add(outcome: 'loaded' | 'refused'): void {
    this[outcome]++;
  }
  get total(): number {
    return this.loaded + this.refused;
  }
  toString(): string {
    return `${this.total} cases: ${this.loaded} loaded, ${this.refused} refused with a typed error, 0 crashes, 0 hangs`;
  }
}
