// Curves for the training charts: smoothing as TensorBoard does it (an exponential moving average with
// debiasing, so the start is not pulled towards zero — tensorboard PR #639), and the metric table as CSV.

import type { RunMetricsRow } from '../../../shared/lab-api';

export type Point = [number, number];

/** Debiased EMA; `weight` 0 returns the points unchanged, 0.99 is very smooth. */
export function smooth(points: Point[], weight: number): Point[] {
  if (weight <= 0) return points;
  let last = 0;
  let debias = 0;
  return points.map(([x, y]) => {
    last = last * weight + (1 - weight) * y;
    debias = debias * weight + (1 - weight);
    return [x, last / debias];
  });
}

/** One metric as [step, value] pairs, skipping rows without it (val_loss is only on evaluation steps). */
export function metricPoints(rows: RunMetricsRow[], key: keyof RunMetricsRow, scale = 1): Point[] {
  const out: Point[] = [];
  for (const row of rows) {
    const v = row[key];
    if (typeof v === 'number' && Number.isFinite(v)) out.push([row.step + 1, v * scale]);
  }
  return out;
}

export const CSV_COLUMNS: (keyof RunMetricsRow)[] = [
  'step',
  'loss',
  'val_loss',
  'lr',
  'grad_norm',
  'tokens_per_s',
  'memory_bytes',
  'encode_ms',
];

export function metricsCsv(rows: RunMetricsRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) lines.push(CSV_COLUMNS.map((c) => (row[c] === undefined ? '' : String(row[c]))).join(','));
  return `${lines.join('\n')}\n`;
}

/** Offers bytes or text as a file download (the browser's download; Electron saves it to Downloads). */
export function download(name: string, data: BlobPart, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
