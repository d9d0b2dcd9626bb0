// Reading a sweep file: JSON errors with context, then a field-by-field check whose messages name the
// file and the field (`sweep.json: train.lr must be a positive number (got "fast")`). Shape only: whether
// an axis names a parameter the graph has is checked against the graphs when the sweep is expanded.

import { SWEEP_FORMAT, SWEEP_VERSION, SweepError, type SweepFile, type SweepGraph, type SweepData } from './schema.js';

type Json = Record<string, unknown>;

const TRAIN_INTS = ['steps', 'seqLen', 'batch', 'warmupSteps', 'evalEvery', 'evalBatches', 'checkpointEvery'];
const TRAIN_NUMBERS = ['lr', 'weightDecay', 'maxSeconds'];
const TRAIN_REQUIRED = ['lr', 'steps', 'seqLen', 'batch'];
const METRICS = ['val_loss', 'mqar_accuracy'];

export function parseSweep(text: string, source = 'sweep'): SweepFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SweepError(`malformed JSON: ${(error as Error).message}`, source);
  }
  return checkSweep(raw, source);
}

export function checkSweep(raw: unknown, source = 'sweep'): SweepFile {
  const fail = (field: string, message: string): never => {
    throw new SweepError(message, field ? `${source}: ${field}` : source);
  };
  if (!isObject(raw)) return fail('', 'a sweep must be a JSON object');
  const doc = raw;
  if (doc.format !== SWEEP_FORMAT) fail('format', `must be "${SWEEP_FORMAT}" (got ${JSON.stringify(doc.format)})`);
  if (doc.version !== SWEEP_VERSION)
    fail('version', `must be ${SWEEP_VERSION} (got ${JSON.stringify(doc.version)}); this StateLab reads version 1`);
  if (typeof doc.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(doc.name))
    fail('name', `must be a name of letters, digits, ".", "_" or "-" (got ${JSON.stringify(doc.name)})`);

  if (!Array.isArray(doc.graphs) || doc.graphs.length === 0) fail('graphs', 'must be a non-empty list of base graphs');
  const families = new Set<string>();
  const graphs = (doc.graphs as unknown[]).map((g, i): SweepGraph => {
    const at = `graphs[${i}]`;
    if (!isObject(g)) return fail(at, 'must be an object with "family" and "template" or "file"');
    if (typeof g.family !== 'string' || !g.family) fail(`${at}.family`, 'must be a non-empty label');
    if (families.has(g.family as string)) fail(`${at}.family`, `"${g.family}" is used twice`);
    families.add(g.family as string);
    if ((g.template === undefined) === (g.file === undefined))
      fail(at, 'needs exactly one of "template" (a bundled template name) or "file" (a graph file)');
    for (const key of ['template', 'file'])
      if (g[key] !== undefined && (typeof g[key] !== 'string' || !g[key])) fail(`${at}.${key}`, 'must be a string');
    if (g.set !== undefined && !isObject(g.set)) fail(`${at}.set`, 'must be an object of parameter → value');
    for (const [key, value] of Object.entries((g.set as Json | undefined) ?? {}))
      if (!isScalar(value)) fail(`${at}.set["${key}"]`, 'must be a number, string or boolean');
    return g as unknown as SweepGraph;
  });

  const data = checkData(doc.data, fail);

  if (!isObject(doc.axes)) return fail('axes', 'must be an object of axis name → list of values');
  const axes = doc.axes;
  for (const [name, values] of Object.entries(axes)) {
    if (!Array.isArray(values)) fail(`axes["${name}"]`, 'must be a list of values');
    const list = values as unknown[];
    if (list.length === 0) fail(`axes["${name}"]`, 'is empty: the grid would have no runs');
    list.forEach((v, i) => isScalar(v) || fail(`axes["${name}"][${i}]`, 'must be a number, string or boolean'));
    if (new Set(list.map((v) => JSON.stringify(v))).size !== list.length) fail(`axes["${name}"]`, 'repeats a value');
  }

  if (!isObject(doc.train)) return fail('train', 'must be an object (lr, steps, seqLen, batch, …)');
  const train = doc.train;
  for (const key of TRAIN_REQUIRED) if (train[key] === undefined) fail(`train.${key}`, 'is required');
  for (const [key, value] of Object.entries(train)) {
    if (TRAIN_INTS.includes(key)) {
      if (!Number.isInteger(value) || (value as number) < (key === 'warmupSteps' ? 0 : 1))
        fail(`train.${key}`, `must be a positive integer (got ${JSON.stringify(value)})`);
    } else if (TRAIN_NUMBERS.includes(key)) {
      if (typeof value !== 'number' || !(value > 0 || (key === 'weightDecay' && value === 0)))
        fail(`train.${key}`, `must be a positive number (got ${JSON.stringify(value)})`);
    } else
      fail(
        `train.${key}`,
        `is not a training setting (settings: ${[...TRAIN_REQUIRED, 'warmupSteps', 'weightDecay', 'evalEvery', 'evalBatches', 'checkpointEvery', 'maxSeconds'].join(', ')})`,
      );
  }

  if (!Array.isArray(doc.seeds) || doc.seeds.length === 0) fail('seeds', 'must be a non-empty list of integers');
  (doc.seeds as unknown[]).forEach((s, i) => Number.isInteger(s) || fail(`seeds[${i}]`, 'must be an integer'));
  if (new Set(doc.seeds as number[]).size !== (doc.seeds as number[]).length) fail('seeds', 'repeats a seed');

  if (!METRICS.includes(doc.metric as string))
    fail('metric', `must be one of ${METRICS.join(', ')} (got ${JSON.stringify(doc.metric)})`);
  if (doc.metric === 'mqar_accuracy' && !('task' in data && data.task === 'mqar'))
    fail('metric', 'mqar_accuracy needs the mqar task as data');

  if (doc.bestOf !== undefined) {
    if (!isObject(doc.bestOf) || typeof doc.bestOf.axis !== 'string') fail('bestOf', 'must be { "axis": <axis name> }');
    const axis = (doc.bestOf as Json).axis as string;
    if (!(axis in axes)) fail('bestOf.axis', `"${axis}" is not one of the axes (${Object.keys(axes).join(', ')})`);
  }
  if (doc.earlyStop !== undefined) {
    if (!isObject(doc.earlyStop)) fail('earlyStop', 'must be { "valLoss"?: number, "metric"?: number }');
    for (const [key, value] of Object.entries(doc.earlyStop as Json)) {
      if (key !== 'valLoss' && key !== 'metric') fail(`earlyStop.${key}`, 'is not known (valLoss, metric)');
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(`earlyStop.${key}`, 'must be a number');
    }
  }
  if (doc.runName !== undefined && (typeof doc.runName !== 'string' || !doc.runName))
    fail('runName', 'must be a template string such as "{family}-d{d_model}-s{seed}"');
  for (const key of ['memoryBudgetMB', 'evalSamples'])
    if (doc[key] !== undefined && !(Number.isInteger(doc[key]) && (doc[key] as number) > 0))
      fail(key, `must be a positive integer (got ${JSON.stringify(doc[key])})`);
  const known = [
    'format',
    'version',
    'name',
    'description',
    'graphs',
    'data',
    'axes',
    'train',
    'seeds',
    'metric',
    'bestOf',
    'earlyStop',
    'runName',
    'memoryBudgetMB',
    'evalSamples',
  ];
  for (const key of Object.keys(doc))
    if (!known.includes(key)) fail(key, `is not a sweep field (fields: ${known.join(', ')})`);

  return { ...(doc as unknown as SweepFile), graphs, data };
}

function checkData(raw: unknown, fail: (field: string, message: string) => never): SweepData {
  if (!isObject(raw))
    return fail('data', 'must be { "task": NAME, "params": {…} } or { "file": PATH, "tokenizer": … }');
  if (typeof raw.task === 'string') {
    if (raw.params !== undefined && !isObject(raw.params)) fail('data.params', 'must be an object of name → number');
    for (const [key, value] of Object.entries((raw.params as Json | undefined) ?? {}))
      if (typeof value !== 'number') fail(`data.params.${key}`, `must be a number (got ${JSON.stringify(value)})`);
    return raw as SweepData;
  }
  if (typeof raw.file === 'string') return raw as SweepData;
  return fail('data', 'needs "task" (a synthetic task name) or "file" (a dataset path)');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is number | string | boolean {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean';
}
