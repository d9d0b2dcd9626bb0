// Graph → engine model. Validation has already ordered the nodes and inferred every width; the compiler
// assigns deterministic HF-style parameter names (`<node id>.…` at the top level, `<repeat id>.<i>.<block
// node id>.…` inside repeated blocks), builds each mixer once, and returns functions for the parallel
// (training) form and the one-token step form with carried state.

import type { Catalogue } from '../../shared/graph/catalogue.js';
import { GraphError, type GraphDoc } from '../../shared/graph/schema.js';
import { validateGraph, type ResolvedGraph, type ResolvedNode } from '../../shared/graph/validate.js';
import type { Engine } from '../engine.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { reshape } from '../ops/shape.js';
import type { Tensor } from '../tensor.js';
import { mixerContext, mixerFactory, type Mixer, type MixerState } from '../nn/mixer.js';
import { countParams, paramView, prefixed, type ParamMap, type ParamSpec } from '../nn/module.js';
import { builtinForward, builtinParamSpecs, statefulBuiltin } from './builtin-nodes.js';
import { MIXER_PREFIX, mixerWidthCheck, nodeCatalogue } from './catalogue.js';

/** Figures per named module (a top-level node, or one copy of a block node). */
export interface ModuleFigures {
  name: string;
  kind: string;
  params: number;
  /** Recurrent state floats per sequence. */
  stateFloats: number;
  flopsPerToken: number;
}

export type ModelState = Map<string, MixerState>;

export interface ForwardHooks {
  /** Each mixer's state before the first token (absent: the mixer's zero state). */
  initial?: ModelState;
  /** Receives each mixer's state after the last token. */
  final?: ModelState;
  /** Sees each mixer's input x [B, T, d] and output y (tensors of the caller's scope). */
  onMixer?: (name: string, x: Tensor, y: Tensor) => void;
  /** Sees the output of every mixer and built-in node under its module name (distillation's block outputs). */
  onNode?: (name: string, y: Tensor) => void;
}

export interface CompiledModel {
  graph: ResolvedGraph;
  specs: ParamSpec[];
  modules: ModuleFigures[];
  totals: { params: number; stateFloats: number; stateBytes: number; flopsPerToken: number };
  /**
   * ids: i32 [B, T] → logits [B, T, V]. A `ModelState` map receives each mixer's final state; hooks can also
   * start every mixer from a given state (streaming a long sequence chunk by chunk) and observe each mixer's
   * input and output (the analyses).
   */
  logits(params: ParamMap, ids: Tensor, hooks?: ModelState | ForwardHooks): Tensor;
  /** Mean next-token cross-entropy (targets −100 are not scored). */
  loss(params: ParamMap, ids: Tensor, targets: Tensor): Tensor;
  initialState(engine: Engine, batch: number): ModelState;
  /** ids: i32 [B] → logits [B, V], with every mixer's state carried. */
  step(params: ParamMap, ids: Tensor, state: ModelState): { logits: Tensor; state: ModelState };
}

interface Instance {
  name: string;
  node: ResolvedNode;
  mixer?: Mixer;
}

export class GraphCompileError extends Error {
  constructor(readonly errors: GraphError[]) {
    super(`the graph is not valid:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`);
    this.name = 'GraphCompileError';
  }
}

