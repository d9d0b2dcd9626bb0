// A small, strict argument parser: `--name value`, `--flag`, positionals. Unknown options are errors
// (a typo must not silently fall back to a default).

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: string[], known: { values: string[]; flags: string[] }): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split('=', 2);
    if (known.flags.includes(name)) options.set(name, true);
    else if (known.values.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      options.set(name, value);
    } else throw new UsageError(`unknown option --${name}`);
  }
  return { positionals, options };
}

export class UsageError extends Error {}

export function numberOption(
  args: ParsedArgs,
  name: string,
  fallback: number,
  { integer = false, min = -Infinity } = {},
): number {
  const raw = args.options.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw === true || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
    throw new UsageError(
      `--${name} must be ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''} (got ${String(raw)})`,
    );
  }
  return value;
}

export function stringOption(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const raw = args.options.get(name);
  return raw === undefined || raw === true ? fallback : raw;
}
