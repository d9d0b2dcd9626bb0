// The parallel form of a compiled model with the two hooks the analyses need and `CompiledModel.logits`
// does not offer: every mixer can start from a given state (so a long sequence streams through in chunks,
// each chunk's parallel forward continuing exactly where the previous one stopped — no recomputation
// from the start), and every mixer's input and output can be captured (implicit attention, rollout).
//
// WHY a second evaluator: `compileGraph` keeps its mixer instances and its graph walk private. This file
// rebuilds the same instances from the resolved graph (the same `create(inWidth, params)` call, the same
// names, checked against `model.modules` by `mixerLayers`) and walks the graph the same way; a test
// pins it to `model.logits` so a change of the compiler cannot silently diverge from it. If the compiler
// grows `logits(params, ids, { initial, onMixer })`, this file shrinks to a call of it.

import type { ResolvedNode } from '../../shared/graph/validate.js';
import type { CompiledModel, ModelState } from '../graph/compile.js';
import { builtinForward } from '../graph/builtin-nodes.js';
import { MIXER_PREFIX } from '../graph/catalogue.js';
import { mixerLayers } from '../generate/memory.js';
import { mixerFactory, type Mixer } from '../nn/mixer.js';
import { paramView, type ParamMap } from '../nn/module.js';
import type { Tensor } from '../tensor.js';

export interface ProbeHooks {
  /** Each mixer's state before the first token (absent: the mixer's zero state). */
  initial?: ModelState;
  /** Receives each mixer's state after the last token. */
  final?: ModelState;
  /** Sees each mixer's input x [B, T, d] and output y; tensors belong to the caller's tidy scope. */
  onMixer?: (name: string, x: Tensor, y: Tensor) => void;
}

interface Instance {
  name: string;
  node: ResolvedNode;
  mixer?: Mixer;
}

type TopEntry = { instance: Instance; copies: Instance[][] };

/** A compiled model's parallel form with hooks; build once per model, call per chunk. */
export class ProbeForward {
  private readonly top: TopEntry[];
  private readonly embeddingName: string | undefined;
  /** Mixer instance names in execution order (the keys of `ModelState`). */
  readonly mixerNames: string[];

  constructor(readonly model: CompiledModel) {
    const graph = model.graph;
    const mixerOf = new Map<ResolvedNode, Mixer>();
    const instance = (node: ResolvedNode, name: string): Instance => {
      if (!node.spec.kind.startsWith(MIXER_PREFIX)) return { name, node };
      let mixer = mixerOf.get(node);
      if (!mixer) {
        mixer = mixerFactory(node.spec.kind.slice(MIXER_PREFIX.length)).create(node.inWidth, node.params);
        mixerOf.set(node, mixer);
      }
      return { name, node, mixer };
    };
    this.top = graph.order.map((r) => {
      if (r.spec.kind !== 'repeat') return { instance: instance(r, r.node.id), copies: [] };
      const block = graph.blocks.get(String(r.params.block))!;
      const copies = Array.from({ length: r.params.count as number }, (_, i) =>
        block.map((b) => instance(b, `${r.node.id}.${i}.${b.node.id}`)),
      );
      return { instance: { name: r.node.id, node: r }, copies };
    });
    this.embeddingName = graph.order.find((r) => r.spec.kind === 'embedding')?.node.id;
    // mixerLayers checks every name against the compiler's modules: a naming drift fails here.
    this.mixerNames = mixerLayers(model).map((l) => l.name);
    const mine = this.top.flatMap((e) => (e.copies.length ? e.copies.flat() : [e.instance])).filter((i) => i.mixer);
    if (mine.map((i) => i.name).join() !== this.mixerNames.join())
      throw new Error(`probe forward: mixer order [${mine.map((i) => i.name)}] differs from the compiler's`);
  }

  /** ids: i32 [B, T] → logits [B, T, V]. */
  logits(params: ParamMap, ids: Tensor, hooks: ProbeHooks = {}): Tensor {
    const mix = (inst: Instance, x: Tensor): Tensor => {
      const initialState = hooks.initial?.get(inst.name);
      const out = inst.mixer!.forward(paramView(params, inst.name), x, {
        initialState,
        returnState: !!hooks.final,
      });
      if (hooks.final) {
        if (!out.state) throw new Error(`probe forward: mixer "${inst.name}" returned no state`);
        hooks.final.set(inst.name, out.state);
      }
      hooks.onMixer?.(inst.name, x, out.y);
      return out.y;
    };
    return this.evaluate(params, ids, mix);
  }

  private evaluate(params: ParamMap, ids: Tensor, mix: (inst: Instance, x: Tensor) => Tensor): Tensor {
    const tied = () => params.get(`${this.embeddingName}.weight`)!;
    const run = (inst: Instance, values: Map<string, Tensor>, input: Tensor | null): void => {
      const kind = inst.node.spec.kind;
      const id = inst.node.node.id;
      const get = (port: string) => {
        const ref = inst.node.inputs[port];
        return values.get(`${ref.node}.${ref.port}`)!;
      };
      if (kind === 'tokens') values.set(`${id}.ids`, ids);
      else if (kind === 'block.input') values.set(`${id}.x`, input!);
      else if (kind === 'block.output') values.set('@output', get('x'));
      else if (inst.mixer) values.set(`${id}.y`, mix(inst, get('x')));
      else {
        const inputs = Object.fromEntries(inst.node.spec.inputs.map((p) => [p.name, get(p.name)]));
        values.set(
          `${id}.${inst.node.spec.outputs[0].name}`,
          builtinForward(kind, paramView(params, inst.name), inst.node.params, inputs, tied),
        );
      }
    };
    const values = new Map<string, Tensor>();
    for (const { instance, copies } of this.top) {
      if (instance.node.spec.kind !== 'repeat') {
        run(instance, values, null);
        continue;
      }
      const ref = instance.node.inputs.x;
      let x = values.get(`${ref.node}.${ref.port}`)!;
      for (const copy of copies) {
        const local = new Map<string, Tensor>();
        for (const inst of copy) run(inst, local, x);
        x = local.get('@output')!;
      }
      values.set(`${instance.node.node.id}.y`, x);
    }
    return values.get(`${this.model.graph.output.node.id}.logits`)!;
  }
}
