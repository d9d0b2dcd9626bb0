// Axis expansion: the grid is graphs × axis values (in the file's axis order) × seeds, each point a
// concrete graph document, training settings and data spec, with a deterministic run id. Every axis is
// checked against every graph before anything runs, so a typo names the graph, node and parameter.

import type { Catalogue } from '../graph/catalogue.js';
import type { GraphDoc, GraphNode, ParamValue } from '../graph/schema.js';
import { SweepError, type SweepData, type SweepFile, type SweepTrain } from './schema.js';

export type AxisValue = number | string | boolean;

export interface SweepPoint {
  /** Position in the grid (0-based), the order the runner follows. */
  index: number;
  /** Deterministic run id from the sweep's runName scheme; also the run folder's name in run.json. */
  id: string;
  family: string;
  /** This point's value of every axis, by axis name. */
  axes: Record<string, AxisValue>;
  seed: number;
  graph: GraphDoc;
  train: SweepTrain;
  data: SweepData;
  /** Same configuration apart from the best-of axis and the seed (what is averaged over seeds). */
  config: string;
  /** Same configuration and seed apart from the best-of axis (what best-of chooses within). */
  group: string;
}

const TRAIN_PREFIX = 'train.';
const TASK_PREFIX = 'task.';
const MODEL_KEYS = ['d_model', 'vocab_size'] as const;

export function expandSweep(
  sweep: SweepFile,
  graphs: Map<string, GraphDoc>,
  catalogue: Catalogue,
  source = sweep.name,
): SweepPoint[] {
  const axisNames = Object.keys(sweep.axes);
  const combos = cartesian(axisNames.map((name) => sweep.axes[name]));
  const points: SweepPoint[] = [];
  for (const base of sweep.graphs) {
    const graphDoc = graphs.get(base.family);
    if (!graphDoc) throw new SweepError(`no graph loaded for family "${base.family}"`, source);
    let fixed = graphDoc;
    for (const [name, value] of Object.entries(base.set ?? {}))
      fixed = setParam(fixed, base.family, name, value, catalogue, `${source}: graphs[${base.family}].set`);
    for (const combo of combos) {
      const axes: Record<string, AxisValue> = {};
      let graph = fixed;
      let train: SweepTrain = { ...sweep.train };
      let data: SweepData = sweep.data;
      combo.forEach((value, i) => {
        const name = axisNames[i];
        axes[name] = value;
        if (name.startsWith(TRAIN_PREFIX)) train = setTrain(train, name, value, source);
        else if (name.startsWith(TASK_PREFIX)) data = setTask(data, name, value, source);
        else graph = setParam(graph, base.family, name, value, catalogue, `${source}: axes["${name}"]`);
      });
      for (const seed of sweep.seeds) {
        const others = axisNames.filter((n) => n !== sweep.bestOf?.axis).map((n) => `${n}=${String(axes[n])}`);
        points.push({
          index: points.length,
          id: runId(sweep, base.family, axes, seed),
          family: base.family,
          axes,
          seed,
          graph,
          train,
          data,
          config: [base.family, ...others].join('|'),
          group: [base.family, ...others, `seed=${seed}`].join('|'),
        });
      }
    }
  }
  if (points.length === 0) throw new SweepError('the grid is empty: no graphs, axis values or seeds', source);
  const seen = new Map<string, number>();
  for (const p of points) {
    const earlier = seen.get(p.id);
    if (earlier !== undefined)
      throw new SweepError(
        `runName gives runs ${earlier} and ${p.index} the same id "${p.id}"; include every axis and {seed} in it`,
        `${source}: runName`,
      );
    seen.set(p.id, p.index);
  }
  return points;
}

/** The runName template filled in, or by default `<family>-<axis><value>…-s<seed>`, as a safe folder name. */
export function runId(sweep: SweepFile, family: string, axes: Record<string, AxisValue>, seed: number): string {
  const raw = sweep.runName
    ? sweep.runName.replace(/\{([^}]+)\}/g, (whole, key: string) => {
        if (key === 'family') return family;
        if (key === 'seed') return String(seed);
        if (key in axes) return String(axes[key]);
        throw new SweepError(
          `"${whole}" names no axis (axes: ${Object.keys(axes).join(', ')}; also {family}, {seed})`,
          `${sweep.name}: runName`,
        );
      })
    : [family, ...Object.entries(axes).map(([name, v]) => `${shortAxis(name)}${String(v)}`), `s${seed}`].join('-');
  return raw.replace(/[^A-Za-z0-9._-]+/g, '-');
}

