// The training progress line: steps, loss, tokens/s and ETA, redrawn in place on a terminal.

export function progressLine(
  step: number,
  total: number,
  loss: number,
  tokensPerSec: number,
  elapsedS: number,
): string {
  const width = 24;
  const filled = Math.round((width * step) / Math.max(1, total));
  const eta = step > 0 ? (elapsedS * (total - step)) / step : 0;
  const tps =
    tokensPerSec >= 1e6
      ? `${(tokensPerSec / 1e6).toFixed(2)}M`
      : tokensPerSec >= 1e3
        ? `${(tokensPerSec / 1e3).toFixed(1)}k`
        : tokensPerSec.toFixed(0);
  return `step ${String(step).padStart(String(total).length)}/${total} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] loss ${loss.toFixed(4)} · ${tps} tok/s · ETA ${formatDuration(eta)}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
