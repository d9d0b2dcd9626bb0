// A small terminal chart of a loss curve (rows of block characters), for the headless demo and CLI.

export function lossChart(values: number[], width = 60, height = 10): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '(no finite loss values)';
  const columns = Math.min(width, values.length);
  const buckets: number[] = [];
  for (let c = 0; c < columns; c++) {
    const from = Math.floor((c * values.length) / columns);
    const to = Math.max(from + 1, Math.floor(((c + 1) * values.length) / columns));
    const slice = values.slice(from, to).filter(Number.isFinite);
    buckets.push(slice.reduce((a, b) => a + b, 0) / Math.max(1, slice.length));
  }
  const hi = Math.max(...finite);
  const lo = Math.min(...finite);
  const span = hi - lo || 1;
  const rows: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    const level = lo + (span * (r + 0.5)) / height;
    const label = r === height - 1 ? hi.toFixed(3) : r === 0 ? lo.toFixed(3) : '';
    rows.push(`${label.padStart(8)} │${buckets.map((v) => (v >= level ? '█' : ' ')).join('')}`);
  }
  rows.push(`${''.padStart(8)} └${'─'.repeat(columns)} step →`);
  return rows.join('\n');
}
