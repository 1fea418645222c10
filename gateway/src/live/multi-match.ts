// Every q of the live groups found in one pass over a message (Aho-Corasick), so that the live hub's text matching
// costs the message's length once per fetch, not once per distinct filter (issue 11 point 5: with 5,000 distinct
// `q` filters every new row was lower-cased and searched 5,000 times, and /health took 0.8-1.7 s).
// Strings are compared in UTF-16 code units, as String.prototype.includes does; for well-formed strings that is
// the same as by code point (a well-formed q cannot start or end inside a surrogate pair of the message).

export class MultiMatcher {
  /** Transitions: key node * 65536 + code unit → node. */
  private readonly next = new Map<number, number>();
  private readonly fail: number[] = [0];
  /** Pattern ending at a node (-1: none). */
  private readonly ends: number[] = [-1];
  /** Nearest node on the failure chain that ends a pattern (0: none). */
  private readonly dict: number[] = [0];

  constructor(readonly patterns: readonly string[]) {
    patterns.forEach((p, i) => {
      let node = 0;
      for (let k = 0; k < p.length; k++) {
        const key = node * 65536 + p.charCodeAt(k);
        let to = this.next.get(key);
        if (to === undefined) {
          to = this.fail.length;
          this.fail.push(0);
          this.ends.push(-1);
          this.dict.push(0);
          this.next.set(key, to);
        }
        node = to;
      }
      this.ends[node] = i;
    });
    // Failure links breadth first: children of node n, found by walking the transition map once per level.
    const children: number[][] = Array.from({ length: this.fail.length }, () => []);
    const codes: number[][] = Array.from({ length: this.fail.length }, () => []);
    for (const [key, to] of this.next) {
      const from = Math.floor(key / 65536);
      children[from]!.push(to);
      codes[from]!.push(key % 65536);
    }
    const queue: number[] = [];
    for (const c of children[0]!) queue.push(c);
    for (let head = 0; head < queue.length; head++) {
      const n = queue[head]!;
      const kids = children[n]!;
      for (let j = 0; j < kids.length; j++) {
        const child = kids[j]!;
        const code = codes[n]![j]!;
        let f = this.fail[n]!;
        let to: number | undefined;
        while ((to = this.next.get(f * 65536 + code)) === undefined && f !== 0) f = this.fail[f]!;
        this.fail[child] = to !== undefined && to !== child ? to : 0;
        const fc = this.fail[child]!;
        this.dict[child] = this.ends[fc]! >= 0 ? fc : this.dict[fc]!;
        queue.push(child);
      }
    }
  }

  /** Indexes of the patterns that occur in `text` (each once). */
  find(text: string): Set<number> {
    const found = new Set<number>();
    let node = 0;
    for (let k = 0; k < text.length; k++) {
      const code = text.charCodeAt(k);
      let to: number | undefined;
      while ((to = this.next.get(node * 65536 + code)) === undefined && node !== 0) node = this.fail[node]!;
      node = to ?? 0;
      if (this.ends[node]! >= 0) found.add(this.ends[node]!);
      for (let d = this.dict[node]!; d !== 0; d = this.dict[d]!) found.add(this.ends[d]!);
    }
    return found;
  }
}
