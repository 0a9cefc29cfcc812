import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql, type Sql } from '../../sql/client.ts';
import { loadChaptersWithSummaries, loadDocumentWithChapters } from '../../sql/queries/chapters.ts';
import { settleDocumentStatus } from '../../sql/queries/documents.ts';
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

describe('reads of one document', () => {
  let db: TestDatabase;
  let herald: Sql;
  const small = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    herald = createSql(db.url, { max: 1 });
    // Thirty documents of 1,200 chapters with results, and one of 3. A statistics target of 10 keeps no count of any
    // one document, so PostgreSQL estimates each at the average, 1,135 rows: as it does for most documents of a
    // database holding more than 100 (the default target), when their sizes differ as manuscripts do.
    await db.sql`alter table chapters alter column document_id set statistics 10`;
    await db.sql`alter table chapter_results alter column document_id set statistics 10`;
    await db.sql`insert into users (id) values ('ola')`;
    const big = Array.from({ length: 30 }, () => randomUUID());
    for (const id of [...big, small]) {
      await db.sql`insert into documents (id, owner_id, title, kind, job_id) values (${id}, 'ola', 'Book', 'book', ${randomUUID()})`;
    }
    await db.sql`
      insert into chapters (id, document_id, index, title, content, word_count)
      select gen_random_uuid(), d, n, 'Chapter ' || n, repeat('Words of a chapter. ', 20), 80
      from unnest(${big}::uuid[]) d, generate_series(0, 1199) n`;
    await db.sql`
      insert into chapters (id, document_id, index, title, content, word_count)
      select gen_random_uuid(), ${small}, n, 'Chapter ' || n, 'A short one.', 3 from generate_series(0, 2) n`;
    await db.sql`
      insert into chapter_results (chapter_id, document_id, status, progress, summary, chapter_version)
      select id, document_id, 'completed', 100, left(content, 300), 1 from chapters`;
    await db.sql`analyze chapters, chapter_results`;
  }, 120_000);

  afterAll(async () => {
    await herald?.end();
    await db?.drop();
  });

  /** Sequential scans of chapter_results that `read` made (its own connection's statistics, flushed first). */
  const resultScansDuring = async (read: () => Promise<unknown>) => {
    const scans = async () => {
      await herald`select pg_stat_force_next_flush()`;
      await herald`select pg_stat_clear_snapshot()`;
      const [row] = await herald<{ n: string }[]>`select seq_scan::text as n from pg_stat_user_tables where relname = 'chapter_results'`;
      return Number(row!.n);
    };
    const before = await scans();
    await read();
    return (await scans()) - before;
  };

  it('read only its results, however PostgreSQL misjudges its size', async () => {
    expect(await resultScansDuring(async () => expect((await loadDocumentWithChapters(herald, small))!.chapters).toHaveLength(3))).toBe(0);
    expect(await resultScansDuring(async () => expect(await loadChaptersWithSummaries(herald, small)).toHaveLength(3))).toBe(0);
    expect(await resultScansDuring(async () => expect(await settleDocumentStatus(herald, small)).toMatchObject({ total: 3 }))).toBe(0);
  });
});
