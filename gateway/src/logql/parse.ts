// LogQL text → AST (ast.ts), for the subset of issue 16. A query outside the subset is refused with an error that
// names the construct, so that a user sees at once what to rewrite; a malformed one gets Loki's own wording
// ("parse error at line 1, col N: …").
import type { CompareOp, Grouping, LabelExpr, LineOp, LogQuery, Matcher, MatchOp, MetricExpr, Query, RangeFn, Stage, VectorOp } from './ast.js';

export class LogQLError extends Error {
  constructor(
    message: string,
    /** 'syntax' for malformed text, 'unsupported' for valid LogQL outside logstream's subset. */
    readonly kind: 'syntax' | 'unsupported',
  ) {
    super(message);
    this.name = 'LogQLError';
  }
}

/** Longest queries accepted (Grafana's longest generated queries are a few hundred characters). */
export const MAX_QUERY_CHARS = 16_384;
/** Largest range in `[…]` and largest `topk` parameter: beyond these a query is a mistake, not a use. */
export const MAX_RANGE_MS = 30 * 24 * 3600_000;
const MAX_TOPK = 10_000;

interface Token {
  type: 'ident' | 'string' | 'number' | 'duration' | 'op' | 'eof';
  text: string;
  /** For strings: the unquoted value. */
  value: string;
  pos: number;
}

const OPS = ['|=', '|~', '|>', '!=', '!~', '!>', '=~', '==', '>=', '<=', '=', '>', '<', '{', '}', '(', ')', '[', ']', ',', '|', '+', '-', '*', '/', '%', '^'];

const RANGE_FNS: readonly RangeFn[] = ['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate'];
const VECTOR_OPS: readonly VectorOp[] = ['sum', 'count', 'avg', 'min', 'max', 'topk'];
/** Valid LogQL that logstream does not evaluate: named in the refusal. */
const UNSUPPORTED_FUNCTIONS = new Set([
  'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time',
  'first_over_time', 'last_over_time', 'absent_over_time', 'rate_counter', 'bottomk', 'stddev', 'stdvar', 'sort', 'sort_desc',
  'label_replace', 'approx_topk', 'count_values',
]);
const UNSUPPORTED_STAGES = new Set(['line_format', 'label_format', 'pattern', 'regexp', 'unpack', 'unwrap', 'decolorize', 'keep', 'distinct']);

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (msg: string, at = i): never => {
    throw syntaxError(src, at, msg);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '#') {
      // A comment runs to the end of the line (LogQL allows them).
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1;
      if (i >= src.length) fail('unterminated string', start);
      i++;
      const text = src.slice(start, i);
      let value: string;
      try {
        value = JSON.parse(text.replace(/\t/g, '\\t').replace(/\n/g, '\\n')) as string;
      } catch {
        return fail(`invalid escape in string ${text.slice(0, 40)}`, start);
      }
      out.push({ type: 'string', text, value, pos: start });
      continue;
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) fail('unterminated raw string', start);
      out.push({ type: 'string', text: src.slice(start, end + 1), value: src.slice(start + 1, end), pos: start });
      i = end + 1;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([a-zA-Z][a-zA-Z0-9]*)?/.exec(src.slice(i))!;
      i += m[0].length;
      out.push({ type: m[2] ? 'duration' : 'number', text: m[0], value: m[0], pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      out.push({ type: 'ident', text: m[0], value: m[0], pos: start });
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) fail(`unexpected character ${JSON.stringify(c)}`);
    i += op!.length;
    out.push({ type: 'op', text: op!, value: op!, pos: start });
  }
  out.push({ type: 'eof', text: '', value: '', pos: src.length });
  return out;
}

function syntaxError(src: string, pos: number, msg: string): LogQLError {
  const before = src.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return new LogQLError(`parse error at line ${line}, col ${col}: syntax error: ${msg}`, 'syntax');
}

export const unsupported = (construct: string, hint = '') =>
  new LogQLError(`unsupported LogQL: ${construct} is not supported by logstream${hint ? `; ${hint}` : ''}`, 'unsupported');

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000 };

