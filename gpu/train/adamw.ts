// AdamW (Loshchilov & Hutter: decoupled weight decay) with global gradient-norm clipping, fully on the
// GPU: the norm is reduced into a one-element tensor and the clip factor is read by the update kernel
// itself, so a training step never waits for a readback.

import { uniformBytes, type Engine } from '../engine.js';
import { linearGrid, linearMain } from '../grid.js';
import type { Tensor } from '../tensor.js';
import type { ParamMap } from '../nn/module.js';

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 or Infinity disables it. */
  clipNorm: number;
  /** Parameter names exempt from weight decay (norm gains, biases, decay parameters). */
  noDecay: Set<string>;
}

export const ADAMW_DEFAULTS: Omit<AdamWConfig, 'noDecay'> = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
  clipNorm: 1.0,
};

const PARTIALS_PER_PARAM = 64;

const SUM_SQUARES = `
struct Params { n: u32, slot: u32, groups: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
var<workgroup> shared_: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc = 0.0;
  for (var i = wid.x * 256u + lid.x; i < u.n; i += u.groups * 256u) { acc += g[i] * g[i]; }
  shared_[lid.x] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid.x < s) { shared_[lid.x] += shared_[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { partials[u.slot * ${PARTIALS_PER_PARAM}u + wid.x] = shared_[0]; }
}`;

const FINISH_NORM = `
struct Params { count: u32, clip: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<f32>; // [norm, clip factor]
var<workgroup> shared_: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  // Fixed summation order: the same gradients always give the same norm.
  var acc = 0.0;
  for (var i = lid.x; i < u.count; i += 256u) { acc += partials[i]; }
  shared_[lid.x] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid.x < s) { shared_[lid.x] += shared_[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let norm = sqrt(shared_[0]);
    result[0] = norm;
    var factor = 1.0;
    if (u.clip > 0.0 && norm > u.clip) { factor = u.clip / (norm + 1e-6); }
    // A non-finite norm poisons every parameter: freeze the step instead (the trainer reports it).
    if (!(norm <= 3.0e38)) { factor = 0.0; }
    result[1] = factor;
  }
}`;

const ADAMW_UPDATE = `
struct Params { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, decay: f32, correction1: f32, correction2: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> norm: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  let factor = norm[1];
  if (factor == 0.0) { return; }
  let grad = g[i] * factor;
  let m1 = u.beta1 * m[i] + (1.0 - u.beta1) * grad;
  let v1 = u.beta2 * v[i] + (1.0 - u.beta2) * grad * grad;
  m[i] = m1;
  v[i] = v1;
  let update = (m1 / u.correction1) / (sqrt(v1 / u.correction2) + u.eps);
  p[i] = p[i] - u.lr * (update + u.decay * p[i]);
}`;

export class AdamW {
  readonly config: AdamWConfig;
  step = 0;
  private moments = new Map<string, { m: Tensor; v: Tensor }>();
  private partials: Tensor;
  /** [global grad norm before clipping, clip factor] of the last step, on the GPU. */
  readonly normInfo: Tensor;

  constructor(
    private readonly engine: Engine,
    private readonly params: ParamMap,
    config: Partial<AdamWConfig> = {},
  ) {
    this.config = { ...ADAMW_DEFAULTS, noDecay: new Set(), ...config };
    for (const [name, p] of params) {
      this.moments.set(name, {
        m: engine.keep(engine.fromArray(new Float32Array(p.size), p.shape)),
        v: engine.keep(engine.fromArray(new Float32Array(p.size), p.shape)),
      });
    }
    this.partials = engine.keep(
      engine.fromArray(new Float32Array(params.size * PARTIALS_PER_PARAM), [params.size * PARTIALS_PER_PARAM]),
    );
    this.normInfo = engine.keep(engine.fromArray([0, 1], [2]));
  }

  /** Records the clip + update of every parameter that has a gradient; `lr` overrides the config's. */
  update(lr = this.config.lr): void {
    const { engine, config } = this;
    this.step++;
    // Every slot's partials are rewritten each step (all groups run, idle ones write 0); a parameter
    // without a gradient would leave stale partials, so only then is the buffer cleared first.
    const allHaveGrads = [...this.params.values()].every((p) => p.grad);
    if (!allHaveGrads) engine.write(this.partials, new Float32Array(this.partials.size));
    let slot = 0;
    for (const p of this.params.values()) {
      if (p.grad) {
        engine.dispatch(
          { name: 'adamw:sum_squares', wgsl: SUM_SQUARES },
          {
            bindings: [p.grad, this.partials],
            uniforms: uniformBytes([p.size, slot, PARTIALS_PER_PARAM]),
            workgroups: [PARTIALS_PER_PARAM],
          },
        );
      }
      slot++;
    }
    engine.dispatch(
      { name: 'adamw:finish_norm', wgsl: FINISH_NORM },
      {
        bindings: [this.partials, this.normInfo],
        uniforms: uniformBytes({
          u32: [this.partials.size],
          f32: [Number.isFinite(config.clipNorm) ? config.clipNorm : 0],
        }),
        workgroups: [1],
      },
    );
    const correction1 = 1 - config.beta1 ** this.step;
    const correction2 = 1 - config.beta2 ** this.step;
    for (const [name, p] of this.params) {
      if (!p.grad) continue;
      const { m, v } = this.moments.get(name)!;
      const decay = config.noDecay.has(name) ? 0 : config.weightDecay;
      engine.dispatch(
        { name: 'adamw:update', wgsl: ADAMW_UPDATE },
        {
          bindings: [p, p.grad, m, v, this.normInfo],
          uniforms: uniformBytes({
            u32: [p.size],
            f32: [lr, config.beta1, config.beta2, config.eps, decay, correction1, correction2],
          }),
          workgroups: linearGrid(p.size),
        },
      );
    }
  }

  /** Optimizer state by parameter name (for checkpoints): `<name>.exp_avg`, `<name>.exp_avg_sq`. */
  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, { m, v }] of this.moments) {
      out.set(`${name}.exp_avg`, m);
      out.set(`${name}.exp_avg_sq`, v);
    }
    return out;
  }

  destroy(): void {
    for (const { m, v } of this.moments.values()) {
      m.release();
      v.release();
    }
    this.partials.release();
    this.normInfo.release();
  }
}
