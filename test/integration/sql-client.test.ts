import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql, type Sql } from '../../sql/client.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * The plan of a GET of the document's chapters (loadDocumentWithChapters),
 * with the planner told that parallel workers cost nothing: what it does
 * when its estimate for one document is far too high (an average over
 * documents of very different sizes, 1,176 rows for a 3-chapter document in
 * the bench), where it started a worker process for a 3-row read.
 */
const planOf = (sql: Sql | postgres.Sql, documentId: string): Promise<string> =>
  (sql as postgres.Sql).begin(async (tx) => {
    await tx.unsafe('set local parallel_setup_cost = 0; set local parallel_tuple_cost = 0; set local min_parallel_table_scan_size = 0; set local min_parallel_index_scan_size = 0');
    const [row] = await tx.unsafe(
      `explain (format json)
       select c.id, c.index, c.title, c.word_count, c.version, coalesce(r.status, 'queued') as status
       from chapters c left join chapter_results r on r.chapter_id = c.id
       where c.document_id = $1 order by c.index`,
      [documentId],
    );
    return JSON.stringify(row);
  });

describe('the PostgreSQL client', () => {
  let db: TestDatabase;
  let herald: Sql;
  let plain: postgres.Sql;
  const documentId = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    herald = createSql(db.url, { max: 1 });
    plain = postgres(db.url, { max: 1, onnotice: () => {} });
    await db.sql`insert into users (id) values ('ola')`;
    await db.sql`insert into documents (id, owner_id, title, kind, job_id) values (${documentId}, 'ola', 'Book', 'book', ${randomUUID()})`;
    await db.sql`
      insert into chapters (id, document_id, index, title, content, word_count)
      select gen_random_uuid(), ${documentId}, n, 'Chapter ' || n, 'A short one.', 3 from generate_series(0, 2) n`;
  });

  afterAll(async () => {
    await herald?.end();
    await plain?.end();
    await db?.drop();
  });

  it('never plans a parallel worker for Herald’s reads, where a session with the server’s defaults would', async () => {
    expect(await planOf(plain, documentId)).toContain('"Gather');
    expect(await planOf(herald, documentId)).not.toContain('"Gather');
    expect(await herald`show max_parallel_workers_per_gather`).toEqual([{ max_parallel_workers_per_gather: '0' }]);
  });
});
