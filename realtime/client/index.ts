/**
 * The Herald browser (and Node) SDK. Served to browsers as one ES module at
 * `/client.js`:
 *
 * ```js
 * import { HeraldClient, connectShared } from '/client.js';
 * const client = connectShared({ url: location.origin, token }); // one socket for all tabs
 * const doc = client.watch(documentId);
 * doc.subscribe((state) => render(state));
 * doc.on('chapter.status', (e) => console.log(e.chapter_id, e.status));
 * ```
 *
 * The event types are the server's own (`realtime/events.ts`).
 */
export { HeraldClient, type HeraldClientEvents, type HeraldClientOptions, type RealtimeClient } from './herald-client.ts';
export { connectShared, type SharedClientOptions } from './shared-client.ts';
export { DocumentStore, type DocumentStoreEvents, type Receipt, type ResetReason } from './document-store.ts';
export type { ConnectionStatus } from './connection.ts';
export type { PackageLoader } from './package-loader.ts';
export { applyEvent, documentCompletion, stateFromSnapshot, type ChapterState, type DocumentState, type PackageState } from './state.ts';
export type * from '../events.ts';
