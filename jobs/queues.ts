import { FlowProducer, Job, Queue, type JobNode, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../realtime/redis-client.ts';
import { chapterJobOf, JOB_QUEUE, QUEUES, jobIds, runLengthFor, PRIORITY, type JobName, type JobPayloads, type PriorityName, type QueueName } from './contracts.ts';

/**
 * BullMQ's key prefix. On a Redis Cluster every key of a BullMQ script must
 * share one hash slot, and a flow's parent and children live in different
 * queues, so all queues share the hash tag `{<prefix>}`: the whole queue
 * system then lives on one shard (see docs/operations.md).
 */
export function queuePrefix(prefix: string, cluster: boolean): string {
  return cluster ? `{${prefix}}` : prefix;
}

/** Attempts, backoff and retention, set once per job type. */
export interface JobPolicy {
  /** Attempts of `chapter.process` and `chapter.refresh` (CHAPTER_ATTEMPTS). */
  chapterAttempts: number;
  /** First retry delay; each later one doubles (exponential backoff). */
  backoffMs: number;
  /** Attempts per job type over the defaults (JOB_ATTEMPTS). */
  attempts?: Partial<Record<JobName, number>>;
  /** Chapters one chapter job takes at most, in a large upload (CHAPTERS_PER_JOB; `runLengthFor`). Default 1. */
  chaptersPerJob?: number;
}

/** Each job type's priority and default attempts (chapter jobs take CHAPTER_ATTEMPTS). */
const JOB_DEFAULTS: Record<JobName, { priority: PriorityName; attempts: number | 'chapter' }> = {
  'chapter.process': { priority: 'normal', attempts: 'chapter' },
  'document.ingest': { priority: 'normal', attempts: 5 },
  'document.finalize': { priority: 'normal', attempts: 5 },
  // The writer is looking at this chapter: its summary goes ahead of any bulk work.
  'chapter.refresh': { priority: 'urgent', attempts: 'chapter' },
  'artifact.refresh': { priority: 'low', attempts: 3 },
  'package.build': { priority: 'normal', attempts: 3 },
  'document.refresh': { priority: 'high', attempts: 3 },
  'jobs.housekeeping': { priority: 'low', attempts: 1 },
};

export function jobOptions(name: JobName, policy: JobPolicy): JobsOptions {
  const defaults = JOB_DEFAULTS[name];
  return {
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
    attempts: policy.attempts?.[name] ?? (defaults.attempts === 'chapter' ? policy.chapterAttempts : defaults.attempts),
    backoff: { type: 'exponential', delay: policy.backoffMs },
    priority: PRIORITY[defaults.priority],
    // A chapter that fails for good must not hold its document's finalize job back.
    ...(name === 'chapter.process' && { ignoreDependencyOnFailure: true }),
  };
}

/** Told about every job this process adds (the `jobs` rows start here). */
export interface JobQueueHooks {
  added?(jobs: Job[]): void;
}

export interface IngestRequest {
  documentId: string;
  /** Who uploaded it (the jobs rows' user). */
  userId?: string;
  /** Id of the document's finalize job, returned to the client as `job_id`. */
  jobId: string;
  requestId?: string;
}

export interface IngestFlow extends IngestRequest {
  /** Every chapter of the document, in order. */
  chapters: { id: string; version: number }[];
  /**
   * Chapter jobs the document keeps queued (jobs/ingest-window.ts): the flow
   * holds the first `window` chapters, and each chapter job adds the one
   * `window` positions after it when it starts. Default: every chapter at once.
   * A multiple of `runLength`.
   */
  window?: number;
  /** Chapters per chapter job (consecutive runs, the last may be shorter): `runLength(chapters.length)`. */
  runLength: number;
}

/** One job for `enqueueMany`: a contract name, its payload, and options over the job type's defaults. */
export interface JobToEnqueue<N extends JobName = JobName> {
  name: N;
  payload: JobPayloads[N];
  options?: JobsOptions;
}

/** The enqueue side of the job system, used by the API. */
export interface JobQueues {
  /** One small job that fans the upload out: the upload answers without adding hundreds of jobs. */
  enqueueIngest(request: IngestRequest): Promise<void>;
  /** Chapters per chapter job for an upload of `chapterCount` chapters (CHAPTERS_PER_JOB, `runLengthFor`). */
  runLength(chapterCount: number): number;
  /** The finalize job with the first window of chapter jobs as its children (a BullMQ flow); idempotent. */
  addIngestFlow(flow: IngestFlow): Promise<void>;
  enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options?: JobsOptions): Promise<string>;
  /** Adds jobs in order, one round trip per queue (BullMQ addBulk); options override each job type's defaults. */
  enqueueMany(jobs: JobToEnqueue[]): Promise<void>;
  /** Removes a document's jobs that have not started; running ones find their rows gone and stop. */
  cancelIngest(documentId: string, jobId: string, chapters: { id: string; version: number }[]): Promise<void>;
  queue(name: QueueName): Queue;
  close(): Promise<void>;
}

/**
 * Give it a connection with `enableOfflineQueue: false`: with Redis down an
 * enqueue then fails at once (the API answers 503) instead of hanging.
 *
 * Longer than ~60 lines on purpose: the queues, the flow producer and the job policy are one state shared by
 * every enqueue and `close`; each inner function is short, and splitting the factory would mean passing that
 * state around or making it public.
 */
