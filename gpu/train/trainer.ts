// The training loop, readable top to bottom: build → loop (step, log, evaluate, checkpoint) → finish.
// It is host-agnostic: batches come from a `BatchSource`, results go to a `TrainerSink` (the CLI's run
// folder, or the app's Worker messages), so the same loop trains in Node and in the browser.

import { backward, tapeOrder } from '../autograd.js';
import type { Engine } from '../engine.js';
import type { ParamMap } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import type { Schedule } from './schedule.js';
import { StepExecutor, type Batch, type LossFn, type StepMetrics } from './step.js';

export interface BatchSource {
  next(): Batch;
  /** A JSON-serializable position; `restore` of it replays exactly the same batches. */
  position(): unknown;
  restore(position: unknown): void;
}

export interface TrainerConfig {
  steps: number;
  lr: number;
  schedule: Schedule;
  weightDecay: number;
  clipNorm: number;
  beta1?: number;
  beta2?: number;
  evalEvery: number;
  checkpointEvery: number;
  /** Stop early once the validation (or, without one, training) loss reaches this value. */
  targetLoss?: number;
  noDecay: string[];
  /**
   * A non-finite loss or gradient norm: 'stop' (the default) ends the run, keeping the last checkpoint;
   * 'rollback' restores the last checkpoint's parameters and optimizer, skips the batches since (they led
   * to the divergence) and trains on, at most `maxRollbacks` times (default 3) before stopping.
   */
  onNonFinite?: 'stop' | 'rollback';
  maxRollbacks?: number;
}

export interface MetricsRow {
  step: number;
  loss: number;
  val_loss?: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  memory_bytes: number;
  encode_ms: number;
}

/** Everything besides the parameters that a resumed run needs. */
export interface TrainerState {
  step: number;
  optimizerStep: number;
  dataPosition: unknown;
}

export interface Checkpoint {
  step: number;
  /** Model parameters by name (HF-style). */
  params: Map<string, { shape: readonly number[]; data: Float32Array }>;
  /** Optimizer moments by `<param>.exp_avg` / `<param>.exp_avg_sq`. */
  optimizer: Map<string, { shape: readonly number[]; data: Float32Array }>;
  state: TrainerState;
}

export interface TrainerSink {
  metrics(row: MetricsRow): void | Promise<void>;
  checkpoint(checkpoint: Checkpoint): Promise<void>;
  log?(message: string): void;
  /** After a rollback to the checkpoint at `step`: drop the metric rows of steps ≥ `step` (they come again). */
  rewind?(step: number): void | Promise<void>;
}

export type TrainOutcome =
  | { status: 'completed'; step: number; lastLoss: number }
  | { status: 'target-reached'; step: number; lastLoss: number }
  | { status: 'non-finite'; step: number; message: string }
  | { status: 'stopped'; step: number; lastLoss: number };

export class NonFiniteError extends Error {}

export class Trainer {
  readonly executor: StepExecutor;
  private stopRequested = false;

  constructor(
    private readonly engine: Engine,
    private readonly params: ParamMap,
    private readonly lossFn: LossFn,
    private readonly config: TrainerConfig,
    private readonly train: BatchSource,
    private readonly validation: Batch[] | null,
    private readonly sink: TrainerSink,
  ) {
    this.executor = new StepExecutor(engine, params, lossFn, {
      optimizer: {
        lr: config.lr,
        weightDecay: config.weightDecay,
        clipNorm: config.clipNorm,
        beta1: config.beta1 ?? 0.9,
        beta2: config.beta2 ?? 0.95,
        noDecay: new Set(config.noDecay),
      },
      schedule: config.schedule,
    });
  }

  /** Asks the loop to stop after the current step (the app's Stop button, SIGINT in the CLI). */
  stop(): void {
    this.stopRequested = true;
  }

  /** Restores parameters, optimizer moments and the data position from a checkpoint. */
  resume(checkpoint: Checkpoint): void {
    for (const [name, tensor] of this.params) {
      const saved = checkpoint.params.get(name);
      if (!saved) throw new Error(`checkpoint at step ${checkpoint.step} has no parameter "${name}"`);
      if (saved.shape.join(',') !== tensor.shape.join(',')) {
        throw new Error(
          `checkpoint parameter "${name}" has shape [${saved.shape}], the model expects [${tensor.shape}]`,
        );
      }
      this.engine.write(tensor, saved.data);
    }
    for (const [name, tensor] of this.executor.optimizer.stateTensors()) {
      const saved = checkpoint.optimizer.get(name);
      if (!saved) throw new Error(`checkpoint at step ${checkpoint.step} has no optimizer state "${name}"`);
      this.engine.write(tensor, saved.data);
    }
    this.executor.optimizer.step = checkpoint.state.optimizerStep;
    this.executor.step = checkpoint.state.step;
    this.train.restore(checkpoint.state.dataPosition);
    this.resumedFrom = checkpoint;
  }