function shortAxis(name: string): string {
  return (name.split('.').pop() ?? name).replace(/[^A-Za-z0-9]/g, '');
}

function cartesian<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((prefix) => list.map((v) => [...prefix, v])), [[]]);
}

function setTrain(train: SweepTrain, name: string, value: AxisValue, source: string): SweepTrain {
  const key = name.slice(TRAIN_PREFIX.length);
  const known = [
    'lr',
    'steps',
    'seqLen',
    'batch',
    'warmupSteps',
    'weightDecay',
    'evalEvery',
    'evalBatches',
    'checkpointEvery',
    'maxSeconds',
  ];
  if (!known.includes(key))
    throw new SweepError(`"${key}" is not a training setting (${known.join(', ')})`, `${source}: axes["${name}"]`);
  if (typeof value !== 'number' || !(value > 0))
    throw new SweepError(
      `values must be positive numbers (got ${JSON.stringify(value)})`,
      `${source}: axes["${name}"]`,
    );
  return { ...train, [key]: value };
}

function setTask(data: SweepData, name: string, value: AxisValue, source: string): SweepData {
  if (!('task' in data)) throw new SweepError(`"${name}" needs a synthetic task as data`, `${source}: axes["${name}"]`);
  if (typeof value !== 'number')
    throw new SweepError(`values must be numbers (got ${JSON.stringify(value)})`, `${source}: axes["${name}"]`);
  return { ...data, params: { ...data.params, [name.slice(TASK_PREFIX.length)]: value } };
}

/**
 * Sets a graph parameter: "d_model"/"vocab_size" (the model), "nodeId.param" (that node, at the top level
 * or in any block), or a bare parameter name (every node whose kind has it). Throws naming the graph, the
 * node and the parameter when the graph has no such thing.
 */
export function setParam(
  doc: GraphDoc,
  family: string,
  name: string,
  value: AxisValue,
  catalogue: Catalogue,
  where: string,
): GraphDoc {
  const graphName = `graph "${doc.name}" (family ${family})`;
  if ((MODEL_KEYS as readonly string[]).includes(name)) {
    if (!Number.isInteger(value) || (value as number) < 1)
      throw new SweepError(`${name} must be a positive integer (got ${JSON.stringify(value)})`, where);
    return { ...doc, model: { ...doc.model, [name]: value } };
  }
  const dot = name.lastIndexOf('.');
  const nodeId = dot > 0 ? name.slice(0, dot) : null;
  const param = dot > 0 ? name.slice(dot + 1) : name;
  const all = [...doc.nodes, ...Object.values(doc.blocks ?? {}).flatMap((b) => b.nodes)];
  const paramsOf = (node: GraphNode) => catalogue.get(node.kind)?.params.map((p) => p.name) ?? [];
  if (nodeId !== null) {
    const node = all.find((n) => n.id === nodeId);
    if (!node)
      throw new SweepError(
        `${graphName} has no node "${nodeId}" (nodes: ${[...new Set(all.map((n) => n.id))].join(', ')})`,
        where,
      );
    if (!paramsOf(node).includes(param))
      throw new SweepError(
        `${graphName} node "${nodeId}" (${node.kind}) has no parameter "${param}" (parameters: ${paramsOf(node).join(', ') || 'none'})`,
        where,
      );
  } else if (!all.some((n) => paramsOf(n).includes(param))) {
    throw new SweepError(
      `${graphName} has no node with a parameter "${param}" (and it is not d_model or vocab_size); address one as "nodeId.param"`,
      where,
    );
  }
  const edit = (node: GraphNode): GraphNode =>
    (nodeId === null ? paramsOf(node).includes(param) : node.id === nodeId)
      ? { ...node, params: { ...node.params, [param]: value as ParamValue } }
      : node;
  return {
    ...doc,
    nodes: doc.nodes.map(edit),
    ...(doc.blocks
      ? {
          blocks: Object.fromEntries(
            Object.entries(doc.blocks).map(([k, b]) => [k, { ...b, nodes: b.nodes.map(edit) }]),
          ),
        }
      : {}),
  };
}
