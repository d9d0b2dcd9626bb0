// Fuzzing the LabApi boundary: every method's argument checker (shared/lab-api.ts) and the browser-mode
// server's request parsing. Untrusted arguments either pass the checker typed, or are refused with a
// `bad-arguments` LabApiError naming the method; over HTTP every reply is JSON with a 2xx/4xx status and
// an error code, never a 500, a crash of the server or a hang.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { startWebServer, type WebServer } from '../../main/web/server.js';
import { LAB_API_ARGUMENTS, LAB_METHODS, LabApiError, type LabMethod } from '../../shared/lab-api.js';
import { within } from './fuzz-helpers.js';

export const CASES = { checkers: 6000, http: 400 } as const;

/** One valid argument list per method: fuzzed arguments are mutations of these as well as random values. */
const VALID: Partial<Record<LabMethod, unknown[]>> = {
  appInfo: [],
  listTexts: [],
  readText: ['lighthouse'],
  readTokens: [{ kind: 'bundled-text', id: 'lighthouse', validationFraction: 0.1 }],
  previewData: [{ kind: 'file', name: 'a.jsonl', tokenizer: 'bpe:512', field: 'text', validationFraction: 0.1 }],
  listDataFiles: [],
  importDataFile: ['corpus.txt', new Uint8Array([104, 105])],
  workspace: [],
  chooseWorkspace: [],
  openRecentWorkspace: ['/tmp/ws'],
  listTemplates: [],
  readTemplate: ['gru'],
  listGraphs: [],
  readGraph: ['my graph'],
  saveGraph: ['my graph', '{}'],
  createRun: [
    {
      name: 'r',
      graph: {},
      data: { kind: 'task', task: 'mqar', params: { pairs: 4 } },
      train: {
        steps: 10,
        batch: 2,
        seqLen: 8,
        lr: 0.01,
        evalEvery: 0,
        evalBatches: 0,
        checkpointEvery: 5,
        warmupSteps: 0,
        weightDecay: 0,
        clipNorm: 1,
      },
      seed: 1,
      device: { vendor: 'x' },
    },
  ],
  appendMetrics: [
    'run-1',
    [{ step: 1, loss: 2, lr: 0.1, grad_norm: 1, tokens_per_s: 5, memory_bytes: 6, encode_ms: 0.1 }],
  ],
  saveCheckpoint: ['run-1', new Uint8Array(8), new Uint8Array(8)],
  finishRun: ['run-1', 'completed', ''],
  listRuns: [],
  readRun: ['run-1'],
  resumeRun: ['run-1', 100],
  exportFormats: ['run-1'],
  exportCheckpoint: ['run-1', 5, 'hf'],
  exportDownload: ['run-1', 5, 'onnx'],
  // Sweep view (issue 14): a workspace file that does not exist, so no fuzzed call starts a sweep.
  listSweeps: [],
  readSweep: ['workspace:mine.json'],
  startSweep: ['workspace:mine.json'],
  stopSweep: [],
  sweepProgress: [],
  sweepResults: ['workspace:mine.json'],
  sweepChart: ['workspace:mine.json', 'd_model'],
  sweepCsv: ['workspace:mine.json'],
  importSweepFile: ['mine.json', '{}'],
};

/** Methods whose first argument names a file or run inside the workspace. */
const NAME_FIRST = new Set<string>([
  'readText',
  'readTemplate',
  'readGraph',
  'saveGraph',
  'importDataFile',
  'appendMetrics',
  'saveCheckpoint',
  'finishRun',
  'readRun',
  'resumeRun',
  'exportFormats',
  'exportCheckpoint',
  'exportDownload',
]);

const HOSTILE_STRINGS = [
  '../../etc/passwd',
  '/etc/passwd',
  '..',
  'a/../../b',
  'C:\\Windows',
  '\0',
  '__proto__',
  'x'.repeat(5000),
];

const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(...HOSTILE_STRINGS, NaN, Infinity, -1, 2 ** 53, undefined, null),
  fc.uint8Array({ maxLength: 16 }),
);

