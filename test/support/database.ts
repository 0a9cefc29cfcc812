import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createSql, type Sql } from '../../sql/client.ts';
import { TEST_DATABASE_URL, databaseUrl } from './env.ts';

export interface TestDatabase {
  name: string;
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

/** Every database this test file made, for the leak check (leak-check.ts). */
export const createdDatabases = new Set<string>();

/** Connections to a database, by application name, that PostgreSQL still holds. */
export async function connectionsTo(name: string): Promise<string[]> {
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin<{ app: string }[]>`select coalesce(application_name, '') as app from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
    return rows.map((r) => r.app);
  } finally {
    await admin.end();
  }
}

/** Connections left open to this file's databases when they were dropped: a leak, reported by leak-check.ts. */
export const leftOpen: { database: string; connections: string[] }[] = [];

/** A migrated database of this test file's own, copied from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = inject('templateDatabase');
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}" template "${template}"`);
  } finally {
    await admin.end();
  }
  createdDatabases.add(name);
  const url = databaseUrl(name);
  const sql = createSql(url, { max: 5 });
  return {
    name,
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      // Whoever used the database has closed by now; a backend takes a moment to go once its client hangs up.
      const open = await waitForNone(() => connectionsTo(name));
      if (open.length > 0) leftOpen.push({ database: name, connections: open });
      const a = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
      createdDatabases.delete(name);
    },
  };
}

/** What `list` still returns after a short grace (2 s), or nothing once it is empty. */
export async function waitForNone<T>(list: () => Promise<T[]>, graceMs = 2000): Promise<T[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const found = await list();
    if (found.length === 0 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}
