// The LogQL parser's table (issue 16): valid queries and the tree they give, invalid ones and the error they give
// (Loki's wording for syntax, "unsupported LogQL: <construct>" for valid LogQL outside the subset).
import { describe, expect, it } from 'vitest';
import { LogQLError, parseDurationMs, parseLogQL } from '../src/logql/parse.js';

const sel = (...m: [string, string, string][]) => m.map(([name, op, value]) => ({ name, op, value }));

const VALID: [string, unknown][] = [
  ['{service="api"}', { kind: 'log', matchers: sel(['service', '=', 'api']), stages: [] }],
  ['{service!="api", level=~"error|warn", host!~`web-\\d+`}', { kind: 'log', matchers: sel(['service', '!=', 'api'], ['level', '=~', 'error|warn'], ['host', '!~', 'web-\\d+']), stages: [] }],
  [
    '{service="api"} |= "timeout" != "retry" |~ "(?i)db" !~ `^GET`',
    {
      kind: 'log',
      matchers: sel(['service', '=', 'api']),
      stages: [
        { kind: 'line', op: '|=', value: 'timeout' },
        { kind: 'line', op: '!=', value: 'retry' },
        { kind: 'line', op: '|~', value: '(?i)db' },
        { kind: 'line', op: '!~', value: '^GET' },
      ],
    },
  ],
  ['{a="x\\"y\\\\z"}', { kind: 'log', matchers: sel(['a', '=', 'x"y\\z']), stages: [] }],
  [
    '{service="api"} | json | status >= 500 and host = "web-1" or method="GET", path!~"/health"',
    {
      kind: 'log',
      matchers: sel(['service', '=', 'api']),
      stages: [
        { kind: 'parser', parser: 'json' },
        {
          kind: 'label',
          expr: {
            kind: 'or',
            left: { kind: 'and', left: { kind: 'compare', name: 'status', op: '>=', value: 500 }, right: { kind: 'compare', name: 'host', op: '=', value: 'web-1' } },
            right: { kind: 'and', left: { kind: 'compare', name: 'method', op: '=', value: 'GET' }, right: { kind: 'compare', name: 'path', op: '!~', value: '/health' } },
          },
        },
      ],
    },
  ],
  [
    '{service="api"} | logfmt | (status == 502 or status < 0.5) | latency > -1',
    {
      kind: 'log',
      matchers: sel(['service', '=', 'api']),
      stages: [
        { kind: 'parser', parser: 'logfmt' },
        { kind: 'label', expr: { kind: 'or', left: { kind: 'compare', name: 'status', op: '==', value: 502 }, right: { kind: 'compare', name: 'status', op: '<', value: 0.5 } } },
        { kind: 'label', expr: { kind: 'compare', name: 'latency', op: '>', value: -1 } },
      ],
    },
  ],
  ['{service="api"} | drop __error__, __error_details__', { kind: 'log', matchers: sel(['service', '=', 'api']), stages: [{ kind: 'drop', names: ['__error__', '__error_details__'] }] }],
  [
    'sum by (level) (count_over_time({service="api"}[1m]))',
    { kind: 'vector', op: 'sum', param: undefined, grouping: { mode: 'by', labels: ['level'] }, inner: { kind: 'range', fn: 'count_over_time', rangeMs: 60_000, query: { kind: 'log', matchers: sel(['service', '=', 'api']), stages: [] } } },
  ],
  [
    'sum(rate({service="api"} |= "x" [5m])) without (host)',
    {
      kind: 'vector',
      op: 'sum',
      param: undefined,
      grouping: { mode: 'without', labels: ['host'] },
      inner: { kind: 'range', fn: 'rate', rangeMs: 300_000, query: { kind: 'log', matchers: sel(['service', '=', 'api']), stages: [{ kind: 'line', op: '|=', value: 'x' }] } },
    },
  ],
  [
    'topk(3, sum by (service) (bytes_rate({level="error"}[1h30m])))',
    {
      kind: 'vector',
      op: 'topk',
      param: 3,
      grouping: undefined,
      inner: {
        kind: 'vector',
        op: 'sum',
        param: undefined,
        grouping: { mode: 'by', labels: ['service'] },
        inner: { kind: 'range', fn: 'bytes_rate', rangeMs: 5_400_000, query: { kind: 'log', matchers: sel(['level', '=', 'error']), stages: [] } },
      },
    },
  ],
  ['vector(1)+vector(1)', { kind: 'binary', op: '+', left: { kind: 'literal', value: 1, vector: true }, right: { kind: 'literal', value: 1, vector: true } }],
  ['2 * (3 - 1)', { kind: 'binary', op: '*', left: { kind: 'literal', value: 2, vector: false }, right: { kind: 'binary', op: '-', left: { kind: 'literal', value: 3, vector: false }, right: { kind: 'literal', value: 1, vector: false } } }],
];

