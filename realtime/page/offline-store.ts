import type { Draft } from './autosave-queue.ts';

/** A kept draft, keyed by user and chapter. */
export interface StoredDraft extends Draft {
  key: string;
  userId: string;
  documentId: string;
  chapterId: string;
}

const DB_NAME = 'herald-drafts';
const STORE = 'drafts';

/**
 * Unsent chapter edits, kept in IndexedDB per user and chapter, so an edit
 * made offline survives a reload and is sent when the page is next open
 * online. Where IndexedDB is missing or refused (private modes), drafts live
 * only as long as the page.
 */
export function createOfflineStore() {
  let db: Promise<IDBDatabase | undefined> | undefined;
  // Writes for one key go in order; only the latest waiting one is written.
  const waiting = new Map<string, StoredDraft | null>();
  const writing = new Set<string>();

  function open(): Promise<IDBDatabase | undefined> {
    db ??= new Promise((resolve) => {
      if (typeof indexedDB === 'undefined') return resolve(undefined);
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'key' });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(undefined);
    });
    return db;
  }

  async function run<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> {
    const database = await open();
    if (!database) return undefined;
    return new Promise((resolve) => {
      const request = act(database.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(undefined);
    });
  }

  async function flush(key: string): Promise<void> {
    if (writing.has(key)) return;
    writing.add(key);
    while (waiting.has(key)) {
      const draft = waiting.get(key)!;
      waiting.delete(key);
      await (draft ? run('readwrite', (s) => s.put(draft)) : run('readwrite', (s) => s.delete(key)));
    }
    writing.delete(key);
  }

  return {
    /** Keeps (or, with null, forgets) a user's draft of a chapter. */
    keep(userId: string, documentId: string, chapterId: string, draft: Draft | null): void {
      const key = draftKey(userId, chapterId);
      waiting.set(key, draft && { ...draft, key, userId, documentId, chapterId });
      void flush(key);
    },
    /** A user's drafts of a document's chapters, by chapter id. */
    async drafts(userId: string, documentId: string): Promise<Map<string, StoredDraft>> {
      const all = (await run('readonly', (s) => s.getAll() as IDBRequest<StoredDraft[]>)) ?? [];
      return new Map(all.filter((d) => d.userId === userId && d.documentId === documentId).map((d) => [d.chapterId, d]));
    },
  };
}

export type OfflineStore = ReturnType<typeof createOfflineStore>;

function draftKey(userId: string, chapterId: string): string {
  return `${userId}\u0000${chapterId.toLowerCase()}`;
}
