// Turns the text-processing sections of a tokenizer.json (normalizer, pre_tokenizer, decoder) into
// functions. Supported: what GPT-2-style byte-level BPE and our own tokenizers use — Unicode and
// lowercase normalizers, ByteLevel / Split / Sequence pre-tokenizers, ByteLevel / Fuse decoders. Any other
// component is refused by name rather than approximated, so a loaded tokenizer never silently encodes
// differently from Hugging Face's.

import { charByte, GPT2_PATTERN, toByteLevel } from './byte-level.js';
import { decodeUtf8Lossy, TokenizerError } from './tokenizer.js';

type Json = Record<string, unknown>;
type Step = (pieces: string[]) => string[];

export interface TextPipeline {
  normalize(text: string): string;
  /** Pieces that BPE merges never cross, already in the model's alphabet (byte characters for ByteLevel). */
  preTokenize(text: string): string[];
  /** Joins token strings (special tokens' content included) back into text. */
  decode(tokens: string[]): string;
}

export function compilePipeline(json: Json, source: string): TextPipeline {
  const normalize = compileNormalizer(json.normalizer, source);
  const steps = compilePreTokenizer(json.pre_tokenizer, source);
  const decode = compileDecoder(json.decoder, source);
  return {
    normalize,
    preTokenize: (text) => steps.reduce((pieces, step) => step(pieces), [text]).filter((p) => p !== ''),
    decode,
  };
}

function typeOf(section: unknown, what: string, source: string): string {
  const type = (section as Json)?.type;
  if (typeof section !== 'object' || typeof type !== 'string')
    throw new TokenizerError(source, `${what} has no "type" (got ${JSON.stringify(section)})`);
  return type;
}

function compileNormalizer(section: unknown, source: string): (text: string) => string {
  if (section === null || section === undefined) return (t) => t;
  const type = typeOf(section, 'normalizer', source);
  switch (type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (t) => t.normalize(type);
    case 'Lowercase':
      return (t) => t.toLowerCase();
    case 'Sequence': {
      const parts = ((section as Json).normalizers as unknown[]) ?? [];
      const fns = parts.map((p) => compileNormalizer(p, source));
      return (t) => fns.reduce((s, f) => f(s), t);
    }
    default:
      throw new TokenizerError(
        source,
        `normalizer "${type}" is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Sequence)`,
      );
  }
}

function compilePreTokenizer(section: unknown, source: string): Step[] {
  if (section === null || section === undefined) return [];
  const json = section as Json;
  const type = typeOf(section, 'pre_tokenizer', source);
  switch (type) {
    case 'Sequence':
      return ((json.pretokenizers as unknown[]) ?? []).flatMap((p) => compilePreTokenizer(p, source));
    case 'ByteLevel': {
      const addPrefixSpace = json.add_prefix_space === true;
      const useRegex = json.use_regex !== false;
      return [
        (pieces) =>
          pieces.flatMap((piece) => {
            const text = addPrefixSpace && !piece.startsWith(' ') ? ' ' + piece : piece;
            return (useRegex ? (text.match(GPT2_PATTERN) ?? []) : [text]).map(toByteLevel);
          }),
      ];
    }
    case 'Split':
      return [compileSplit(json, source)];
    default:
      throw new TokenizerError(
        source,
        `pre_tokenizer "${type}" is not supported (supported: ByteLevel, Split, Sequence, or none)`,
      );
  }
}

function compileSplit(json: Json, source: string): Step {
  if (json.invert === true) throw new TokenizerError(source, 'pre_tokenizer Split with invert: true is not supported');
  const pattern = json.pattern as { Regex?: string; String?: string } | undefined;
  let regex: RegExp;
  if (typeof pattern?.String === 'string') {
    regex = new RegExp(pattern.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
  } else if (typeof pattern?.Regex === 'string') {
    try {
      regex = new RegExp(pattern.Regex, 'gu');
    } catch (error) {
      throw new TokenizerError(
        source,
        `pre_tokenizer Split regex ${JSON.stringify(pattern.Regex)} cannot be compiled in JavaScript (${(error as Error).message})`,
      );
    }
  } else {
    throw new TokenizerError(source, `pre_tokenizer Split has no pattern.Regex or pattern.String`);
  }
  const behavior = json.behavior;
  const behaviors = ['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext'];
  if (typeof behavior !== 'string' || !behaviors.includes(behavior))
    throw new TokenizerError(
      source,
      `pre_tokenizer Split behavior ${JSON.stringify(behavior)} is not supported (supported: ${behaviors.join(', ')})`,
    );
  return (pieces) => pieces.flatMap((piece) => splitPiece(piece, regex, behavior));
}

function splitPiece(text: string, regex: RegExp, behavior: string): string[] {
  const segments: { text: string; match: boolean }[] = [];
  let last = 0;
  for (const m of text.matchAll(regex)) {
    if (m[0] === '') continue;
    if (m.index > last) segments.push({ text: text.slice(last, m.index), match: false });
    segments.push({ text: m[0], match: true });
    last = m.index + m[0].length;
  }
  if (last < text.length) segments.push({ text: text.slice(last), match: false });
  if (behavior === 'Isolated') return segments.map((s) => s.text);
  if (behavior === 'Removed') return segments.filter((s) => !s.match).map((s) => s.text);
  // Merged*: a match glues onto the neighbouring non-match; a match next to another match stays alone
  // (the folds in HF's SplitDelimiterBehavior).
  const forward = behavior === 'MergedWithPrevious';
  const ordered = forward ? segments : [...segments].reverse();
  const out: string[] = [];
  let previousMatch = false;
  for (const s of ordered) {
    if (s.match && !previousMatch && out.length)
      out[out.length - 1] = forward ? out[out.length - 1] + s.text : s.text + out[out.length - 1];
    else out.push(s.text);
    previousMatch = s.match;
  }
  return forward ? out : out.reverse();
}

function compileDecoder(section: unknown, source: string): (tokens: string[]) => string {
  // Hugging Face joins tokens with spaces when there is no decoder.
  if (section === null || section === undefined) return (tokens) => tokens.join(' ');
  const type = typeOf(section, 'decoder', source);
  if (type === 'Fuse') return (tokens) => tokens.join('');
  if (type === 'ByteLevel') return decodeByteLevel;
  throw new TokenizerError(source, `decoder "${type}" is not supported (supported: ByteLevel, Fuse, or none)`);
}

function decodeByteLevel(tokens: string[]): string {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (const token of tokens) {
    const mapped = Array.from(token, charByte);
    // Like HF: a token with characters outside the byte alphabet (a special token) contributes its own UTF-8.
    if (mapped.every((b) => b !== undefined)) bytes.push(...(mapped as number[]));
    else bytes.push(...encoder.encode(token));
  }
  return decodeUtf8Lossy(Uint8Array.from(bytes));
}
