// A small builder for ONNX graphs over onnx-buf's generated protobuf types (@bufbuild/protobuf): named
// values, one method per operator we use, weights kept under their StateLab names, and subgraphs (the
// bodies of Scan loops) that read the outer graph's values. Writes a ModelProto, moving large weights
// into an external data file as the ONNX spec describes (location/offset/length entries).

import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProtoSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

/** Opset 17: LayerNormalization exists, ReduceMean still takes its axes as an attribute. */
export const OPSET = 17;
const IR_VERSION = 8n;

export type Dim = number | string;
export type ElemType = 'float' | 'int64' | 'bool';

/** Attribute values: integers, integer lists, `{ f }` floats, strings, `{ g }` subgraphs. */
export type AttrValue = number | number[] | string | { f: number } | { g: GraphProto };

const DTYPE: Record<ElemType, TensorProto_DataType> = {
  float: TensorProto_DataType.FLOAT,
  int64: TensorProto_DataType.INT64,
  bool: TensorProto_DataType.BOOL,
};

function attribute(name: string, value: AttrValue): AttributeProto {
  const T = AttributeProto_AttributeType;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`ONNX attribute "${name}": ${value} is not an integer; use { f }`);
    return create(AttributeProtoSchema, { name, type: T.INT, i: BigInt(value) });
  }
  if (Array.isArray(value)) return create(AttributeProtoSchema, { name, type: T.INTS, ints: value.map(BigInt) });
  if (typeof value === 'string')
    return create(AttributeProtoSchema, { name, type: T.STRING, s: new TextEncoder().encode(value) });
  if ('f' in value) return create(AttributeProtoSchema, { name, type: T.FLOAT, f: value.f });
  return create(AttributeProtoSchema, { name, type: T.GRAPH, g: value.g });
}

export function valueInfo(name: string, elem: ElemType, dims?: Dim[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: {
          elemType: DTYPE[elem],
          ...(dims
            ? {
                shape: create(TensorShapeProtoSchema, {
                  dim: dims.map((d) =>
                    typeof d === 'number'
                      ? { value: { case: 'dimValue' as const, value: BigInt(d) } }
                      : { value: { case: 'dimParam' as const, value: d } },
                  ),
                }),
              }
            : {}),
        },
      },
    }),
  });
}

interface Initializer {
  name: string;
  shape: number[];
  elem: ElemType;
  data: Float32Array | BigInt64Array;
}

/** The values shared by a graph and its subgraphs: initializers, constant cache, name counter. */
class Store {
  readonly initializers: Initializer[] = [];
  readonly names = new Set<string>();
  readonly cache = new Map<string, string>();
  counter = 0;
}

export class OnnxGraph {
  readonly nodes: NodeProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  /** Prefix of generated value names (the module being emitted), for a readable graph. */
  scope = '';
  private readonly store: Store;

  constructor(
    readonly name: string,
    parent?: OnnxGraph,
  ) {
    this.store = parent ? parent.store : new Store();
  }

  /** A subgraph (e.g. a Scan body) that may read this graph's values and shares its initializers. */
  subgraph(name: string): OnnxGraph {
    const g = new OnnxGraph(name, this);
    g.scope = this.scope;
    return g;
  }

  fresh(base: string): string {
    let name: string;
    do name = `${this.scope ? `${this.scope}/` : ''}${base}_${this.store.counter++}`;
    while (this.store.names.has(name));
    this.store.names.add(name);
    return name;
  }

