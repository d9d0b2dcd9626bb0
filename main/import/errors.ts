// Errors of the teacher import: each message starts with the file it is about (config.json,
// model.safetensors, tokenizer.json) and names the field or tensor at fault.

export class TeacherImportError extends Error {
  override name = 'TeacherImportError';
}
