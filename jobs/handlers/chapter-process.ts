import { UnrecoverableError, type Job } from 'bullmq';
import type { LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import type { RedisClient } from '../../realtime/redis-client.ts';
import type { Publisher } from '../../realtime/publisher.ts';
import type { AiProvider } from '../ai/provider.ts';
import type { BatchWriter } from '../batch-writer.ts';
import type { ChapterLoader } from '../chapter-loader.ts';
import type { ChapterKey, JobPayloads } from '../contracts.ts';
import { holdsLock, lockOf } from '../job-lock.ts';
import { createProgressReporter } from '../progress-reporter.ts';
import type { ChapterOutcome } from '../result-writer.ts';

export interface ChapterProcessDeps {
  /** Reads the chapter, batched with the other jobs' reads. */
  chapters: ChapterLoader;
  publisher: Publisher;
  ai: AiProvider;
  results: BatchWriter<ChapterOutcome>;
  /** The worker's logger, shared by every chapter job (no child per job: its lines name the job themselves). */
  logger: Logger;
  /** The workers' Redis connection, to check the run still holds its job's lock. */
  redis: RedisClient;
  /** Gives a chapter that failed inside a run a job of its own, after `delayMs` (jobs/ingest-window.ts `handOff`). */
  handOff(job: Job<JobPayloads['chapter.process']>, chapter: ChapterKey, delayMs: number): Promise<void>;
  /** The process's slots for chapters of runs (WORKER_CONCURRENCY of them). */
  runSlots: LimitFunction;
}

export type ChapterJobResult =
  | { skipped: 'chapter_deleted' | 'superseded' }
  | { version: number; summary_chars: number; dimensions: number };

/** A run's result: how its chapters ended (`handed_off`: failed here, now retried in a job of their own). */
export interface RunJobResult {
  chapters: number;
  completed: number;
  skipped: number;
  handed_off: number;
}

/**
 * Runs a chapter job: one chapter (processChapter), or a run of a large
 * upload's chapters. A run's chapters share the process's run slots
 * (`runSlots`, WORKER_CONCURRENCY of them), so runs put no more chapters in
 * flight at once (no more AI calls) than single chapter jobs would.
 * In a run, a chapter that fails does not fail its neighbours: it gets a
 * chapter job of its own, which starts after the first retry delay and has
 * every attempt of a chapter job (CHAPTER_ATTEMPTS), and is announced
 * `queued` with the error meanwhile. What is not one chapter's fault (a
 * cancel, a store down, a lost lock) ends the whole run, once every one of
 * its chapters has stopped, as it would end a single chapter's job.
 */
export async function processChapterJob(
  job: Job<JobPayloads['chapter.process']>,
  deps: ChapterProcessDeps,
  signal: AbortSignal,
  token?: string,
): Promise<ChapterJobResult | RunJobResult> {
  const run = job.data.run;
  if (!run) return processChapter(job, deps, signal, token);
  const settled = await Promise.allSettled(run.map((chapter) => deps.runSlots(async (): Promise<RunOutcome> => {
    signal.throwIfAborted();
    try {
      const result = await processChapter(job, deps, signal, token, chapter);
      return 'skipped' in result ? 'skipped' : 'completed';
    } catch (error) {
      if (!(error instanceof ChapterFailure)) throw error;
      await deps.handOff(job, chapter, firstRetryDelay(job));
      return 'handed_off';
    }
  })));
  const fatal = settled.find((s) => s.status === 'rejected');
  if (fatal) throw fatal.reason;
  const outcomes = settled.map((s) => (s as PromiseFulfilledResult<RunOutcome>).value);
  const count = (outcome: RunOutcome) => outcomes.filter((o) => o === outcome).length;
  return { chapters: run.length, completed: count('completed'), skipped: count('skipped'), handed_off: count('handed_off') };
}

type RunOutcome = keyof Omit<RunJobResult, 'chapters'>;

/** A chapter's own failure (its AI call), as opposed to the run's: in a run, it is handed to a job of its own. */
class ChapterFailure extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** The delay before a job's first retry (its exponential backoff's base). */
function firstRetryDelay(job: Job): number {
  const backoff = job.opts.backoff;
  return typeof backoff === 'number' ? backoff : backoff?.delay ?? 0;
}

/**
 * Summarises and embeds one chapter. The outcome goes through the batched
 * writer, which publishes the chapter's final status only after its row is
 * committed. A failure that will be retried is announced as `queued` with
 * the error; the last attempt's failure is stored and announced as `failed`.
 * A run that lost its job lock (stalled, run again elsewhere) publishes and
 * writes nothing: the writer checks the lock of every row of its batch.
 */
