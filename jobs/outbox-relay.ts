import { setTimeout as pause } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { claimOutbox, deleteOutbox, OUTBOX_CHANNEL, recordOutboxFailure, type OutboxRow } from '../sql/queries/outbox.ts';
import { pruneAutosaveOps } from '../sql/queries/autosave-ops.ts';
import { isUnavailable } from '../sql/errors.ts';
import type { DocumentEventName, DocumentEventPayloads } from '../realtime/events.ts';
import type { EventToPublish, Publisher } from '../realtime/publisher.ts';
import { jobIds, type JobName, type JobPayloads } from './contracts.ts';
import type { OutboxJobOptions } from './outbox.ts';
import type { JobQueues, JobToEnqueue } from './queues.ts';

export interface OutboxRelayOptions {
  sql: Sql;
  /** Where to LISTEN for new rows: a direct connection, as a transaction-mode pooler delivers no notifications. Default: `sql`. */
  listener?: Pick<Sql, 'listen'>;
  queues: Pick<JobQueues, 'enqueueMany'>;
  publisher: Pick<Publisher, 'publishMany'>;
  logger: Logger;
  /** Poll interval when no NOTIFY arrives, and the pause after a failed attempt (Redis down). */
  pollMs: number;
  /** Rows per transaction. Default 200. */
  batchSize?: number;
}

export interface OutboxRelay {
  /** Listens for NOTIFY, starts the poll timer and relays whatever is already waiting. */
  start(): Promise<void>;
  /** Stops listening and polling; resolves once the batch in flight (if any) has committed. */
  stop(): Promise<void>;
  /** Looks for rows now (the API's fast path calls it for rows it could not send). */
  wake(): void;
}

/** How long a wake-up waits for more rows before relaying. */
const COALESCE_MS = 5;
/** Autosave answers are pruned this often. */
const HOUSEKEEPING_MS = 10 * 60_000;

/**
 * Moves outbox rows onto BullMQ and the event streams, in id order per
 * document: the rows the API's fast path (outbox-dispatch.ts) did not send,
 * and those written without it. A row is deleted only in the transaction
 * that relayed it, after Redis accepted it: a crash in between relays it
 * again, which is harmless for jobs (the job id comes from the row, so
 * BullMQ adds it once) and for events (the row id is the event's
 * idempotency key, so publish-event.lua sends it once). While Redis is down,
 * every attempt fails fast and rows wait; the poll timer retries.
 * Any number of relays may run against one database (see claimOutbox).
 *
 * Longer than ~60 lines on purpose: the wake-up flag, the batch in flight, the pause after a failure and the
 * timers are one state shared by `start`, `wake` and `stop`; each inner function is short, and splitting the
 * factory would mean passing that state around or making it public.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const logger = options.logger.child({ component: 'outbox-relay' });
  const batchSize = options.batchSize ?? 200;
  let stopped = false;
  let wanted = false;
  let running: Promise<void> | undefined;
  let pausedUntil = 0;
  let lastFailure = '';
  const timers: NodeJS.Timeout[] = [];
  let unlisten: (() => Promise<void>) | undefined;

  const wake = () => {
    if (stopped) return;
    wanted = true;
    // A few ms of coalescing: under load, one batch carries many saves' rows
    // (one pipeline, one addBulk) instead of one transaction per save.
    running ??= pause(COALESCE_MS)
      .then(loop)
      .finally(() => (running = undefined));
  };

  const loop = async () => {
    while (wanted && !stopped && Date.now() >= pausedUntil) {
      wanted = false;
      const outcome = await relayBatch(options, batchSize).catch((error: unknown) => ({ claimed: 0, error }));
      if (outcome.error !== undefined) {
        pausedUntil = Date.now() + options.pollMs;
        const message = (outcome.error as Error)?.message ?? String(outcome.error);
        // Logged once per distinct failure, not once per poll during an outage.
        if (message !== lastFailure) logger.warn({ err: message }, 'outbox relay paused; rows wait for the next attempt');
        lastFailure = message;
        return;
      }
      if (lastFailure) logger.info('outbox relay resumed');
      lastFailure = '';
      if (outcome.claimed >= batchSize) wanted = true;
    }
  };

  return {
    async start() {
      const listener = await (options.listener ?? options.sql).listen(OUTBOX_CHANNEL, wake, wake);
      unlisten = listener.unlisten;
      timers.push(
        setInterval(() => {
          pausedUntil = 0;
          wake();
        }, options.pollMs),
        setInterval(() => void pruneAutosaveOps(options.sql).catch((err) => logger.warn({ err }, 'autosave answers not pruned')), HOUSEKEEPING_MS),
      );
      for (const t of timers) t.unref();
      wake();
    },
    wake,
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await unlisten?.().catch(() => {});
      await running;
    },
  };
}

/**
 * One transaction: claim, relay, delete what was relayed. Fast path: every
 * event of the batch in one pipeline (in id order), then every job (addBulk,
 * in id order). An event never needs a later row, and a job is added only
 * after every earlier event was published, so `package.essential` still
 * precedes the full build. If the fast path fails for any reason but an
 * outage, the batch is replayed row by row, so one bad row holds back only
 * the rest of its document.
 */