/** Valid arguments with one value (or a nested field) replaced, dropped, or one added. */
function argsArb(method: LabMethod): fc.Arbitrary<unknown[]> {
  const valid = VALID[method];
  if (!valid) return fc.array(valueArb, { maxLength: 4 }); // a method newer than this table: random values only
  return fc.oneof(
    fc.array(valueArb, { maxLength: 4 }),
    fc.tuple(fc.nat(), valueArb, fc.string({ maxLength: 10 }), fc.nat(3)).map(([i, value, key, how]) => {
      const args = structuredClone(valid);
      if (how === 0 || args.length === 0) return [...args, value];
      const at = i % args.length;
      if (how === 1) return args.filter((_, j) => j !== at);
      const target = args[at];
      if (
        how === 3 &&
        target &&
        typeof target === 'object' &&
        !(target instanceof Uint8Array) &&
        !Array.isArray(target)
      ) {
        const keys = Object.keys(target);
        (target as Record<string, unknown>)[keys.length ? keys[key.length % keys.length] : key] = value;
      } else args[at] = value;
      return args;
    }),
  );
}

let server: WebServer;
let workspaceDir: string;

beforeAll(async () => {
  workspaceDir = mkdtempSync(join(tmpdir(), 'statelab-fuzz-api-'));
  const service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
  const rendererDir = join(workspaceDir, 'renderer');
  server = await startWebServer({ service, rendererDir });
});
afterAll(async () => {
  await server?.close();
  rmSync(workspaceDir, { recursive: true, force: true });
});

describe('fuzzing the LabApi boundary (fast-check)', () => {
  it(`argument checkers: ${CASES.checkers} fuzzed calls over ${LAB_METHODS.length} methods pass typed or are refused by name`, () => {
    // Every method is fuzzed; those with a valid example also with mutations of it.
    const withExamples = LAB_METHODS.filter((m) => VALID[m]);
    expect(withExamples.length).toBeGreaterThanOrEqual(25);
    for (const method of withExamples) expect(() => LAB_API_ARGUMENTS[method](VALID[method]!)).not.toThrow();
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...LAB_METHODS).chain((method) => fc.tuple(fc.constant(method), argsArb(method))),
        ([method, args]) => {
          try {
            const checked = LAB_API_ARGUMENTS[method](args);
            expect(Array.isArray(checked)).toBe(true);
            // A name that passes is a plain name: no folder, no traversal (paths come from dialogs only).
            if (NAME_FIRST.has(method)) expect(String(checked[0])).not.toMatch(/[/\\]|\.\./);
            accepted++;
          } catch (error) {
            expect(error).toBeInstanceOf(LabApiError);
            expect((error as LabApiError).code).toBe('bad-arguments');
            expect((error as Error).message.startsWith(`${method}: `)).toBe(true);
            refused++;
          }
        },
      ),
      { numRuns: CASES.checkers },
    );
    console.log(
      `LabApi checkers: ${CASES.checkers} cases over ${LAB_METHODS.length} methods (${withExamples.length} with mutated valid examples), ${accepted} accepted typed, ${refused} refused by name`,
    );
    expect(refused).toBeGreaterThan(CASES.checkers / 2);
  });

  it(`browser-mode server: ${CASES.http} fuzzed requests get JSON 2xx/4xx replies, never a 500 or a hang`, async () => {
    const statuses = new Map<number, number>();
    const methodArb = fc.oneof(fc.constantFrom(...LAB_METHODS), fc.string({ maxLength: 12 }));
    const bodyArb = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .constantFrom(...LAB_METHODS)
        .chain(argsArb)
        .map((args) =>
          JSON.stringify({
            args: args.map((a) => (a instanceof Uint8Array ? { $bytes: Buffer.from(a).toString('base64') } : a)),
          }),
        ),
      fc.string({ maxLength: 20 }).map((s) => JSON.stringify({ args: [{ $bytes: s }] })),
    );
    await fc.assert(
      fc.asyncProperty(methodArb, bodyArb, async (method, body) => {
        const response = await within(5000, `POST /api/${method}`, () =>
          fetch(`${server.origin}api/${encodeURIComponent(method)}`, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/json',
              Cookie: server.sessionCookie,
              Origin: server.origin.slice(0, -1),
            },
            body,
          }),
        );
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        // 501 is `unsupported` (browser mode has no dialogs); 500 would be a parser bug.
        expect(
          response.status === 501 || response.status < 500,
          `${response.status} ${method} ${body.slice(0, 200)}`,
        ).toBe(true);
        const reply = (await response.json()) as { result?: unknown; error?: { code: string; message: string } };
        if (response.status !== 200) expect(reply.error?.message).toBeTruthy();
      }),
      { numRuns: CASES.http },
    );
    console.log(
      `browser-mode server: ${CASES.http} fuzzed requests, statuses ${[...statuses]
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}`,
    );
    // The server still answers afterwards.
    const info = await fetch(`${server.origin}api/appInfo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: server.sessionCookie, Origin: server.origin.slice(0, -1) },
      body: '{"args":[]}',
    });
    expect(info.status).toBe(200);
  });
});
