// The Sweep view's arithmetic: mean and spread over seeds per family and axis value, sorting with missing
// values last, and CSV that round-trips awkward text.

import { describe, expect, it } from 'vitest';
import { aggregate, numericColumns, rowsCsv, sortRows } from '../../renderer/src/components/sweep/sweep-stats.js';

const rows = [
  { run: 'a', family: 'gla', d_model: 64, seed: 1, accuracy: 0.5 },
  { run: 'b', family: 'gla', d_model: 64, seed: 2, accuracy: 0.7 },
  { run: 'c', family: 'gla', d_model: 128, seed: 1, accuracy: 0.9 },
  { run: 'd', family: 'attention', d_model: 64, seed: 1, accuracy: 1 },
  { run: 'e', family: 'attention', d_model: 128, seed: 1, accuracy: null },
  { run: 'f', family: 'attention', d_model: 32, seed: 1, accuracy: Number.NaN },
];

describe('sweep results arithmetic', () => {
  it('averages a metric over seeds per family and axis value, with the sample standard deviation', () => {
    const series = aggregate(rows, 'd_model', 'accuracy', 'family');
    expect(series.map((s) => s.group)).toEqual(['attention', 'gla']);
    const [attention, gla] = series;
    expect(attention.points).toEqual([{ x: 64, mean: 1, std: 0, min: 1, max: 1, n: 1 }]); // null and NaN skipped
    expect(gla.points.map((p) => p.x)).toEqual([64, 128]);
    expect(gla.points[0].mean).toBeCloseTo(0.6, 12);
    expect(gla.points[0].std).toBeCloseTo(Math.sqrt(0.02), 12); // (0.1² + 0.1²) / (2 − 1)
    expect([gla.points[0].min, gla.points[0].max, gla.points[0].n]).toEqual([0.5, 0.7, 2]);
  });

  it('sorts numbers numerically and strings by name, keeping missing values last both ways', () => {
    expect(sortRows(rows, 'accuracy', 'asc').map((r) => r.run)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(sortRows(rows, 'accuracy', 'desc').map((r) => r.run)).toEqual(['d', 'c', 'b', 'a', 'e', 'f']);
    expect(sortRows(rows, 'family', 'asc').map((r) => r.family)).toEqual([
      'attention',
      'attention',
      'attention',
      'gla',
      'gla',
      'gla',
    ]);
    expect(rows.map((r) => r.run)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']); // the input is not reordered
  });

  it('writes RFC 4180 CSV and finds the numeric columns', () => {
    const csv = rowsCsv(
      ['run', 'note', 'x'],
      [
        { run: 'a', note: 'said "hi", then\nleft', x: 1.5 },
        { run: 'b', x: null },
      ],
    );
    expect(csv).toBe('run,note,x\na,"said ""hi"", then\nleft",1.5\nb,,\n');
    expect(numericColumns(['run', 'family', 'd_model', 'accuracy'], rows)).toEqual(['d_model', 'accuracy']);
  });
});
