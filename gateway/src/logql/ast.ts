// The LogQL subset logstream understands (issue 16), as the parser hands it to the SQL translation.

export type MatchOp = '=' | '!=' | '=~' | '!~';
export type LineOp = '|=' | '!=' | '|~' | '!~';
export type CompareOp = MatchOp | '==' | '>' | '>=' | '<' | '<=';

/** `name op "value"` inside `{…}`. */
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

/** `| name op value` after the pipeline; `value` is a number when the literal was one (then the comparison is numeric). */
export type LabelExpr =
  | { kind: 'compare'; name: string; op: CompareOp; value: string | number }
  | { kind: 'and' | 'or'; left: LabelExpr; right: LabelExpr };

export type Stage =
  | { kind: 'line'; op: LineOp; value: string }
  | { kind: 'parser'; parser: 'json' | 'logfmt' }
  | { kind: 'label'; expr: LabelExpr }
  /** `| drop a, b`: labels removed from the result (Grafana's log-volume query drops `__error__`). */
  | { kind: 'drop'; names: string[] };

export interface LogQuery {
  kind: 'log';
  matchers: Matcher[];
  stages: Stage[];
}

export type RangeFn = 'count_over_time' | 'rate' | 'bytes_over_time' | 'bytes_rate';
export type VectorOp = 'sum' | 'count' | 'avg' | 'min' | 'max' | 'topk';

export interface Grouping {
  mode: 'by' | 'without';
  labels: string[];
}

export type MetricExpr =
  | { kind: 'range'; fn: RangeFn; query: LogQuery; rangeMs: number }
  | { kind: 'vector'; op: VectorOp; param?: number; grouping?: Grouping; inner: MetricExpr }
  /** `vector(1)` (a vector without labels) or a bare number (a scalar). */
  | { kind: 'literal'; value: number; vector: boolean }
  /** Arithmetic between literals only (Grafana's health check is `vector(1)+vector(1)`). */
  | { kind: 'binary'; op: '+' | '-' | '*' | '/'; left: MetricExpr; right: MetricExpr };

export type Query = LogQuery | MetricExpr;

export const isLogQuery = (q: Query): q is LogQuery => q.kind === 'log';
