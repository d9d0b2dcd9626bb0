// GPT-2's byte-level alphabet and pre-tokenizer (as in Hugging Face's ByteLevel pre-tokenizer). Every
// byte maps to a printable Unicode character, so any UTF-8 text becomes a string of "byte characters"
// that BPE can merge and tokenizer.json can store; printable ASCII and Latin-1 map to themselves, the
// rest (controls, space, 0x7f–0xa0, 0xad) to U+0100 onwards — hence "Ġ" for a space.

const byteToChar: string[] = [];
const charToByte = new Map<string, number>();
{
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const char = String.fromCodePoint(printable ? b : next++);
    byteToChar.push(char);
    charToByte.set(char, b);
  }
}

export function byteChar(b: number): string {
  return byteToChar[b];
}

/** The byte a byte-level character stands for, or undefined for any other character. */
export function charByte(c: string): number | undefined {
  return charToByte.get(c);
}

const encoder = new TextEncoder();

export function toByteLevel(text: string): string {
  let out = '';
  for (const b of encoder.encode(text)) out += byteToChar[b];
  return out;
}

/**
 * GPT-2's pre-tokenization regex (the ByteLevel pre-tokenizer's with use_regex): contractions, optional
 * space + letters, optional space + digits, optional space + other symbols, whitespace runs that do not
 * precede a word, and remaining whitespace. BPE merges never cross these pieces.
 */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export function gpt2Split(text: string): string[] {
  return text.match(GPT2_PATTERN) ?? [];
}
