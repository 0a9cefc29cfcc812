import postgres from 'postgres';

export type Sql = postgres.Sql<Record<string, never>>;
export type TransactionSql = postgres.TransactionSql<Record<string, never>>;

export interface SqlOptions {
  /** Connections in the pool (DATABASE_POOL_SIZE, server/config.ts's poolSizeFor). */
  max: number;
  /** Statement timeout in milliseconds, so no request hangs on a stuck query. */
  statementTimeoutMs?: number;
}

/** A postgres.js pool. Nothing connects until the first query. */
export function createSql(url: string, options: SqlOptions): Sql {
  return postgres(url, {
    max: options.max,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 30,
    connection: { statement_timeout: options.statementTimeoutMs ?? 30_000, application_name: 'herald' },
    transform: { undefined: null },
  }) as unknown as Sql;
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
