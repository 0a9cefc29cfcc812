import type { Logger } from 'pino';
import type { ChapterStatusPayload } from '../realtime/events.ts';
import type { Publisher } from '../realtime/publisher.ts';

/** A chapter's `processing` update. */
export type ProgressUpdate = ChapterStatusPayload & { status: 'processing' };

/**
 * Passes on a worker's progress updates at a pace people can read: per
 * chapter, at most one `processing` update per interval (default 100 ms),
 * the latest one winning. The first goes out only once the chapter has
 * been running for an interval: a chapter that finishes sooner sends no
 * `processing` at all, only its final status (most builtin-AI chapters, which
 * would otherwise double the events a document sends). Coalescing happens before the publisher assigns
 * a seq, so the seq stays gap-free. A chapter's terminal status (or a
 * retry's `queued`) goes through `settle` first, which drops the pending
 * update and waits for one in flight, so nothing `processing` can follow it.
 */
export interface ProgressReporter {
  /** Publishes now if the chapter's last update (or its first report) is an interval old; otherwise keeps it, replacing any kept one. */
  report(documentId: string, update: ProgressUpdate): void;
  /** Call before publishing the chapter's next non-progress status. */
  settle(chapterId: string): Promise<void>;
  /** Drops every pending update (shutdown: the chapters' final statuses follow anyway). */
  close(): void;
}

export interface ProgressReporterOptions {
  publisher: Publisher;
  logger: Logger;
  /** Minimum time between two published updates of one chapter. Default 100 ms. */
  intervalMs?: number;
  /** Asked before each publish; false drops the update (the run lost its job's lock). Default: always. */
  canPublish?: () => Promise<boolean>;
}

interface ChapterProgress {
  /** When the last update went out; at first, when the chapter first reported (the first update waits an interval). */
  lastSentAt: number;
  pending: { documentId: string; update: ProgressUpdate } | undefined;
  timer: NodeJS.Timeout | undefined;
  /** The publish chain: one update of a chapter at a time, in order. */
  inflight: Promise<void>;
}

/** One per worker process; chapters are independent of each other. */
export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  const interval = options.intervalMs ?? 100;
  const chapters = new Map<string, ChapterProgress>();

  const flush = (c: ChapterProgress) => {
    const next = c.pending;
    c.pending = undefined;
    if (!next) return;
    c.lastSentAt = Date.now();
    c.inflight = c.inflight
      .then(async () => {
        if (options.canPublish && !(await options.canPublish())) return;
        await options.publisher.publish(next.documentId, 'chapter.status', next.update);
      })
      .then(
        () => undefined,
        // Progress is advisory: a lost update is replaced by the next one or by the final status.
        (err: unknown) => options.logger.warn({ err, chapterId: next.update.chapter_id }, 'progress update not published'),
      );
  };

  return {
    report(documentId, update) {
      let c = chapters.get(update.chapter_id);
      if (!c) chapters.set(update.chapter_id, (c = { lastSentAt: Date.now(), pending: undefined, timer: undefined, inflight: Promise.resolve() }));
      c.pending = { documentId, update };
      if (c.timer) return; // already due: the latest update goes out then
      const wait = c.lastSentAt + interval - Date.now();
      if (wait <= 0) return flush(c);
      const chapter = c;
      c.timer = setTimeout(() => {
        chapter.timer = undefined;
        flush(chapter);
      }, wait);
    },

    async settle(chapterId) {
      const c = chapters.get(chapterId);
      if (!c) return;
      clearTimeout(c.timer);
      chapters.delete(chapterId);
      await c.inflight;
    },

    close() {
      for (const c of chapters.values()) clearTimeout(c.timer);
      chapters.clear();
    },
  };
}
