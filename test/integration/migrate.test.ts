import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createSql, ensureDatabase } from '../../sql/client.ts';
import { loadMigrations, migrate } from '../../sql/migrate.ts';
import { TEST_DATABASE_URL, databaseUrl } from '../support/env.ts';

describe('database preparation at start-up', () => {
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  const url = databaseUrl(name);

  afterAll(async () => {
    const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });

  it('creates a missing database and migrates it once, even when three processes start together', async () => {
    await Promise.all([ensureDatabase(url), ensureDatabase(url), ensureDatabase(url)]);
    const pools = [createSql(url, { max: 1 }), createSql(url, { max: 1 }), createSql(url, { max: 1 })];
    try {
      const applied = await Promise.all(pools.map((sql) => migrate(sql)));
      const migrations = await loadMigrations();
      // Exactly one of them applied each migration; the others found it done.
      expect(applied.flat().sort()).toEqual(migrations.map((m) => m.name).sort());
      const rows = await pools[0]!<{ version: number }[]>`select version from schema_migrations order by version`;
      expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
      expect(await migrate(pools[0]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((sql) => sql.end()));
    }
  });
});