/** A Prometheus duration (`5m`, `1h30m`, `100ms`) in ms, or undefined. */
export function parseDurationMs(text: string): number | undefined {
  if (!/^([0-9]+(ms|s|m|h|d|w|y))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g)) ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return ms;
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Token[],
  ) {}

  private peek(offset = 0): Token {
    return this.toks[Math.min(this.i + offset, this.toks.length - 1)]!;
  }
  private next(): Token {
    return this.toks[Math.min(this.i++, this.toks.length - 1)]!;
  }
  private isOp(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.type === 'op' && t.text === text;
  }
  private isIdent(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.type === 'ident' && t.text === text;
  }
  fail(msg: string, t = this.peek()): never {
    throw syntaxError(this.src, t.pos, msg);
  }
  private describe(t: Token): string {
    return t.type === 'eof' ? 'end of input' : `${t.type === 'op' ? '' : t.type + ' '}${JSON.stringify(t.text)}`;
  }
  private expectOp(text: string): Token {
    if (!this.isOp(text)) this.fail(`unexpected ${this.describe(this.peek())}, expecting ${JSON.stringify(text)}`);
    return this.next();
  }

  parseQuery(): Query {
    const q: Query = this.isOp('{') ? this.logQuery() : this.metricExpr();
    if (q.kind === 'log' && ['+', '-', '*', '/', '%', '^'].some((o) => this.isOp(o))) throw unsupported('arithmetic on a log query');
    if (this.isIdent('offset')) throw unsupported('offset');
    if (this.peek().type !== 'eof') this.fail(`unexpected ${this.describe(this.peek())}`);
    return q;
  }

  // ---- log queries

  logQuery(): LogQuery {
    const matchers = this.selector();
    const stages: Stage[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type !== 'op') break;
      if (t.text === '|=' || t.text === '|~' || t.text === '!=' || t.text === '!~') {
        this.next();
        stages.push({ kind: 'line', op: t.text as LineOp, value: this.string('a line filter') });
        if (this.isIdent('or')) throw unsupported('"or" between line filters', 'chain separate line filters or use |~ "a|b"');
        continue;
      }
      if (t.text === '|>' || t.text === '!>') throw unsupported(`the pattern line filter ${t.text}`, 'use |= or |~');
      if (t.text !== '|') break;
      this.next();
      stages.push(this.stage());
    }
    return { kind: 'log', matchers, stages };
  }

  private selector(): Matcher[] {
    this.expectOp('{');
    const matchers: Matcher[] = [];
    while (!this.isOp('}')) {
      const name = this.next();
      if (name.type !== 'ident') this.fail(`unexpected ${this.describe(name)}, expecting a label name`, name);
      const op = this.next();
      if (op.type !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) this.fail(`unexpected ${this.describe(op)}, expecting = != =~ or !~`, op);
      matchers.push({ name: name.text, op: op.text as MatchOp, value: this.string('a label matcher') });
      if (this.isOp(',')) this.next();
      else if (!this.isOp('}')) this.fail(`unexpected ${this.describe(this.peek())}, expecting "," or "}"`);
    }
    this.next();
    // Loki's own rule: a selector must narrow the search (`{}` or only empty-matching matchers would read everything).
    if (!matchers.some((m) => !matchesEmpty(m))) {
      throw new LogQLError('queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will', 'syntax');
    }
    return matchers;
  }

  private string(what: string): string {
    const t = this.next();
    if (t.type !== 'string') this.fail(`unexpected ${this.describe(t)}, expecting a string in ${what}`, t);
    return t.value;
  }

  private stage(): Stage {
    const t = this.peek();
    if (t.type !== 'ident') return { kind: 'label', expr: this.labelOr() };
    if (UNSUPPORTED_STAGES.has(t.text)) throw unsupported(`| ${t.text}`, 'logstream understands | json, | logfmt, | drop and label filters');
    if (t.text === 'json' || t.text === 'logfmt') {
      this.next();
      const n = this.peek();
      if (n.type === 'ident' || n.type === 'string' || (t.text === 'logfmt' && this.isOp('-'))) throw unsupported(`| ${t.text} with parameters`, `use | ${t.text} alone: every field is extracted`);
      return { kind: 'parser', parser: t.text };
    }
    if (t.text === 'drop' && !this.isOp('=', 1) && !this.isOp('!=', 1) && !this.isOp('=~', 1) && !this.isOp('>', 1) && !this.isOp('<', 1)) {
      this.next();
      const names: string[] = [];
      for (;;) {
        const n = this.next();
        if (n.type !== 'ident') this.fail(`unexpected ${this.describe(n)}, expecting a label name`, n);
        if (this.isOp('=') || this.isOp('=~') || this.isOp('!=') || this.isOp('!~')) throw unsupported('| drop with a matcher', 'drop labels by name only');
        names.push(n.text);
        if (!this.isOp(',')) break;
        this.next();
      }
      return { kind: 'drop', names };
    }
    return { kind: 'label', expr: this.labelOr() };
  }

  private labelOr(): LabelExpr {
    let left = this.labelAnd();
    while (this.isIdent('or')) {
      this.next();
      left = { kind: 'or', left, right: this.labelAnd() };
    }
    return left;
  }

  private labelAnd(): LabelExpr {
    let left = this.labelPrimary();
    for (;;) {
      if (this.isIdent('and') || this.isOp(',')) this.next();
      // Loki also reads `| a="x" b="y"` (a space) as and.
      else if (!(this.peek().type === 'ident' && !this.isIdent('or') && this.peek(1).type === 'op')) break;
      left = { kind: 'and', left, right: this.labelPrimary() };
    }
    return left;
  }

  private labelPrimary(): LabelExpr {
    if (this.isOp('(')) {
      this.next();
      const e = this.labelOr();
      this.expectOp(')');
      return e;
    }
    const name = this.next();
    if (name.type !== 'ident') this.fail(`unexpected ${this.describe(name)}, expecting a label filter such as status >= 500`, name);
    const op = this.next();
    if (op.type !== 'op' || !['=', '!=', '=~', '!~', '==', '>', '>=', '<', '<='].includes(op.text)) {
      this.fail(`unexpected ${this.describe(op)} after ${name.text}, expecting a comparison (= != =~ !~ == > >= < <=)`, op);
    }
    const v = this.next();
    if (v.type === 'ident' && v.text === 'ip') throw unsupported('ip() label filters');
    if (v.type === 'duration') throw unsupported(`duration and byte-size label filters (${name.text} ${op.text} ${v.text})`, 'compare with a plain number');
    if (v.type === 'op' && v.text === '-' && this.peek().type === 'number') {
      const num = this.next();
      if (op.text === '=~' || op.text === '!~') this.fail(`a regular expression must be a string, got -${num.text}`, num);
      return { kind: 'compare', name: name.text, op: op.text as CompareOp, value: -Number(num.text) };
    }
    if (v.type === 'number') {
      if (op.text === '=~' || op.text === '!~') this.fail(`a regular expression must be a string, got ${v.text}`, v);
      return { kind: 'compare', name: name.text, op: op.text as CompareOp, value: Number(v.text) };
    }
    if (v.type !== 'string') this.fail(`unexpected ${this.describe(v)}, expecting a string or a number`, v);
    if (!['=', '!=', '=~', '!~'].includes(op.text)) this.fail(`${op.text} compares numbers; got the string ${v.text}`, v);
    return { kind: 'compare', name: name.text, op: op.text as CompareOp, value: v.value };
  }

  // ---- metric queries

  metricExpr(): MetricExpr {
    let left = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().text as '+' | '-';
      left = binary(op, left, this.term());
    }
    return left;
  }

  private term(): MetricExpr {
    let left = this.unary();
    for (;;) {
      if (this.isOp('%') || this.isOp('^')) throw unsupported(`the ${this.peek().text} operator`);
      if (!(this.isOp('*') || this.isOp('/'))) return left;
      const op = this.next().text as '*' | '/';
      left = binary(op, left, this.unary());
    }
  }

  private unary(): MetricExpr {
    const t = this.peek();
    if (t.type === 'number') {
      this.next();
      return { kind: 'literal', value: Number(t.text), vector: false };
    }
    if (this.isOp('-') && this.peek(1).type === 'number') {
      this.next();
      return { kind: 'literal', value: -Number(this.next().text), vector: false };
    }
    if (this.isOp('(')) {
      this.next();
      const e = this.metricExpr();
      this.expectOp(')');
      return e;
    }
    if (t.type === 'op' && t.text === '{') throw unsupported('a log query inside a metric expression', 'wrap it in count_over_time(…[5m]) or rate(…[5m])');
    if (t.type !== 'ident') this.fail(`unexpected ${this.describe(t)}, expecting a metric query`);
    if (UNSUPPORTED_FUNCTIONS.has(t.text)) throw unsupported(`${t.text}()`, 'logstream evaluates count_over_time, rate, bytes_over_time, bytes_rate and sum, count, avg, min, max, topk');
    if (['and', 'or', 'unless', 'bool', 'on', 'ignoring', 'group_left', 'group_right'].includes(t.text)) throw unsupported(`the ${t.text} operator`);
    this.next();
    if (t.text === 'vector') {
      this.expectOp('(');
      const n = this.next();
      if (n.type !== 'number') this.fail(`unexpected ${this.describe(n)}, expecting a number in vector()`, n);
      this.expectOp(')');
      return { kind: 'literal', value: Number(n.text), vector: true };
    }
    if ((RANGE_FNS as readonly string[]).includes(t.text)) return this.rangeAggregation(t.text as RangeFn);
    if ((VECTOR_OPS as readonly string[]).includes(t.text)) return this.vectorAggregation(t.text as VectorOp);
    return this.fail(`unknown function ${JSON.stringify(t.text)}`, t);
  }

  private rangeAggregation(fn: RangeFn): MetricExpr {
    this.expectOp('(');
    if (!this.isOp('{')) this.fail(`unexpected ${this.describe(this.peek())}, expecting a log query such as {service="api"}`);
    const query = this.logQuery();
    const open = this.expectOp('[');
    const d = this.next();
    const rangeMs = d.type === 'duration' ? parseDurationMs(d.text) : undefined;
    if (rangeMs === undefined || rangeMs <= 0) this.fail(`unexpected ${this.describe(d)}, expecting a range such as [5m]`, d.type === 'eof' ? open : d);
    if (rangeMs! > MAX_RANGE_MS) throw new LogQLError(`the range [${d.text}] is longer than 30d`, 'syntax');
    this.expectOp(']');
    if (this.isIdent('offset')) throw unsupported('offset');
    this.expectOp(')');
    if (this.isIdent('by') || this.isIdent('without')) throw unsupported(`${fn}() ${this.peek().text} (…)`, `group with sum by (…) (${fn}(…))`);
    return { kind: 'range', fn, query, rangeMs: rangeMs! };
  }

  private grouping(): Grouping | undefined {
    if (!this.isIdent('by') && !this.isIdent('without')) return undefined;
    const mode = this.next().text as 'by' | 'without';
    this.expectOp('(');
    const labels: string[] = [];
    while (!this.isOp(')')) {
      const n = this.next();
      if (n.type !== 'ident') this.fail(`unexpected ${this.describe(n)}, expecting a label name`, n);
      labels.push(n.text);
      if (this.isOp(',')) this.next();
      else if (!this.isOp(')')) this.fail(`unexpected ${this.describe(this.peek())}, expecting "," or ")"`);
    }
    this.next();
    return { mode, labels };
  }

  private vectorAggregation(op: VectorOp): MetricExpr {
    let grouping = this.grouping();
    this.expectOp('(');
    let param: number | undefined;
    if (op === 'topk') {
      const n = this.next();
      if (n.type !== 'number' || !Number.isInteger(Number(n.text)) || Number(n.text) < 1 || Number(n.text) > MAX_TOPK) {
        this.fail(`topk needs a whole number from 1 to ${MAX_TOPK} first, as in topk(5, …)`, n);
      }
      param = Number(n.text);
      this.expectOp(',');
    }
    const inner = this.metricExpr();
    this.expectOp(')');
    const after = this.grouping();
    if (after) {
      if (grouping) this.fail('grouping given twice');
      grouping = after;
    }
    if (isConstant(inner)) throw unsupported(`${op}() of a constant`);
    return { kind: 'vector', op, param, grouping, inner };
  }
}

