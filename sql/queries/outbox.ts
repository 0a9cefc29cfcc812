import type { Sql, TransactionSql } from '../client.ts';

/** The NOTIFY channel that wakes the outbox relays when rows commit. */
export const OUTBOX_CHANNEL = 'herald_outbox';
/** First key of the per-document advisory locks the relays take (any constant works; all relays share it). */
const RELAY_LOCK_SPACE = 7_303_413;

/** A job to enqueue or an event to publish once the transaction that writes it commits. */
export interface OutboxInsert {
  documentId: string;
  kind: 'job' | 'event';
  /** A job name (jobs/contracts.ts) or an event name (realtime/events.ts). */
  name: string;
  payload: unknown;
  /** BullMQ job options (job rows only). */
  options?: Record<string, unknown>;
}

export interface OutboxRow {
  /** bigint, as a string. */
  id: string;
  document_id: string;
  kind: 'job' | 'event';
  name: string;
  payload: unknown;
  options: Record<string, unknown>;
  attempts: number;
}

/** Rows a transaction wrote, for the API to publish itself once it commits (jobs/outbox-dispatch.ts). */
export interface WrittenOutbox {
  /** The rows, in id order. */
  rows: OutboxRow[];
  /**
   * No earlier row of these documents was waiting when they were written, so
   * they may go out as soon as the transaction commits; otherwise they wait
   * behind the earlier ones, for a relay, which keeps each document's order.
   */
  clear: boolean;
}

export interface InsertOutboxOptions {
  /**
   * The caller publishes the rows itself right after the commit when they
   * are `clear`: the relays are woken (NOTIFY) only when they are not.
   * Default false: every write wakes the relays.
   */
  fastPath?: boolean;
}

/**
 * Writes rows in array order (ids rise in that order) and notifies the
 * relays; PostgreSQL delivers the NOTIFY only if the transaction commits.
 * One statement whatever the row count. The rows go as one JSON parameter:
 * a text[] of JSON payloads is escaped character by character by postgres.js,
 * which held the event loop for tens of ms on a 10,000-chapter package event.
 * Only the ids come back; the rows returned carry the caller's own payloads
 * (read back, a 300-chapter package event doubled the statement's time).
 */
export async function insertOutbox(tx: TransactionSql | Sql, rows: OutboxInsert[], options: InsertOutboxOptions = {}): Promise<WrittenOutbox> {
  if (rows.length === 0) return { rows: [], clear: true };
  const [result] = await tx<{ ids: string[]; clear: boolean }[]>`
    with written as (
      insert into outbox (document_id, kind, name, payload, options)
      select (r->>'document_id')::uuid, r->>'kind', r->>'name', r->'payload', r->'options'
      from jsonb_array_elements(${tx.json(rows.map(outboxJson) as never)}) with ordinality as u(r, ord)
      order by ord
      returning id, document_id
    ), waiting as (
      -- The statement's snapshot holds only rows committed before it, never its own.
      select not exists (select 1 from outbox o where o.document_id in (select document_id from written)) as clear
    )
    select (select json_agg(w.id::text order by w.id) from written w) as ids, waiting.clear,
           case when not (waiting.clear and ${options.fastPath ?? false}) then pg_notify(${OUTBOX_CHANNEL}, '') end
    from waiting`;
  const { ids, clear } = result!;
  return { rows: writtenOutboxRows(rows, ids), clear };
}

/** The rows as written, given their ids in the same order, with the caller's own payloads (not read back). */
export function writtenOutboxRows(rows: OutboxInsert[], ids: string[]): OutboxRow[] {
  // document_id as PostgreSQL writes a uuid (lower case), as a relay reads it.
  return rows.map((r, i) => ({ id: ids[i]!, document_id: r.documentId.toLowerCase(), kind: r.kind, name: r.name, payload: r.payload, options: r.options ?? {}, attempts: 0 }));
}

/** One row as insertOutbox sends it (a JSON object). */
export function outboxJson(r: OutboxInsert) {
  return { document_id: r.documentId, kind: r.kind, name: r.name, payload: r.payload, options: r.options ?? {} };
}

/**
 * Claims the oldest pending rows for this relay, in id order, inside the
 * caller's transaction (rows stay locked until it ends). A relay takes whole
 * documents: a transaction-scoped advisory lock per document keeps two
 * relays from publishing one document's rows out of order, and
 * `FOR UPDATE SKIP LOCKED` lets every relay take a different share.
 */
export async function claimOutbox(tx: TransactionSql, maxRows: number): Promise<OutboxRow[]> {
  return tx<OutboxRow[]>`
    with candidates as (
      select document_id, min(id) as first_id from outbox group by document_id order by first_id limit ${maxRows}
    ), mine as materialized (
      select document_id from candidates
      where pg_try_advisory_xact_lock(${RELAY_LOCK_SPACE}, hashtext(document_id::text))
    )
    select o.id::text as id, o.document_id, o.kind, o.name, o.payload, o.options, o.attempts
    from outbox o join mine m on m.document_id = o.document_id
    order by o.id
    limit ${maxRows}
    for update of o skip locked`;
}

/** Removes relayed rows. */
export async function deleteOutbox(tx: TransactionSql | Sql, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx`delete from outbox where id = any(${tx.array(ids)}::bigint[])`;
}

/** Notes a failed relay attempt on the row that stopped the batch, for operators. */
export async function recordOutboxFailure(sql: Sql, id: string, error: string): Promise<void> {
  await sql`update outbox set attempts = attempts + 1, last_error = ${error.slice(0, 1000)} where id = ${id}::bigint`;
}

/** Rows waiting to be relayed (for /metrics, tests and benchmarks). */
export async function countOutbox(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from outbox`;
  return row!.n;
}
