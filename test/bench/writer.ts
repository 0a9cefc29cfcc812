/**
 * Figure 3: the batched writer. `upsertChapterResults` through
 * `createBatchWriter` in `group` and `interval` mode against a row-by-row
 * baseline (one awaited upsert per row), each fed by the same number of
 * concurrent producers that await `add()` before the next row, as chapter
 * workers do. Each mode writes to a document of its own, so every mode
 * inserts (none updates what another wrote).
 */
import { randomUUID } from 'node:crypto';
import { createBatchWriter } from '../../jobs/batch-writer.ts';
import { createSql, type Sql } from '../../sql/client.ts';
import { upsertChapterResults, type ChapterResultRow } from '../../sql/queries/chapter-results.ts';
import { insertDocument } from '../../sql/queries/documents.ts';
import { upsertUser } from '../../sql/queries/users.ts';
import { withTimeout, type BenchContext } from './harness.ts';
import { summarize, type Figure, type Latency } from './stats.ts';

export interface WriterBenchOptions {
  rows: number;
  producers: number;
}

/** Herald's defaults: WRITE_BATCH_MAX_ROWS, WRITE_QUEUE_MAX_ROWS, the worker role's pool size. */
const MAX_BATCH_ROWS = 500;
const MAX_QUEUED_ROWS = 5000;
const POOL_SIZE = 20;
const EMBEDDING_DIMENSIONS = 256;
const MODE_TIMEOUT_MS = 300_000;

type Mode = 'row-by-row' | 'group' | 'interval';

interface ModeResult {
  mode: Mode;
  rowsPerSecond: number;
  latency: Latency;
  statements: number;
}

export async function benchWriter(ctx: BenchContext, options: WriterBenchOptions): Promise<Figure[]> {
  const sql = createSql(ctx.databaseUrl, { max: POOL_SIZE });
  try {
    await upsertUser(sql, 'bench-writer', 'Bench');
    const warmup = await insertChapters(sql, Math.min(1000, options.rows));
    await runMode(sql, 'group', warmup, options.producers);
    await runMode(sql, 'row-by-row', warmup, options.producers);

    const results: ModeResult[] = [];
    for (const mode of ['row-by-row', 'group', 'interval'] as const) {
      const chapters = await insertChapters(sql, options.rows);
      results.push(await withTimeout(runMode(sql, mode, chapters, options.producers), MODE_TIMEOUT_MS, `${mode} writes of ${options.rows} rows`));
      await expectStored(sql, chapters, mode);
    }
    const baseline = results[0]!;
    return results.map((r, i) => ({
      figure: '3. Batched writer',
      setup:
        `${r.mode}${r.mode === 'interval' ? ' (minRows 50, maxWaitMs 500)' : ''}: ${options.rows.toLocaleString('en-US')} chapter_results rows ` +
        `(summary + ${EMBEDDING_DIMENSIONS}-dim embedding), ${options.producers} producers each awaiting add(); pool ${POOL_SIZE}; ` +
        `${r.statements.toLocaleString('en-US')} statements; latency = add() to commit`,
      latency: r.latency,
      value: { amount: r.rowsPerSecond, unit: 'rows/s' },
      ...(i > 0 && { baseline: { label: 'row-by-row', amount: baseline.rowsPerSecond, unit: 'rows/s', ratio: r.rowsPerSecond / baseline.rowsPerSecond } }),
      detail: { mode: r.mode, statements: r.statements, rows: options.rows, producers: options.producers },
    }));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function runMode(sql: Sql, mode: Mode, chapters: Chapters, producers: number): Promise<ModeResult> {
  let statements = 0;
  const write = async (rows: ChapterResultRow[]) => {
    statements++;
    await upsertChapterResults(sql, rows);
  };
  const writer =
    mode === 'row-by-row'
      ? { add: (row: ChapterResultRow) => write([row]), close: async () => {} }
      : createBatchWriter<ChapterResultRow>({
          key: (row) => row.chapterId,
          write,
          maxBatchRows: MAX_BATCH_ROWS,
          maxQueuedRows: MAX_QUEUED_ROWS,
          mode,
          minRows: 50,
          maxWaitMs: 500,
        });
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const producer = async () => {
    // Bounded: each iteration takes one of the finite row indexes.
    while (next < chapters.ids.length) {
      const row = resultRow(chapters, next++);
      const t = performance.now();
      await writer.add(row);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: producers }, producer));
  await writer.close();
  const seconds = (performance.now() - started) / 1000;
  return { mode, rowsPerSecond: chapters.ids.length / seconds, latency: summarize(latencies), statements };
}

interface Chapters {
  documentId: string;
  ids: string[];
}

/** A document with `count` chapters, so results have real rows to reference. */
async function insertChapters(sql: Sql, count: number): Promise<Chapters> {
  const documentId = randomUUID();
  const ids = Array.from({ length: count }, () => randomUUID());
  await sql.begin((tx) =>
    insertDocument(tx, {
      id: documentId,
      ownerId: 'bench-writer',
      title: 'Writer bench',
      kind: 'book',
      wordCount: count * 3,
      jobId: randomUUID(),
      chapters: ids.map((id, index) => ({ id, index, title: `Chapter ${index + 1}`, content: 'It was snowing.', wordCount: 3 })),
    }),
  );
  return { documentId, ids };
}

const EMBEDDINGS = Array.from({ length: 64 }, (_, k) => {
  const v = Array.from({ length: EMBEDDING_DIMENSIONS }, (_, i) => Math.sin(k * 31 + i * 7.3));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
});
const SUMMARY =
  'Mara finds the harbour master’s ledger in the flooded cellar and learns that the debt her father left was paid twice. ' +
  'Tomas refuses to help until the storm turns the ferry back, and the two of them read the last page by lantern light.';

function resultRow(chapters: Chapters, i: number): ChapterResultRow {
  return {
    chapterId: chapters.ids[i]!,
    documentId: chapters.documentId,
    status: 'completed',
    progress: 100,
    summary: `${SUMMARY} (${i})`,
    embedding: EMBEDDINGS[i % EMBEDDINGS.length]!,
    error: null,
    chapterVersion: 1,
    attempts: 1,
  };
}

async function expectStored(sql: Sql, chapters: Chapters, mode: Mode): Promise<void> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from chapter_results where document_id = ${chapters.documentId}`;
  if (row?.n !== chapters.ids.length) throw new Error(`${mode}: ${row?.n ?? 0} rows stored, expected ${chapters.ids.length}`);
}