export function createJobQueues(connection: RedisClient, prefix: string, policy: JobPolicy, hooks: JobQueueHooks = {}): JobQueues {
  const queues = new Map<QueueName, Queue>(
    Object.values(QUEUES).map((name) => [name, new Queue(name, { connection, prefix })]),
  );
  const flows = new FlowProducer({ connection, prefix });
  const queue = (name: QueueName) => queues.get(name)!;
  const added = (jobs: Job[]) => hooks.added?.(jobs);

  const runLength = (chapterCount: number) => runLengthFor(chapterCount, policy.chaptersPerJob ?? 1);

  return {
    queue,
    runLength,
    async enqueueIngest({ documentId, jobId, requestId, userId }) {
      const job = await queue(JOB_QUEUE['document.ingest']).add(
        'document.ingest',
        { documentId, finalizeJobId: jobId, requestId, userId } satisfies JobPayloads['document.ingest'],
        { ...jobOptions('document.ingest', policy), jobId: jobIds.ingest(documentId) },
      );
      added([job]);
    },
    async addIngestFlow({ documentId, jobId, chapters, requestId, userId, window, runLength }) {
      const size = window ?? chapters.length;
      const children = [];
      for (let position = 0; position < Math.min(size, chapters.length); position += runLength) {
        const run = chapterJobOf(chapters.slice(position, position + runLength));
        children.push({
          name: 'chapter.process',
          queueName: JOB_QUEUE['chapter.process'],
          data: {
            documentId, ...run.fields, requestId, userId,
            ...(size < chapters.length && { window: { position, size } }),
          } satisfies JobPayloads['chapter.process'],
          opts: { ...jobOptions('chapter.process', policy), jobId: run.jobId },
        });
      }
      // Fixed job ids: a retried ingest job adds nothing twice.
      const tree = await flows.add({
        name: 'document.finalize',
        queueName: JOB_QUEUE['document.finalize'],
        data: { documentId, requestId, userId } satisfies JobPayloads['document.finalize'],
        opts: { ...jobOptions('document.finalize', policy), jobId },
        children,
      });
      added(flatten(tree));
    },
    async enqueue(name, payload, options) {
      const job = await queue(JOB_QUEUE[name]).add(name, payload, { ...jobOptions(name, policy), ...options });
      added([job]);
      return job.id!;
    },
    async enqueueMany(jobs) {
      const byQueue = new Map<QueueName, JobToEnqueue[]>();
      for (const job of jobs) byQueue.set(JOB_QUEUE[job.name], [...(byQueue.get(JOB_QUEUE[job.name]) ?? []), job]);
      const bulk = (j: JobToEnqueue) => ({ name: j.name, data: j.payload, opts: { ...jobOptions(j.name, policy), ...j.options } });
      const lists = await Promise.all(
        [...byQueue].map(async ([name, all]) => {
          const built = all.map(bulk);
          const rescheduled = await Promise.all(built.map((j) => rescheduleDebounced(queue(name), j)));
          const list = built.filter((_, i) => !rescheduled[i]);
          if (list.length === 0) return [];
          // A lone job without addBulk's pipeline: ioredis builds each pipeline by copying every script BullMQ
          // defined on the connection onto it, which costs more than the job's own script call.
          if (list.length > 1) return queue(name).addBulk(list);
          const { name: jobName, data, opts } = list[0]!;
          return [await queue(name).add(jobName, data, opts)];
        }),
      );
      added(lists.flat());
    },
    async cancelIngest(documentId, jobId, chapters) {
      const chapterQueue = queue(JOB_QUEUE['chapter.process']);
      // Each chapter's own job, and the runs a large upload's ingest cut (a run's chapter may have been handed off).
      const ids = chapters.map((c) => jobIds.chapter(c.id, c.version));
      const length = runLength(chapters.length);
      for (let p = 0; length > 1 && p < chapters.length; p += length) ids.push(chapterJobOf(chapters.slice(p, p + length)).jobId);
      // A running (locked) job cannot be removed; it sees its chapter gone and ends.
      await Promise.allSettled([
        queue(JOB_QUEUE['document.ingest']).remove(jobIds.ingest(documentId)),
        queue(JOB_QUEUE['document.finalize']).remove(jobId, { removeChildren: true }),
        ...ids.map((id) => chapterQueue.remove(id)),
      ]);
    },
    async close() {
      await Promise.all([...[...queues.values()].map((q) => q.close()), flows.close()]);
    },
  };
}

/**
 * A debounced job (deduplication with `replace` and a delay) whose
 * predecessor is still waiting out its quiet time: the predecessor takes the
 * new data and restarts its delay, keeping its id. So a burst of saves is one
 * job from its first save to its run, announced once as `queued`, instead of
 * a new job and a cancelled one per save (BullMQ's `replace` removes the
 * delayed job and adds one under the new id).
 *
 * Returns false, and the caller adds the job as usual, when there is no such
 * job: none, or it has left the delayed set (promoted, running, ended); then
 * BullMQ's deduplication keeps the new job after a running one
 * (`keepLastIfActive`). The data goes first: a job promoted between the two
 * calls runs with the new data, and the add that follows the failed delay
 * change is deduplicated against it, or queued after it if it already runs.
 */
async function rescheduleDebounced(queue: Queue, job: { name: string; data: unknown; opts: JobsOptions }): Promise<boolean> {
  const { deduplication, delay } = job.opts;
  if (!deduplication?.replace || !delay) return false;
  const pendingId = await queue.getDeduplicationJobId(deduplication.id);
  if (!pendingId) return false;
  const pending = new Job(queue, job.name, job.data, job.opts, pendingId);
  try {
    await pending.updateData(job.data);
    await pending.changeDelay(delay);
    return true;
  } catch {
    // Not delayed any more, or gone; if Redis itself failed, the add fails too and the outbox row stays.
    return false;
  }
}

function flatten(node: JobNode): Job[] {
  return [node.job, ...(node.children ?? []).flatMap(flatten)];
}