  /** The checkpoint `resume` restored: the first one a rollback can return to. */
  private resumedFrom: Checkpoint | null = null;

  async run(): Promise<TrainOutcome> {
    const { config, executor, engine } = this;
    const log = (m: string) => this.sink.log?.(m);
    let lastLoss = NaN;
    // Throughput over a sliding window of at least a second: metrics arrive in bursts (the CPU runs
    // ahead of the GPU), so a per-report rate would swing between 0 and huge.
    let windowStart = performance.now();
    let windowTokens = 0;
    let rate = 0;
    let tokensPerStep = 0;
    const pending: Promise<StepMetrics>[] = [];
    const report = async (metrics: StepMetrics, valLoss?: number) => {
      if (!Number.isFinite(metrics.loss) || !Number.isFinite(metrics.gradNorm)) {
        throw new NonFiniteError(await this.diagnose(metrics));
      }
      lastLoss = metrics.loss;
      const seconds = (performance.now() - windowStart) / 1000;
      windowTokens += tokensPerStep;
      if (seconds >= 1 || rate === 0) {
        rate = seconds > 0 ? windowTokens / seconds : 0;
        if (seconds >= 1) {
          windowStart = performance.now();
          windowTokens = 0;
        }
      }
      await this.sink.metrics({
        step: metrics.step,
        loss: metrics.loss,
        ...(valLoss !== undefined ? { val_loss: valLoss } : {}),
        lr: metrics.lr,
        grad_norm: metrics.gradNorm,
        tokens_per_s: rate,
        memory_bytes: engine.pool.stats.peakBytesInUse,
        encode_ms: metrics.encodeMs,
      });
    };
    // The last checkpoint handed to the sink: what a rollback restores.
    let lastCheckpoint: Checkpoint | null = this.resumedFrom;
    const checkpointNow = async () => {
      const snapshot = await this.snapshot();
      // Never save a checkpoint that holds NaN/Inf: the previous one stays the one to return to.
      for (const [kind, tensors] of [
        ['parameter', snapshot.params],
        ['optimizer state', snapshot.optimizer],
      ] as const) {
        for (const [name, { data }] of tensors) {
          if (!data.every(Number.isFinite)) {
            throw new NonFiniteError(
              `step ${snapshot.step}: ${kind} "${name}" is non-finite; this checkpoint is not saved, ` +
                'training stopped, the last checkpoint is kept',
            );
          }
        }
      }
      lastCheckpoint = snapshot;
      await this.sink.checkpoint(snapshot);
    };
    let rollbacks = 0;
    for (;;) {
      try {
        // `requested` counts steps handed to the executor; it submits them asynchronously, in order.
        let requested = executor.step;
        while (requested < config.steps && !this.stopRequested) {
          const batch = this.train.next();
          this.batches.set(requested, batch);
          this.batches.delete(requested - 8);
          pending.push(executor.run(batch));
          requested++;
          tokensPerStep = batch.batch * batch.seqLen;
          const step = requested;
          const evaluate =
            this.validation && config.evalEvery > 0 && (step % config.evalEvery === 0 || step === config.steps);
          const checkpoint =
            config.checkpointEvery > 0 && (step % config.checkpointEvery === 0 || step === config.steps);
          // Metrics of every step are reported, in order; only here does the CPU wait for the GPU.
          while (pending.length > (evaluate || checkpoint ? 0 : 2)) {
            const metrics = await pending.shift()!;
            const isLast = pending.length === 0;
            const valLoss = isLast && evaluate ? await this.evaluate() : undefined;
            await report(metrics, valLoss);
            const target = config.targetLoss;
            if (target !== undefined && isLast && (valLoss ?? metrics.loss) <= target) {
              if (checkpoint || config.checkpointEvery > 0) await checkpointNow();
              log(`target loss ${target} reached at step ${step}`);
              return { status: 'target-reached', step, lastLoss };
            }
          }
          if (checkpoint) await checkpointNow();
        }
        for (const p of pending.splice(0)) await report(await p);
        await executor.drain();
        return { status: this.stopRequested ? 'stopped' : 'completed', step: executor.step, lastLoss };
      } catch (error) {
        if (!(error instanceof NonFiniteError)) throw error;
        // Steps still in flight finish (their results are moot) before the state is touched.
        for (const p of pending.splice(0)) await p.catch(() => undefined);
        await executor.drain();
        const max = config.maxRollbacks ?? 3;
        const restore = lastCheckpoint as Checkpoint | null; // set inside checkpointNow()
        if (config.onNonFinite !== 'rollback' || restore === null || rollbacks >= max) {
          const why =
            config.onNonFinite !== 'rollback'
              ? ''
              : restore === null
                ? ' (no checkpoint to roll back to yet)'
                : ` (after ${rollbacks} rollback${rollbacks === 1 ? '' : 's'}, the limit)`;
          log(`${error.message}${why}`);
          return { status: 'non-finite', step: executor.step, message: `${error.message}${why}` };
        }
        rollbacks++;
        const skipped = this.train.position();
        this.resume(restore);
        this.train.restore(skipped); // skip the batches that led here instead of replaying them
        await this.sink.rewind?.(restore.step);
        log(
          `${error.message.split(';')[0]}; rolled back to the checkpoint at step ${restore.step} ` +
            `(rollback ${rollbacks} of ${max}), skipping the batches since`,
        );
      }
    }
  }

