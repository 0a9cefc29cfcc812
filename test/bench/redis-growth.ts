/**
 * Redis growth from package requests: a 10,000-chapter manuscript is
 * uploaded and ingested (every role in the bench process, builtin AI), then
 * Redis is measured before and after 100 sequential
 * `POST /api/documents/:id/package` requests, once every job they started
 * (the full builds) has finished. The package rate limit is raised for the
 * measurement (PACKAGE_LIMIT=1000), or 100 requests from one user would be
 * refused after the 20th.
 *
 * Two measures: the bytes of every key under the run's prefix (MEMORY USAGE
 * over SCAN: this run's keys alone, the honest figure on a Redis shared with
 * other work) and INFO's `used_memory` (the whole server, so anything else
 * using the same Redis meanwhile shows up in it too).
 * Run with `npx tsx test/bench/redis-growth.ts`, or `npm run bench -- --only=redis-growth`.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES } from '../../jobs/contracts.ts';
import { documentKeys } from '../../realtime/keys.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { connectClient } from '../support/socket.ts';
import { postJson, REDIS_URL, removePrefix, startBenchHerald, withTimeout, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { isMain, pause, runStandalone } from './standalone.ts';
import type { Figure } from './stats.ts';

export interface RedisGrowthBenchOptions {
  chapters: number;
  wordsPerChapter: number;
  requests: number;
}

export const REDIS_GROWTH_GOAL_MIB = 10;
const MIB = 1024 * 1024;
const INGEST_TIMEOUT_MS = 300_000;
const SETTLE_TIMEOUT_MS = 300_000;

export async function benchRedisGrowth(ctx: BenchContext, options: RedisGrowthBenchOptions): Promise<Figure[]> {
  const prefix = ctx.scenarioPrefix('redis-growth');
  const herald = await startBenchHerald(ctx, {
    roles: ['api', 'gateway', 'worker'],
    prefix,
    env: { PACKAGE_LIMIT: '1000', PACKAGE_WINDOW_SECONDS: '60' },
  });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const queues = Object.values(QUEUES).map((name) => new Queue(name, { connection: redis, prefix }));
  try {
    const token = await ctx.token('bench-owner');
    const content = novel(options.chapters, options.wordsPerChapter, 11);
    const { document } = await postJson<{ document: { id: string } }>(`${herald.url}/api/documents`, token, JSON.stringify({ title: 'Redis growth bench', content }));
    const ingestStarted = performance.now();
    await waitForIngest(herald.url, token, document.id);
    const ingestS = (performance.now() - ingestStarted) / 1000;
    await waitForQuiet(ctx, queues);

    const before = await measureRedis(redis, prefix, document.id);
    const url = `${herald.url}/api/documents/${document.id}/package`;
    const requestStarted = performance.now();
    for (let i = 0; i < options.requests; i++) await postJson(url, token, '');
    const requestsS = (performance.now() - requestStarted) / 1000;
    await waitForQuiet(ctx, queues);
    const after = await measureRedis(redis, prefix, document.id);

    console.error(`bench redis-growth: before ${JSON.stringify(before)}`);
    console.error(`bench redis-growth: after  ${JSON.stringify(after)}`);
    const growthMiB = (after.prefixBytes - before.prefixBytes) / MIB;
    const usedGrowthMiB = (after.usedMemory - before.usedMemory) / MIB;
    return [
      {
        figure: 'Redis growth from package requests',
        setup:
          `${options.requests} sequential POST /api/documents/:id/package on a ${options.chapters.toLocaleString('en-US')}-chapter manuscript ` +
          `(~${Math.round((options.chapters * options.wordsPerChapter) / 1000)}k words), ingested first; all roles in one process, builtin AI; ` +
          `PACKAGE_LIMIT raised to 1000 for the measurement; measured once every full build finished; bytes of this run's keys (MEMORY USAGE)`,
        value: { amount: growthMiB, unit: 'MiB', note: `used_memory grew ${usedGrowthMiB.toFixed(1)} MiB (whole server)` },
        goal: { text: `< ${REDIS_GROWTH_GOAL_MIB} MiB`, met: growthMiB < REDIS_GROWTH_GOAL_MIB },
        detail: { before, after, growthMiB, usedGrowthMiB, ingestS, requestsS },
      },
    ];
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    redis.disconnect();
    await herald.close();
    await removePrefix(prefix);
  }
}

interface RedisMeasure {
  /** INFO memory's used_memory: the whole server. */
  usedMemory: number;
  /** MEMORY USAGE summed over every key under the prefix. */
  prefixBytes: number;
  keys: number;
  /** The document's live state hash and event stream. */
  stateBytes: number;
  eventsBytes: number;
  /** Entries in the document's event stream, and the largest one's JSON in bytes. */
  streamLength: number;
  largestEventBytes: number;
}