async function processChapter(
  job: Job<JobPayloads['chapter.process']>,
  deps: ChapterProcessDeps,
  signal: AbortSignal,
  /** The run's lock token: a run that lost its lock (stalled, re-run elsewhere) publishes and writes nothing more. */
  token?: string,
  /** One chapter of the job's run: its failure is thrown as a ChapterFailure, and announced by the caller's hand-off. */
  inRun?: ChapterKey,
): Promise<ChapterJobResult> {
  const { documentId } = job.data;
  const target = inRun ?? { id: job.data.chapterId, version: job.data.version };
  const chapterId = target.id;
  const chapter = await deps.chapters.load(chapterId);
  if (!chapter) return { skipped: 'chapter_deleted' };
  // A newer version has a job of its own; this one would only be overwritten.
  if (chapter.version > target.version) return { skipped: 'superseded' };

  const base = { chapter_id: chapterId, index: chapter.index, version: chapter.version };
  // Coalescing is per chapter, and a chapter version runs in one job at a time, so the job holds its own.
  // Only a chapter still running after the coalescing interval publishes progress, so this GET is rare.
  const owned = () => holdsLock(deps.redis, lockOf(job, token));
  const progress = createProgressReporter({ publisher: deps.publisher, logger: deps.logger, canPublish: owned });
  const report = (percent: number) => progress.report(documentId, { ...base, status: 'processing', progress: percent });

  let summary: string;
  let embedding: number[];
  try {
    ({ summary, embedding } = await analyse(chapter.content, deps.ai, signal, report));
  } catch (error) {
    await progress.settle(chapterId);
    if (inRun && !signal.aborted) {
      await reportFailure(job, deps, chapter, error, token, 'handed_off');
      throw new ChapterFailure(error);
    }
    await reportFailure(job, deps, chapter, error, token);
    throw error;
  }
  // No progress update may get a seq after the chapter's final status.
  await progress.settle(chapterId);
  await deps.results.add({
    chapterId,
    documentId,
    chapterIndex: chapter.index,
    status: 'completed',
    progress: 100,
    summary,
    embedding,
    error: null,
    chapterVersion: chapter.version,
    attempts: job.attemptsMade + 1,
    lock: lockOf(job, token),
  });
  return { version: chapter.version, summary_chars: summary.length, dimensions: embedding.length };
}

/** Summarises (0..60 %), then embeds (60..95 %), reporting progress as it goes; `completed` (100) comes from the result writer. */
async function analyse(text: string, ai: AiProvider, signal: AbortSignal, report: (percent: number) => void) {
  const stage = (from: number, to: number) => (fraction: number) => report(Math.round(from + (to - from) * Math.min(1, Math.max(0, fraction))));
  const summarizing = stage(0, 60);
  const embedding = stage(60, 95);
  summarizing(0);
  const summary = await ai.summarize(text, { signal, onProgress: summarizing });
  embedding(0);
  const vector = await ai.embed(text, { signal, onProgress: embedding });
  embedding(1);
  return { summary, embedding: vector };
}

async function reportFailure(
  job: Job<JobPayloads['chapter.process']>,
  deps: ChapterProcessDeps,
  chapter: { id: string; index: number; version: number; document_id: string },
  error: unknown,
  token: string | undefined,
  /** `handed_off`: the chapter failed inside a run and goes on in a job of its own, so it is announced `queued`. */
  outcome?: 'handed_off',
): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  const final = !outcome && (error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
  deps.logger.warn(
    { err: error, jobId: job.id, job: job.name, requestId: job.data.requestId, chapterId: chapter.id, attempt: job.attemptsMade + 1, final, ...(outcome && { outcome }) },
    'chapter processing failed',
  );
  if (!final) {
    if (!(await holdsLock(deps.redis, lockOf(job, token)))) return;
    await deps.publisher.publish(chapter.document_id, 'chapter.status', {
      chapter_id: chapter.id,
      index: chapter.index,
      version: chapter.version,
      status: 'queued',
      progress: 0,
      error: message,
    });
    return;
  }
  await deps.results.add({
    chapterId: chapter.id,
    documentId: chapter.document_id,
    chapterIndex: chapter.index,
    status: 'failed',
    progress: 0,
    summary: null,
    embedding: null,
    error: message,
    chapterVersion: chapter.version,
    attempts: job.attemptsMade + 1,
    lock: lockOf(job, token),
  });
}