  /** Mean loss over the validation batches, without gradients. */
  async evaluate(): Promise<number> {
    if (!this.validation?.length) return NaN;
    const { engine } = this;
    const losses = engine.noGrad(() =>
      this.validation!.map((batch) =>
        engine.tidy(() => {
          const ids = engine.fromArray(batch.inputs, [batch.batch, batch.seqLen], 'i32');
          const targets = engine.fromArray(batch.targets, [batch.batch, batch.seqLen], 'i32');
          return engine.readLater(this.lossFn(this.params, ids, targets));
        }),
      ),
    );
    engine.flush();
    const values = await Promise.all(losses);
    return values.reduce((sum, v) => sum + v[0], 0) / values.length;
  }

  async snapshot(): Promise<Checkpoint> {
    const read = async (tensors: Iterable<[string, Tensor]>) => {
      const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
      for (const [name, t] of tensors) out.set(name, { shape: t.shape, data: (await t.read()) as Float32Array });
      return out;
    };
    return {
      step: this.executor.step,
      params: await read(this.params),
      optimizer: await read(this.executor.optimizer.stateTensors()),
      state: {
        step: this.executor.step,
        optimizerStep: this.executor.optimizer.step,
        dataPosition: this.train.position(),
      },
    };
  }

  /** Batches of the steps still in flight, for diagnosing a non-finite one. */
  private batches = new Map<number, Batch>();

  /**
   * Names the first non-finite tensor: re-runs the step's forward and backward on the last batch (the
   * update was frozen, so the parameters are those of the failing step) and reads the tape in order.
   */
  private async diagnose(metrics: StepMetrics): Promise<string> {
    const what = !Number.isFinite(metrics.loss) ? `loss is ${metrics.loss}` : `gradient norm is ${metrics.gradNorm}`;
    const prefix = `step ${metrics.step}: ${what}; training stopped, the last checkpoint is kept`;
    const { engine } = this;
    for (const [name, p] of this.params) {
      if (!(await p.read()).every(Number.isFinite)) return `${prefix}; first non-finite tensor: parameter "${name}"`;
    }
    const batch = this.batches.get(metrics.step);
    if (!batch) return prefix;
    const firstNonFinite = async (tensors: [string, Tensor][]) => {
      for (const [label, t] of tensors) if (!(await t.read()).every(Number.isFinite)) return label;
      return null;
    };
    // Build the tape inside a scope that keeps it; read it afterwards; release it by hand.
    const tape = engine.tidy(() => {
      const ids = engine.fromArray(batch.inputs, [batch.batch, batch.seqLen], 'i32');
      const targets = engine.fromArray(batch.targets, [batch.batch, batch.seqLen], 'i32');
      const loss = this.lossFn(this.params, ids, targets);
      backward(loss);
      // Parameters are leaves of the tape; only computed tensors are read here (and released below).
      const computed = tapeOrder(loss).filter((t) => t.node);
      return {
        computed,
        grads: [...this.params].filter(([, p]) => p.grad).map(([name, p]) => [name, p.grad!] as [string, Tensor]),
      };
    });
    const culprit =
      (await firstNonFinite(tape.computed.map((t) => [`output of "${t.node!.op}" ${t.describe()}`, t]))) ??
      (await firstNonFinite(tape.grads.map(([name, g]) => [`gradient of "${name}"`, g])));
    for (const t of tape.computed) t.release();
    for (const p of this.params.values()) {
      p.grad?.release();
      p.grad = null;
    }
    return culprit ? `${prefix}; first non-finite tensor: ${culprit}` : prefix;
  }

  destroy(): void {
    this.executor.destroy();
  }
}
