// WGSL generators for matmul: C[z] = op(A[z]) · op(B[z]) (+ bias), op = optional transpose of the
// stored matrix. Two kernels:
//   tiled  — a BM×BN output tile per workgroup, K walked in BK slices staged through workgroup memory
//            (double-buffered, one barrier per slice), a TM×TN register block per invocation read from
//            workgroup memory as vec4s. For every shape that keeps the GPU busy.
//   skinny — one 32-lane group per output column (or row) of a matrix with a tiny side (matrix-vector
//            in step mode, 1-column projections): lanes split K, so the long operand is read coalesced.
// Kernels are generated per (config, transposes, alignment) with every loop over constants unrolled
// in the source: WGSL compilers cannot be trusted to unroll, and accumulators must stay in registers.

/** Tile parameters of the tiled kernel (invocations = (bm/tm)·(bn/tn)). */
export interface TileConfig {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
  /** Rows of tiles walked together (grouped order for L2 reuse); 0 or 1 = plain row-major order. */
  group?: number;
  /**
   * Invocations along n inside one 32-wide subgroup (default: all of bn/tn). 8 makes a subgroup an
   * 8×4 block of register tiles, which reads fewer distinct workgroup-memory vec4s per step.
   */
  lanes?: number;
  /**
   * Unroll the K loop by two so the workgroup-memory buffer index is a constant too (doubles the
   * code of the loop, which measured slower on an H100 for bk = 16: see bench/RESULTS.md).
   */
  pingpong?: boolean;
  /** Map load slots of K-contiguous operands row-fastest: conflict-free transposing stores. */
  rowFast?: boolean;
  /**
   * Interleave the prefetch of the next slice with the multiply, one load slot at a time, so only
   * one slot's registers are live (fewer registers per invocation: more workgroups per SM).
   */
  staged?: boolean;
  /**
   * Keep the bounds checks even when the shape is a multiple of the tile. They change how the
   * driver's compiler schedules the prefetch (measured faster for some tiles on an H100).
   */
  guards?: boolean;
}

export interface LayoutFlags {
  transA: boolean;
  transB: boolean;
  /** The operand's contiguous dimension is a multiple of 4, so it can be read as vec4. */
  vecA: boolean;
  vecB: boolean;
  /** N is a multiple of 4: outputs (and the bias) are written/read as vec4. */
  vecC: boolean;
  bias: boolean;
  /** M, N and K are multiples of the tile (tiled kernel): loads and stores need no bounds checks. */
  aligned?: boolean;
  /**
   * Causal band of attention's products (tiled kernel; row m of a batch's matrix is query m, whose
   * position is m + u.band, and column or k index j a key it sees only if j ≤ m + u.band):
   *  - 'upper': output tiles wholly above the band are skipped (left unwritten: the caller never reads them);
   *  - 'kEnd': the K loop stops after the tile's last visible key (operand A is zero past it);
   *  - 'kStart': rows are keys and K runs over queries; the loop starts at the tile's first query that
   *    sees a row (operand A is zero before it).
   * Skipping work whose inputs are zero (or whose outputs are unread) never changes a result.
   */
  band?: 'upper' | 'kEnd' | 'kStart';
}

/**
 * Uniform block shared by both kernels. Batch dims (at most 4 after merging) are right-aligned in
 * `dims`; an operand's batch stride is 0 along dims it is broadcast over.
 */
export const PARAMS_WGSL = `
struct Params {
  M: u32, N: u32, K: u32, tilesN: u32,
  tilesM: u32, blocks: u32, band: u32, _p1: u32,
  dims: vec4<u32>, aStrides: vec4<u32>, bStrides: vec4<u32>,
}
@group(0) @binding(0) var<uniform> u: Params;

// Element offsets of batch z's matrices in A and B.
fn batchOffsets(z: u32) -> vec2<u32> {
  var rest = z;
  var off = vec2<u32>(0u, 0u);
  for (var d = 3; d >= 0; d--) {
    let c = rest % u.dims[d];
    rest = rest / u.dims[d];
    off += c * vec2<u32>(u.aStrides[d], u.bStrides[d]);
  }
  return off;
}`;

export function tileThreads(c: TileConfig): number {
  return (c.bm / c.tm) * (c.bn / c.tn);
}

