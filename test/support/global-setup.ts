import { createHash } from 'node:crypto';
import postgres from 'postgres';
import { createSql } from '../../sql/client.ts';
import { loadMigrations, migrate } from '../../sql/migrate.ts';
import { TEST_DATABASE_URL, databaseUrl } from './env.ts';

/**
 * Migrates a template database once per run; each test file then creates its
 * own database from it (CREATE DATABASE … TEMPLATE), which takes milliseconds.
 * The template's name carries a hash of the migrations, so a changed
 * migration gets a fresh template.
 */
export default async function setup({ provide }: { provide: (key: 'templateDatabase', value: string) => void }) {
  const migrations = await loadMigrations();
  const hash = createHash('sha256').update(migrations.map((m) => m.name + m.sql).join('\n')).digest('hex').slice(0, 12);
  const template = `herald_tpl_${hash}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(7303412002)`;
    const [found] = await admin`select 1 from pg_database where datname = ${template}`;
    if (!found) {
      await admin.unsafe(`create database "${template}_tmp"`).catch(async () => {
        await admin.unsafe(`drop database if exists "${template}_tmp"`);
        await admin.unsafe(`create database "${template}_tmp"`);
      });
      const sql = createSql(databaseUrl(`${template}_tmp`), { max: 1 });
      await migrate(sql);
      await sql.end();
      await admin.unsafe(`alter database "${template}_tmp" rename to "${template}"`);
    }
    await admin`select pg_advisory_unlock(7303412002)`;
  } catch (error) {
    throw new Error(
      `Tests need PostgreSQL at ${TEST_DATABASE_URL}: start PostgreSQL, or set TEST_DATABASE_URL to one that is running. ` +
        `Cause: ${(error as Error).message}`,
    );
  } finally {
    await admin.end();
  }
  provide('templateDatabase', template);
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}
