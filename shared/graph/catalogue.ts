// What node kinds exist: typed ports and parameters. The built-in structural kinds are defined here;
// layer kinds (`mixer.<family>`) are generated from the engine's mixer registry (gpu/graph/catalogue.ts),
// never listed twice.

export type PortType = 'tokens' | 'hidden' | 'logits';

export interface PortSpec {
  name: string;
  type: PortType;
}

/** One parameter of a node kind (shown in the inspector, validated before compiling). */
export interface OptionSpec {
  name: string;
  type: 'int' | 'float' | 'bool' | 'enum' | 'string';
  default: number | boolean | string;
  min?: number;
  max?: number;
  choices?: string[];
  help: string;
}

export interface NodeKindSpec {
  kind: string;
  title: string;
  category: 'io' | 'structure' | 'layer' | 'mixer';
  description: string;
  inputs: PortSpec[];
  outputs: PortSpec[];
  params: OptionSpec[];
  /** Only valid inside a block (block.input / block.output) or only at the top level. */
  scope?: 'block' | 'top';
}

const hiddenIn: PortSpec[] = [{ name: 'x', type: 'hidden' }];
const hiddenOut: PortSpec[] = [{ name: 'y', type: 'hidden' }];

export const BUILTIN_KINDS: NodeKindSpec[] = [
  {
    kind: 'tokens',
    title: 'Token ids',
    category: 'io',
    description: 'The input sequence of token ids [batch, time].',
    inputs: [],
    outputs: [{ name: 'ids', type: 'tokens' }],
    params: [],
    scope: 'top',
  },
  {
    kind: 'embedding',
    title: 'Embedding',
    category: 'layer',
    description: 'Token ids → vectors of width d_model.',
    inputs: [{ name: 'ids', type: 'tokens' }],
    outputs: hiddenOut,
    params: [{ name: 'dim', type: 'int', default: 0, min: 0, max: 65536, help: 'Width; 0 inherits model.d_model.' }],
  },
  {
    kind: 'norm',
    title: 'Norm',
    category: 'layer',
    description: 'RMSNorm or LayerNorm over the hidden width.',
    inputs: hiddenIn,
    outputs: hiddenOut,
    params: [
      {
        name: 'type',
        type: 'enum',
        default: 'rms',
        choices: ['rms', 'layer'],
        help: 'RMSNorm (no bias) or LayerNorm.',
      },
      { name: 'eps', type: 'float', default: 1e-6, min: 1e-12, max: 1e-2, help: 'Added to the variance.' },
    ],
  },
  {
    kind: 'mlp',
    title: 'Gated MLP',
    category: 'layer',
    description: 'down(act(gate(x)) ⊙ up(x)) — SwiGLU (Llama) or GeGLU.',
    inputs: hiddenIn,
    outputs: hiddenOut,
    params: [
      { name: 'activation', type: 'enum', default: 'swiglu', choices: ['swiglu', 'geglu'], help: 'Gate activation.' },
      {
        name: 'hidden',
        type: 'int',
        default: 0,
        min: 0,
        max: 1 << 20,
        help: 'Hidden width; 0 = 8/3·d rounded up to 32.',
      },
    ],
  },
  {
    kind: 'ffn',
    title: 'MLP (non-gated)',
    category: 'layer',
    description: 'down(act(up(x))) with biases: the GPT-2 / BERT feed-forward block.',
    inputs: hiddenIn,
    outputs: hiddenOut,
    params: [
      {
        name: 'activation',
        type: 'enum',
        default: 'gelu_tanh',
        choices: ['gelu', 'gelu_tanh', 'relu'],
        help: "gelu (exact, erf), gelu_tanh (GPT-2's gelu_new) or relu.",
      },
      { name: 'hidden', type: 'int', default: 0, min: 0, max: 1 << 20, help: 'Hidden width; 0 = 4·d.' },
      { name: 'bias', type: 'bool', default: true, help: 'Learned biases on both projections.' },
    ],
  },
  {
    kind: 'position_embedding',
    title: 'Learned positions',
    category: 'layer',
    description:
      "Adds a learned vector per absolute position (GPT-2's wpe); one-token steps continue from the tokens seen so far.",
    inputs: hiddenIn,
    outputs: hiddenOut,
    params: [
      {
        name: 'max_positions',
        type: 'int',
        default: 1024,
        min: 1,
        max: 1 << 20,
        help: 'Positions the table covers (GPT-2 n_positions); longer sequences are refused.',
      },
    ],
    scope: 'top',
  },
  {
    kind: 'add',
    title: 'Add (residual)',
    category: 'structure',
    description: 'Elementwise sum of two hidden sequences of equal width.',
    inputs: [
      { name: 'a', type: 'hidden' },
      { name: 'b', type: 'hidden' },
    ],
    outputs: hiddenOut,
    params: [],
  },
  {
    kind: 'linear',
    title: 'Linear',
    category: 'layer',
    description: 'A learned projection to out_features.',
    inputs: hiddenIn,
    outputs: hiddenOut,
    params: [
      { name: 'out_features', type: 'int', default: 0, min: 0, max: 1 << 20, help: '0 keeps the input width.' },
      { name: 'bias', type: 'bool', default: false, help: 'Add a learned bias.' },
    ],
  },
  {
    kind: 'repeat',
    title: 'Repeat block',
    category: 'structure',
    description: 'N copies of a named block in sequence (parameters layers.0 … layers.N−1).',
    inputs: hiddenIn,
    outputs: hiddenOut,
    params: [
      { name: 'block', type: 'string', default: 'block', help: 'Name of the block under "blocks".' },
      { name: 'count', type: 'int', default: 2, min: 1, max: 512, help: 'How many copies.' },
    ],
    scope: 'top',
  },
  {
    kind: 'lm_head',
    title: 'LM head',
    category: 'io',
    description: 'Hidden → next-token logits over the vocabulary (the model output).',
    inputs: hiddenIn,
    outputs: [{ name: 'logits', type: 'logits' }],
    params: [{ name: 'tied', type: 'bool', default: true, help: 'Share weights with the embedding.' }],
    scope: 'top',
  },
  {
    kind: 'block.input',
    title: 'Block input',
    category: 'io',
    description: 'Where a block receives its hidden sequence.',
    inputs: [],
    outputs: [{ name: 'x', type: 'hidden' }],
    params: [],
    scope: 'block',
  },
  {
    kind: 'block.output',
    title: 'Block output',
    category: 'io',
    description: 'What a block returns.',
    inputs: [{ name: 'x', type: 'hidden' }],
    outputs: [],
    params: [],
    scope: 'block',
  },
];

