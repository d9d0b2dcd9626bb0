// The Sweep view's results table sorts numbers numerically and names by name, with missing values last
// in either direction, and never reorders the rows it was given.

import { describe, expect, it } from 'vitest';
import { sortRows } from '../../renderer/src/components/sweep/sort-rows.js';

const rows = [
  { run: 'a', family: 'gla', accuracy: 0.5 },
  { run: 'b', family: 'gla', accuracy: 0.7 },
  { run: 'c', family: 'shortconv', accuracy: 0.9 },
  { run: 'd', family: 'attention', accuracy: 1 },
  { run: 'e', family: 'attention', accuracy: null },
  { run: 'f', family: 'attention', accuracy: Number.NaN },
];

describe('sweep results table sorting', () => {
  it('sorts numbers numerically, keeping missing values last both ways', () => {
    expect(sortRows(rows, 'accuracy', 'asc').map((r) => r.run)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(sortRows(rows, 'accuracy', 'desc').map((r) => r.run)).toEqual(['d', 'c', 'b', 'a', 'e', 'f']);
    expect(rows.map((r) => r.run)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('sorts names alphabetically', () => {
    expect(sortRows(rows, 'family', 'desc').map((r) => r.family)).toEqual([
      'shortconv',
      'gla',
      'gla',
      'attention',
      'attention',
      'attention',
    ]);
  });
});