export function validateTileConfig(c: TileConfig, maxInvocations = 1024, maxWorkgroupBytes = 16384): void {
  const problem = (() => {
    if (c.tm % 4 || c.tn % 4 || c.bk % 4) return 'tm, tn and bk must be multiples of 4';
    if (c.bm % c.tm || c.bn % c.tn) return 'bm must be a multiple of tm and bn of tn';
    if ((c.bn / c.tn) % (c.lanes ?? c.bn / c.tn)) return 'lanes must divide bn/tn';
    const threads = tileThreads(c);
    if (threads > maxInvocations) return `${threads} invocations exceed ${maxInvocations}`;
    if (((c.bm * c.bk) / 4) % threads || ((c.bn * c.bk) / 4) % threads) {
      return 'each tile slice must split evenly into vec4 loads over the invocations';
    }
    if (c.staged && c.bm !== c.bn) return 'staged needs bm = bn (as many A as B load slots)';
    if (c.staged && c.bk % ((c.bm * c.bk) / 4 / threads)) return 'staged needs bk divisible by the load slots';
    const bytes = 2 * c.bk * (c.bm + c.bn) * 4;
    if (bytes > maxWorkgroupBytes) return `${bytes} bytes of workgroup memory exceed ${maxWorkgroupBytes}`;
    return '';
  })();
  if (problem) throw new RangeError(`matmul: invalid tile config ${JSON.stringify(c)}: ${problem}`);
}

function bindings(f: LayoutFlags): string {
  const v = (vec: boolean) => (vec ? 'array<vec4<f32>>' : 'array<f32>');
  const lines = [
    `@group(0) @binding(1) var<storage, read> A: ${v(f.vecA)};`,
    `@group(0) @binding(2) var<storage, read> B: ${v(f.vecB)};`,
  ];
  if (f.bias) lines.push(`@group(0) @binding(3) var<storage, read> bias: ${v(f.vecC)};`);
  lines.push(`@group(0) @binding(${f.bias ? 4 : 3}) var<storage, read_write> C: ${v(f.vecC)};`);
  return lines.join('\n');
}

/**
 * Code that loads one BK-slice of an operand tile from global memory into registers `<reg><l>`, and
 * code that stores those registers into workgroup memory laid out k-major ([k][m] for A, [k][n] for
 * B) so the compute loop reads 4 consecutive rows/columns as one vec4.
 *  - "contiguous along K" (A plain, B transposed): each vec4 slot is 4 consecutive k of one row;
 *    stored transposed, one component at a time.
 *  - "contiguous along the tile dim" (A transposed, B plain): each slot is 4 consecutive rows/cols of
 *    one k; stored as is.
 */
