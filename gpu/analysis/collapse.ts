// The state-collapse detector (Stuffed Mamba, evals.md §1): a head "collapses" when a statistic of its
// state leaves, past the training length, the range it kept inside the training length — growing without
// bound (exploding: the model never learned to forget) or dying out (vanishing). The in-distribution band
// is the statistic's range over the second half of the training length; a head is flagged at the first
// position past T where it is `ratio` times above the band's top (or below its bottom), or not finite.
// `onset` walks back from there to the last position still inside the band: where the departure began.

export type CollapseStatus = 'stable' | 'exploding' | 'vanishing';

export interface CollapseFinding {
  status: CollapseStatus;
  /** First position (tokens absorbed) past T where the threshold is crossed; null when stable. */
  flaggedAt: number | null;
  /** Last position before `flaggedAt` still inside the in-distribution band (T when none is). */
  onset: number | null;
  /** The band [low, high] over (T/2, T]. */
  band: [number, number];
  /** Last value / band top (exploding) — a summary of how far it went. */
  growth: number;
}

export interface CollapseOptions {
  /** How far outside the band counts as collapse (default 4×). */
  ratio?: number;
}

/** positions: increasing token counts at which `values` (e.g. a head's state RMS) were taken. */
export function detectCollapse(
  positions: readonly number[],
  values: readonly number[],
  trainLength: number,
  { ratio = 4 }: CollapseOptions = {},
): CollapseFinding {
  if (positions.length !== values.length) throw new RangeError('collapse: positions and values differ in length');
  if (!(ratio > 1)) throw new RangeError(`collapse: ratio ${ratio} must be above 1`);
  let inBand = positions
    .map((p, i) => [p, values[i]] as const)
    .filter(([p]) => p > trainLength / 2 && p <= trainLength);
  if (inBand.length === 0) inBand = positions.map((p, i) => [p, values[i]] as const).filter(([p]) => p <= trainLength);
  if (inBand.length === 0)
    throw new RangeError(`collapse: no state sample at or before the training length ${trainLength}`);
  const finite = inBand.map(([, v]) => v).filter(Number.isFinite);
  const low = finite.length ? Math.min(...finite) : NaN;
  const high = finite.length ? Math.max(...finite) : NaN;
  const last = values[values.length - 1];
  const growth = high > 0 ? last / high : Number.isFinite(last) ? 1 : Infinity;
  for (let i = 0; i < positions.length; i++) {
    if (positions[i] <= trainLength) continue;
    const v = values[i];
    const exploding = !Number.isFinite(v) || !Number.isFinite(high) || v > high * ratio;
    const vanishing = !exploding && v < low / ratio;
    if (!exploding && !vanishing) continue;
    let onset = trainLength;
    for (let j = i - 1; j >= 0 && positions[j] > trainLength; j--)
      if (values[j] >= low && values[j] <= high) {
        onset = positions[j];
        break;
      }
    return { status: exploding ? 'exploding' : 'vanishing', flaggedAt: positions[i], onset, band: [low, high], growth };
  }
  return { status: 'stable', flaggedAt: null, onset: null, band: [low, high], growth };
}
