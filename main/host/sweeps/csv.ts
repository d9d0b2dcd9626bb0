// The results table as CSV (RFC 4180 quoting): one line per grid point, axis values as their own columns,
// numbers at full precision so the file agrees with the run folders exactly.

import type { SweepResults, SweepRow } from './results.js';

const FIXED = [
  'params',
  'state_bytes',
  'status',
  'outcome',
  'steps',
  'train_loss',
  'val_loss',
  'mqar_accuracy',
  'metric',
  'best',
  'seconds',
  'run',
] as const;

export function resultsCsv(results: SweepResults): string {
  const header = ['id', 'family', ...results.axes, 'seed', ...FIXED];
  const lines = [header.map(cell).join(',')];
  for (const row of results.rows) lines.push(rowCells(row, results.axes).map(cell).join(','));
  return `${lines.join('\n')}\n`;
}

function rowCells(row: SweepRow, axes: string[]): unknown[] {
  return [
    row.id,
    row.family,
    ...axes.map((a) => row.axes[a]),
    row.seed,
    row.params,
    row.stateBytes,
    row.status,
    row.outcome,
    row.steps,
    row.trainLoss,
    row.valLoss,
    row.accuracy,
    row.metric,
    row.best,
    row.seconds,
    row.run,
  ];
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Parses this module's CSV back into records (quoted cells included); used by tests and the chart script. */
export function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let row: string[] = [];
  let value = '';
  let quoted = false;
  const endCell = () => {
    row.push(value);
    value = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        value += '"';
        i++;
      } else if (c === '"') quoted = false;
      else value += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') endCell();
    else if (c === '\n') {
      endCell();
      records.push(row);
      row = [];
    } else if (c !== '\r') value += c;
  }
  if (value || row.length) {
    endCell();
    records.push(row);
  }
  const [header, ...body] = records;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}
