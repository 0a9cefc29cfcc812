import type { DocumentStore, ResetReason } from '../../realtime/client/index.ts';
import type { DocumentEventName } from '../../realtime/events.ts';
import type { TestHerald } from './herald.ts';
import { waitFor } from './wait.ts';

/** What a store went through: every applied event and every wholesale replace, in order. */
export interface StoreLog {
  events: { name: DocumentEventName; seq: number }[];
  resets: { reason: ResetReason; seq: number }[];
  /** Seqs the store holds, from its first snapshot on: must rise by exactly 1 unless a reset intervened. */
  seqs(): number[];
}

export function recordStore(store: DocumentStore): StoreLog {
  const log: StoreLog = {
    events: [],
    resets: [],
    seqs: () => log.events.map((e) => e.seq),
  };
  store.on('event', (name, event) => log.events.push({ name, seq: event.seq }));
  store.on('reset', (_state, reason) => log.resets.push({ reason, seq: store.seq }));
  return log;
}

/** Seqs from `from + 1` on, `count` of them. */
export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + 1 + i);
}

/** The gateway's sockets of a test Herald (server side). */
export function serverSockets(h: TestHerald) {
  return [...h.herald.gateway!.io.sockets.sockets.values()];
}

/** Waits until the store's document has finished (completed or partial). */
export function waitForStoreDone(store: DocumentStore, timeoutMs = 30_000) {
  return waitFor(`document ${store.documentId} to finish in the store`, () => store.state && store.state.status !== 'processing', timeoutMs);
}

/** Uploads a manuscript as `user` and returns the document id. */
export async function upload(h: TestHerald, user: string, content: string, title = 'Manuscript'): Promise<string> {
  const res = await h.api(user, '/api/documents', { method: 'POST', json: { title, content } });
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { document: { id: string } }).document.id;
}