function isConstant(e: MetricExpr): boolean {
  return e.kind === 'literal' || (e.kind === 'binary' && isConstant(e.left) && isConstant(e.right));
}

function binary(op: '+' | '-' | '*' | '/', left: MetricExpr, right: MetricExpr): MetricExpr {
  // Arithmetic with a query on either side (rate(…) * 60, a / b) is outside the subset; constants are enough for
  // Grafana's health check.
  if (!isConstant(left) || !isConstant(right)) throw unsupported(`the ${op} operator between queries`, 'only constants such as vector(1)+vector(1) are computed');
  return { kind: 'binary', op, left, right };
}

/** Does the matcher accept an empty value (a missing label)? A selector made only of these reads everything. */
function matchesEmpty(m: Matcher): boolean {
  if (m.op === '=') return m.value === '';
  if (m.op === '!=') return m.value !== '';
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${m.value})$`);
  } catch {
    // Invalid here is not necessarily invalid for PostgreSQL; let it decide (the regex is reported there).
    return false;
  }
  return m.op === '=~' ? re.test('') : !re.test('');
}

export function parseLogQL(src: string): Query {
  if (src.length > MAX_QUERY_CHARS) throw new LogQLError(`the query is ${src.length} characters long; at most ${MAX_QUERY_CHARS}`, 'syntax');
  if (src.trim() === '') throw new LogQLError('parse error at line 1, col 1: syntax error: an empty query; write one such as {service="api"} |= "timeout"', 'syntax');
  return new Parser(src, tokenize(src)).parseQuery();
}
