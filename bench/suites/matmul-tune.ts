// Tile-configuration sweep for the tiled matmul kernel (device time is scarce: one call measures every
// candidate). Not part of the standard grid; the winner becomes LARGE_TILE / SMALL_TILE in
// gpu/ops/matmul.ts. Candidates can be replaced with STATELAB_TUNE_TILES='bm,bn,bk,tm,tn,group[,lanes,pp,guards];…' and
// sizes with STATELAB_TUNE_SIZES='4096,1024'.

import type { TileConfig } from '../../gpu/ops/matmul.js';
import type { MatmulProblem } from '../matmul-check.js';
import type { BenchRow, BenchSuite } from '../suite.js';
import { benchMatmul } from './ops.js';

const T128: TileConfig = { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, group: 8 };
const CANDIDATES: TileConfig[] = [
  { ...T128, guards: true },
  { ...T128, guards: true, lanes: 8 },
  { ...T128, bk: 8 },
  { ...T128, bk: 8, guards: true },
  { ...T128, bk: 8, pingpong: true, lanes: 8 },
  { ...T128, bk: 8, pingpong: true, lanes: 8, guards: true },
  { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, group: 8, lanes: 8 },
  { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, group: 8, lanes: 8, guards: true },
  { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, group: 8 },
  { bm: 64, bn: 128, bk: 8, tm: 8, tn: 8, group: 8, lanes: 8 },
  { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4, group: 8 },
];

export function tileName(t: TileConfig): string {
  const extras = [
    t.pingpong ? 'pp' : '',
    t.lanes ? `l${t.lanes}` : '',
    t.rowFast ? 'rf' : '',
    t.staged ? 'st' : '',
    t.guards ? 'gd' : '',
  ].filter(Boolean);
  return `${t.bm}x${t.bn}x${t.bk} t${t.tm}x${t.tn} g${t.group ?? 0}${extras.length ? ' ' + extras.join(' ') : ''}`;
}

function parseTiles(spec: string): TileConfig[] {
  return spec.split(';').map((item) => {
    const [bm, bn, bk, tm, tn, group, lanes, pp, guards] = item.split(',').map(Number);
    return {
      bm,
      bn,
      bk,
      tm,
      tn,
      group: group || 0,
      lanes: lanes || undefined,
      pingpong: pp === 1,
      guards: guards === 1,
    };
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
    const problems: [string, MatmulProblem][] = sizes.map((s) => [`matmul ${s}`, { batch: 1, M: s, N: s, K: s }]);
    if (!env.STATELAB_TUNE_SIZES) {
      problems.push(
        quick
          ? ['bmm 4x32x16x32', { batch: 4, M: 32, N: 32, K: 16 }]
          : ['bmm 32x512x128x512', { batch: 32, M: 512, N: 512, K: 128 }],
      );
    }
    for (const [label, problem] of problems) {
      rows.push(await benchMatmul(engine, 'matmul-tune', `${label} auto`, problem));
      for (const tile of tiles) {
        try {
          rows.push(
            await benchMatmul(engine, 'matmul-tune', `${label} ${tileName(tile)}`, problem, { kernel: 'tiled', tile }),
          );
        } catch (error) {
          rows.push({
            suite: 'matmul-tune',
            name: `${label} ${tileName(tile)}`,
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