function operandIO(opts: {
  name: 'A' | 'B';
  shared: string;
  reg: string;
  alongK: boolean;
  vec: boolean;
  tile: number; // BM or BN
  bk: number;
  threads: number;
  origin: string; // m0 or n0
  extent: string; // u.M or u.N
  offset: string; // element offset of this batch's matrix
  rowFast: boolean;
  aligned: boolean;
}) {
  const { name, shared, reg, alongK, vec, tile, bk, threads, origin, extent, offset, rowFast, aligned } = opts;
  const slots = (tile * bk) / 4;
  const perThread = slots / threads;
  const decl: string[] = [];
  const load: string[] = [];
  const store: ((buf: string) => string)[] = [];
  for (let l = 0; l < perThread; l++) {
    const r = `${reg}${l}`;
    decl.push(`var ${r}: vec4<f32>;`);
    const idx = `(tid + ${l * threads}u)`;
    if (alongK) {
      // slot = (row, kq): row-major [rows, K]; 4 consecutive k of one row.
      const row = rowFast ? `(${idx} % ${tile}u)` : `(${idx} / ${bk / 4}u)`;
      const kq = rowFast ? `(${idx} / ${tile}u)` : `(${idx} % ${bk / 4}u)`;
      load.push(`{
    let row = ${origin} + ${row};
    let k = k0 + ${kq} * 4u;
    ${r} = vec4<f32>(0.0);
    ${
      aligned
        ? `${r} = ${name}[(${offset} + row * u.K + k) >> 2u];`
        : vec
          ? `if (row < ${extent} && k < u.K) { ${r} = ${name}[(${offset} + row * u.K + k) >> 2u]; }`
          : `if (row < ${extent}) {
      let base = ${offset} + row * u.K + k;
      if (k < u.K) { ${r}.x = ${name}[base]; }
      if (k + 1u < u.K) { ${r}.y = ${name}[base + 1u]; }
      if (k + 2u < u.K) { ${r}.z = ${name}[base + 2u]; }
      if (k + 3u < u.K) { ${r}.w = ${name}[base + 3u]; }
    }`
    }
  }`);
      store.push(
        (buf) => `{
    let row = ${row};
    let dst = ${kq} * ${tile}u + (row >> 2u);
    let c = row & 3u;
    ${shared}[${buf}][dst][c] = ${r}.x;
    ${shared}[${buf}][dst + ${tile / 4}u][c] = ${r}.y;
    ${shared}[${buf}][dst + ${(2 * tile) / 4}u][c] = ${r}.z;
    ${shared}[${buf}][dst + ${(3 * tile) / 4}u][c] = ${r}.w;
  }`,
      );
    } else {
      // slot = (k, q): row-major [K, cols]; 4 consecutive rows/cols of one k.
      const kk = `(${idx} / ${tile / 4}u)`;
      const q = `(${idx} % ${tile / 4}u)`;
      load.push(`{
    let k = k0 + ${kk};
    let col = ${origin} + ${q} * 4u;
    ${r} = vec4<f32>(0.0);
    ${
      aligned
        ? `${r} = ${name}[(${offset} + k * ${extent} + col) >> 2u];`
        : vec
          ? `if (k < u.K && col < ${extent}) { ${r} = ${name}[(${offset} + k * ${extent} + col) >> 2u]; }`
          : `if (k < u.K) {
      let base = ${offset} + k * ${extent} + col;
      if (col < ${extent}) { ${r}.x = ${name}[base]; }
      if (col + 1u < ${extent}) { ${r}.y = ${name}[base + 1u]; }
      if (col + 2u < ${extent}) { ${r}.z = ${name}[base + 2u]; }
      if (col + 3u < ${extent}) { ${r}.w = ${name}[base + 3u]; }
    }`
    }
  }`);
      store.push((buf) => `${shared}[${buf}][${idx}] = ${r};`);
    }
  }
  return {
    decl: decl.join('\n  '),
    load: load.join('\n  '),
    store: (buf: string) => store.map((f) => f(buf)).join('\n  '),
    slots: perThread,
    loadSlot: (l: number) => load[l],
    storeSlot: (l: number, buf: string) => store[l](buf),
  };
}

