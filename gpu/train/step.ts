// The step executor: one training step (upload batch → forward → backward → clip → AdamW) is recorded
// into a single command encoder and submitted once. Metrics (loss, gradient norm) are copied to
// staging buffers inside the same submit and resolve later, so the CPU can encode step n+1 while the
// GPU still runs step n; `maxInFlight` bounds how far the CPU may run ahead.

import { backward } from '../autograd.js';
import type { Engine } from '../engine.js';
import type { ParamMap } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { AdamW, type AdamWConfig } from './adamw.js';
import { learningRate, validateSchedule, type Schedule } from './schedule.js';

export interface Batch {
  /** Token ids, row-major [batch, seqLen]. */
  inputs: Int32Array;
  /** Next-token targets, same shape (−100 = not scored). */
  targets: Int32Array;
  batch: number;
  seqLen: number;
}

export interface StepMetrics {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  /** CPU milliseconds spent encoding this step (not waiting for the GPU). */
  encodeMs: number;
}

export type LossFn = (params: ParamMap, inputs: Tensor, targets: Tensor) => Tensor;

export interface StepExecutorOptions {
  optimizer?: Partial<AdamWConfig>;
  schedule?: Schedule;
  maxInFlight?: number;
}

export class StepExecutor {
  readonly optimizer: AdamW;
  step = 0;
  private inputs: Tensor | null = null;
  private targets: Tensor | null = null;
  private inFlight: Promise<StepMetrics>[] = [];
  /** Resolves when the previously requested step has been submitted (keeps steps in call order). */
  private tail: Promise<void> = Promise.resolve();
  private readonly schedule: Schedule;
  private readonly peakLr: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly engine: Engine,
    private readonly params: ParamMap,
    private readonly lossFn: LossFn,
    options: StepExecutorOptions = {},
  ) {
    this.optimizer = new AdamW(engine, params, options.optimizer);
    this.schedule = options.schedule ?? { kind: 'constant' };
    validateSchedule(this.schedule);
    this.peakLr = this.optimizer.config.lr;
    this.maxInFlight = options.maxInFlight ?? 3;
  }

  /**
   * Records and submits one step. Resolves with its metrics once the GPU has finished it; awaiting is
   * optional (the next call may be made at once): calls are encoded strictly in call order, and at most
   * `maxInFlight` steps are queued on the GPU.
   */
  run(batch: Batch): Promise<StepMetrics> {
    const submitted = this.tail.then(() => this.submit(batch));
    this.tail = submitted.then(
      () => undefined,
      () => undefined,
    );
    return submitted.then((s) => s.metrics);
  }

  private async submit(batch: Batch): Promise<{ metrics: Promise<StepMetrics> }> {
    while (this.inFlight.length >= this.maxInFlight) await this.inFlight.shift();
    const started = performance.now();
    const { engine } = this;
    const step = this.step++;
    const lr = learningRate(this.schedule, this.peakLr, step);
    this.uploadBatch(batch);
    const pending = engine.tidy(() => {
      const loss = this.lossFn(this.params, this.inputs!, this.targets!);
      backward(loss);
      this.optimizer.update(lr);
      const lossValue = engine.readLater(loss);
      const normValue = engine.readLater(this.optimizer.normInfo);
      for (const p of this.params.values()) p.grad = null; // released with the scope
      return [lossValue, normValue] as const;
    });
    engine.flush();
    const encodeMs = performance.now() - started;
    const metrics = Promise.all(pending).then(([loss, norm]) => ({
      step,
      loss: loss[0],
      gradNorm: norm[0],
      lr,
      encodeMs,
    }));
    this.inFlight.push(metrics);
    return { metrics };
  }

  /** Waits for every submitted step. */
  async drain(): Promise<void> {
    await this.tail;
    await Promise.all(this.inFlight);
    this.inFlight = [];
  }

  private uploadBatch(batch: Batch): void {
    const shape = [batch.batch, batch.seqLen];
    const size = batch.batch * batch.seqLen;
    if (batch.inputs.length !== size || batch.targets.length !== size) {
      throw new RangeError(
        `training batch: ${batch.inputs.length} inputs and ${batch.targets.length} targets for shape [${shape}]`,
      );
    }
    if (!this.inputs || this.inputs.shape.join() !== shape.join()) {
      this.inputs?.release();
      this.targets?.release();
      this.inputs = this.engine.keep(this.engine.empty(shape, 'i32'));
      this.targets = this.engine.keep(this.engine.empty(shape, 'i32'));
    }
    this.engine.write(this.inputs!, batch.inputs);
    this.engine.write(this.targets!, batch.targets);
  }

  destroy(): void {
    this.optimizer.destroy();
    this.inputs?.release();
    this.targets?.release();
  }
}
