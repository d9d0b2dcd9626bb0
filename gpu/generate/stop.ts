// Stop sequences on streamed text. Text that could still turn out to be the start of a stop sequence is
// held back until the next token settles it, so a stop sequence never appears in the streamed output (as in
// the OpenAI and TGI APIs: generation ends *before* the stop sequence). Matching is on decoded text, not on
// token ids, so it works whichever way a tokenizer happens to split the stop string.

export class StopMatcher {
  private held = '';

  constructor(readonly stops: readonly string[]) {
    for (const stop of stops) if (stop.length === 0) throw new RangeError('stop sequences must not be empty');
  }

  /** Adds decoded text; returns what may be shown now and whether a stop sequence was completed. */
  push(text: string): { emit: string; stopped: boolean } {
    this.held += text;
    let first = -1;
    for (const stop of this.stops) {
      const at = this.held.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      const emit = this.held.slice(0, first);
      this.held = '';
      return { emit, stopped: true };
    }
    const keep = this.longestStopPrefixSuffix();
    const emit = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return { emit, stopped: false };
  }

  /** The held-back text, when generation ends for another reason. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of the held text that is a proper prefix of some stop sequence. */
  private longestStopPrefixSuffix(): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.held.length); n > best; n--) {
        if (this.held.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
