import postgres from 'postgres';

export type Sql = postgres.Sql<Record<string, never>>;
export type TransactionSql = postgres.TransactionSql<Record<string, never>>;

export interface SqlOptions {
  /** Connections in the pool (DATABASE_POOL_SIZE, server/config.ts's poolSizeFor). */
  max: number;
  /** Statement timeout in milliseconds, so no request hangs on a stuck query. Default 30 s. */
  statementTimeoutMs?: number;
  /**
   * The URL is a transaction-mode pooler (PgBouncer's `pool_mode=transaction`),
   * where each transaction may run on another server connection: no prepared
   * statements, and no session settings at connect (the pooler refuses
   * `statement_timeout` as a startup parameter). The statement timeout is
   * then set with `SET LOCAL` in every transaction `begin` opens; a
   * statement outside one runs under the server's (role's, database's)
   * `statement_timeout`. PostgreSQL then parses and plans each statement
   * every time: what must not be re-planned on a hot path belongs in a
   * PL/pgSQL function (apply_autosave), whose plans a server connection keeps.
   */
  pooled?: boolean;
}

const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * Session settings of a direct connection. No parallel query: Herald's
 * statements read one document's rows through indexes, and PostgreSQL's
 * estimate for one document is an average over documents of very different
 * sizes (a 3-chapter one beside 10,000-chapter ones was estimated at 1,176
 * rows), which made it start a parallel worker process for a 3-row read:
 * 45 to 80 ms instead of under 1, on every GET of the document. Through a
 * transaction-mode pooler the same belongs on the database or role
 * (docs/operations.md). As text: postgres.js leaves out a startup parameter
 * whose value is falsy, and 0 is.
 */
const SESSION_SETTINGS = { max_parallel_workers_per_gather: '0' } as const;

/** A postgres.js pool. Nothing connects until the first query. */
export function createSql(url: string, options: SqlOptions): Sql {
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const sql = postgres(url, {
    max: options.max,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 30,
    prepare: !options.pooled,
    connection: options.pooled ? { application_name: 'herald' } : { statement_timeout: statementTimeoutMs, application_name: 'herald', ...SESSION_SETTINGS },
    transform: { undefined: null },
  }) as unknown as Sql;
  return options.pooled ? withTransactionTimeout(sql, statementTimeoutMs) : sql;
}

/**
 * `sql.begin` that opens each transaction with `SET LOCAL statement_timeout`:
 * the setting ends with the transaction, so nothing leaks to the next client
 * of the pooler's server connection. Transactions are where Herald waits on
 * row and advisory locks, which is what the timeout is for.
 */
function withTransactionTimeout(sql: Sql, statementTimeoutMs: number): Sql {
  const begin = sql.begin.bind(sql) as (...args: unknown[]) => Promise<unknown>;
  const setTimeout = `set local statement_timeout = ${Math.trunc(statementTimeoutMs)}`;
  const wrapped = (...args: unknown[]) => {
    const fn = args.pop() as (tx: TransactionSql) => unknown;
    return begin(...args, async (tx: TransactionSql) => {
      await tx.unsafe(setTimeout);
      return fn(tx);
    });
  };
  return Object.assign(sql, { begin: wrapped as Sql['begin'] });
}

/** The database name in a PostgreSQL URL. */
export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!name) throw new Error(`DATABASE_URL ${redactUrl(url)} names no database`);
  return name;
}

/** Creates the URL's database when it is missing; safe when several processes start at once. */
export async function ensureDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await sql`select 1 as found from pg_database where datname = ${name}`;
    if (row) return;
    try {
      await sql.unsafe(`create database ${escapeIdentifier(name)}`);
    } catch (error) {
      // 42P04 duplicate_database, 23505 a racing CREATE DATABASE: someone else made it.
      const code = (error as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw error;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function escapeIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
