// The ops suite: matmul at M=N=K ∈ {1024, 2048, 4096}, the batched 32×(512×128·128×512) product and
// the step-mode matrix-vector product (linear of one token, 4096 → 4096). Rows share names with
// bench/torch/ops.py. Every size is checked against float64 dot products before it is timed.

import type { Engine } from '../../gpu/engine.js';
import { linear, matmul, type MatmulOptions } from '../../gpu/ops/matmul.js';
import { checkMatmulSamples, matmulInputs, releaseInputs, type MatmulProblem } from '../matmul-check.js';
import type { BenchRow, BenchSuite } from '../suite.js';
import { timeGpu } from '../timing.js';

export async function benchMatmul(
  engine: Engine,
  suite: string,
  name: string,
  p: MatmulProblem,
  options: MatmulOptions = {},
  seed = 1,
): Promise<BenchRow> {
  const inputs = matmulInputs(engine, p, seed);
  try {
    const checkError = await checkMatmulSamples(engine, p, inputs, options, name);
    engine.pool.resetPeak();
    const t = await timeGpu(engine, () => {
      matmul(inputs.a, inputs.b, { ...options, transA: p.transA, transB: p.transB });
    });
    const flops = 2 * p.batch * p.M * p.N * p.K;
    return {
      suite,
      name,
      config: {
        batch: p.batch,
        M: p.M,
        N: p.N,
        K: p.K,
        ...(options.tile ? { tile: JSON.stringify(options.tile) } : {}),
      },
      ms: t.ms,
      tflops: flops / (t.ms * 1e9),
      peakBytes: engine.pool.stats.peakBytesInUse,
      minBytes: 4 * p.batch * (p.M * p.K + p.K * p.N + p.M * p.N),
      checkError,
      clock: `${t.clock} ×${t.iters} (host ${t.hostMs.toFixed(3)} ms)`,
    };
  } finally {
    releaseInputs(inputs);
    engine.pool.trim();
  }
}

/** y = x·Wᵀ for one token: bound by reading W once. */
async function benchMatvec(engine: Engine, n: number): Promise<BenchRow> {
  const p: MatmulProblem = { batch: 1, M: 1, N: n, K: n, transB: true };
  const inputs = matmulInputs(engine, p, 7);
  try {
    const checkError = await checkMatmulSamples(engine, p, inputs, {}, `matvec ${n}`);
    const t = await timeGpu(engine, () => {
      linear(inputs.a, inputs.b);
    });
    const minBytes = 4 * (n * n + 2 * n);
    return {
      suite: 'ops',
      name: `linear 1x${n}->${n}`,
      config: { M: 1, N: n, K: n },
      ms: t.ms,
      tflops: (2 * n * n) / (t.ms * 1e9),
      gbPerSec: minBytes / (t.ms * 1e6),
      minBytes,
      checkError,
      clock: `${t.clock} ×${t.iters} (host ${t.hostMs.toFixed(3)} ms)`,
    };
  } finally {
    releaseInputs(inputs);
    engine.pool.trim();
  }
}

export const opsSuite: BenchSuite = {
  name: 'ops',
  async run(engine, { quick }) {
    const rows: BenchRow[] = [];
    const sizes = quick ? [64, 96] : [1024, 2048, 4096];
    for (const s of sizes) rows.push(await benchMatmul(engine, 'ops', `matmul ${s}`, { batch: 1, M: s, N: s, K: s }));
    const [bb, bm, bk] = quick ? [4, 32, 16] : [32, 512, 128];
    rows.push(await benchMatmul(engine, 'ops', `bmm ${bb}x${bm}x${bk}x${bm}`, { batch: bb, M: bm, N: bm, K: bk }));
    rows.push(await benchMatvec(engine, quick ? 128 : 4096));
    return rows;
  },
};

export default opsSuite;
