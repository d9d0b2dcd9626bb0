// A recurrent student derived from an attention teacher: every attention mixer instance of the teacher (in
// execution order: layer 0, 1, …) either becomes a mixer of a recurrent family or stays attention (a
// hybrid). Everything else — embeddings, norms, MLPs, the head — is the teacher's graph unchanged.
//
// Parameter names stay those of the teacher wherever the graph allows: when every copy of a `repeat` block
// changes the same way, the block keeps its repeat and its node ids, so `layers.3.attn.*` is still
// `layers.3.attn.*` (now a GLA). When copies differ (a hybrid), the repeat is unrolled into top-level nodes
// `layers_3_attn_norm`, `layers_3_attn`, … — the graph format allows neither per-copy blocks nor dotted ids,
// and every exporter and analysis reads the `<repeat>.<i>.<node>` scheme — so `layers.3.attn.q_proj.weight`
// becomes `layers_3_attn.q_proj.weight`: the same name with the dots of its path replaced by underscores.
//
// The recurrent mixers are sized to match the teacher's attention (heads, head width), so the teacher's
// q/k/v/o projections fit the student's (transfer.ts).

import type { GraphBlock, GraphDoc, GraphEdge, GraphNode, ParamValue } from '../../shared/graph/schema.js';
import type { ResolvedGraph, ResolvedNode } from '../../shared/graph/validate.js';
import { compileGraph, type CompiledModel } from '../graph/compile.js';
import { MIXER_PREFIX } from '../graph/catalogue.js';
import { attentionConfig, type AttentionConfig } from '../nn/mixers/attention/attention.js';
import type { MixerOptions } from '../nn/mixer.js';

export const STUDENT_FAMILIES = ['gla', 'mamba2', 'linear_attn', 'deltanet', 'gated_deltanet'] as const;
export type StudentFamily = (typeof STUDENT_FAMILIES)[number];

/** Which attention layers (indices in execution order) stay attention; the others become the family. */
export type HybridSpec = { kind: 'none' } | { kind: 'every'; every: number } | { kind: 'layers'; layers: number[] };

export interface StudentSpec {
  family: StudentFamily;
  /** Options of the family's mixer on top of the sizes matched to the teacher (e.g. gate_low_rank_dim). */
  options?: MixerOptions;
  hybrid?: HybridSpec;
  name?: string;
}

/** One attention layer of the teacher and what the student has in its place. */
export interface StudentLayer {
  index: number;
  /** Module names, e.g. `layers.3.attn` and `layers.3.attn` (or `layers_3_attn` when unrolled). */
  teacher: string;
  student: string;
  /** The student's mixer kind at this layer (`gla`, …, or `attention` where it stays). */
  kind: string;
  converted: boolean;
}

/** How a student graph lines up with its teacher. */
export interface StudentMap {
  layers: StudentLayer[];
  /** Teacher module name → student module name, for every teacher module the student has. */
  modules: Record<string, string>;
  /** Block outputs matched by the hidden-state loss: the module producing each block's output, both sides. */
  hidden: { teacher: string; student: string }[];
}

export class DistillError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DistillError';
  }
}

/** `none`, `every:K` (layers K−1, 2K−1, … keep attention) or `layers:0,2` (those layers keep attention). */
export function parseHybrid(text: string): HybridSpec {
  if (text === 'none' || text === '') return { kind: 'none' };
  const every = /^every:(\d+)$/.exec(text);
  if (every && Number(every[1]) >= 1) return { kind: 'every', every: Number(every[1]) };
  const layers = /^layers:(\d+(?:,\d+)*)$/.exec(text);
  if (layers) return { kind: 'layers', layers: layers[1].split(',').map(Number) };
  throw new DistillError(
    `hybrid "${text}": use none, every:K (every K-th layer keeps attention) or layers:i,j (those layers keep attention)`,
  );
}

export function formatHybrid(h: HybridSpec): string {
  return h.kind === 'none' ? 'none' : h.kind === 'every' ? `every:${h.every}` : `layers:${h.layers.join(',')}`;
}

function keepsAttention(h: HybridSpec, index: number, count: number): boolean {
  if (h.kind === 'none') return false;
  if (h.kind === 'every') return index % h.every === h.every - 1;
  for (const l of h.layers)
    if (!Number.isInteger(l) || l < 0 || l >= count)
      throw new DistillError(
        `hybrid layers:${h.layers.join(',')}: layer ${l} does not exist (the teacher has ${count})`,
      );
  return h.layers.includes(index);
}

