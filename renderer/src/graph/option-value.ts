// Turning what a user typed into a parameter value of the right type, with the range checks of the
// kind's OptionSpec — the same rules the validator applies (resolveParams), checked before committing.

import type { OptionSpec } from '../../../shared/graph/catalogue';
import type { ParamValue } from '../../../shared/graph/schema';

export function parseOption(spec: OptionSpec, text: string): { value: ParamValue } | { error: string } {
  if (spec.type === 'bool') return { value: text === 'true' };
  if (spec.type === 'enum') {
    return spec.choices?.includes(text) ? { value: text } : { error: `must be one of ${spec.choices?.join(', ')}` };
  }
  if (spec.type === 'string') return text ? { value: text } : { error: 'must not be empty' };
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (!trimmed || !Number.isFinite(value)) return { error: 'must be a number' };
  if (spec.type === 'int' && !Number.isInteger(value)) return { error: 'must be a whole number' };
  if (spec.min !== undefined && value < spec.min) return { error: `must be at least ${spec.min}` };
  if (spec.max !== undefined && value > spec.max) return { error: `must be at most ${spec.max}` };
  return { value };
}

export function formatOption(value: ParamValue | undefined, spec: OptionSpec): string {
  return String(value ?? spec.default);
}
