// The live hub's text test (issue 11 points 5 and 7): which rows contain which of the live groups' q, each message
// folded once (PostgreSQL's lower(), text-match.ts) and scanned once for every q at the same time (multi-match.ts).
import { MultiMatcher } from './multi-match.js';
import type { TextFold } from '../text-match.js';

export class LiveTextIndex {
  /** Groups per distinct folded q. */
  private readonly refs = new Map<string, number>();
  private matcher: MultiMatcher | undefined;
  private slots = new Map<string, number>();

  constructor(readonly text: TextFold) {}

  add(foldedQ: string): void {
    if (foldedQ === '') return;
    const n = this.refs.get(foldedQ) ?? 0;
    this.refs.set(foldedQ, n + 1);
    if (n === 0) this.matcher = undefined;
  }

  remove(foldedQ: string): void {
    const n = this.refs.get(foldedQ);
    if (n === undefined) return;
    if (n > 1) this.refs.set(foldedQ, n - 1);
    else {
      this.refs.delete(foldedQ);
      this.matcher = undefined;
    }
  }

  /**
   * For each message, a test of whether it contains a folded q (one of those added). The automaton is rebuilt at
   * most once per call after the set of q changed (5,000 distinct q of ~10 characters: a few ms).
   */
  scan(messages: readonly string[]): (i: number, foldedQ: string) => boolean {
    if (this.refs.size === 0) return (_i, q) => q === '';
    if (!this.matcher) {
      const patterns = [...this.refs.keys()];
      this.matcher = new MultiMatcher(patterns);
      this.slots = new Map(patterns.map((p, i) => [p, i]));
    }
    const matcher = this.matcher;
    const slots = this.slots;
    const found: (Set<number> | undefined)[] = new Array(messages.length);
    return (i, q) => {
      if (q === '') return true;
      const slot = slots.get(q);
      if (slot === undefined) return this.text.fold(messages[i]!).includes(q);
      return (found[i] ??= matcher.find(this.text.fold(messages[i]!))).has(slot);
    };
  }
}
