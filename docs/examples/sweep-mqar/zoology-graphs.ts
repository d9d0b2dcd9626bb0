// Writes the base graphs of the bundled Zoology MQAR sweep (assets/sweeps/zoology/*.json) from the
// bundled templates, in Zoology's layout (Arora et al. 2023; zoology/experiments/iclr24_zoology_figure2):
// 2 layers, each `x + mixer(conv(norm(x)))` — a short depthwise convolution (kernel 3) in front of the
// sequence mixer, Zoology's `Hybrid[BaseConv, mixer]` — and no MLP (Zoology's `state_mixer=Identity`).
// Mamba-2 keeps its own block (it has its own short convolution, and Zoology does not wrap it). Our short
// convolution is a plain depthwise one, not BaseConv's gated short + implicit long convolution.
//   npx tsx docs/examples/sweep-mqar/zoology-graphs.ts

import { readFileSync, writeFileSync } from 'node:fs';
import type { GraphDoc, GraphNode } from '../../../shared/graph/schema.js';

const FAMILIES: Record<string, string> = {
  attention: 'llama',
  gla: 'gla',
  mamba2: 'mamba2',
  deltanet: 'deltanet',
  'gated-deltanet': 'gated-deltanet',
  hgrn2: 'hgrn2',
  rwkv7: 'rwkv7',
  shortconv: 'short-conv',
};

const CONV_KERNEL = 3;

function zoologyGraph(family: string, template: GraphDoc): GraphDoc {
  const doc = structuredClone(template);
  doc.name = `Zoology MQAR: ${family}`;
  doc.description =
    family === 'mamba2'
      ? 'Zoology MQAR base graph: 2 Mamba-2 blocks (their own short convolution), no MLP.'
      : `Zoology MQAR base graph: 2 layers of x + ${family === 'shortconv' ? 'conv' : `${family}(conv`}(norm(x))${family === 'shortconv' ? '' : ')'}, short convolution kernel ${CONV_KERNEL}, no MLP.`;
  const block = doc.blocks!.block;
  const keep = (n: GraphNode) => !['mlp_norm', 'mlp', 'mlp_residual'].includes(n.id);
  block.nodes = block.nodes.filter(keep);
  block.edges = block.edges.filter((e) => !/^mlp/.test(e.from) && !/^mlp/.test(e.to));
  block.edges.push({ from: 'attn_residual.y', to: 'output.x' });
  const mixer = block.nodes.find((n) => n.id === 'attn')!;
  if (family === 'shortconv') {
    mixer.params = { ...mixer.params, kernel: CONV_KERNEL };
  } else if (family !== 'mamba2') {
    const at = block.nodes.indexOf(mixer);
    block.nodes.splice(at, 0, { id: 'conv', kind: 'mixer.shortconv', params: { kernel: CONV_KERNEL } });
    block.edges = block.edges.filter((e) => e.to !== 'attn.x');
    block.edges.push({ from: 'attn_norm.y', to: 'conv.x' }, { from: 'conv.y', to: 'attn.x' });
  }
  block.edges = block.edges.filter((e, i, all) => all.findIndex((f) => f.from === e.from && f.to === e.to) === i);
  return doc;
}

for (const [family, template] of Object.entries(FAMILIES)) {
  const doc = JSON.parse(readFileSync(`assets/templates/${template}.json`, 'utf8')) as GraphDoc;
  writeFileSync(`assets/sweeps/zoology/${family}.json`, `${JSON.stringify(zoologyGraph(family, doc), null, 2)}\n`);
}
