// Sorting the Sweep view's results table (one row per run). The mean and spread over seeds, the chart's
// series and the CSV come from the host's sweep service, so the app shows what `statelab sweep` writes.

/** A results table cell: numbers sort and aggregate; strings (family, status) group; null is missing. */
export type Cell = number | string | boolean | null;
export type ResultRow = Record<string, Cell>;

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
