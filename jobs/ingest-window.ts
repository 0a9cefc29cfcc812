/**
 * Fair scheduling of chapter jobs across writers, on open-source BullMQ.
 *
 * The problem: the chapters queue is first-in first-out (within a priority),
 * so an upload of 10,000 chapters put 10,000 jobs in front of anything
 * uploaded after it; another writer's 1-chapter document waited for all of
 * them (25.7 s with the builtin AI, minutes with a real model).
 *
 * The design: a bounded window per document. The ingest adds the document's
 * finalize job with only the first `size` chapter jobs as its children; each
 * chapter job, when it starts, adds the chapter `size` positions after it (a
 * child of the same finalize job). A document therefore never has more than
 * `size` chapter jobs waiting, however long it is, and the queue interleaves
 * documents: a new document's first job waits behind at most one window per
 * other document in flight, not behind their whole uploads. Releasing at
 * start (not at finish) keeps every worker slot busy when one document is
 * alone: waiting jobs stay at `size` while active ones grow to the workers'
 * concurrency, so the window costs no throughput beyond one job add per
 * chapter (the flow used to make the same adds in one step).
 *
 * A large upload's chapter jobs each take a run of consecutive chapters
 * (`runLengthFor`, CHAPTERS_PER_JOB): the window then counts chapters and
 * is a whole number of runs, and a run releases the run `size` positions
 * after its first chapter. Everything below holds for runs as for single
 * chapters (docs/architecture.md, "Runs of chapters").
 *
 * The window is weighted per user: INGEST_WINDOW_PER_USER divided by the
 * user's documents in flight when the ingest starts (at least 1), so one
 * user with many documents queues about as much as one with a single one.
 * A document's window is fixed for its life (below: a fixed offset is what
 * makes every release idempotent), so documents uploaded earlier keep theirs;
 * with MAX_UPLOADS_IN_FLIGHT_PER_USER bounding the count, a user's total is
 * at most the window times ln(uploads) + 1.
 *
 * Why it holds under crashes and retries:
 * - Chapter `p` always releases chapter `p + size`, with a deterministic job
 *   id, so a re-run releases the same job again, and BullMQ ignores a second
 *   add with the same id. The id holds the chapter's version, so the order
 *   and versions are frozen when the ingest starts, in one Redis list per
 *   document (`<prefix>:ingest-order:<documentId>`, deleted by the finalize
 *   job): a release re-run after an edit must not add the edited version as
 *   a second job (a chapter seen completed, then processing again); an edit
 *   is the summary refresh's work, as before windows. A worker SIGKILLed before its release lands leaves
 *   its job stalled; BullMQ runs it again (on any process) and it releases
 *   then. Nothing depends on the process that started a release surviving.
 * - The release completes before the releasing job ends (the processor
 *   awaits it, on success and on failure), and a job is a pending dependency
 *   of the finalize job until it ends, so the finalize job always has an
 *   unfinished child until the last chapter ends: it runs exactly once, after
 *   every chapter, as before. If the finalize job is gone (document deleted
 *   and its jobs cancelled), the release adds nothing.
 * - No step adds more than one window at once: a 10,000-chapter ingest adds
 *   `size` chapters' jobs, then one job per job start.
 * - A waiting chapter job cancelled through the API releases its successor
 *   before it is removed (jobs/job-control.ts `beforeRemove`), so the parent
 *   never runs early and the rest of the document still comes.
 * - Edge: a chapter job that fails for stalling twice before its release
 *   (two kills within the same few milliseconds of one job) leaves the
 *   chapters it would have released unqueued; the finalize job then records
 *   them as failed ("processing ended without a result"), so the document
 *   still ends (`partial`), never hangs.
 *
 * Alternatives measured or weighed:
 * - Priorities as virtual time (start-time fair queuing): every chapter job
 *   added at once with a priority from its rank in its user's work. A new
 *   document's first chapter then waits for one slot only, but BullMQ's
 *   priority is bounded (2^21) while virtual time grows with every chapter
 *   served, so it must be rebased (re-prioritising every waiting job), and
 *   10,000 jobs still sit in Redis per upload. Rejected for the rebase.
 * - BullMQ Pro groups (round-robin per group): not open source.
 * - A per-user token counter in Redis releasing the next chapter of any of
 *   the user's documents: exact per-user shares, but a counter bumped by a
 *   process that dies before adding the job strands a chapter; it needs a
 *   sweeper. The fixed-offset chain needs none.
 */
import type { Job } from 'bullmq';
import type { RedisClient } from '../realtime/redis-client.ts';
import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { listChapterKeys } from '../sql/queries/chapters.ts';
import { chapterJobOf, JOB_QUEUE, jobIds, type ChapterKey, type JobPayloads } from './contracts.ts';
import type { JobQueues } from './queues.ts';

/** A frozen order outlives any ingest (a week, as job retention), in case its finalize job never runs. */
const ORDER_TTL_SECONDS = 7 * 24 * 3600;

export interface IngestWindowsOptions {
  sql: Sql;
  redis: RedisClient;
  prefix: string;
  queues: Pick<JobQueues, 'enqueue' | 'queue'>;
  logger: Logger;
  /** Documents whose chapter list this process keeps (about 1 MB per 10,000 chapters). Default 32. */
  cachedDocuments?: number;
}

