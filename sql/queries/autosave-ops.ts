import type { Access } from '../../domain/access.ts';
import type { DocumentKind } from '../../domain/vocabulary.ts';
import type { Sql, TransactionSql } from '../client.ts';
import { accessOf, memberJoin } from './members.ts';

/** How long the first answer to an autosave operation is kept for replays (the contract asks for at least 24 h). */
export const AUTOSAVE_OP_RETENTION_HOURS = 48;

/** An autosave's first answer, replayed verbatim when the same op_id comes again. */
export interface AutosaveAnswer {
  status: 200 | 409;
  body: Record<string, unknown>;
}

/** A kept answer with the request it answered: its chapter and the hex sha256 of its body (null on rows older than migration 0005). */
export interface KeptAutosaveOp extends AutosaveAnswer {
  chapter_id: string;
  request_hash: string | null;
}

/** What an autosave needs before it writes: the chapter's document and kind, the user's access, and any earlier answer to this op_id. */
export interface AutosaveContext {
  document_id: string;
  index: number;
  title: string;
  kind: DocumentKind;
  access: Access;
  answer: KeptAutosaveOp | null;
}

/** One round trip: undefined when the chapter is missing or not shared with the user. */
export async function findAutosaveContext(sql: Sql, chapterId: string, userId: string, opId: string): Promise<AutosaveContext | undefined> {
  const [row] = await sql<AutosaveContext[]>`
    select c.document_id, c.index, c.title, d.kind, ${accessOf(sql, userId)} as access,
           (select jsonb_build_object('status', o.status, 'body', o.body, 'chapter_id', o.chapter_id, 'request_hash', encode(o.request_hash, 'hex'))
              from autosave_ops o
             where o.user_id = ${userId} and o.op_id = ${opId}) as answer
    from chapters c
    join documents d on d.id = c.document_id
    ${memberJoin(sql, userId)}
    where c.id = ${chapterId} and (d.owner_id = ${userId} or m.user_id is not null)`;
  return row;
}

/** The stored answer to the user's operation, with the request it answered, if any. */
export async function findAutosaveOp(sql: Sql, userId: string, opId: string): Promise<KeptAutosaveOp | undefined> {
  const [row] = await sql<KeptAutosaveOp[]>`
    select status, body, chapter_id, encode(request_hash, 'hex') as request_hash
    from autosave_ops where user_id = ${userId} and op_id = ${opId}`;
  return row;
}

/**
 * Records the operation's answer in the transaction that produced it. A
 * concurrent request with the same op_id makes this fail with a unique
 * violation once the first commits; the caller then replays that answer.
 */
export async function insertAutosaveOp(
  tx: TransactionSql,
  op: { userId: string; opId: string; chapterId: string; requestHash: string } & AutosaveAnswer,
): Promise<void> {
  await tx`
    insert into autosave_ops (user_id, op_id, chapter_id, status, body, request_hash)
    values (${op.userId}, ${op.opId}, ${op.chapterId}, ${op.status}, ${tx.json(op.body as never)}, decode(${op.requestHash}, 'hex'))`;
}

/** Forgets answers older than the retention. */
export async function pruneAutosaveOps(sql: Sql, hours = AUTOSAVE_OP_RETENTION_HOURS): Promise<number> {
  const rows = await sql`delete from autosave_ops where created_at < now() - make_interval(hours => ${hours})`;
  return rows.count;
}
