import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_ROLES } from '../../domain/access.ts';
import {
  CHAPTER_STATUSES, DOCUMENT_KINDS, DOCUMENT_STATUSES, FINISHED_JOB_STATUSES, JOB_STATUSES, PACKAGE_STAGES, REFRESH_STATUSES,
} from '../../domain/vocabulary.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * The migrations spell the vocabulary out in CHECK constraints and partial
 * indexes (SQL cannot import a tuple); these tests keep the two in step, so
 * a status added to domain/vocabulary.ts without a migration fails here,
 * not in production.
 */
describe('the database speaks the domain vocabulary', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** The quoted words of a definition, in order: `CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))` gives [a, b]. */
  const words = (definition: string) => [...definition.matchAll(/'([^']*)'/g)].map((m) => m[1]!);

  async function checkedValues(table: string, column: string): Promise<string[]> {
    const rows = await db.sql<{ def: string }[]>`
      select pg_get_constraintdef(c.oid) as def
      from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
      where c.contype = 'c' and c.conrelid = ${table}::regclass and a.attname = ${column}`;
    expect(rows, `one CHECK constraint on ${table}.${column}`).toHaveLength(1);
    return words(rows[0]!.def);
  }

  it('allows exactly the kinds and statuses the domain lists, column by column', async () => {
    expect(await checkedValues('documents', 'kind')).toEqual([...DOCUMENT_KINDS]);
    expect(await checkedValues('documents', 'status')).toEqual([...DOCUMENT_STATUSES]);
    expect(await checkedValues('chapter_results', 'status')).toEqual([...CHAPTER_STATUSES]);
    expect(await checkedValues('jobs', 'status')).toEqual([...JOB_STATUSES]);
    expect(await checkedValues('refreshes', 'status')).toEqual([...REFRESH_STATUSES]);
    expect(await checkedValues('packages', 'stage')).toEqual([...PACKAGE_STAGES]);
    expect(await checkedValues('document_members', 'role')).toEqual([...MEMBER_ROLES]);
  });

  it('indexes finished jobs by the same statuses isFinished calls finished', async () => {
    const [index] = await db.sql<{ def: string }[]>`select pg_get_indexdef('jobs_finished_idx'::regclass) as def`;
    expect(words(index!.def)).toEqual([...FINISHED_JOB_STATUSES]);
  });
});