const INVALID: [string, 'syntax' | 'unsupported', string][] = [
  ['', 'syntax', 'empty query'],
  ['{service="api"', 'syntax', 'parse error at line 1, col 15: syntax error: unexpected end of input, expecting "," or "}"'],
  ['{service=api}', 'syntax', 'col 10: syntax error: unexpected ident "api", expecting a string'],
  ['{service=="api"}', 'syntax', 'expecting = != =~ or !~'],
  ['{}', 'syntax', 'at least one regexp or equality matcher'],
  ['{service=~".*"}', 'syntax', 'at least one regexp or equality matcher'],
  ['{a="b"} |= ', 'syntax', 'expecting a string in a line filter'],
  ['{a="b"} | status >= "x"', 'syntax', '>= compares numbers'],
  ['{a="b"} | status =~ 5', 'syntax', 'a regular expression must be a string'],
  ['count_over_time({a="b"})', 'syntax', 'expecting "["'],
  ['count_over_time({a="b"}[5x])', 'syntax', 'expecting a range such as [5m]'],
  ['count_over_time({a="b"}[40d])', 'syntax', 'longer than 30d'],
  ['sum(count_over_time({a="b"}[1m])', 'syntax', 'expecting ")"'],
  ['topk(count_over_time({a="b"}[1m]))', 'syntax', 'topk needs a whole number'],
  ['nosuch({a="b"})', 'syntax', 'unknown function "nosuch"'],
  ['{a="b"} @', 'syntax', 'unexpected character "@"'],
  ['{a="b"} | line_format "{{.x}}"', 'unsupported', 'unsupported LogQL: | line_format is not supported'],
  ['{a="b"} | label_format x=y', 'unsupported', '| label_format'],
  ['{a="b"} | pattern "<ip> <_>"', 'unsupported', '| pattern'],
  ['{a="b"} | regexp "(?P<x>.)"', 'unsupported', '| regexp'],
  ['{a="b"} | json status="s"', 'unsupported', '| json with parameters'],
  ['{a="b"} | logfmt --strict', 'unsupported', '| logfmt with parameters'],
  ['{a="b"} |> "<_> x"', 'unsupported', 'the pattern line filter |>'],
  ['{a="b"} |= "x" or "y"', 'unsupported', '"or" between line filters'],
  ['{a="b"} | latency > 10s', 'unsupported', 'duration and byte-size label filters'],
  ['{a="b"} | addr = ip("10.0.0.0/8")', 'unsupported', 'ip() label filters'],
  ['avg_over_time({a="b"} | unwrap x [5m])', 'unsupported', 'avg_over_time()'],
  ['quantile_over_time(0.9, {a="b"} | unwrap x [5m])', 'unsupported', 'quantile_over_time()'],
  ['bottomk(3, rate({a="b"}[1m]))', 'unsupported', 'bottomk()'],
  ['rate({a="b"}[5m]) * 60', 'unsupported', 'the * operator between queries'],
  ['sum(rate({a="b"}[5m])) / sum(rate({c="d"}[5m]))', 'unsupported', 'the / operator between queries'],
  ['rate({a="b"}[5m] offset 1h)', 'unsupported', 'offset'],
  ['count_over_time({a="b"}[5m]) by (x)', 'unsupported', 'group with sum by'],
  ['{a="b"} + 1', 'unsupported', 'arithmetic on a log query'],
  ['sum(vector(1))', 'unsupported', 'sum() of a constant'],
];

describe('LogQL parser', () => {
  it.each(VALID)('parses %s', (src, tree) => {
    expect(parseLogQL(src)).toEqual(tree);
  });

  it.each(INVALID)('refuses %s', (src, kind, message) => {
    let err: unknown;
    try {
      parseLogQL(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LogQLError);
    expect((err as LogQLError).kind).toBe(kind);
    expect((err as LogQLError).message).toContain(message);
  });

  it('reads Prometheus durations', () => {
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1.5m')).toBeUndefined();
  });

  it('never throws anything but a LogQLError, whatever the input', () => {
    // Every prefix of valid queries: half-typed input, as an editor sends it.
    for (const [src] of VALID) {
      for (let i = 0; i < src.length; i++) {
        try {
          parseLogQL(src.slice(0, i));
        } catch (e) {
          expect(e).toBeInstanceOf(LogQLError);
        }
      }
    }
  });
});
