// A small SVG writer for the worked examples' figures: line charts (linear or log axes, a dashed marker
// at the training length) and heatmaps (red–yellow–green like Stuffed Mamba's passkey plot, or a
// white–blue ramp for attention). Plain strings, no dependencies; figures.ts turns them into PNG.

export interface Series {
  label: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xLog?: boolean;
  yLog?: boolean;
  /** Vertical dashed markers, e.g. the training length. */
  markers?: { x: number; label: string }[];
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) =>
  Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(0) : `${+v.toPrecision(3)}`;

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
      }
    }
    return out.length >= 2 ? out : [lo, hi];
  }
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 4 || 1));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= 6) ?? step * 10;
  const out: number[] = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-9; v += nice) out.push(+v.toPrecision(10));
  return out;
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 420;
  const m = { left: 70, right: 240, top: 40, bottom: 55 };
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = all.map(([x]) => x).filter((x) => !o.xLog || x > 0);
  const ys = all.map(([, y]) => y).filter((y) => !o.yLog || y > 0);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [o.yMin ?? Math.min(...ys), o.yMax ?? Math.max(...ys)];
  if (x0 === x1) [x0, x1] = [x0 * 0.9 || -1, x1 * 1.1 || 1];
  if (y0 === y1) [y0, y1] = [y0 * 0.9 || -1, y1 * 1.1 || 1];
  if (!o.yLog && o.yMin === undefined) y0 -= (y1 - y0) * 0.05;
  if (!o.yLog && o.yMax === undefined) y1 += (y1 - y0) * 0.05;
  const f = (v: number, lo: number, hi: number, log?: boolean) =>
    log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo);
  const px = (x: number) => m.left + f(x, x0, x1, o.xLog) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - f(Math.min(Math.max(y, y0), y1), y0, y1, o.yLog) * (H - m.top - m.bottom);
  const parts: string[] = [];
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="#fff" stroke="#999"/>`,
  );
  for (const t of ticks(x0, x1, !!o.xLog)) {
    parts.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${m.top}" y2="${H - m.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${px(t)}" y="${H - m.bottom + 16}" font-size="11" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of ticks(y0, y1, !!o.yLog)) {
    parts.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${py(t) + 4}" font-size="11" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const mk of o.markers ?? []) {
    if (mk.x < x0 || mk.x > x1) continue;
    parts.push(
      `<line x1="${px(mk.x)}" x2="${px(mk.x)}" y1="${m.top}" y2="${H - m.bottom}" stroke="#d62728" stroke-dasharray="6 4"/>`,
    );
    parts.push(`<text x="${px(mk.x) + 4}" y="${m.top + 14}" font-size="11" fill="#d62728">${esc(mk.label)}</text>`);
  }
  o.series.forEach((s, i) => {
    const pts = s.points.filter(
      ([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.xLog || x > 0) && (!o.yLog || y > 0),
    );
    if (pts.length) {
      const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join('');
      parts.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      );
      if (pts.length <= 12)
        for (const [x, y] of pts) parts.push(`<circle cx="${px(x)}" cy="${py(y)}" r="3" fill="${s.color}"/>`);
    }
    const ly = m.top + 10 + i * 18;
    parts.push(
      `<line x1="${W - m.right + 10}" x2="${W - m.right + 34}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    parts.push(`<text x="${W - m.right + 40}" y="${ly + 4}" font-size="11">${esc(s.label)}</text>`);
  });
  parts.push(
    `<text x="${W / 2 - m.right / 2 + m.left / 2}" y="22" font-size="14" font-weight="bold" text-anchor="middle">${esc(o.title)}</text>`,
  );
  parts.push(
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" font-size="12" text-anchor="middle">${esc(o.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" font-size="12" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  return svg(W, H, parts);
}

export interface HeatmapOptions {
  title: string;
  /** values[row][col]; NaN shows grey. */
  values: number[][];
  rowLabels: string[];
  colLabels: string[];
  xLabel: string;
  yLabel: string;
  /** Value range of the colour scale (default the data's). */
  range?: [number, number];
  palette?: 'rdylgn' | 'blues';
  cell?: number;
  /** Print the value in each cell (small grids). */
  annotate?: boolean;
}

