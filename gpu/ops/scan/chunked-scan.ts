// The one chunked scan kernel behind every class-A recurrence, forward and backward:
//   state_t = coef_t ⊗ state_{t-1} ⊕ input_t      (in the semiring of a NumberSystem)
// over [B, T, D] (D independent channels). What a program loads as (coef, input) at step t and what it
// stores from the state is plugged in as WGSL snippets, so the forward scan, the reverse-time adjoint
// scan and the log-space scans are parameterizations of this skeleton, not copies of it.
//
// Layout: one workgroup owns one independent recurrence tile — TILE channels of one batch row — and walks
// the whole sequence inside one dispatch (no grid-wide sync). Time is cut into chunks of CHUNK steps;
// within a chunk each of LANES lanes owns ITEMS consecutive steps:
//   1. every lane composes its ITEMS (coef, input) pairs into one affine map (registers);
//   2. a Hillis–Steele scan over the LANES maps in workgroup memory gives each lane the map from the
//      chunk's start to its own start (log2(LANES) rounds);
//   3. each lane applies that map to the carry (the state entering the chunk), replays its ITEMS steps
//      from registers and stores every state; the last lane's state is the next chunk's carry.
// Composition of maps (A1, B1) then (A2, B2) is (A2 ⊗ A1, A2 ⊗ B1 ⊕ B2), which is associative; only
// products of coefficients over at most one chunk are formed, never a cumulative product over T.

import { uniformBytes, type Engine } from '../../engine.js';
import type { Tensor } from '../../tensor.js';
import type { NumberSystem } from './number-systems.js';

/** Channels per workgroup (one subgroup-wide row of consecutive addresses per time step). */
export const SCAN_TILE = 32;
/** Time lanes per workgroup; TILE × LANES = 256 invocations, WebGPU's guaranteed maximum. */
export const SCAN_LANES = 8;
/** Consecutive time steps each lane scans sequentially in registers. */
export const SCAN_ITEMS = 4;
/** Time steps per chunk: tests use lengths that are not multiples of it. */
export const SCAN_CHUNK = SCAN_LANES * SCAN_ITEMS;

export interface ScanBuffer {
  name: string;
  access: 'read' | 'read_write';
  /** 'V' = one element of the program's number system per channel; 'f32' = plain reals. */
  elem: 'V' | 'f32';
}

export interface ScanProgram {
  /** Kernel name for errors and debug output. */
  name: string;
  system: NumberSystem;
  /** Storage buffers in binding order (binding 0 is the uniform block { T, D }). */
  buffers: ScanBuffer[];
  /** Walk time backwards (t = T−1 … 0): the adjoint of a forward scan. */
  reverse: boolean;
  /** WGSL expression: the state before the first step, for channel `c` of batch row `bi`. */
  init: string;
  /** WGSL statements that may assign `coef` and `inp` (preset to the identity) for time index `t`. */
  load: string;
  /** WGSL statements storing the state `state` reached at time index `t`. */
  store: string;
  /** WGSL statements run once with the state after the last step (`state`), or ''. */
  final: string;
}

export function scanKernelSource(p: ScanProgram): string {
  const declarations = p.buffers
    .map(
      (b, k) =>
        `@group(0) @binding(${k + 1}) var<storage, ${b.access}> ${b.name}: array<${b.elem === 'V' ? 'V' : 'f32'}>;`,
    )
    .join('\n');
  const lanes = SCAN_TILE * SCAN_LANES;
  return `${p.system.wgsl}
struct Params { T: u32, D: u32 }
@group(0) @binding(0) var<uniform> u: Params;
${declarations}
const TILE = ${SCAN_TILE}u;
const LANES = ${SCAN_LANES}u;
const ITEMS = ${SCAN_ITEMS}u;
const CHUNK = ${SCAN_CHUNK}u;
var<workgroup> mapA: array<V, ${lanes}>;
var<workgroup> mapB: array<V, ${lanes}>;
var<workgroup> carry: array<V, ${SCAN_TILE}>;

/** Flat index of (batch row, time, channel) in a [B, T, D] tensor of V. */
fn at(bi: u32, t: u32, c: u32) -> u32 { return (bi * u.T + t) * u.D + c; }
fn timeOf(s: u32) -> u32 { return ${p.reverse ? 'u.T - 1u - s' : 's'}; }

@compute @workgroup_size(${SCAN_TILE}, ${SCAN_LANES})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let x = lid.x;
  let lane = lid.y;
  let me = lane * TILE + x;
  let c = wid.x * TILE + x;
  let bi = wid.y;
  let inRange = c < u.D;
  if (lane == 0u) {
    var first = v_zero();
    if (inRange) { first = ${p.init}; }
    carry[x] = first;
  }
  workgroupBarrier();
  let chunks = (u.T + CHUNK - 1u) / CHUNK;
  for (var k = 0u; k < chunks; k++) {
    // 1. This lane's steps, composed into one map (padding steps are the identity map).
    var coefs: array<V, ${SCAN_ITEMS}>;
    var inps: array<V, ${SCAN_ITEMS}>;
    var A = v_one();
    var B = v_zero();
    for (var i = 0u; i < ITEMS; i++) {
      let s = k * CHUNK + lane * ITEMS + i;
      var coef = v_one();
      var inp = v_zero();
      if (inRange && s < u.T) {
        let t = timeOf(s);
        ${p.load}
      }
      coefs[i] = coef;
      inps[i] = inp;
      B = v_add(v_mul(coef, B), inp);
      A = v_mul(coef, A);
    }
    mapA[me] = A;
    mapB[me] = B;
    workgroupBarrier();
    // 2. Inclusive Hillis–Steele scan of the lane maps: lane l ends with the map of lanes 0..l.
    for (var offset = 1u; offset < LANES; offset = offset * 2u) {
      if (lane >= offset) {
        let earlierA = mapA[me - offset * TILE];
        let earlierB = mapB[me - offset * TILE];
        B = v_add(v_mul(A, earlierB), B);
        A = v_mul(A, earlierA);
      }
      workgroupBarrier();
      mapA[me] = A;
      mapB[me] = B;
      workgroupBarrier();
    }
    // 3. The state entering this lane, then its own steps replayed from registers.
    var state = carry[x];
    if (lane > 0u) { state = v_add(v_mul(mapA[me - TILE], state), mapB[me - TILE]); }
    for (var i = 0u; i < ITEMS; i++) {
      let s = k * CHUNK + lane * ITEMS + i;
      state = v_add(v_mul(coefs[i], state), inps[i]);
      if (inRange && s < u.T) {
        let t = timeOf(s);
        ${p.store}
      }
    }
    workgroupBarrier();
    if (lane == LANES - 1u) { carry[x] = state; }
    workgroupBarrier();
  }
  if (lane == 0u && inRange) {
    let state = carry[x];
    ${p.final}
  }
}`;
}

/** Records one scan over [batch, T, D] with `bindings` in the order of `program.buffers`. */
export function dispatchScan(
  engine: Engine,
  program: ScanProgram,
  dims: { batch: number; T: number; D: number },
  bindings: Tensor[],
): void {
  if (bindings.length !== program.buffers.length) {
    throw new Error(`${program.name}: ${bindings.length} buffers bound, ${program.buffers.length} declared`);
  }
  engine.dispatch(
    { name: program.name, wgsl: scanKernelSource(program) },
    {
      bindings,
      uniforms: uniformBytes([dims.T, dims.D]),
      workgroups: [Math.ceil(dims.D / SCAN_TILE), dims.batch],
    },
  );
}
