// Public API of the teacher import (issue 9): Hugging Face Llama / GPT-2 folders → StateLab runs.
export { importTransformer, readTransformer, isTeacherFolder, TEACHER_MODEL_TYPES } from './teacher.js';
export type { ImportedTeacher, ReadTeacher } from './teacher.js';
export type { Teacher } from './architecture.js';
export { TeacherImportError } from './errors.js';
export type { TeacherTokenizerReport } from './tokenizer.js';