export function compileGraph(doc: GraphDoc, catalogue: Catalogue = nodeCatalogue()): CompiledModel {
  const { errors, graph } = validateGraph(doc, catalogue, mixerWidthCheck);
  if (!graph) throw new GraphCompileError(errors);
  const vocab = doc.model.vocab_size;
  const layers = graph.order
    .filter((r) => r.spec.kind === 'repeat')
    .reduce((n, r) => n + (r.params.count as number), 0);

  const mixers = new Map<ResolvedNode, Mixer>();
  const mixerOf = (r: ResolvedNode): Mixer | undefined => {
    let mixer = mixers.get(r);
    if (!mixer) {
      mixer = r.spec.kind.startsWith(MIXER_PREFIX)
        ? mixerFactory(r.spec.kind.slice(MIXER_PREFIX.length)).create(r.inWidth, r.params)
        : // Built-in kinds with state (learned positions) take the mixer path: parallel, step, carried state.
          statefulBuiltin(r.spec.kind, r.inWidth, r.params);
      if (mixer) mixers.set(r, mixer);
    }
    return mixer;
  };

  // Flatten into the execution sequence of named module instances.
  const specs: ParamSpec[] = [];
  const modules: ModuleFigures[] = [];
  const visit = (r: ResolvedNode, name: string): Instance => {
    const mixer = mixerOf(r);
    const outWidth = r.outputs.y?.width ?? r.inWidth;
    const own = mixer ? mixer.params() : builtinParamSpecs(r.spec.kind, r.params, r.inWidth, outWidth, vocab, layers);
    specs.push(...prefixed(name, own));
    modules.push({
      name,
      kind: r.spec.kind,
      params: countParams(own),
      stateFloats: mixer?.stateSize() ?? 0,
      flopsPerToken: mixer?.flopsPerToken() ?? builtinFlops(r.spec.kind, own),
    });
    return { name, node: r, mixer };
  };
  const topLevel = graph.order.map((r) => {
    if (r.spec.kind !== 'repeat') return { instance: visit(r, r.node.id), copies: [] as Instance[][] };
    const block = graph.blocks.get(String(r.params.block))!;
    const copies: Instance[][] = [];
    for (let i = 0; i < (r.params.count as number); i++)
      copies.push(block.map((b) => visit(b, `${r.node.id}.${i}.${b.node.id}`)));
    return { instance: { name: r.node.id, node: r } as Instance, copies };
  });
  const embeddingName = graph.order.find((r) => r.spec.kind === 'embedding')?.node.id;

  // One evaluator for both forms: `mix` runs a mixer either in parallel over T or as one step.
  const runTop = (
    params: ParamMap,
    ids: Tensor,
    mix: (inst: Instance, x: Tensor) => Tensor,
    onNode?: ForwardHooks['onNode'],
  ): Tensor => evaluateGraph(params, ids, mix, topLevel, embeddingName, graph, onNode);

  const totals = {
    params: specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0),
    stateFloats: modules.reduce((n, m) => n + m.stateFloats, 0),
    stateBytes: 4 * modules.reduce((n, m) => n + m.stateFloats, 0),
    flopsPerToken: modules.reduce((n, m) => n + m.flopsPerToken, 0),
  };

  const model: CompiledModel = {
    graph,
    specs,
    modules,
    totals,
    logits(params, ids, hooks) {
      const { initial, final, onMixer, onNode }: ForwardHooks = hooks instanceof Map ? { final: hooks } : (hooks ?? {});
      // One context per evaluation: mixers run in graph order, so a layer sees what earlier layers published.
      const context = mixerContext();
      const mix = (inst: Instance, x: Tensor) => {
        const out = inst.mixer!.forward(paramView(params, inst.name), x, {
          initialState: initial?.get(inst.name),
          returnState: !!final,
          context,
        });
        if (final) {
          if (!out.state) throw new Error(`mixer "${inst.name}" returned no state`);
          final.set(inst.name, out.state);
        }
        onMixer?.(inst.name, x, out.y);
        return out.y;
      };
      return runTop(params, ids, mix, onNode);
    },
    loss(params, ids, targets) {
      const logits = model.logits(params, ids);
      const [b, t] = ids.shape;
      return crossEntropy(reshape(logits, [b * t, vocab]), reshape(targets, [b * t]));
    },
    initialState(engine, batch) {
      const state: ModelState = new Map();
      for (const inst of allInstances(topLevel))
        if (inst.mixer) state.set(inst.name, inst.mixer.initialState(engine, batch));
      return state;
    },
    step(params, ids, state) {
      const next: ModelState = new Map();
      const context = mixerContext();
      const logits = runTop(params, ids, (inst, x) => {
        const out = inst.mixer!.step(paramView(params, inst.name), x, state.get(inst.name)!, context);
        next.set(inst.name, out.state);
        return out.y;
      });
      return { logits, state: next };
    },
  };
  return model;
}

type TopEntry = { instance: Instance; copies: Instance[][] };

function allInstances(top: TopEntry[]): Instance[] {
  return top.flatMap((e) => (e.copies.length ? e.copies.flat() : [e.instance]));
}

/** Evaluates the top level in order; a Repeat node runs its block copies one after another. */
function evaluateGraph(
  params: ParamMap,
  ids: Tensor,
  mix: (inst: Instance, x: Tensor) => Tensor,
  top: TopEntry[],
  embeddingName: string | undefined,
  graph: ResolvedGraph,
  onNode?: ForwardHooks['onNode'],
): Tensor {
  const tied = () => params.get(`${embeddingName}.weight`)!;
  const evaluate = (inst: Instance, values: Map<string, Tensor>, input: Tensor | null): void => {
    const kind = inst.node.spec.kind;
    const id = inst.node.node.id;
    const get = (port: string) => {
      const ref = inst.node.inputs[port];
      return values.get(`${ref.node}.${ref.port}`)!;
    };
    if (kind === 'tokens') values.set(`${id}.ids`, ids);
    else if (kind === 'block.input') values.set(`${id}.x`, input!);
    else if (kind === 'block.output') values.set('@output', get('x'));
    else if (inst.mixer) {
      const y = mix(inst, get('x'));
      values.set(`${id}.y`, y);
      onNode?.(inst.name, y);
    } else {
      const inputs = Object.fromEntries(inst.node.spec.inputs.map((p) => [p.name, get(p.name)]));
      const y = builtinForward(kind, paramView(params, inst.name), inst.node.params, inputs, tied);
      values.set(`${id}.${inst.node.spec.outputs[0].name}`, y);
      onNode?.(inst.name, y);
    }
  };
  const values = new Map<string, Tensor>();
  for (const { instance, copies } of top) {
    if (instance.node.spec.kind !== 'repeat') {
      evaluate(instance, values, null);
      continue;
    }
    const ref = instance.node.inputs.x;
    let x = values.get(`${ref.node}.${ref.port}`)!;
    for (const copy of copies) {
      const local = new Map<string, Tensor>();
      for (const inst of copy) evaluate(inst, local, x);
      x = local.get('@output')!;
    }
    values.set(`${instance.node.node.id}.y`, x);
  }
  return values.get(`${graph.output.node.id}.logits`)!;
}

function builtinFlops(kind: string, specs: ParamSpec[]): number {
  // Matmul weights cost 2 FLOPs per weight per token; gathers and norms are negligible by comparison.
  if (kind === 'embedding' || kind === 'norm') return 0;
  return 2 * countParams(specs.filter((s) => s.shape.length === 2));
}
