// The tiny training request the reliability suites share: a 2-layer short-conv model (d_model 32) on the
// bundled lighthouse text, byte tokens — seconds per run on the software Vulkan driver.

import { readFileSync } from 'node:fs';
import { templatePath } from '../../main/host/templates.js';
import type { TrainRequest } from '../../main/host/train-run.js';
import { parseGraph } from '../../shared/graph/parse.js';

export const LIGHTHOUSE = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;

export function tinyRequest(runsDir: string, overrides: Partial<TrainRequest> = {}): TrainRequest {
  const graph = parseGraph(readFileSync(templatePath('short-conv')!, 'utf8'));
  graph.model.d_model = 32;
  return {
    graph,
    data: { kind: 'text', path: LIGHTHOUSE, tokenizer: 'byte' },
    runsDir,
    name: 'tiny',
    steps: 12,
    batch: 2,
    seqLen: 16,
    lr: 3e-3,
    seed: 7,
    evalEvery: 0,
    checkpointEvery: 3,
    ...overrides,
  };
}