  input(name: string, elem: ElemType, dims?: Dim[]): string {
    this.store.names.add(name);
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  /** Declares `value` as a graph output named `name` (an Identity renames it when the names differ). */
  output(value: string, name: string, elem: ElemType, dims?: Dim[]): void {
    if (value !== name) {
      this.store.names.add(name);
      this.nodes.push(create(NodeProtoSchema, { opType: 'Identity', input: [value], output: [name], name }));
    }
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /** A float weight under its own (StateLab) name. */
  weight(name: string, shape: readonly number[], data: Float32Array): string {
    if (!this.store.names.has(name)) {
      this.store.names.add(name);
      this.store.initializers.push({ name, shape: [...shape], elem: 'float', data });
    }
    return name;
  }

  /** An int64 constant tensor (shape [n], or a scalar with `scalar`), shared by equal values. */
  ints(values: number[], scalar = false): string {
    const key = `i:${scalar}:${values.join(',')}`;
    return this.constant(key, () => ({
      shape: scalar ? [] : [values.length],
      elem: 'int64',
      data: BigInt64Array.from(values.map(BigInt)),
    }));
  }

  /** A float constant (a scalar, or a vector). */
  floats(values: number[] | number): string {
    const list = typeof values === 'number' ? [values] : values;
    const key = `f:${typeof values === 'number'}:${list.join(',')}`;
    return this.constant(key, () => ({
      shape: typeof values === 'number' ? [] : [list.length],
      elem: 'float',
      data: Float32Array.from(list),
    }));
  }

  private constant(key: string, make: () => Omit<Initializer, 'name'>): string {
    const cached = this.store.cache.get(key);
    if (cached) return cached;
    const name = `const_${this.store.counter++}`;
    this.store.names.add(name);
    this.store.initializers.push({ name, ...make() });
    this.store.cache.set(key, name);
    return name;
  }

  /** Memoizes a value computed once in this (outer) graph, e.g. a transposed weight. */
  memo(key: string, make: () => string): string {
    const cached = this.store.cache.get(key);
    if (cached) return cached;
    const value = make();
    this.store.cache.set(key, value);
    return value;
  }

  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(type));
    this.nodes.push(
      create(NodeProtoSchema, {
        opType: type,
        name: names[0],
        input: inputs,
        output: names,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return names;
  }

  one(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.op(type, inputs, attrs)[0];
  }

  // Arithmetic (NumPy broadcasting).
  add = (a: string, b: string) => this.one('Add', [a, b]);
  sub = (a: string, b: string) => this.one('Sub', [a, b]);
  mul = (a: string, b: string) => this.one('Mul', [a, b]);
  div = (a: string, b: string) => this.one('Div', [a, b]);
  matmul = (a: string, b: string) => this.one('MatMul', [a, b]);
  neg = (a: string) => this.one('Neg', [a]);
  exp = (a: string) => this.one('Exp', [a]);
  log = (a: string) => this.one('Log', [a]);
  sqrt = (a: string) => this.one('Sqrt', [a]);
  tanh = (a: string) => this.one('Tanh', [a]);
  sigmoid = (a: string) => this.one('Sigmoid', [a]);
  softplus = (a: string) => this.one('Softplus', [a]);
  max = (a: string, b: string) => this.one('Max', [a, b]);
  silu = (a: string) => this.mul(a, this.sigmoid(a));
  /** log σ(x) = −softplus(−x). */
  logSigmoid = (a: string) => this.neg(this.softplus(this.neg(a)));
  /** GELU with erf (not the tanh approximation). */
  gelu = (a: string) =>
    this.mul(
      this.mul(a, this.floats(0.5)),
      this.add(this.floats(1), this.one('Erf', [this.div(a, this.floats(Math.SQRT2))])),
    );
  scale = (a: string, s: number) => this.mul(a, this.floats(s));
  addScalar = (a: string, s: number) => this.add(a, this.floats(s));

  // Shapes.
  reshape = (a: string, shape: number[]) => this.one('Reshape', [a, this.ints(shape)]);
  transpose = (a: string, perm: number[]) => this.one('Transpose', [a], { perm });
  unsqueeze = (a: string, axes: number[]) => this.one('Unsqueeze', [a, this.ints(axes)]);
  squeeze = (a: string, axes: number[]) => this.one('Squeeze', [a, this.ints(axes)]);
  concat = (values: string[], axis: number) => this.one('Concat', values, { axis });
  /** a[start:end] along `axis` (end may be a large number for "to the end"). */
  slice = (a: string, axis: number, start: number, end: number) =>
    this.one('Slice', [a, this.ints([start]), this.ints([end]), this.ints([axis])]);
  /** Equal parts along `axis` by sizes. */
  split = (a: string, axis: number, sizes: number[]) => this.op('Split', [a, this.ints(sizes)], { axis }, sizes.length);
  gather = (a: string, indices: string, axis = 0) => this.one('Gather', [a, indices], { axis });
  reduceSum = (a: string, axes: number[], keepdims = false) =>
    this.one('ReduceSum', [a, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  reduceMean = (a: string, axes: number[], keepdims = false) =>
    this.one('ReduceMean', [a], { axes, keepdims: keepdims ? 1 : 0 });
  shape = (a: string) => this.one('Shape', [a]);

  /** Wᵀ of a 2-D weight, computed once in the outermost graph (ONNX Runtime folds it at load time). */
  transposed(weight: string): string {
    return this.memo(`T:${weight}`, () => this.root().transposeWeight(weight));
  }

  /** x @ Wᵀ (+ b) for a StateLab weight W [out, in]. */
  linear(x: string, weight: string, bias?: string): string {
    const y = this.matmul(x, this.transposed(weight));
    return bias ? this.add(y, bias) : y;
  }

  private rootGraph?: OnnxGraph;
  /** Set on subgraphs by `scan`, so memoized outer values are created in the outermost graph. */
  private root(): OnnxGraph {
    return this.rootGraph ?? this;
  }

  private transposeWeight(weight: string): string {
    const saved = this.scope;
    this.scope = '';
    const t = this.one('Transpose', [weight], { perm: [1, 0] });
    this.scope = saved;
    return t;
  }

  /**
   * ONNX Scan over axis `axis` of `scanInputs`: `body(g, states, slices)` returns the next states and the
   * per-step outputs; returns the final states and the stacked outputs (stacked along the same axis).
   */
  scan(
    name: string,
    states: string[],
    scanInputs: string[],
    axis: number,
    body: (g: OnnxGraph, states: string[], slices: string[]) => { states: string[]; outputs: string[] },
  ): { states: string[]; outputs: string[] } {
    const g = this.subgraph(`${name}_body`);
    g.rootGraph = this.root();
    const stateIn = states.map(() => g.input(g.fresh('state_in'), 'float'));
    const sliceIn = scanInputs.map(() => g.input(g.fresh('x_t'), 'float'));
    const out = body(g, stateIn, sliceIn);
    out.states.forEach((v) => g.output(v, g.fresh('state_out'), 'float'));
    out.outputs.forEach((v) => g.output(v, g.fresh('y_t'), 'float'));
    const results = this.op(
      'Scan',
      [...states, ...scanInputs],
      {
        body: { g: g.proto() },
        num_scan_inputs: scanInputs.length,
        scan_input_axes: scanInputs.map(() => axis),
        scan_output_axes: out.outputs.map(() => axis),
      },
      states.length + out.outputs.length,
    );
    return { states: results.slice(0, states.length), outputs: results.slice(states.length) };
  }

  /** The graph (without initializers when it is a subgraph: they live in the main graph). */
  proto(initializers: TensorProto[] = []): GraphProto {
    return create(GraphProtoSchema, {
      name: this.name,
      node: this.nodes,
      input: this.inputs,
      output: this.outputs,
      initializer: initializers,
    });
  }

  /**
   * The ModelProto bytes. Float weights that `external.locate` places go to the external data file
   * `external.file` (location/offset/length entries; the caller writes that file once for all models
   * that share it); everything else is stored inside the model.
   */
  serialize(options: { external?: ExternalData; docString?: string } = {}): Uint8Array {
    const tensors = this.store.initializers.map((init) => {
      const base = { name: init.name, dims: init.shape.map(BigInt), dataType: DTYPE[init.elem] };
      const place = init.elem === 'float' ? options.external?.locate(init.name) : undefined;
      if (place && options.external) {
        const entry = (key: string, value: string) => create(StringStringEntryProtoSchema, { key, value });
        return create(TensorProtoSchema, {
          ...base,
          dataLocation: TensorProto_DataLocation.EXTERNAL,
          externalData: [
            entry('location', options.external.file),
            entry('offset', String(place.offset)),
            entry('length', String(place.length)),
          ],
        });
      }
      const bytes = new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength);
      return create(TensorProtoSchema, { ...base, rawData: bytes.slice() });
    });
    const model = create(ModelProtoSchema, {
      irVersion: IR_VERSION,
      producerName: 'statelab',
      docString: options.docString ?? '',
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(OPSET) })],
      graph: this.proto(tensors),
    });
    return toBinary(ModelProtoSchema, model);
  }
}

export interface ExternalData {
  /** File name relative to the model, e.g. `model.onnx.data`. */
  file: string;
  /** Where a weight lies in that file, or undefined to keep it inside the model. */
  locate(name: string): { offset: number; length: number } | undefined;
}
