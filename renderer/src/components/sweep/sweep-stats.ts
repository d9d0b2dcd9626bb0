// What the Sweep view computes from a results table (one row per run): the mean and spread of a metric
// over seeds, per group (the layer family) and per value of an axis — the figure the papers draw
// (Zoology's MQAR accuracy against width per mixer) — plus sorting and CSV of the table itself.

/** A results table cell: numbers sort and aggregate; strings (family, status) group; null is missing. */
export type Cell = number | string | boolean | null;
export type ResultRow = Record<string, Cell>;

export interface AggregatePoint {
  x: number;
  mean: number;
  /** Sample standard deviation over the runs at this x (0 for a single run). */
  std: number;
  min: number;
  max: number;
  /** How many runs (seeds) contributed. */
  n: number;
}

export interface AggregateSeries {
  group: string;
  points: AggregatePoint[];
}

/**
 * Groups rows by `groupKey`, then by the numeric value of `xKey`, and summarizes `metric` over what is
 * left (the seeds). Rows without a finite x or metric are skipped; groups and points come out sorted.
 */
export function aggregate(rows: ResultRow[], xKey: string, metric: string, groupKey: string): AggregateSeries[] {
  const groups = new Map<string, Map<number, number[]>>();
  for (const row of rows) {
    const x = row[xKey];
    const y = row[metric];
    if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) continue;
    const group = String(row[groupKey] ?? '—');
    const byX = groups.get(group) ?? new Map<number, number[]>();
    groups.set(group, byX);
    byX.set(x, [...(byX.get(x) ?? []), y]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, byX]) => ({
      group,
      points: [...byX.entries()].sort(([a], [b]) => a - b).map(([x, ys]) => summarize(x, ys)),
    }));
}

function summarize(x: number, ys: number[]): AggregatePoint {
  const n = ys.length;
  const mean = ys.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? ys.reduce((a, y) => a + (y - mean) ** 2, 0) / (n - 1) : 0;
  return { x, mean, std: Math.sqrt(variance), min: Math.min(...ys), max: Math.max(...ys), n };
}

/** Sorts a copy: numbers numerically, strings by locale, missing values last whatever the direction. */
export function sortRows(rows: ResultRow[], key: string, direction: 'asc' | 'desc'): ResultRow[] {
  const sign = direction === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    const missingX = x === null || x === undefined || (typeof x === 'number' && Number.isNaN(x));
    const missingY = y === null || y === undefined || (typeof y === 'number' && Number.isNaN(y));
    if (missingX || missingY) return missingX === missingY ? 0 : missingX ? 1 : -1;
    if (typeof x === 'number' && typeof y === 'number') return sign * (x - y);
    return sign * String(x).localeCompare(String(y));
  });
}

/** RFC 4180 CSV: fields with a comma, quote or newline are quoted, quotes doubled; missing is empty. */
export function rowsCsv(columns: string[], rows: ResultRow[]): string {
  const field = (v: Cell | undefined): string => {
    if (v === null || v === undefined) return '';
    const text = String(v);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return `${[columns.map(field), ...rows.map((r) => columns.map((c) => field(r[c])))].map((l) => l.join(',')).join('\n')}\n`;
}

/** Columns whose values are numbers in at least one row: the axes and metrics a chart can use. */
export function numericColumns(columns: string[], rows: ResultRow[]): string[] {
  return columns.filter((c) => rows.some((r) => typeof r[c] === 'number'));
}
