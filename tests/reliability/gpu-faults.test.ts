// GPU faults during a run. A lost device (injected by destroying the device and marking it lost, as a
// driver reset does) and an out-of-memory error (injected as the error the device reports) pause the run:
// run.json says "stopped" with what happened and how to continue, the last checkpoint is intact, and
// `resume` on a newly acquired device finishes the run with one metrics row per step.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceLostError } from '../../gpu/device.js';
import type { Engine } from '../../gpu/engine.js';
import type { Trainer } from '../../gpu/train/trainer.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { GpuFaultError, resumeRun, trainRun } from '../../main/host/train-run.js';
import { tinyRequest } from './tiny-run.js';

const root = mkdtempSync(join(tmpdir(), 'statelab-gpu-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const engineOf = (trainer: Trainer) => (trainer as unknown as { engine: Engine }).engine;

async function faultAtStep(name: string, step: number, inject: (engine: Engine) => void) {
  const runsDir = join(root, name);
  let trainer: Trainer | null = null;
  let injected = false;
  const error = await trainRun(tinyRequest(runsDir, { name }), {
    onTrainer: (t) => (trainer = t),
    onMetrics: (row) => {
      if (row.step === step && !injected) {
        injected = true;
        inject(engineOf(trainer!));
      }
    },
  }).then(
    () => null,
    (e: unknown) => e,
  );
  const [run] = new RunStore(runsDir).list();
  return { error, run, runsDir };
}

async function resumesToTheEnd(runDir: string, runsDir: string) {
  const { run, outcome } = await resumeRun(runDir, runsDir, {});
  expect(outcome.status).toBe('completed');
  expect(run.metrics().map((r) => r.step)).toEqual([...Array(12).keys()]);
  expect(run.checkpointSteps()).toEqual([3, 6, 9, 12]);
  expect(run.info().status).toBe('completed');
}

describe('GPU faults pause the run with the last checkpoint intact', () => {
  it('device lost at step 7: paused with checkpoint 6 intact, resumed on a new device', async () => {
    const { error, run, runsDir } = await faultAtStep('lost', 7, (engine) => {
      engine.ctx.device.destroy();
      engine.ctx.lost = new DeviceLostError('unknown', 'injected driver reset');
    });
    expect(error).toBeInstanceOf(GpuFaultError);
    const message = (error as Error).message;
    expect(message).toMatch(/The GPU device was lost \(unknown\): injected driver reset/);
    expect(message).toMatch(/last checkpoint \(step 6\) is intact/);
    expect(message).toContain(`statelab resume ${run.id}`);
    expect((error as GpuFaultError).lastCheckpoint).toBe(6);
    expect(run.info()).toMatchObject({ status: 'stopped', message });
    expect(run.checkpointSteps()).toEqual([3, 6]);
    expect(run.loadCheckpoint(6).state.step).toBe(6);
    console.log(`device lost: ${message}`);
    await resumesToTheEnd(run.dir, runsDir);
  });

  it('out of memory at step 4: paused with checkpoint 3 intact, resumed', async () => {
    const { error, run, runsDir } = await faultAtStep('oom', 4, (engine) => {
      engine.reportGpuError(new Error('WebGPU error: Out of memory: allocation of 268435456 bytes failed (injected)'));
    });
    expect(error).toBeInstanceOf(GpuFaultError);
    const message = (error as Error).message;
    expect(message).toMatch(/the GPU ran out of memory \(WebGPU error: Out of memory/);
    expect(message).toMatch(/last checkpoint \(step 3\) is intact/);
    expect(run.info().status).toBe('stopped');
    expect(run.loadCheckpoint().step).toBe(3);
    console.log(`out of memory: ${message}`);
    await resumesToTheEnd(run.dir, runsDir);
  });

  it('any other failure is recorded as failed with its message, not as a pause', async () => {
    const { error, run } = await faultAtStep('other', 2, (engine) => {
      engine.reportGpuError(new Error('WebGPU error: kernel broken_kernel is invalid (injected)'));
    });
    expect(error).not.toBeInstanceOf(GpuFaultError);
    expect(run.info()).toMatchObject({ status: 'failed', message: expect.stringMatching(/broken_kernel/) });
  });
});

const poison = (trainer: Trainer) => {
  const params = (trainer as unknown as { params: Map<string, { size: number }> }).params;
  const [name, tensor] = [...params][0];
  engineOf(trainer).write(tensor as never, new Float32Array(tensor.size).fill(NaN));
  return name;
};

async function nanRun(name: string, onNonFinite: 'stop' | 'rollback', poisonWhen: (step: number) => boolean) {
  const runsDir = join(root, name);
  const logs: string[] = [];
  let trainer: Trainer | null = null;
  let poisoned = 0;
  const { run, outcome } = await trainRun(tinyRequest(runsDir, { name, onNonFinite }), {
    onTrainer: (t) => (trainer = t),
    onLog: (m) => logs.push(m),
    onMetrics: (row) => {
      if (poisonWhen(row.step)) {
        poison(trainer!);
        poisoned++;
      }
    },
  });
  return { run, outcome, logs, poisoned, runsDir };
}

describe('NaN/Inf: stop or roll back, as configured', () => {
  it('stop (the default): the run ends as non-finite naming the tensor; checkpoint 6 is finite and resumes', async () => {
    let once = false;
    const { run, outcome, runsDir } = await nanRun('nan-stop', 'stop', (step) => step === 7 && !once && (once = true));
    expect(outcome.status).toBe('non-finite');
    const message = (outcome as { message: string }).message;
    expect(message).toMatch(
      // Caught by the loss of the next step or, when that step was already queued, by the checkpoint guard.
      /(loss is NaN|parameter "[^"]+" is non-finite).*training stopped, the last checkpoint is kept/,
    );
    expect(run.info()).toMatchObject({ status: 'non-finite', message });
    const checkpoint = run.loadCheckpoint();
    expect(checkpoint.step).toBe(6);
    for (const { data } of checkpoint.params.values()) expect(data.every(Number.isFinite)).toBe(true);
    await resumesToTheEnd(run.dir, runsDir);
  });

  it('rollback: back to checkpoint 6, the batches since skipped, the run completes with one row per step', async () => {
    let once = false;
    const { run, outcome, logs } = await nanRun(
      'nan-rollback',
      'rollback',
      (step) => step === 7 && !once && (once = true),
    );
    expect(outcome.status).toBe('completed');
    expect(logs.join('\n')).toMatch(
      /(NaN|non-finite).*; rolled back to the checkpoint at step 6 \(rollback 1 of 3\), skipping the batches since/,
    );
    const rows = run.metrics();
    expect(rows.map((r) => r.step)).toEqual([...Array(12).keys()]);
    expect(rows.every((r) => Number.isFinite(r.loss))).toBe(true);
    expect(run.info()).toMatchObject({ status: 'completed', train: { onNonFinite: 'rollback' } });
    console.log(`NaN rollback: ${logs.find((l) => l.includes('rolled back'))}`);
  });

  it('rollback gives up after 3 rollbacks when the divergence keeps coming back', async () => {
    const { run, outcome, logs, poisoned } = await nanRun('nan-persistent', 'rollback', (step) => step >= 4);
    expect(outcome.status).toBe('non-finite');
    expect((outcome as { message: string }).message).toMatch(/\(after 3 rollbacks, the limit\)$/);
    expect(logs.filter((l) => l.includes('rolled back'))).toHaveLength(3);
    expect(poisoned).toBeGreaterThanOrEqual(4);
    expect(run.loadCheckpoint().step).toBe(3);
    expect(run.metrics().every((r) => Number.isFinite(r.loss))).toBe(true);
  });
});
