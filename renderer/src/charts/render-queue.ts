// Live charts redraw one per animation frame, each at most a few times a second: a run's metrics arrive
// ten times a second, and redrawing every chart in the same task would hold the UI thread for longer than
// a frame on a slow machine (measured: 60–140 ms tasks with five charts on a loaded 2-core CPU).

interface Entry {
  draw: () => void;
  /** The least time between two draws of this chart. */
  interval: number;
}

const pending = new Map<symbol, Entry>();
const lastDrawn = new Map<symbol, number>();
let scheduled = false;

function pump(): void {
  scheduled = false;
  const now = performance.now();
  for (const [key, entry] of pending) {
    if (now - (lastDrawn.get(key) ?? 0) < entry.interval) continue;
    pending.delete(key);
    lastDrawn.set(key, now);
    entry.draw();
    break; // one chart per frame
  }
  if (pending.size) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(pump);
}

/**
 * Asks for `draw` to run soon, but not sooner than `interval` ms after this chart's last draw; repeated
 * requests for the same key before it runs collapse into one.
 */
export function requestDraw(key: symbol, draw: () => void, interval = 300): void {
  pending.set(key, { draw, interval });
  schedule();
}

export function forgetChart(key: symbol): void {
  pending.delete(key);
  lastDrawn.delete(key);
}
