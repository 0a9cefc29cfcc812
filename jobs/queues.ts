import { FlowProducer, Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_QUEUE, QUEUES, jobIds, PRIORITY, type JobName, type JobPayloads, type QueueName } from './contracts.ts';

/** Attempts, backoff and retention, set once per job type. */
export interface JobPolicy {
  chapterAttempts: number;
  backoffMs: number;
}

export function jobOptions(name: JobName, policy: JobPolicy): JobsOptions {
  const retention = { removeOnComplete: { age: 24 * 3600, count: 10_000 }, removeOnFail: { age: 7 * 24 * 3600 } };
  switch (name) {
    case 'chapter.process':
      return {
        ...retention,
        attempts: policy.chapterAttempts,
        backoff: { type: 'exponential', delay: policy.backoffMs },
        priority: PRIORITY.normal,
        // A chapter that fails for good must not hold its document's finalize job back.
        ignoreDependencyOnFailure: true,
      };
    case 'document.ingest':
    case 'document.finalize':
      return { ...retention, attempts: 5, backoff: { type: 'exponential', delay: policy.backoffMs }, priority: PRIORITY.normal };
    case 'chapter.refresh':
      // The writer is looking at this chapter: its summary goes ahead of any bulk work.
      return { ...retention, attempts: policy.chapterAttempts, backoff: { type: 'exponential', delay: policy.backoffMs }, priority: PRIORITY.urgent };
    case 'artifact.refresh':
      return { ...retention, attempts: 3, backoff: { type: 'exponential', delay: policy.backoffMs }, priority: PRIORITY.low };
    case 'package.build':
      return { ...retention, attempts: 3, backoff: { type: 'exponential', delay: policy.backoffMs }, priority: PRIORITY.normal };
  }
}

export interface IngestRequest {
  documentId: string;
  /** Id of the document's finalize job, returned to the client as `job_id`. */
  jobId: string;
  requestId?: string;
}

export interface IngestFlow extends IngestRequest {
  chapters: { id: string; version: number }[];
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
  /** One job per chapter and a finalize job that runs after all of them (a BullMQ flow); idempotent. */
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
 */
export function createJobQueues(connection: Redis, prefix: string, policy: JobPolicy): JobQueues {
  const queues = new Map<QueueName, Queue>(
    Object.values(QUEUES).map((name) => [name, new Queue(name, { connection, prefix })]),
  );
  const flows = new FlowProducer({ connection, prefix });
  const queue = (name: QueueName) => queues.get(name)!;

  return {
    queue,
    async enqueueIngest({ documentId, jobId, requestId }) {
      await queue(JOB_QUEUE['document.ingest']).add(
        'document.ingest',
        { documentId, finalizeJobId: jobId, requestId } satisfies JobPayloads['document.ingest'],
        { ...jobOptions('document.ingest', policy), jobId: jobIds.ingest(documentId) },
      );
    },
    async addIngestFlow({ documentId, jobId, chapters, requestId }) {
      // Fixed job ids: a retried ingest job adds nothing twice.
      await flows.add({
        name: 'document.finalize',
        queueName: JOB_QUEUE['document.finalize'],
        data: { documentId, requestId } satisfies JobPayloads['document.finalize'],
        opts: { ...jobOptions('document.finalize', policy), jobId },
        children: chapters.map((c) => ({
          name: 'chapter.process',
          queueName: JOB_QUEUE['chapter.process'],
          data: { documentId, chapterId: c.id, version: c.version, requestId } satisfies JobPayloads['chapter.process'],
          opts: { ...jobOptions('chapter.process', policy), jobId: jobIds.chapter(c.id, c.version) },
        })),
      });
    },
    async enqueue(name, payload, options) {
      const job = await queue(JOB_QUEUE[name]).add(name, payload, { ...jobOptions(name, policy), ...options });
      return job.id!;
    },
    async enqueueMany(jobs) {
      const byQueue = new Map<QueueName, JobToEnqueue[]>();
      for (const job of jobs) byQueue.set(JOB_QUEUE[job.name], [...(byQueue.get(JOB_QUEUE[job.name]) ?? []), job]);
      await Promise.all(
        [...byQueue].map(([name, list]) =>
          queue(name).addBulk(list.map((j) => ({ name: j.name, data: j.payload, opts: { ...jobOptions(j.name, policy), ...j.options } }))),
        ),
      );
    },
    async cancelIngest(documentId, jobId, chapters) {
      const chapterQueue = queue(JOB_QUEUE['chapter.process']);
      // A running (locked) job cannot be removed; it sees its chapter gone and ends.
      await Promise.allSettled([
        queue(JOB_QUEUE['document.ingest']).remove(jobIds.ingest(documentId)),
        queue(JOB_QUEUE['document.finalize']).remove(jobId, { removeChildren: true }),
        ...chapters.map((c) => chapterQueue.remove(jobIds.chapter(c.id, c.version))),
      ]);
    },
    async close() {
      await Promise.all([...[...queues.values()].map((q) => q.close()), flows.close()]);
    },
  };
}
