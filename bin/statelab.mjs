#!/usr/bin/env node
// Entry point of `statelab` / `npx statelab`: runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../main/cli/statelab.ts');
process.exitCode = await main(process.argv.slice(2));
