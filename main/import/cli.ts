// `statelab import <folder>`: a Hugging Face model folder becomes a teacher run (Llama and GPT-2; any other
// model_type is refused by name); StateLab's own exports (model_type "statelab") and folders without a
// readable config.json go to the export's import (main/cli/export.ts), which explains what it refuses.

import { resolve } from 'node:path';
import { importCommand } from '../cli/export.js';
import { parseArgs, stringOption } from '../cli/args.js';
import { TeacherImportError } from './errors.js';
import { importTransformer, isTeacherFolder, TEACHER_MODEL_TYPES } from './teacher.js';

export const TEACHER_IMPORT_USAGE = `statelab import <hf-folder> [--runs DIR] [--name NAME]   a Hugging Face ${TEACHER_MODEL_TYPES.join('/')} model
      (config.json + model.safetensors + tokenizer.json) as a teacher run, for distill, generate, eval and inspect`;

export async function importFolderCommand(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv, { values: ['runs', 'name'], flags: ['json'] });
  } catch {
    return importCommand(argv); // it reports the usage error
  }
  const [folder] = args.positionals;
  if (!folder || !isTeacherFolder(resolve(folder))) return importCommand(argv);
  try {
    const dir = resolve(folder);
    const { run, modelType, tokenizer } = importTransformer(
      dir,
      stringOption(args, 'runs', 'runs')!,
      stringOption(args, 'name'),
    );
    if (args.options.has('json')) {
      process.stdout.write(
        `${JSON.stringify({ event: 'imported', run: run.dir, model_type: modelType, tokenizer_problem: tokenizer.problem })}\n`,
      );
    } else {
      process.stdout.write(`imported ${folder} (${modelType}) as run ${run.id} (${run.dir})\n`);
      if (tokenizer.problem)
        process.stderr.write(
          `statelab: warning: the weights imported, but StateLab cannot tokenize: ${tokenizer.problem}\n`,
        );
      else
        process.stdout.write(
          `evaluate it on text with: statelab eval ${run.dir} --data <file> (its tokenizer.json is the default)\n`,
        );
    }
    return 0;
  } catch (error) {
    process.stderr.write(`statelab: ${(error as Error).message}\n`);
    return error instanceof TeacherImportError ? 2 : 1;
  }
}
