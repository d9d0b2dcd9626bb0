// Live checks and figures for the editor, from the same code the CLI and the trainer use: the shared
// validator with the engine's width check (every problem at once, each located at a node), and the
// compiler's per-module parameter, state and FLOP counts — per node, per block copy, and in total.

import type { GraphError, GraphDoc } from '../../../shared/graph/schema';
import { validateGraph } from '../../../shared/graph/validate';
import { mixerWidthCheck } from '../../../gpu/graph/catalogue';
import { compileGraph } from '../../../gpu/graph/compile';
import { layoutKey, type BlockRef } from './doc-ops';
import { CATALOGUE } from './palette';

export interface Problem {
  severity: 'error' | 'warning';
  message: string;
  /** The container and node the problem belongs to (null node: the whole graph or block). */
  block: BlockRef;
  nodeId: string | null;
}

export interface Figures {
  params: number;
  stateBytes: number;
  flopsPerToken: number;
  /** For nodes inside a block: how many copies Repeat nodes make (the figures are per copy). */
  copies?: number;
}

export interface Analysis {
  problems: Problem[];
  errorCount: number;
  totals: Figures | null;
  /** By layout key (`node`, or `block/node`). */
  figures: Map<string, Figures>;
}

/** `block:b/attn`, `block:b/edge[2] x.y → attn.x`, `edge[0] a.y → b.x`, `lm_head`, `graph`, `block:b`. */
export function locate(where: string): { block: BlockRef; nodeId: string | null } {
  const inBlock = /^block:([^/]+)(?:\/(.*))?$/.exec(where);
  const block = inBlock ? inBlock[1] : null;
  const rest = inBlock ? (inBlock[2] ?? '') : where;
  const edge = /^edge\[\d+\]\s+\S+\s+→\s+(\S+)$/.exec(rest);
  if (edge) return { block, nodeId: edge[1].slice(0, edge[1].lastIndexOf('.')) || null };
  if (!rest || rest === 'graph' || /\s/.test(rest)) return { block, nodeId: null };
  return { block, nodeId: rest };
}

export function analyzeGraph(doc: GraphDoc): Analysis {
  let errors: GraphError[];
  let warnings: GraphError[];
  try {
    ({ errors, warnings } = validateGraph(doc, CATALOGUE, mixerWidthCheck));
  } catch (error) {
    // The validator expects a well-formed document; an edit that breaks that shows here, not as a crash.
    const message = `the graph cannot be checked: ${(error as Error).message}`;
    return {
      problems: [{ severity: 'error', message, block: null, nodeId: null }],
      errorCount: 1,
      totals: null,
      figures: new Map(),
    };
  }
  const problems: Problem[] = [
    ...errors.map((e) => ({ severity: 'error' as const, message: e.message, ...locate(e.where) })),
    ...warnings.map((e) => ({ severity: 'warning' as const, message: e.message, ...locate(e.where) })),
  ];
  const analysis: Analysis = { problems, errorCount: errors.length, totals: null, figures: new Map() };
  if (errors.length) return analysis;
  try {
    const model = compileGraph(doc, CATALOGUE);
    analysis.totals = {
      params: model.totals.params,
      stateBytes: model.totals.stateBytes,
      flopsPerToken: model.totals.flopsPerToken,
    };
    const repeatBlocks = new Map(
      doc.nodes.filter((n) => n.kind === 'repeat').map((n) => [n.id, String(n.params?.block ?? 'block')]),
    );
    const add = (key: string, params: number, stateBytes: number, flops: number, copy: boolean) => {
      const f = analysis.figures.get(key) ?? { params: 0, stateBytes: 0, flopsPerToken: 0 };
      if (copy) {
        // Per copy: every copy has the same figures; count them instead of summing.
        f.params = params;
        f.stateBytes = stateBytes;
        f.flopsPerToken = flops;
        f.copies = (f.copies ?? 0) + 1;
      } else {
        f.params += params;
        f.stateBytes += stateBytes;
        f.flopsPerToken += flops;
      }
      analysis.figures.set(key, f);
    };
    for (const m of model.modules) {
      const parts = m.name.split('.');
      const stateBytes = 4 * m.stateFloats;
      if (parts.length === 1) {
        add(layoutKey(null, m.name), m.params, stateBytes, m.flopsPerToken, false);
      } else {
        // `<repeat>.<copy>.<block node>`: counts for the Repeat node (all copies) and for the block node.
        add(layoutKey(null, parts[0]), m.params, stateBytes, m.flopsPerToken, false);
        const block = repeatBlocks.get(parts[0]);
        if (block) add(layoutKey(block, parts.slice(2).join('.')), m.params, stateBytes, m.flopsPerToken, true);
      }
    }
  } catch (error) {
    analysis.problems.push({ severity: 'error', message: (error as Error).message, block: null, nodeId: null });
    analysis.errorCount++;
  }
  return analysis;
}