/** The family's options that make its projections the shapes of the teacher's attention projections. */
export function matchedOptions(family: StudentFamily, a: AttentionConfig): MixerOptions {
  const ratio = (a.heads * a.headDim) / a.dModel;
  switch (family) {
    case 'gla':
    case 'linear_attn':
    case 'deltanet':
      return { num_heads: a.heads, expand_k: ratio, expand_v: ratio };
    case 'gated_deltanet':
      return { num_heads: a.heads, head_dim: a.headDim, expand_v: 1 };
    case 'mamba2':
      // x ← v and C ← q need d_inner = heads·head_dim; C has ngroups·d_state rows, so one group per head.
      return { headdim: a.headDim, d_state: a.headDim, ngroups: a.heads, expand: ratio };
  }
}

/** Mixer instances in execution order, with their module names. */
export function mixerInstances(graph: ResolvedGraph): { name: string; node: ResolvedNode }[] {
  const out: { name: string; node: ResolvedNode }[] = [];
  for (const r of graph.order) {
    if (r.spec.kind !== 'repeat') {
      if (r.spec.kind.startsWith(MIXER_PREFIX)) out.push({ name: r.node.id, node: r });
      continue;
    }
    const block = graph.blocks.get(String(r.params.block))!;
    for (let i = 0; i < (r.params.count as number); i++)
      for (const b of block)
        if (b.spec.kind.startsWith(MIXER_PREFIX)) out.push({ name: `${r.node.id}.${i}.${b.node.id}`, node: b });
  }
  return out;
}

const ATTENTION = `${MIXER_PREFIX}attention`;

/** `layers.3.attn` → `layers_3_attn`: a block node's name once its repeat is unrolled. */
export function unrolledName(name: string): string {
  return name.replace(/\./g, '_');
}

function compileOrExplain(doc: GraphDoc, what: string): CompiledModel {
  try {
    return compileGraph(doc);
  } catch (error) {
    throw new DistillError(`${what}: ${(error as Error).message}`);
  }
}

/** Derives the student graph from the teacher's: converted layers, hybrids, unrolled repeats. */
export function deriveStudent(teacher: GraphDoc, spec: StudentSpec): { graph: GraphDoc; map: StudentMap } {
  if (!STUDENT_FAMILIES.includes(spec.family)) {
    throw new DistillError(`student family "${spec.family}" is not supported (use ${STUDENT_FAMILIES.join(', ')})`);
  }
  const model = compileOrExplain(teacher, `teacher graph "${teacher.name}"`);
  const attention = mixerInstances(model.graph).filter((m) => m.node.spec.kind === ATTENTION);
  if (attention.length === 0) {
    throw new DistillError(`teacher graph "${teacher.name}" has no attention layers to turn into a recurrent student`);
  }
  const hybrid = spec.hybrid ?? { kind: 'none' };
  const converted = new Set(
    attention.filter((_, i) => !keepsAttention(hybrid, i, attention.length)).map((m) => m.name),
  );
  const widths = new Map(attention.map((m) => [m.name, m.node.inWidth]));
  const studentNode = (node: GraphNode, instance: string): GraphNode => {
    if (!converted.has(instance)) return structuredClone(node);
    let a: AttentionConfig;
    try {
      a = attentionConfig(widths.get(instance)!, node.params ?? {});
    } catch (error) {
      throw new DistillError(`teacher layer "${instance}": ${(error as Error).message}`);
    }
    const params: Record<string, ParamValue> = { ...matchedOptions(spec.family, a), ...(spec.options ?? {}) };
    return { ...structuredClone(node), kind: `${MIXER_PREFIX}${spec.family}`, params };
  };

  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const blocks: Record<string, GraphBlock> = {};
  /** Where a top-level node's output now comes from (unrolled repeats). */
  const renamed = new Map<string, string>();
  const ids = new Set(teacher.nodes.map((n) => n.id));
  const blockUses = new Map<string, number>();
  for (const n of teacher.nodes)
    if (n.kind === 'repeat') blockUses.set(String(n.params?.block), (blockUses.get(String(n.params?.block)) ?? 0) + 1);

  for (const r of model.graph.order) {
    const node = r.node;
    if (r.spec.kind !== 'repeat') {
      nodes.push(studentNode(node, node.id));
      continue;
    }
    const blockName = String(r.params.block);
    const block = teacher.blocks![blockName];
    const count = r.params.count as number;
    const pattern = (i: number) =>
      block.nodes.map((b) => (converted.has(`${node.id}.${i}.${b.id}`) ? '1' : '0')).join('');
    const uniform = Array.from({ length: count }, (_, i) => pattern(i)).every((p) => p === pattern(0));
    if (uniform) {
      // Every copy changes alike: keep the repeat (and so the parameter names); the block is rewritten, or
      // copied under a new name when another repeat still uses the teacher's version.
      let name = blockName;
      if (pattern(0).includes('1') && (blockUses.get(blockName) ?? 0) > 1) {
        name = `${blockName}_${spec.family}`;
        for (let n = 2; teacher.blocks?.[name] || blocks[name]; n++) name = `${blockName}_${spec.family}_${n}`;
      }
      blocks[name] = {
        nodes: block.nodes.map((b) => studentNode(b, `${node.id}.0.${b.id}`)),
        edges: structuredClone(block.edges),
      };
      nodes.push({ ...structuredClone(node), params: { ...node.params, block: name } });
      continue;
    }
    // Copies differ: unroll into top-level nodes `<repeat>_<i>_<node>`, chained copy to copy.
    const source = r.inputs.x;
    let previous = `${source.node}.${source.port}`;
    const inputId = block.nodes.find((b) => b.kind === 'block.input')!.id;
    const outputId = block.nodes.find((b) => b.kind === 'block.output')!.id;
    for (let i = 0; i < count; i++) {
      const local = (id: string) => unrolledName(`${node.id}.${i}.${id}`);
      for (const b of block.nodes) {
        if (b.kind === 'block.input' || b.kind === 'block.output') continue;
        const id = local(b.id);
        if (ids.has(id)) throw new DistillError(`cannot unroll "${node.id}": node id "${id}" is already taken`);
        ids.add(id);
        nodes.push({ ...studentNode(b, `${node.id}.${i}.${b.id}`), id });
      }
      let output = previous;
      for (const e of block.edges) {
        const from = e.from.slice(0, e.from.lastIndexOf('.'));
        const fromPort = e.from.slice(e.from.lastIndexOf('.') + 1);
        const to = e.to.slice(0, e.to.lastIndexOf('.'));
        const mapped = from === inputId ? previous : `${local(from)}.${fromPort}`;
        if (to === outputId) output = mapped;
        else edges.push({ from: mapped, to: `${local(to)}.${e.to.slice(e.to.lastIndexOf('.') + 1)}` });
      }
      previous = output;
    }
    renamed.set(`${node.id}.y`, previous);
  }
  for (const e of teacher.edges) {
    if (renamed.has(`${e.to.slice(0, e.to.lastIndexOf('.'))}.y`)) continue; // into an unrolled repeat: rewired above
    edges.push({ from: renamed.get(e.from) ?? e.from, to: e.to });
  }
  for (const [name, block] of Object.entries(teacher.blocks ?? {})) {
    // Blocks no repeat uses any more are dropped; others unchanged by this derivation are kept as they were.
    const used = nodes.some((n) => n.kind === 'repeat' && n.params?.block === name);
    if (used && !blocks[name]) blocks[name] = structuredClone(block);
  }
  const family = spec.family;
  const graph: GraphDoc = {
    format: teacher.format,
    version: teacher.version,
    name:
      spec.name ?? `${teacher.name} → ${family}${hybrid.kind === 'none' ? '' : ` (hybrid ${formatHybrid(hybrid)})`}`,
    description: `Distillation student of "${teacher.name}": attention layers ${[...converted].join(', ')} became ${family}.`,
    model: { ...teacher.model },
    nodes,
    edges,
    ...(Object.keys(blocks).length ? { blocks } : {}),
  };
  compileOrExplain(graph, `derived student "${graph.name}"`);
  return { graph, map: mapStudent(teacher, graph) };
}