async function measureRedis(redis: Redis, prefix: string, documentId: string): Promise<RedisMeasure> {
  const info = await redis.info('memory');
  const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
  let prefixBytes = 0;
  let keys = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    for (const [, bytes] of (await pipeline.exec()) ?? []) prefixBytes += Number(bytes ?? 0);
    keys += batch.length;
  } while (cursor !== '0');
  const doc = documentKeys(prefix, documentId);
  const [stateBytes, eventsBytes, streamLength] = await Promise.all([
    redis.memory('USAGE', doc.state, 'SAMPLES', 0),
    redis.memory('USAGE', doc.events, 'SAMPLES', 0),
    redis.xlen(doc.events),
  ]);
  let largestEventBytes = 0;
  for (const [, fields] of await redis.xrange(doc.events, '-', '+')) {
    largestEventBytes = Math.max(largestEventBytes, Buffer.byteLength(fields[fields.indexOf('d') + 1] ?? ''));
  }
  return { usedMemory, prefixBytes, keys, stateBytes: Number(stateBytes ?? 0), eventsBytes: Number(eventsBytes ?? 0), streamLength, largestEventBytes };
}

/** Waits for the upload's closing `document.progress` on a real socket (or a snapshot that already says it is done). */
async function waitForIngest(url: string, token: string, documentId: string): Promise<void> {
  const client = await withTimeout(connectClient(url, token), 10_000, 'the socket client to connect');
  try {
    const done = new Promise<void>((resolve) => {
      client.socket.on('document.progress', (e: DocumentEvent<'document.progress'>) => {
        if (e.document_id === documentId && e.status !== 'processing') resolve();
      });
    });
    const ack = await client.subscribe({ document_id: documentId });
    if (!ack.ok) throw new Error(`subscribe refused: ${ack.error.code}`);
    if (ack.snapshot?.document.status !== 'processing') return;
    await withTimeout(done, INGEST_TIMEOUT_MS, `document ${documentId} to be ingested`);
  } finally {
    client.close();
  }
}

/**
 * Waits until the outbox is empty and no queue holds work but the
 * housekeeping schedulers' next runs: the full builds the requests started
 * have finished and their events are out.
 */
async function waitForQuiet(ctx: BenchContext, queues: Queue[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const [{ rows } = { rows: 0 }] = await ctx.sql<{ rows: number }[]>`select count(*)::int as rows from outbox`;
    const pending = (await Promise.all(queues.map((q) => q.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']))))
      .flat()
      .filter((job) => job && job.name !== 'jobs.housekeeping');
    if (rows === 0 && pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still busy after ${SETTLE_TIMEOUT_MS / 1000} s: ${rows} outbox rows, jobs ${pending.map((j) => j.name).join(', ')}`);
    // Polling: the jobs publish no signal the bench could wait on instead.
    await pause(250);
  }
}

if (isMain(import.meta.url)) {
  runStandalone('redis-growth', (ctx) => benchRedisGrowth(ctx, { chapters: 10_000, wordsPerChapter: 40, requests: 100 }));
}
