// Every bundled template is a valid graph and trains (tiny sizes, software
// GPU) through the same service the CLI uses, on a bundled text and on MQAR. The last test fails if a
// template names a layer kind that is not registered, so no template is silently left out.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { validateGraph } from '../../shared/graph/validate.js';
import { mixerWidthCheck, nodeCatalogue } from '../../gpu/graph/catalogue.js';
import { trainRun } from '../../main/host/train-run.js';
import { templateNames, templatePath } from '../../main/host/templates.js';

const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;
const catalogue = nodeCatalogue();
const load = (name: string) => parseGraph(readFileSync(templatePath(name)!, 'utf8'), `${name}.json`);
const unknownKinds = (name: string) => {
  const doc = load(name);
  const kinds = [...doc.nodes, ...Object.values(doc.blocks ?? {}).flatMap((b) => b.nodes)].map((n) => n.kind);
  return kinds.filter((k) => !catalogue.has(k));
};
const ready = templateNames().filter((name) => unknownKinds(name).length === 0);
const pending = templateNames().filter((name) => unknownKinds(name).length > 0);

describe('architecture templates', () => {
  for (const name of ready) {
    it(`${name}: validates, and trains 3 steps on the bundled text and 2 on MQAR into run folders`, async () => {
      const doc = load(name);
      const result = validateGraph(doc, catalogue, mixerWidthCheck);
      expect(result.errors.map((e) => e.message)).toEqual([]);
      doc.model.d_model = 32;
      const runsDir = mkdtempSync(join(tmpdir(), `statelab-${name}-`));
      const { run, outcome } = await trainRun({
        graph: doc,
        data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
        runsDir,
        steps: 3,
        batch: 2,
        seqLen: 24,
        lr: 1e-3,
        seed: 1,
        evalEvery: 3,
        checkpointEvery: 3,
      });
      expect(outcome.status).toBe('completed');
      expect(run.checkpointSteps()).toEqual([3]);
      expect(run.metrics().every((m) => Number.isFinite(m.loss))).toBe(true);
      const mqar = await trainRun({
        graph: doc,
        data: { kind: 'task', task: 'mqar', params: { vocab_size: 64, seq_len: 32, num_kv_pairs: 4 } },
        runsDir,
        steps: 2,
        batch: 2,
        seqLen: 32,
        lr: 1e-3,
        seed: 1,
        evalEvery: 2,
        checkpointEvery: 2,
      });
      expect(mqar.outcome.status).toBe('completed');
      expect(mqar.run.metrics().every((m) => Number.isFinite(m.loss) && Number.isFinite(m.val_loss ?? 0))).toBe(true);
    });
  }

  it("every template's layer kinds are registered (none is left out of the test above)", () => {
    expect(Object.fromEntries(pending.map((name) => [name, unknownKinds(name)]))).toEqual({});
    expect(ready).toHaveLength(templateNames().length);
  });
});
