// Export errors name what was wrong and where: the node (`layers` → `block:block/attn`), the format, and
// what the format does support, so a user knows what to change.

export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportError';
  }
}
