// Testing aids for the page, present only when it is opened with `?debug` in the URL (the UI tests do;
// the desktop app never does): `window.statelabDebug.loseDevice()` makes the training Worker behave as if
// the GPU device were lost, to exercise what the user sees then.

import { useTrainingStore } from './stores/training';

declare global {
  interface Window {
    statelabDebug?: { loseDevice(): void };
  }
}

export function installDebugHooks(): void {
  if (!new URLSearchParams(location.search).has('debug')) return;
  const training = useTrainingStore();
  window.statelabDebug = { loseDevice: () => training.simulateDeviceLoss() };
}
