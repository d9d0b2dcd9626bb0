// Theme colours for the Inspect charts (read from the CSS variables, so dark mode follows), the training
// length marker every length chart carries, and CSV text from rows.

import { computed } from 'vue';
import { useAppStore } from '../../stores/app';

export const SERIES_COLORS = ['#2f6fdf', '#e67e22', '#27ae60', '#8e44ad', '#c0392b', '#16a085', '#7f8c8d', '#d35400'];

/** Axis colours from the theme, recomputed when the theme changes. */
export function useInk() {
  const app = useAppStore();
  const ink = computed(() => {
    void app.theme;
    const css = getComputedStyle(document.documentElement);
    return { text: css.getPropertyValue('--muted').trim(), line: css.getPropertyValue('--border').trim() };
  });
  const axis = computed(() => ({
    axisLabel: { color: ink.value.text },
    nameTextStyle: { color: ink.value.text },
    axisLine: { lineStyle: { color: ink.value.line } },
    splitLine: { lineStyle: { color: ink.value.line } },
  }));
  return { ink, axis };
}

/** A vertical marker at the training length T (ECharts markLine on an x value), or another trained value. */
export function trainingLengthMarker(T: number, label = `T = ${T}`) {
  return {
    silent: true,
    symbol: 'none',
    lineStyle: { color: '#c0392b', type: 'dashed', width: 1.5 },
    label: { formatter: label, position: 'insideEndTop', color: '#c0392b' },
    data: [{ xAxis: T }],
  };
}

/** Rows of values as CSV (null and undefined as empty cells). */
export function toCsv(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cell = (v: string | number | null | undefined) => {
    if (v === null || v === undefined) return '';
    const text = String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${[header, ...rows].map((r) => r.map(cell).join(',')).join('\n')}\n`;
}
