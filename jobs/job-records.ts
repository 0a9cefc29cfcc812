import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import { isFinished, type JobStatus } from '../domain/vocabulary.ts';
import type { JobRecord, JobRow } from '../sql/queries/jobs.ts';
import type { JobView } from '../realtime/events.ts';
import { chapterOfJobId, PRIORITY } from './contracts.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Row ids this process computed lately, by `<queue>:<bull id>`: a chapter job
 * asks three times (queued, processing, completed), within seconds.
 */
const recentRowIds = new Map<string, string>();
const RECENT_ROW_IDS = 4096;

/**
 * The REST id of a BullMQ job: its own id when that is a UUID (an upload's
 * finalize job, a package build), otherwise a name-based UUID (RFC 4122
 * version 5 layout over SHA-1) of queue and id, the same in every process.
 */
export function jobRowId(queue: string, bullId: string): string {
  const key = `${queue}:${bullId}`;
  const known = recentRowIds.get(key);
  if (known !== undefined) return known;
  const id = computeRowId(queue, bullId);
  // Insertion order is age: past the bound, the oldest entry goes.
  if (recentRowIds.size >= RECENT_ROW_IDS) recentRowIds.delete(recentRowIds.keys().next().value!);
  recentRowIds.set(key, id);
  return id;
}

function computeRowId(queue: string, bullId: string): string {
  if (UUID.test(bullId)) return bullId.toLowerCase();
  const hash = createHash('sha1').update(`herald-job:${queue}:${bullId}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const PRIORITY_NAMES = new Map<number, string>(Object.entries(PRIORITY).map(([name, n]) => [n, name]));

/** The name of a BullMQ priority number (`normal` when unset). */
export function priorityName(priority: number | undefined): string {
  return (priority !== undefined && PRIORITY_NAMES.get(priority)) || (priority ? String(priority) : 'normal');
}

interface JobData {
  documentId?: string;
  userId?: string;
  requestId?: string;
}

/** A job's record in a given status, from the BullMQ job as this process sees it. */
export function recordOf(job: Job, status: JobStatus, extra: Partial<JobRecord> = {}): JobRecord {
  const data = (job.data ?? {}) as JobData;
  const finished = isFinished(status);
  return {
    id: jobRowId(job.queueName, job.id!),
    queue: job.queueName,
    bullId: job.id!,
    type: job.name,
    status,
    priority: priorityName(job.opts.priority),
    progress: status === 'completed' ? 100 : typeof job.progress === 'number' ? Math.round(job.progress) : 0,
    attempts: status === 'processing' ? job.attemptsMade + 1 : job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    documentId: data.documentId ?? null,
    userId: data.userId ?? null,
    requestId: data.requestId ?? null,
    dedupId: job.opts.deduplication?.id ?? null,
    result: null,
    error: null,
    createdAt: new Date(job.timestamp),
    startedAt: job.processedOn ? new Date(job.processedOn) : null,
    completedAt: finished ? new Date(job.finishedOn ?? Date.now()) : null,
    changedAt: new Date(),
    ...extra,
  };
}

/** The contract's `job` (CONTRACT.md section 4). */
export function jobView(row: JobRow): JobView {
  return {
    id: row.id,
    type: row.type,
    queue: row.queue,
    status: row.status,
    priority: row.priority,
    progress: row.progress,
    document_id: row.document_id,
    chapter_id: chapterOfJobId(row.bull_id),
    user_id: row.user_id,
    created_at: row.created_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    completed_at: row.completed_at?.toISOString() ?? null,
    result: row.result ?? null,
    error: row.error,
    attempts: row.attempts,
    max_attempts: row.max_attempts,
  };
}
