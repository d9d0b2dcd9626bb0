// Learning-rate schedules, evaluated on the CPU each step (the value travels as a uniform).

export type Schedule =
  | { kind: 'constant' }
  /** Linear warm-up from 0 to the peak, then cosine decay to `minRatio`·peak at `totalSteps`. */
  | { kind: 'cosine'; warmupSteps: number; totalSteps: number; minRatio?: number };

export function learningRate(schedule: Schedule, peak: number, step: number): number {
  if (schedule.kind === 'constant') return peak;
  const { warmupSteps, totalSteps } = schedule;
  const minRatio = schedule.minRatio ?? 0.1;
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  if (step >= totalSteps) return peak * minRatio;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export function validateSchedule(schedule: Schedule): void {
  if (schedule.kind === 'constant') return;
  if (!(schedule.warmupSteps >= 0) || !(schedule.totalSteps > 0) || schedule.warmupSteps > schedule.totalSteps) {
    throw new RangeError(
      `schedule: warmupSteps (${schedule.warmupSteps}) must be between 0 and totalSteps (${schedule.totalSteps})`,
    );
  }
  const minRatio = schedule.minRatio ?? 0.1;
  if (!(minRatio >= 0 && minRatio <= 1)) throw new RangeError(`schedule: minRatio ${minRatio} must be in [0, 1]`);
}
