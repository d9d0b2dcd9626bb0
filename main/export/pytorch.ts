// PyTorch export: a self-contained Python package folder —
//   config.json, model.safetensors (the HF layout, see hf.ts), tokenizer.json for byte-level runs,
//   model.py   the layer families the graph uses (one hand-written class per family, from python/mixers/)
//              and the model class (python/model.py), which builds the graph from config.json's plan,
//   load.py, __init__.py, train.py (single GPU or torchrun DDP), README.md.
// The Python is written by hand in python/*.py; this module only picks the files a graph needs.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../host/atomic-file.js';
import { ExportError } from './errors.js';
import { writeHfFolder } from './hf.js';
import { buildPlan, nodeWhere, type ExportPlan } from './plan.js';
import type { ExportSource } from './source.js';
import { PYTORCH_CLASSES } from './pytorch-classes.js';

const PYTHON_DIR = new URL('./python/', import.meta.url);

/**
 * Node ids become attribute names of nn.Modules (that is what makes parameter names match); an id equal
 * to an existing attribute would shadow it, so those are refused by name.
 */
const RESERVED_IDS = new Set([
  'nodes',
  'config',
  'head',
  'embedding',
  'evaluate',
  'run_block',
  'forward',
  'training',
  'state_dict',
  'load_state_dict',
  'parameters',
  'named_parameters',
  'buffers',
  'named_buffers',
  'children',
  'named_children',
  'modules',
  'named_modules',
  'train',
  'eval',
  'to',
  'cuda',
  'cpu',
  'float',
  'double',
  'half',
  'bfloat16',
  'type',
  'apply',
  'zero_grad',
  'requires_grad_',
  'share_memory',
  'extra_repr',
  'add_module',
  'register_module',
  'register_buffer',
  'register_parameter',
  'get_submodule',
  'get_parameter',
  'get_buffer',
  'dump_patches',
  'call_super_init',
  'compile',
  'ipu',
  'xpu',
  'mtia',
  'to_empty',
]);

function readTemplate(name: string): string {
  return readFileSync(new URL(name, PYTHON_DIR), 'utf8');
}

function checkIds(plan: ExportPlan): void {
  const bad: string[] = [];
  const visit = (nodes: ExportPlan['top'], block?: string) => {
    for (const n of nodes) if (RESERVED_IDS.has(n.id)) bad.push(`"${nodeWhere(n.id, block)}"`);
  };
  visit(plan.top);
  for (const [name, nodes] of Object.entries(plan.blocks)) visit(nodes, name);
  if (bad.length) {
    throw new ExportError(
      `the pytorch export cannot name node ${bad.join(', ')}: the id is an attribute of torch.nn.Module; rename the node`,
    );
  }
}

/** model.py for a plan: the docstring, shared pieces, the families used, the MIXERS registry, the model. */
export function modelPy(plan: ExportPlan, version: string): string {
  const files = [...new Set(plan.mixerKinds.map((k) => PYTORCH_CLASSES[k].file))];
  const title = plan.name.replace(/[\\"\r\n]+/g, ' ').trim() || 'model';
  const registry = plan.mixerKinds.map((k) => `    "${k}": ${PYTORCH_CLASSES[k].factory},`).join('\n');
  const summary = wrap(
    `Layer families: ${plan.mixerKinds.join(', ') || 'none'}. Parameter names are StateLab's, so model.safetensors ` +
      `loads with strict=True (see load.py). One class per layer family below, then the model class, which ` +
      `builds the graph in config.json's "statelab_plan".`,
    100,
  );
  return [
    `"""${title}: a StateLab model exported to PyTorch (StateLab ${version}).\n\n${summary}\n"""\n`,
    readTemplate('header.py'),
    '\n# Layer families -------------------------------------------------------------------------------------\n',
    ...files.map((f) => `\n${readTemplate(`mixers/${f}`)}`),
    `\n# The mixer kinds of this graph and the callables that build them (from d_model and the node's options).\nMIXERS = {\n${registry}\n}\n\n`,
    readTemplate('model.py'),
  ].join('\n');
}

/** Greedy word wrap, so generated docstrings stay within the linter's line length. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

function readme(plan: ExportPlan, source: ExportSource): string {
  const origin = source.origin?.run ? ` from run \`${source.origin.run}\`, step ${source.origin.step}` : '';
  return `# ${plan.name} — PyTorch export

Exported by StateLab${origin}. Layer families: ${plan.mixerKinds.join(', ') || 'none'}.

| file | what |
| --- | --- |
| \`config.json\` | Hugging Face-style config (\`model_type\` "statelab") with the StateLab graph and its execution plan |
| \`model.safetensors\` | the weights, F32, StateLab's parameter names (\`layers.0.attn.q_proj.weight\`) |
| \`model.py\` | one \`nn.Module\` per layer family and \`StateLabForCausalLM\`, which builds the graph from config.json |
| \`load.py\` | \`load_model(path, device)\` and \`save_model(model, path)\` |
| \`train.py\` | continue training: \`python train.py --data corpus.txt\` or \`torchrun --nproc_per_node=N train.py --data corpus.txt\` |

\`\`\`python
import torch
from load import load_model            # or: from <folder> import load_model

model = load_model(".", device="cuda")
ids = torch.tensor([[72, 101, 108, 108, 111]], device="cuda")
logits, state = model(ids)                        # [1, 5, ${plan.vocabSize}]; state: every mixer's final state
next_logits, state = model(ids[:, -1:], state)   # continue the sequence token by token
\`\`\`

Recurrent layers run as plain loops over time: readable and exact, not fast. Needs \`torch\` and \`safetensors\`.
A folder written by \`save_model\` can be imported back into StateLab (\`statelab import <folder>\`).
`;
}

export interface PytorchExportResult {
  plan: ExportPlan;
  files: string[];
}

export function writePytorchPackage(source: ExportSource, outDir: string, version: string): PytorchExportResult {
  checkIds(buildPlan(source.graph, 'pytorch').plan);
  const { plan, files } = writeHfFolder(source, outDir, 'pytorch');
  const write = (name: string, text: string) => {
    writeFileAtomic(join(outDir, name), text);
    files.push(name);
  };
  write('model.py', modelPy(plan, version));
  for (const name of ['load.py', '__init__.py', 'train.py']) write(name, readTemplate(name));
  write('README.md', readme(plan, source));
  return { plan, files };
}