/** The tiled kernel. Dispatch: [tilesN, tilesM, batch] (or the grouped equivalent, same count). */
export function tiledMatmulWgsl(c: TileConfig, f: LayoutFlags): string {
  const threads = tileThreads(c);
  const nx = c.bn / c.tn; // invocations along n
  const my = c.bm / c.tm; // invocations along m
  const sizeA = (c.bk * c.bm) / 4; // vec4s per A slice
  const sizeB = (c.bk * c.bn) / 4;
  const group = c.group ?? 0;
  // A plain = [M, K] (contiguous along K); A transposed = [K, M]. B plain = [K, N]; B transposed = [N, K].
  const ioA = operandIO({
    name: 'A',
    shared: 'As',
    reg: 'ra',
    alongK: !f.transA,
    vec: f.vecA,
    tile: c.bm,
    bk: c.bk,
    threads,
    origin: 'm0',
    extent: 'u.M',
    offset: 'off.x',
    rowFast: !!c.rowFast,
    aligned: !!f.aligned,
  });
  const ioB = operandIO({
    name: 'B',
    shared: 'Bs',
    reg: 'rb',
    alongK: f.transB,
    vec: f.vecB,
    tile: c.bn,
    bk: c.bk,
    threads,
    origin: 'n0',
    extent: 'u.N',
    offset: 'off.y',
    rowFast: !!c.rowFast,
    aligned: !!f.aligned,
  });
  const acc: string[] = [];
  for (let r = 0; r < c.tm; r++) for (let j = 0; j < c.tn / 4; j++) acc.push(`var c${r}_${j} = vec4<f32>(0.0);`);
  // One BK slice from workgroup buffer `buf` (a constant with pingpong, else the loop's parity). The
  // buffers are separate rows of a 2-D array so the inner index is a constant plus tx or ty, which
  // Tint's robustness pass proves in range: only the (hoistable) buffer index is clamped.
  const computeSlice = (buf: string, kFrom = 0, kTo = c.bk) => {
    const compute: string[] = [];
    for (let k = kFrom; k < kTo; k++) {
      compute.push('{');
      for (let i = 0; i < c.tm / 4; i++) compute.push(`let a${i} = As[${buf}][${k * (c.bm / 4) + i * my}u + ty];`);
      for (let j = 0; j < c.tn / 4; j++) compute.push(`let b${j} = Bs[${buf}][${k * (c.bn / 4) + j * nx}u + tx];`);
      for (let i = 0; i < c.tm / 4; i++) {
        for (let s = 0; s < 4; s++) {
          const comp = 'xyzw'[s];
          for (let j = 0; j < c.tn / 4; j++) {
            const name = `c${i * 4 + s}_${j}`;
            compute.push(`${name} = fma(vec4<f32>(a${i}.${comp}), b${j}, ${name});`);
          }
        }
      }
      compute.push('}');
    }
    return compute.join('\n    ');
  };
  // Each invocation owns rows ty*4 + i*4*my + (0..3) and columns tx*4 + j*4*nx + (0..3): neighbouring
  // invocations read neighbouring vec4s of workgroup memory (no bank conflicts) and global writes of
  // one row are contiguous across the invocations of a row.
  const epilogue: string[] = [];
  for (let i = 0; i < c.tm / 4; i++) {
    for (let s = 0; s < 4; s++) {
      const rowLines: string[] = [];
      for (let j = 0; j < c.tn / 4; j++) {
        const v = `c${i * 4 + s}_${j}`;
        const col = `n0 + tx * 4u + ${j * 4 * nx}u`;
        if (f.vecC) {
          const write = `C[(rowBase + n) >> 2u] = ${v}${f.bias ? ' + bias[n >> 2u]' : ''};`;
          rowLines.push(`{ let n = ${col}; ${f.aligned ? write : `if (n < u.N) { ${write} }`} }`);
        } else {
          const comps = [0, 1, 2, 3]
            .map(
              (q) =>
                `if (n + ${q}u < u.N) { C[rowBase + n + ${q}u] = ${v}.${'xyzw'[q]}${f.bias ? ` + bias[n + ${q}u]` : ''}; }`,
            )
            .join(' ');
          rowLines.push(`{ let n = ${col}; ${comps} }`);
        }
      }
      epilogue.push(`{
    let m = m0 + ty * 4u + ${i * 4 * my + s}u;
    if (${f.aligned ? 'true' : 'm < u.M'}) {
      let rowBase = cOff + m * u.N;
      ${rowLines.join('\n      ')}
    }
  }`);
    }
  }
  const tileIndex =
    group > 1
      ? `// Grouped order: consecutive workgroups sweep ${group} tile-rows column by column, so the A rows
  // and B columns they share are still in L2.
  let pid = wg.y * u.tilesN + wg.x;
  let perGroup = ${group}u * u.tilesN;
  let firstM = (pid / perGroup) * ${group}u;
  let rowsHere = min(u.tilesM - firstM, ${group}u);
  let tileM = firstM + (pid % perGroup) % rowsHere;
  let tileN = (pid % perGroup) / rowsHere;`
      : `let tileM = wg.y;
  let tileN = wg.x;`;
  const lanes = c.lanes ?? nx;
  // Fetch slice t+1 into registers while slice t is multiplied from workgroup memory, then store it
  // into the other buffer. One barrier per slice suffices: nobody writes the buffer being read.
  const plainLoop = `for (var t = tFirst; t < tiles; t++) {
    let hasNext = t + 1u < tiles;
    k0 = (t + 1u) * ${c.bk}u;
    if (hasNext) {
      ${ioA.load}
      ${ioB.load}
    }
    let cur = t & 1u;
    ${computeSlice('cur')}
    if (hasNext) {
      let nxt = cur ^ 1u;
      ${ioA.store('nxt')}
      ${ioB.store('nxt')}
    }
    workgroupBarrier();
  }`;
  // Staged: slot l of the next slice is fetched before, and stored after, the l-th part of the
  // multiply (the buffers differ, so no extra barrier is needed).
  const phases = ioA.slots;
  const stagedLoop = `for (var t = tFirst; t < tiles; t++) {
    let hasNext = t + 1u < tiles;
    k0 = (t + 1u) * ${c.bk}u;
    let cur = t & 1u;
    let nxt = cur ^ 1u;
    ${Array.from(
      { length: phases },
      (_, l) => `if (hasNext) {
      ${ioA.loadSlot(l)}
      ${ioB.loadSlot(l)}
    }
    ${computeSlice('cur', (l * c.bk) / phases, ((l + 1) * c.bk) / phases)}
    if (hasNext) {
      ${ioA.storeSlot(l, 'nxt')}
      ${ioB.storeSlot(l, 'nxt')}
    }`,
    ).join('\n    ')}
    workgroupBarrier();
  }`;
  const half = (from: 0 | 1, next: string) => `{
    let hasNext = ${next} < tiles;
    k0 = ${next} * ${c.bk}u;
    if (hasNext) {
      ${ioA.load}
      ${ioB.load}
    }
    ${computeSlice(`${from}u`)}
    if (hasNext) {
      ${ioA.store(`${1 - from}u`)}
      ${ioB.store(`${1 - from}u`)}
    }
    workgroupBarrier();
  }`;
  const pingpongLoop = `for (var t = 0u; t < tiles; t += 2u) {
    ${half(0, '(t + 1u)')}
    if (t + 1u < tiles) ${half(1, '(t + 2u)')}
  }`;
  return `// matmul tiled ${JSON.stringify(c)} ${JSON.stringify(f)}
${PARAMS_WGSL}
${bindings(f)}
var<workgroup> As: array<array<vec4<f32>, ${sizeA}>, 2>;
var<workgroup> Bs: array<array<vec4<f32>, ${sizeB}>, 2>;

@compute @workgroup_size(${lanes}, ${my}, ${nx / lanes})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  ${tileIndex}
  let m0 = tileM * ${c.bm}u;
  let n0 = tileN * ${c.bn}u;
  let off = batchOffsets(wg.z);
  let cOff = wg.z * u.M * u.N;
  // The invocation's register tile (tx, ty) comes from local_invocation_id, whose range Tint knows.
  let tx = lid.x + ${lanes}u * lid.z;
  let ty = lid.y;
  ${acc.join('\n  ')}
  ${ioA.decl}
  ${ioB.decl}
  ${f.band === 'upper' ? `if (n0 > m0 + ${c.bm - 1}u + u.band) { return; }` : ''}
  let kLimit = ${f.band === 'kEnd' ? `min(u.K, m0 + ${c.bm}u + u.band)` : 'u.K'};
  let tiles = (kLimit + ${c.bk - 1}u) / ${c.bk}u;
  let tFirst = ${f.band === 'kStart' && !c.pingpong ? `select(0u, (m0 - u.band) / ${c.bk}u, m0 > u.band)` : '0u'};
  // Prologue: the first slice into the buffer of its parity.
  var k0 = tFirst * ${c.bk}u;
  ${ioA.load}
  ${ioB.load}
  ${ioA.store('tFirst & 1u')}
  ${ioB.store('tFirst & 1u')}
  workgroupBarrier();
  ${c.pingpong ? pingpongLoop : c.staged ? stagedLoop : plainLoop}
  ${epilogue.join('\n  ')}
}
`;
}