function color(t: number, palette: 'rdylgn' | 'blues'): string {
  const stops: [number, number, number][] =
    palette === 'rdylgn'
      ? [
          [215, 48, 39],
          [254, 224, 139],
          [26, 152, 80],
        ]
      : [
          [255, 255, 255],
          [107, 174, 214],
          [8, 48, 107],
        ];
  const u = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(u), stops.length - 2);
  const w = u - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * w));
  return `rgb(${c.join(',')})`;
}

export function heatmap(o: HeatmapOptions): string {
  const rows = o.values.length;
  const cols = o.values[0]?.length ?? 0;
  const cell = o.cell ?? Math.max(4, Math.min(44, Math.floor(520 / Math.max(rows, cols))));
  const m = { left: 80, top: 40, right: 90, bottom: 60 };
  const W = m.left + cols * cell + m.right;
  const H = m.top + rows * cell + m.bottom;
  const flat = o.values.flat().filter(Number.isFinite);
  const [lo, hi] = o.range ?? [Math.min(...flat), Math.max(...flat)];
  const palette = o.palette ?? 'rdylgn';
  const parts: string[] = [];
  o.values.forEach((row, r) =>
    row.forEach((v, c) => {
      const fill = Number.isFinite(v) ? color(hi > lo ? (v - lo) / (hi - lo) : 1, palette) : '#ccc';
      parts.push(
        `<rect x="${m.left + c * cell}" y="${m.top + r * cell}" width="${cell}" height="${cell}" fill="${fill}"/>`,
      );
      if (o.annotate && Number.isFinite(v))
        parts.push(
          `<text x="${m.left + c * cell + cell / 2}" y="${m.top + r * cell + cell / 2 + 4}" font-size="10" text-anchor="middle">${fmt(v)}</text>`,
        );
    }),
  );
  // Label every k-th row (12 px apart) and column (28 px apart: labels are wider than tall).
  const every = (space: number) => Math.max(1, Math.ceil(space / cell));
  o.rowLabels.forEach((l, r) => {
    if (r % every(12) === 0)
      parts.push(
        `<text x="${m.left - 6}" y="${m.top + r * cell + cell / 2 + 4}" font-size="10" text-anchor="end">${esc(l)}</text>`,
      );
  });
  o.colLabels.forEach((l, c) => {
    if (c % every(28) === 0)
      parts.push(
        `<text x="${m.left + c * cell + cell / 2}" y="${m.top + rows * cell + 14}" font-size="10" text-anchor="middle">${esc(l)}</text>`,
      );
  });
  // Colour bar.
  for (let i = 0; i < 50; i++)
    parts.push(
      `<rect x="${W - m.right + 20}" y="${m.top + (49 - i) * ((rows * cell) / 50)}" width="14" height="${(rows * cell) / 50 + 0.5}" fill="${color(i / 49, palette)}"/>`,
    );
  parts.push(`<text x="${W - m.right + 38}" y="${m.top + 10}" font-size="10">${fmt(hi)}</text>`);
  parts.push(`<text x="${W - m.right + 38}" y="${m.top + rows * cell}" font-size="10">${fmt(lo)}</text>`);
  parts.push(`<text x="${W / 2}" y="22" font-size="14" font-weight="bold" text-anchor="middle">${esc(o.title)}</text>`);
  parts.push(
    `<text x="${m.left + (cols * cell) / 2}" y="${H - 20}" font-size="12" text-anchor="middle">${esc(o.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${m.top + (rows * cell) / 2}) rotate(-90)" font-size="12" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  return svg(W, H, parts);
}

function svg(W: number, H: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}

/** Side by side (same height assumed). */
export function row(svgs: string[]): string {
  const sizes = svgs.map((s) => /width="(\d+)" height="(\d+)"/.exec(s)!.slice(1).map(Number));
  const W = sizes.reduce((n, [w]) => n + w, 0);
  const H = Math.max(...sizes.map(([, h]) => h));
  let x = 0;
  const inner = svgs.map((s, i) => {
    const g = `<g transform="translate(${x} 0)">${s.replace(/^<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '')}</g>`;
    x += sizes[i][0];
    return g;
  });
  return svg(W, H, inner);
}
