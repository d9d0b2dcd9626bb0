// `statelab sweep` — arriving (issue 14); until then the command says so and exits 1.

import type { CommandIo } from './generate.js';

export const SWEEP_USAGE = `statelab sweep …   (not built yet)`;

export async function sweepCommand(_argv: string[], io: CommandIo = process): Promise<number> {
  io.stderr.write('statelab sweep: not built yet\n');
  return 1;
}
