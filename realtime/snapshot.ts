import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis-client.ts';
import { isFinished } from '../domain/vocabulary.ts';
import type { Sql } from '../sql/client.ts';
import { loadDocumentWithChapters } from '../sql/queries/chapters.ts';
import type { ChapterView, DocumentSnapshot, DocumentStatus } from './events.ts';
import { documentKeys } from './keys.ts';
import { parseLiveState, type LiveState } from './live-state.ts';
import { withHeraldCommands } from './redis-commands.ts';

export interface SnapshotWithSeq {
  snapshot: DocumentSnapshot;
  /** The last event folded into the snapshot. */
  seq: number;
  epoch: string;
}

/**
 * Reads the live state and its seq in one atomic step, creating the epoch of
 * a document with no history yet. With `start: false` nothing is written: a
 * document with no history reads as an empty state (epoch `''`), so the read
 * may run before the caller's access is known.
 */
export async function readLiveState(redis: RedisClient, prefix: string, documentId: string, ttlSeconds: number, options: { start?: boolean } = {}): Promise<LiveState> {
  const keys = documentKeys(prefix, documentId);
  const epoch = options.start === false ? '' : randomUUID();
  const flat = await withHeraldCommands(redis).heraldReadDocumentState(keys.state, keys.events, keys.published, epoch, ttlSeconds);
  return parseLiveState(flat);
}

/**
 * The document as clients see it: stored rows overlaid with the live state.
 * The live state is read first: anything the database holds beyond it is
 * also on its way as an event with a higher seq, and applying a status twice
 * is harmless, while missing one is not. Undefined when the document is gone.
 */
export async function loadSnapshot(sql: Sql, redis: RedisClient, prefix: string, documentId: string, historyTtlSeconds: number): Promise<SnapshotWithSeq | undefined> {
  const live = await readLiveState(redis, prefix, documentId, historyTtlSeconds);
  const snapshot = await loadStoredSnapshot(sql, documentId, live);
  return snapshot && { snapshot, seq: live.seq, epoch: live.epoch };
}

/** The snapshot from PostgreSQL alone, or overlaid with a live state when given. */
export async function loadStoredSnapshot(sql: Sql, documentId: string, live?: LiveState): Promise<DocumentSnapshot | undefined> {
  const stored = await loadDocumentWithChapters(sql, documentId);
  if (!stored) return undefined;
  const { document: d } = stored;
  const chapters: ChapterView[] = stored.chapters.map((c) => {
    const l = live?.chapters.get(c.id);
    const view: ChapterView = {
      id: c.id,
      index: c.index,
      title: c.title,
      status: c.status,
      progress: c.progress,
      summary: c.summary,
      error: c.error,
      version: c.version,
      summary_version: c.summary_version,
      word_count: c.word_count,
    };
    // The live state wins unless the database already holds a final result of the same or a newer version.
    if (l && !(isFinished(c.status) && !isFinished(l.status) && (c.summary_version ?? 0) >= (l.version ?? 0))) {
      view.status = l.status;
      view.progress = l.progress;
      if (l.summary !== undefined) view.summary = l.summary;
      if (l.error !== undefined) view.error = l.error;
      if (l.version !== undefined) view.summary_version = l.version;
    }
    return view;
  });
  const completed = chapters.filter((c) => c.status === 'completed').length;
  const failed = chapters.filter((c) => c.status === 'failed').length;
  const status: DocumentStatus = live?.progress?.status ?? d.status;
  return {
    document: {
      id: d.id,
      title: d.title,
      kind: d.kind,
      owner_id: d.owner_id,
      status,
      word_count: d.word_count,
      created_at: d.created_at.toISOString(),
      updated_at: d.updated_at.toISOString(),
      progress: { completed, failed, total: chapters.length, status },
    },
    chapters,
    // The stored stage is written before its event is published, so it is never behind the live one.
    package: { stage: d.package_stage ?? live?.packageStage ?? null },
  };
}