/**
 * Lines up any student graph (derived, or a file the user wrote) with its teacher: a teacher module's
 * counterpart is the student module of the same name, or of its unrolled name.
 */
export function mapStudent(teacher: GraphDoc, student: GraphDoc): StudentMap {
  const t = compileOrExplain(teacher, `teacher graph "${teacher.name}"`);
  const s = compileOrExplain(student, `student graph "${student.name}"`);
  const studentModules = new Map(s.modules.map((m) => [m.name, m.kind]));
  const counterpart = (name: string) =>
    studentModules.has(name) ? name : studentModules.has(unrolledName(name)) ? unrolledName(name) : undefined;
  const modules: Record<string, string> = {};
  for (const m of t.modules) {
    const other = counterpart(m.name);
    if (other) modules[m.name] = other;
  }
  const layers: StudentLayer[] = [];
  for (const m of mixerInstances(t.graph)) {
    if (m.node.spec.kind !== ATTENTION) continue;
    const other = modules[m.name];
    if (!other) continue;
    const kind = studentModules.get(other)!.slice(MIXER_PREFIX.length);
    layers.push({ index: layers.length, teacher: m.name, student: other, kind, converted: kind !== 'attention' });
  }
  const hidden: StudentMap['hidden'] = [];
  for (const r of t.graph.order) {
    if (r.spec.kind !== 'repeat') continue;
    const block = t.graph.blocks.get(String(r.params.block))!;
    const out = block.find((b) => b.spec.kind === 'block.output')!.inputs.x;
    const producer = block.find((b) => b.node.id === out.node)!;
    if (producer.spec.kind === 'block.input') continue; // an identity block has no output of its own
    for (let i = 0; i < (r.params.count as number); i++) {
      const name = `${r.node.id}.${i}.${producer.node.id}`;
      if (modules[name]) hidden.push({ teacher: name, student: modules[name] });
    }
  }
  return { layers, modules, hidden };
}
