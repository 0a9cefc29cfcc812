import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sql, TransactionSql } from './client.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
// Any constant works; it only has to be the same for every Herald process.
const MIGRATION_LOCK_KEY = 7_303_412_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The numbered `NNNN_name.sql` files in sql/migrations, in order. */
export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ''),
      sql: await readFile(new URL(file, `file://${dir}`), 'utf8'),
    })),
  );
}

/**
 * Applies pending migrations, each in its own transaction, and records them.
 * Every transaction first takes a transaction-scoped advisory lock, so
 * concurrent start-ups wait for each other instead of racing, and re-reads
 * what is applied under it: each migration runs once. A transaction-scoped
 * lock is released by COMMIT or ROLLBACK on the connection that took it,
 * which also holds behind a transaction-mode pooler (a session lock taken
 * on one server connection could be released on, or leak into, another).
 * Returns the names applied now.
 */
export async function migrate(sql: Sql): Promise<string[]> {
  const migrations = await loadMigrations();
  const done = await sql.begin(async (tx) => {
    await lockMigrations(tx);
    await tx`
      create table if not exists schema_migrations (
        version    integer primary key,
        name       text not null,
        applied_at timestamptz not null default now()
      )`;
    return appliedVersions(tx);
  });
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    const ran = await sql.begin(async (tx) => {
      await lockMigrations(tx);
      // Another process may have applied it while this one waited for the lock.
      if ((await appliedVersions(tx)).has(m.version)) return false;
      await tx.unsafe(m.sql).catch((error: Error) => {
        throw new Error(`migration ${m.name} failed: ${error.message}`);
      });
      await tx`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`;
      return true;
    });
    if (ran) applied.push(m.name);
  }
  return applied;
}

async function lockMigrations(tx: TransactionSql): Promise<void> {
  await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
}

async function appliedVersions(tx: TransactionSql): Promise<Set<number>> {
  return new Set((await tx<{ version: number }[]>`select version from schema_migrations`).map((r) => r.version));
}
