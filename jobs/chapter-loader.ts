import type { Sql } from '../sql/client.ts';
import { findChapters, type ChapterRow } from '../sql/queries/chapters.ts';

/**
 * Reads the chapters that concurrent chapter jobs ask for, many per
 * statement: the first request of an idle loader goes out in the next tick
 * with whatever joined it, and requests made while a read is in flight form
 * the next one (group commit, as in batch-writer.ts). Idle latency is one
 * statement; under load one statement serves a whole wave of jobs instead of
 * one each.
 */
export interface ChapterLoader {
  /** The chapter as stored now, or undefined when it was deleted. */
  load(id: string): Promise<ChapterRow | undefined>;
}

interface Request {
  resolve(row: ChapterRow | undefined): void;
  reject(error: unknown): void;
}

/** Chapters per statement at most: keeps one read's rows (whole chapter texts) bounded. */
const MAX_IDS_PER_READ = 256;

export function createChapterLoader(sql: Sql): ChapterLoader {
  const waiting = new Map<string, Request[]>();
  let reading = false;
  let scheduled = false;

  const readNext = async () => {
    const batch = new Map<string, Request[]>();
    for (const [id, requests] of waiting) {
      if (batch.size >= MAX_IDS_PER_READ) break;
      batch.set(id, requests);
      waiting.delete(id);
    }
    try {
      const rows = new Map((await findChapters(sql, [...batch.keys()])).map((row) => [row.id, row]));
      for (const [id, requests] of batch) for (const r of requests) r.resolve(rows.get(id));
    } catch (error) {
      for (const requests of batch.values()) for (const r of requests) r.reject(error);
    }
  };

  const drain = async () => {
    reading = true;
    try {
      while (waiting.size > 0) await readNext();
    } finally {
      reading = false;
    }
  };

  return {
    load(id) {
      return new Promise((resolve, reject) => {
        const requests = waiting.get(id);
        if (requests) requests.push({ resolve, reject });
        else waiting.set(id, [{ resolve, reject }]);
        if (reading || scheduled) return;
        // Let the jobs started in this tick join the first read.
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          if (!reading) void drain();
        });
      });
    },
  };
}
