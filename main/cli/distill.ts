// `statelab distill` — arriving (issue 9); until then the command says so and exits 1.

import type { CommandIo } from './generate.js';

export const DISTILL_USAGE = `statelab distill …   (not built yet)`;

export async function distillCommand(_argv: string[], io: CommandIo = process): Promise<number> {
  io.stderr.write('statelab distill: not built yet\n');
  return 1;
}
