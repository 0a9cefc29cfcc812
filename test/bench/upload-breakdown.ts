/**
 * Figure 1b: where an upload's time goes. Runs the route's steps one by one
 * in this process, each timed on its own: parse the JSON body, split it into
 * chapters, insert the document and its chapters in one transaction, add
 * the BullMQ flow (one finalize job with a child job per chapter).
 * The route runs the flow add inside the transaction; here they are apart
 * so each is measured alone.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createJobQueues } from '../../jobs/queues.ts';
import { splitChapters } from '../../domain/text/split-chapters.ts';
import { insertDocument } from '../../sql/queries/documents.ts';
import { upsertUser } from '../../sql/queries/users.ts';
import { REDIS_URL, removePrefix, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { summarize, type Figure } from './stats.ts';
import type { UploadBenchOptions } from './upload.ts';

const STEPS = [
  'JSON.parse body',
  'splitChapters',
  'insert tx (document + chapters)',
  'enqueue ingest (1 job; on the request path)',
  'flow add (BullMQ, 1 + N jobs; in the worker)',
] as const;
type Step = (typeof STEPS)[number];

export async function benchUploadBreakdown(ctx: BenchContext, options: UploadBenchOptions): Promise<Figure[]> {
  const body = JSON.stringify({ title: 'The Harbour Ledger', content: novel(options.chapters, options.wordsPerChapter) });
  const prefix = ctx.scenarioPrefix('upload-steps');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const queues = createJobQueues(redis, prefix, { chapterAttempts: 3, backoffMs: 1000 });
  const samples = new Map<Step, number[]>(STEPS.map((s) => [s, []]));
  await upsertUser(ctx.sql, 'bench-breakdown', 'Bench');
  try {
    for (let i = 0; i < options.warmups + options.uploads; i++) {
      const timings = await runSteps(ctx, queues, body);
      if (i >= options.warmups) for (const s of STEPS) samples.get(s)!.push(timings[s]);
    }
  } finally {
    await queues.close();
    redis.disconnect();
    await removePrefix(prefix);
  }
  const total = STEPS.reduce((n, s) => n + summarize(samples.get(s)!).p50, 0);
  return STEPS.map((step) => {
    const latency = summarize(samples.get(step)!);
    return {
      figure: '1b. Upload breakdown',
      setup: `${step}; same manuscript, called directly in this process, ${options.uploads} runs after ${options.warmups} warm-up`,
      latency,
      value: { amount: (100 * latency.p50) / total, unit: '%', note: 'of summed p50' },
      detail: { samplesMs: samples.get(step) },
    };
  });
}

async function runSteps(ctx: BenchContext, queues: ReturnType<typeof createJobQueues>, body: string): Promise<Record<Step, number>> {
  const timings = {} as Record<Step, number>;
  let t = performance.now();
  const lap = (step: Step) => {
    const now = performance.now();
    timings[step] = now - t;
    t = now;
  };
  const input = JSON.parse(body) as { title: string; content: string };
  lap('JSON.parse body');
  const parts = splitChapters(input.content, 'book');
  lap('splitChapters');
  const documentId = randomUUID();
  const jobId = randomUUID();
  const chapters = parts.map((p) => ({ id: randomUUID(), index: p.index, title: p.title, content: p.content, wordCount: p.wordCount }));
  t = performance.now();
  await ctx.sql.begin((tx) =>
    insertDocument(tx, {
      id: documentId,
      ownerId: 'bench-breakdown',
      title: input.title,
      kind: 'book',
      wordCount: parts.reduce((n, p) => n + p.wordCount, 0),
      jobId,
      chapters,
    }),
  );
  lap('insert tx (document + chapters)');
  await queues.enqueueIngest({ documentId, jobId });
  lap('enqueue ingest (1 job; on the request path)');
  await queues.addIngestFlow({ documentId, jobId, chapters: chapters.map((c) => ({ id: c.id, version: 1 })), runLength: 1 });
  lap('flow add (BullMQ, 1 + N jobs; in the worker)');
  return timings;
}