/** Output rows (or columns) of the tiny side handled per workgroup by the skinny kernel. */
export const SKINNY_Q = 4;
/** Outputs along the wide side per workgroup (one 32-lane group each). */
export const SKINNY_GROUPS = 8;
const LANES = 32;

/**
 * The skinny kernel: the "wide" side (M or N, whichever is larger) is spread over 32-lane groups,
 * the tiny side is handled SKINNY_Q at a time; the lanes of a group split K and are summed by a
 * tree in workgroup memory. Dispatch: [min(blocks, 65535), ceil(tiny / SKINNY_Q), batch]; a
 * workgroup walks blocks with a stride of the grid width when the wide side is huge.
 */
export function skinnyMatmulWgsl(f: LayoutFlags, wideIsN: boolean): string {
  const aAt = f.transA ? '(k * u.M + m)' : '(m * u.K + k)';
  const bAt = f.transB ? '(n * u.K + k)' : '(k * u.N + n)';
  const w = wideIsN ? 'n' : 'm';
  const t = wideIsN ? 'm' : 'n';
  const tinyExtent = wideIsN ? 'u.M' : 'u.N';
  const wideExtent = wideIsN ? 'u.N' : 'u.M';
  const accs = Array.from({ length: SKINNY_Q }, (_, q) => q);
  const scalar = (vec: boolean, name: string, index: string) =>
    vec ? `${name}[(${index}) >> 2u][(${index}) & 3u]` : `${name}[${index}]`;
  const scalarLoop = `for (var k = lane; k < u.K; k += ${LANES}u) {
        ${
          wideIsN
            ? `let bv = ${scalar(f.vecB, 'B', `off.y + ${bAt}`)};`
            : `let av = ${scalar(f.vecA, 'A', `off.x + ${aAt}`)};`
        }
        ${accs
          .map((q) =>
            wideIsN
              ? `{ let m = m0 + ${q}u; if (m < u.M) { acc[${q}] = fma(${scalar(f.vecA, 'A', `off.x + ${aAt}`)}, bv, acc[${q}]); } }`
              : `{ let n = n0 + ${q}u; if (n < u.N) { acc[${q}] = fma(av, ${scalar(f.vecB, 'B', `off.y + ${bAt}`)}, acc[${q}]); } }`,
          )
          .join('\n        ')}
      }`;
  // Both operands contiguous along K (a row of A against a torch-layout weight row, the step-mode
  // linear): each lane reads 16-byte vectors of both rows.
  const kvec = f.vecA && !f.transA && f.vecB && f.transB;
  const rowA = (m: string) => `((off.x + ${m} * u.K) >> 2u)`;
  const rowB = (n: string) => `((off.y + ${n} * u.K) >> 2u)`;
  const vecLoop = `for (var k4 = lane; k4 < (u.K >> 2u); k4 += ${LANES}u) {
        ${wideIsN ? `let bv = B[${rowB('n')} + k4];` : `let av = A[${rowA('m')} + k4];`}
        ${accs
          .map((q) =>
            wideIsN
              ? `{ let m = m0 + ${q}u; if (m < u.M) { acc[${q}] += dot(A[${rowA('m')} + k4], bv); } }`
              : `{ let n = n0 + ${q}u; if (n < u.N) { acc[${q}] += dot(av, B[${rowB('n')} + k4]); } }`,
          )
          .join('\n        ')}
      }`;
  return `// matmul skinny ${JSON.stringify(f)} wide=${w}
${PARAMS_WGSL}
${bindings(f)}
var<workgroup> red: array<vec4<f32>, ${SKINNY_GROUPS * LANES}>;

@compute @workgroup_size(${SKINNY_GROUPS * LANES})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let lane = tid % ${LANES}u;
  let groupIndex = tid / ${LANES}u;
  let off = batchOffsets(wg.z);
  let cOff = wg.z * u.M * u.N;
  let ${t}0 = wg.y * ${SKINNY_Q}u;
  for (var block = wg.x; block < u.blocks; block += nwg.x) {
    let ${w} = block * ${SKINNY_GROUPS}u + groupIndex;
    var acc = vec4<f32>(0.0);
    if (${w} < ${wideExtent}) {
      ${kvec ? vecLoop : scalarLoop}
    }
    red[tid] = acc;
    workgroupBarrier();
    for (var s = ${LANES / 2}u; s > 0u; s >>= 1u) {
      if (lane < s) { red[tid] += red[tid + s]; }
      workgroupBarrier();
    }
    if (lane < ${SKINNY_Q}u && ${w} < ${wideExtent}) {
      let ${t} = ${t}0 + lane;
      if (${t} < ${tinyExtent}) {
        let value = red[tid - lane][lane]${f.bias ? ` + ${scalar(f.vecC, 'bias', 'n')}` : ''};
        ${f.vecC ? `C[(cOff + m * u.N + n) >> 2u][(cOff + m * u.N + n) & 3u] = value;` : `C[cOff + m * u.N + n] = value;`}
      }
    }
    workgroupBarrier();
  }
}
`;
}