export type Catalogue = Map<string, NodeKindSpec>;

export function makeCatalogue(extra: NodeKindSpec[]): Catalogue {
  const catalogue: Catalogue = new Map();
  for (const spec of [...BUILTIN_KINDS, ...extra]) {
    if (catalogue.has(spec.kind)) throw new Error(`node kind "${spec.kind}" is defined twice`);
    catalogue.set(spec.kind, spec);
  }
  return catalogue;
}

/** Fills defaults and checks types and ranges; errors name the option (the caller adds the node). */
export function resolveParams(
  specs: OptionSpec[],
  given: Record<string, number | string | boolean>,
): { values: Record<string, number | string | boolean>; problems: { field: string; message: string }[] } {
  const values: Record<string, number | string | boolean> = {};
  const problems: { field: string; message: string }[] = [];
  for (const spec of specs) {
    const value = given[spec.name] ?? spec.default;
    const bad = (why: string) => problems.push({ field: spec.name, message: `${why} (got ${JSON.stringify(value)})` });
    if (spec.type === 'int' && !Number.isInteger(value)) bad('must be an integer');
    else if (spec.type === 'float' && (typeof value !== 'number' || !Number.isFinite(value))) bad('must be a number');
    else if (spec.type === 'bool' && typeof value !== 'boolean') bad('must be true or false');
    else if (spec.type === 'string' && typeof value !== 'string') bad('must be a string');
    else if (spec.type === 'enum' && !spec.choices?.includes(String(value)))
      bad(`must be one of ${spec.choices?.join(', ')}`);
    else if (typeof value === 'number' && spec.min !== undefined && value < spec.min)
      bad(`must be at least ${spec.min}`);
    else if (typeof value === 'number' && spec.max !== undefined && value > spec.max)
      bad(`must be at most ${spec.max}`);
    values[spec.name] = value;
  }
  for (const name of Object.keys(given)) {
    if (!specs.some((s) => s.name === name))
      problems.push({ field: name, message: 'is not a parameter of this node kind' });
  }
  return { values, problems };
}
