// The PostgreSQL error codes (SQLSTATE) logstream acts on, by name, in one table (issue 13 point 5), and which of
// them mean "the connection, not the statement": those are retried quietly, the others reported.
// Names and codes from https://www.postgresql.org/docs/15/errcodes-appendix.html.

export const SQLSTATE = {
  /** 23505: a concurrent CREATE DATABASE won the race (pg_database's unique index). */
  uniqueViolation: '23505',
  /** 23514: also "no partition of relation … found for row" (processor/src/store-batch.ts). */
  checkViolation: '23514',
  /** 2201B: a LogQL regular expression PostgreSQL cannot compile. */
  invalidRegularExpression: '2201B',
  /** 3D000: the database does not exist (yet). */
  invalidCatalogName: '3D000',
  /** 42P04: CREATE DATABASE of one that exists. */
  duplicateDatabase: '42P04',
  /** 40P01: this statement lost a deadlock (the bench's TRUNCATE logs against the maintenance pass). */
  deadlockDetected: '40P01',
  /** 55P03: lock_timeout fired. */
  lockNotAvailable: '55P03',
  /** 57014: statement_timeout fired, or the query was cancelled. */
  queryCanceled: '57014',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  /** 57P03: the server is starting up or shutting down. */
  cannotConnectNow: '57P03',
  connectionException: '08000',
  sqlclientUnableToEstablishSqlconnection: '08001',
  connectionDoesNotExist: '08003',
  sqlserverRejectedEstablishmentOfSqlconnection: '08004',
  connectionFailure: '08006',
  /** 53300: max_connections reached; the server refuses the connection until one ends. */
  tooManyConnections: '53300',
} as const;

export type SqlStateName = keyof typeof SQLSTATE;

/** SQLSTATE classes: the first two characters. */
export const SQLSTATE_CLASS = {
  /** 22: the row's data is bad (a NUL character, a value out of range). */
  dataException: '22',
  /** 23: the row breaks a constraint. */
  integrityConstraintViolation: '23',
  /** 54: the statement is too big (too many parameters, a too-long value). */
  programLimitExceeded: '54',
} as const;

/** The server went away or refused the connection: a reconnect after a backoff is the cure, not a report. */
const CONNECTION_STATES: ReadonlySet<string> = new Set([
  SQLSTATE.adminShutdown,
  SQLSTATE.crashShutdown,
  SQLSTATE.cannotConnectNow,
  SQLSTATE.connectionException,
  SQLSTATE.sqlclientUnableToEstablishSqlconnection,
  SQLSTATE.connectionDoesNotExist,
  SQLSTATE.sqlserverRejectedEstablishmentOfSqlconnection,
  SQLSTATE.connectionFailure,
  SQLSTATE.tooManyConnections,
]);

/** The SQLSTATE of a pg error, or undefined for anything else. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.length === 5 ? code : undefined;
}

/** `err` carries the SQLSTATE named `name`. */
export function hasSqlState(err: unknown, name: SqlStateName): boolean {
  return sqlState(err) === SQLSTATE[name];
}

/** `err`'s SQLSTATE is in the class named `name`. */
export function inSqlStateClass(err: unknown, name: keyof typeof SQLSTATE_CLASS): boolean {
  return sqlState(err)?.startsWith(SQLSTATE_CLASS[name]) ?? false;
}

export function isConnectionSqlState(code: string | undefined): boolean {
  return code !== undefined && CONNECTION_STATES.has(code);
}