export interface IngestWindows {
  /** Freezes the document's chapter order and versions for its releases; call before adding its flow. */
  prepare(documentId: string, chapters: ChapterKey[]): Promise<void>;
  /** Drops the frozen order (the finalize job, once every chapter ended). */
  forget(documentId: string): Promise<void>;
  /** Runs a chapter job, releasing the next chapter of its window meanwhile; ends only after the release landed. */
  around<T>(job: Job<JobPayloads['chapter.process']>, run: () => Promise<T>): Promise<T>;
  /** Adds the chapter job that `job` releases (idempotent); nothing when it has no window or its document is done. */
  release(job: Job<JobPayloads['chapter.process']>): Promise<void>;
  /**
   * Gives one chapter of a run a chapter job of its own, started after
   * `delayMs`, as a child of the run's finalize job (idempotent: the job id
   * names the chapter version). Resolves once the job is added, so the
   * finalize job never runs before it.
   */
  handOff(job: Job<JobPayloads['chapter.process']>, chapter: ChapterKey, delayMs: number): Promise<void>;
}

/** A window in chapters, made a whole number of runs (at least one). */
export function windowInRuns(window: number, runLength: number): number {
  return Math.max(runLength, Math.floor(window / runLength) * runLength);
}

/** A document's window: the user's window shared among the user's documents in flight (this one included), at least 1. */
export function windowFor(userWindow: number, documentsInFlight: number): number {
  return Math.max(1, Math.floor(userWindow / Math.max(1, documentsInFlight)));
}

/**
 * Longer than ~60 lines on purpose: the per-document chapter cache is one state shared by `prepare`,
 * `forget`, `around` and `release`; each inner function is short, and splitting the factory would mean passing
 * that state around or making it public.
 */
export function createIngestWindows(options: IngestWindowsOptions): IngestWindows {
  const { sql, queues } = options;
  const capacity = options.cachedDocuments ?? 32;
  // Chapter order is fixed at upload (no route adds or removes chapters), so one read per document and process serves every release.
  const cache = new Map<string, Promise<ChapterKey[]>>();
  const orderKey = (documentId: string) => `${options.prefix}:ingest-order:${documentId}`;
  const load = async (documentId: string): Promise<ChapterKey[]> => {
    const frozen = await options.redis.lrange(orderKey(documentId), 0, -1);
    // No list: a document ingested before windows, or one past its retention; the stored rows are the order then.
    if (frozen.length === 0) return listChapterKeys(sql, documentId);
    return frozen.map((entry) => {
      const at = entry.lastIndexOf(':');
      return { id: entry.slice(0, at), version: Number(entry.slice(at + 1)) };
    });
  };
  const chapterKeys = (documentId: string): Promise<ChapterKey[]> => {
    const hit = cache.get(documentId);
    cache.delete(documentId);
    const keys = hit ?? load(documentId);
    cache.set(documentId, keys);
    if (!hit) keys.catch(() => cache.delete(documentId));
    while (cache.size > capacity) cache.delete(cache.keys().next().value!);
    return keys;
  };

  // BullMQ refuses a child whose parent is gone: the document was deleted and its jobs cancelled; then nothing is added.
  const addChild = async (job: Job<JobPayloads['chapter.process']>, payload: JobPayloads['chapter.process'], options: { jobId: string; delay?: number }) => {
    const parentId = job.parent?.id;
    try {
      await queues.enqueue('chapter.process', payload, { ...options, ...(parentId && { parent: { id: parentId, queue: job.parent!.queueKey } }) });
    } catch (error) {
      if (parentId && !(await queues.queue(JOB_QUEUE['document.finalize']).getJob(parentId))) return;
      throw error;
    }
  };

  const release = async (job: Job<JobPayloads['chapter.process']>): Promise<void> => {
    const { window, run, ...data } = job.data;
    if (!window || !job.parent?.id) return;
    const position = window.position + window.size;
    // Runs are equally long (the last one aside, which releases nothing): the next one is as long as this one.
    const next = (await chapterKeys(data.documentId)).slice(position, position + (run?.length ?? 1));
    if (next.length === 0) return;
    const { jobId, fields } = chapterJobOf(next);
    await addChild(job, { ...data, ...fields, window: { position, size: window.size } }, { jobId });
  };

  return {
    release,
    async handOff(job, chapter, delayMs) {
      const { documentId, requestId, userId } = job.data;
      const payload = { documentId, chapterId: chapter.id, version: chapter.version, requestId, userId };
      await addChild(job, payload, { jobId: jobIds.chapter(chapter.id, chapter.version), delay: delayMs });
    },
    async prepare(documentId, chapters) {
      const key = orderKey(documentId);
      await options.redis
        .multi()
        .del(key)
        .rpush(key, ...chapters.map((c) => `${c.id}:${c.version}`))
        .expire(key, ORDER_TTL_SECONDS)
        .exec();
    },
    async forget(documentId) {
      cache.delete(documentId);
      await options.redis.del(orderKey(documentId));
    },
    async around(job, run) {
      const released = release(job);
      released.catch(() => undefined); // awaited below; this only keeps an early rejection from counting as unhandled
      try {
        return await run();
      } finally {
        // Before the job ends: the finalize job must already have the released chapter as a pending child.
        await released;
      }
    },
  };
}
