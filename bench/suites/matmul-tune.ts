// Tile-configuration sweep for the tiled matmul kernel (device time is scarce: one call measures every
// candidate). Not part of the standard grid; the winner becomes LARGE_TILE / SMALL_TILE in
// gpu/ops/matmul.ts. Candidates can be replaced with STATELAB_TUNE_TILES='bm,bn,bk,tm,tn,group;…' and
// sizes with STATELAB_TUNE_SIZES='4096,1024'.

import type { TileConfig } from '../../gpu/ops/matmul.js';
import type { BenchRow, BenchSuite } from '../suite.js';
import { benchMatmul } from './ops.js';

const CANDIDATES: TileConfig[] = [
  { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, group: 8 },
  { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, group: 0 },
  { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, group: 8 },
  { bm: 128, bn: 128, bk: 8, tm: 4, tn: 16, group: 8 },
  { bm: 128, bn: 256, bk: 8, tm: 8, tn: 16, group: 8 },
  { bm: 256, bn: 128, bk: 8, tm: 16, tn: 8, group: 8 },
  { bm: 128, bn: 64, bk: 8, tm: 8, tn: 8, group: 8 },
  { bm: 64, bn: 128, bk: 8, tm: 8, tn: 8, group: 8 },
  { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4, group: 8 },
  { bm: 64, bn: 64, bk: 8, tm: 8, tn: 4, group: 8 },
];

export function tileName(t: TileConfig): string {
  return `${t.bm}x${t.bn}x${t.bk} t${t.tm}x${t.tn} g${t.group ?? 0}`;
}

function parseTiles(spec: string): TileConfig[] {
  return spec.split(';').map((item) => {
    const [bm, bn, bk, tm, tn, group] = item.split(',').map(Number);
    return { bm, bn, bk, tm, tn, group: group ?? 0 };
  });
}

export const matmulTuneSuite: BenchSuite = {
  name: 'matmul-tune',
  async run(engine, { quick }) {
    const env = typeof process === 'undefined' ? {} : process.env;
    const tiles = env.STATELAB_TUNE_TILES ? parseTiles(env.STATELAB_TUNE_TILES) : CANDIDATES;
    const sizes = env.STATELAB_TUNE_SIZES
      ? env.STATELAB_TUNE_SIZES.split(',').map(Number)
      : quick
        ? [96]
        : [4096, 2048, 1024];
    const rows: BenchRow[] = [];
    for (const s of sizes) {
      rows.push(await benchMatmul(engine, 'matmul-tune', `matmul ${s} auto`, { batch: 1, M: s, N: s, K: s }));
      for (const tile of tiles) {
        try {
          rows.push(
            await benchMatmul(
              engine,
              'matmul-tune',
              `matmul ${s} ${tileName(tile)}`,
              { batch: 1, M: s, N: s, K: s },
              { kernel: 'tiled', tile },
            ),
          );
        } catch (error) {
          rows.push({
            suite: 'matmul-tune',
            name: `matmul ${s} ${tileName(tile)}`,
            config: {},
            ms: NaN,
            note: `failed: ${(error as Error).message}`.slice(0, 160),
          });
        }
      }
    }
    return rows;
  },
};

export default matmulTuneSuite;
