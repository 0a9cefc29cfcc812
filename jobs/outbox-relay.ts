import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { claimOutbox, deleteOutbox, OUTBOX_CHANNEL, recordOutboxFailure, type OutboxRow } from '../sql/queries/outbox.ts';
import { pruneAutosaveOps } from '../sql/queries/autosave-ops.ts';
import type { DocumentEventName, DocumentEventPayloads } from '../realtime/events.ts';
import type { Publisher } from '../realtime/publisher.ts';
import { jobIds, type JobName, type JobPayloads } from './contracts.ts';
import type { JobQueues } from './queues.ts';

export interface OutboxRelayOptions {
  sql: Sql;
  queues: Pick<JobQueues, 'enqueue'>;
  publisher: Pick<Publisher, 'publish'>;
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
}

/** Autosave answers are pruned this often. */
const HOUSEKEEPING_MS = 10 * 60_000;

/**
 * Moves outbox rows onto BullMQ and the event streams, in id order per
 * document. A row is deleted only in the transaction that relayed it, after
 * Redis accepted it: a crash in between relays it again, which is harmless
 * for jobs (the job id comes from the row, so BullMQ adds it once) and
 * publishes an event at most twice (at-least-once). While Redis is down,
 * every attempt fails fast and rows wait; the poll timer retries.
 * Any number of relays may run against one database (see claimOutbox).
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
    running ??= loop().finally(() => (running = undefined));
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
      const listener = await options.sql.listen(OUTBOX_CHANNEL, wake, wake);
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
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await unlisten?.().catch(() => {});
      await running;
    },
  };
}

/**
 * One transaction: claim, relay in order, delete what was relayed. A row
 * that fails holds back the rest of its document (order), not the others;
 * an outage (every row would fail) ends the batch and is reported.
 */
async function relayBatch(options: OutboxRelayOptions, batchSize: number): Promise<{ claimed: number; error?: unknown }> {
  let failed: { row: OutboxRow; error: unknown } | undefined;
  const claimed = await options.sql.begin(async (tx) => {
    const rows = await claimOutbox(tx, batchSize);
    const done: string[] = [];
    const blocked = new Set<string>();
    for (const row of rows) {
      if (blocked.has(row.document_id)) continue;
      try {
        await relayRow(options, row);
        done.push(row.id);
      } catch (error) {
        failed ??= { row, error };
        blocked.add(row.document_id);
        if (isOutage(error)) break;
      }
    }
    await deleteOutbox(tx, done);
    return rows.length;
  });
  if (!failed) return { claimed };
  const message = (failed.error as Error)?.message ?? String(failed.error);
  await recordOutboxFailure(options.sql, failed.row.id, message).catch(() => {});
  if (!isOutage(failed.error)) options.logger.error({ err: failed.error, outboxId: failed.row.id, name: failed.row.name }, 'outbox row failed');
  return { claimed, error: failed.error };
}

async function relayRow(options: OutboxRelayOptions, row: OutboxRow): Promise<void> {
  if (row.kind === 'event') {
    const name = row.name as DocumentEventName;
    await options.publisher.publish(row.document_id, name, row.payload as DocumentEventPayloads[typeof name]);
    return;
  }
  const name = row.name as JobName;
  await options.queues.enqueue(name, row.payload as JobPayloads[typeof name], {
    ...row.options,
    jobId: (row.options.jobId as string | undefined) ?? jobIds.outbox(row.id),
  });
}

/** Redis refusing or unreachable: every later row would fail the same way. */
function isOutage(error: unknown): boolean {
  const message = (error as Error)?.message ?? '';
  return /enableOfflineQueue|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|MaxRetriesPerRequest|Stream isn't writeable|EPIPE/i.test(message);
}
