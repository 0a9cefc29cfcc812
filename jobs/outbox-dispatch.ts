import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { deleteOutbox, type OutboxRow, type WrittenOutbox } from '../sql/queries/outbox.ts';
import type { Publisher } from '../realtime/publisher.ts';
import { eventOf, jobToEnqueue, lastPerDeduplication } from './outbox-relay.ts';
import type { JobQueues } from './queues.ts';

export interface OutboxDispatchOptions {
  sql: Sql;
  publisher: Pick<Publisher, 'publishMany'>;
  queues: Pick<JobQueues, 'enqueueMany'>;
  logger: Logger;
  /** Wakes this process's outbox relay: rows this path could not send wait for it. */
  wakeRelay: () => void;
  hooks?: OutboxDispatchHooks;
}

/** Points where a test may hold the fast path (to kill the process there). */
export interface OutboxDispatchHooks {
  /** After the commit, before anything reaches Redis. */
  beforePublish?: (rows: OutboxRow[]) => Promise<void>;
  /** After Redis took the events and jobs, before their rows are deleted. */
  beforeDelete?: (ids: string[]) => Promise<void>;
}

export interface OutboxDispatcher {
  /**
   * Sends the rows a transaction just committed (events, then jobs), then
   * deletes them. Starts at once and never throws: whatever it cannot send
   * stays in the outbox for a relay. Rows that are not `clear` are left to
   * the relays, which the statement that wrote them has woken.
   */
  dispatch(written: WrittenOutbox): void;
  /** Resolves once every dispatch in flight has ended (shutdown). */
  drain(): Promise<void>;
}

/**
 * The fast path of the outbox: the API publishes a commit's events itself,
 * sparing them the NOTIFY → claim transaction → publish → delete round of a
 * relay. The outbox stays the safety net: a row is deleted only after Redis
 * took it, so if this process dies in between, or Redis is down, a relay
 * sends the row later. Each event carries its row id as idempotency key
 * (publish-event.lua), so a row sent here and again by a relay reaches
 * clients once.
 *
 * Order per document: rows go out here only when no earlier row of their
 * document was waiting at their commit; otherwise they wait for a relay,
 * which sends a document's rows in id order. So every row committed before
 * a save has been published before that save's own rows are.
 */
export function createOutboxDispatcher(options: OutboxDispatchOptions): OutboxDispatcher {
  const logger = options.logger.child({ component: 'outbox-dispatch' });
  const inFlight = new Set<Promise<void>>();

  const send = async (rows: OutboxRow[]) => {
    await options.hooks?.beforePublish?.(rows);
    const events = rows.filter((r) => r.kind === 'event');
    const jobs = rows.filter((r) => r.kind === 'job');
    const done: string[] = [];
    try {
      if (events.length > 0) await options.publisher.publishMany(events.map(eventOf));
      done.push(...events.map((r) => r.id));
      // Jobs after events: `package.essential` is out before its full build can start.
      if (jobs.length > 0) await options.queues.enqueueMany(lastPerDeduplication(jobs).map(jobToEnqueue));
      done.push(...jobs.map((r) => r.id));
    } catch (error) {
      // Redis down or a bad row: the relay retries (and pauses while Redis is down).
      logger.debug({ err: error }, 'outbox rows left to the relay');
      options.wakeRelay();
    }
    if (done.length === 0) return;
    await options.hooks?.beforeDelete?.(done);
    // If this fails, a relay sends the rows again: a no-op for events (idempotency key) and jobs (job id; a pending refresh restarts its quiet time).
    await deleteOutbox(options.sql, done).catch((err: unknown) => logger.warn({ err }, 'sent outbox rows not deleted; a relay sends them again, as no-ops'));
  };

  return {
    dispatch(written) {
      if (!written.clear || written.rows.length === 0) return;
      const sending = send(written.rows).catch((err: unknown) => logger.error({ err }, 'outbox fast path failed'));
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
    },
    async drain() {
      await Promise.all(inFlight);
    },
  };
}