async function relayBatch(options: OutboxRelayOptions, batchSize: number): Promise<{ claimed: number; error?: unknown }> {
  let outcome: RelayOutcome = { done: [] };
  const claimed = await options.sql.begin(async (tx) => {
    const rows = await claimOutbox(tx, batchSize);
    outcome = await relayAll(options, rows).catch((error: unknown) =>
      isUnavailable(error) ? { done: [], failed: { row: rows[0]!, error } } : relayOneByOne(options, rows),
    );
    await deleteOutbox(tx, outcome.done);
    return rows.length;
  });
  const { failed } = outcome as RelayOutcome;
  if (!failed) return { claimed };
  const message = (failed.error as Error)?.message ?? String(failed.error);
  await recordOutboxFailure(options.sql, failed.row.id, message).catch(() => {});
  if (!isUnavailable(failed.error)) options.logger.error({ err: failed.error, outboxId: failed.row.id, name: failed.row.name }, 'outbox row failed');
  return { claimed, error: failed.error };
}

interface RelayOutcome {
  /** Ids relayed, to delete. */
  done: string[];
  /** The first row that failed. */
  failed?: { row: OutboxRow; error: unknown };
}

async function relayAll(options: OutboxRelayOptions, rows: OutboxRow[]): Promise<RelayOutcome> {
  const events = rows.filter((r) => r.kind === 'event');
  const jobs = rows.filter((r) => r.kind === 'job');
  if (events.length > 0) {
    await options.publisher.publishMany(events.map(eventOf));
  }
  const published = events.map((r) => r.id);
  if (jobs.length === 0) return { done: published };
  try {
    await options.queues.enqueueMany(lastPerDeduplication(jobs).map(jobToEnqueue));
    return { done: [...published, ...jobs.map((r) => r.id)] };
  } catch (error) {
    // The events are out: keep them done, retry only the jobs.
    const rest = isUnavailable(error) ? { done: [], failed: { row: jobs[0]!, error } } : await relayOneByOne(options, jobs);
    return { done: [...published, ...rest.done], ...(rest.failed && { failed: rest.failed }) };
  }
}

async function relayOneByOne(options: OutboxRelayOptions, rows: OutboxRow[]): Promise<RelayOutcome> {
  const outcome: RelayOutcome = { done: [] };
  const blocked = new Set<string>();
  for (const row of rows) {
    if (blocked.has(row.document_id)) continue;
    try {
      await relayRow(options, row);
      outcome.done.push(row.id);
    } catch (error) {
      outcome.failed ??= { row, error };
      blocked.add(row.document_id);
      if (isUnavailable(error)) break;
    }
  }
  return outcome;
}

/**
 * Of several jobs in one batch that share a replacing deduplication id (the
 * debounced refresh of one chapter, saved many times while Redis was down),
 * BullMQ would keep only the last: only that one is added. Adding them all in
 * one addBulk gives them one timestamp, and the earlier ones' job rows could
 * not tell they were replaced.
 */
export function lastPerDeduplication(jobs: OutboxRow[]): OutboxRow[] {
  const replacing = (r: OutboxRow) => {
    const dedup = (r.options as OutboxJobOptions).deduplication;
    return dedup?.replace ? dedup.id : undefined;
  };
  const last = new Map<string, OutboxRow>();
  for (const r of jobs) {
    const id = replacing(r);
    if (id !== undefined) last.set(id, r);
  }
  return jobs.filter((r) => {
    const id = replacing(r);
    return id === undefined || last.get(id) === r;
  });
}

export function jobToEnqueue(row: OutboxRow): JobToEnqueue {
  return {
    name: row.name as JobName,
    payload: row.payload as JobPayloads[JobName],
    // The row id makes the job id, so relaying the row twice adds the job once.
    options: { ...row.options, jobId: (row.options.jobId as string | undefined) ?? jobIds.outbox(row.id) },
  };
}

/** An event row as the publisher takes it; its id is the idempotency key, so whoever sends it second sends nothing. */
export function eventOf(row: OutboxRow): EventToPublish {
  const name = row.name as DocumentEventName;
  return { documentId: row.document_id, name, payload: row.payload as DocumentEventPayloads[typeof name], idempotencyKey: row.id };
}

async function relayRow(options: OutboxRelayOptions, row: OutboxRow): Promise<void> {
  if (row.kind === 'event') {
    await options.publisher.publishMany([eventOf(row)]);
    return;
  }
  await options.queues.enqueueMany([jobToEnqueue(row)]);
}
