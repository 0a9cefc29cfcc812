import type { AuthExpiredPayload, DocumentEvent, DocumentEventName, DocumentsChangedPayload, ErrorBody, NotificationPayload, PresenceUser } from '../events.ts';
import type { ConnectionStatus } from './connection.ts';
import type { ResetReason } from './document-store.ts';
import type { DocumentState } from './state.ts';

/**
 * What the tabs of one browser say to each other on their BroadcastChannel.
 * Followers ask (`hello`, `watch`, `unwatch`, `announce`, `token`, `bye`); the leader,
 * the one tab holding the socket, answers and relays (`leader`, `state`,
 * `event`, ...). A BroadcastChannel delivers one sender's messages in
 * order, so a follower sees a document's events in the leader's order.
 */
export type TabMessage =
  | { t: 'hello'; tab: string }
  | { t: 'watch'; tab: string; doc: string }
  | { t: 'unwatch'; tab: string; doc: string }
  | { t: 'announce'; doc: string; chapter: string | null }
  | { t: 'token'; token: string }
  | { t: 'bye'; tab: string }
  | { t: 'leader'; tab: string; status: ConnectionStatus }
  | { t: 'state'; doc: string; state: DocumentState; seq: number; epoch: string; reason: ResetReason; to?: string }
  | { t: 'event'; doc: string; name: DocumentEventName; event: DocumentEvent }
  | { t: 'refused'; doc: string; error: ErrorBody }
  | { t: 'presence'; doc: string; users: PresenceUser[] }
  | { t: 'status'; status: ConnectionStatus }
  | { t: 'notification'; notification: NotificationPayload }
  | { t: 'documents.changed'; payload: DocumentsChangedPayload }
  | { t: 'auth.expired'; payload: AuthExpiredPayload };

/** A BroadcastChannel that speaks TabMessage. */
export interface TabChannel {
  post(message: TabMessage): void;
}
