import type { PresenceAck, PresencePayload, PresenceRequest, PresenceUser, SubscribeAck } from '../../realtime/events.ts';
import type { RecordingClient } from './socket.ts';
import { waitFor } from './wait.ts';

/** A recording client that also keeps every `presence` list it receives, in order. */
export interface PresenceClient extends RecordingClient {
  lists: PresencePayload[];
  /** The last list received for the document, or undefined before any. */
  latest(documentId: string): PresenceUser[] | undefined;
  announce(request: PresenceRequest | Record<string, unknown>): Promise<PresenceAck>;
  unsubscribe(documentId: string): Promise<unknown>;
}

export function recordPresence(client: RecordingClient): PresenceClient {
  const lists: PresencePayload[] = [];
  client.socket.on('presence', (payload) => lists.push(payload));
  return Object.assign(client, {
    lists,
    latest: (documentId: string) => lists.filter((l) => l.document_id === documentId).at(-1)?.users,
    announce: (request: PresenceRequest | Record<string, unknown>) =>
      client.socket.timeout(10_000).emitWithAck('presence', request as PresenceRequest),
    unsubscribe: (documentId: string) => client.socket.timeout(10_000).emitWithAck('unsubscribe', { document_id: documentId }),
  });
}

/** The user ids of a list, in its order. */
export const userIds = (users: PresenceUser[] | undefined) => users?.map((u) => u.user_id);

/** Waits until the client's latest list for the document satisfies `check`; resolves with that list. */
export function waitForPresence(client: PresenceClient, documentId: string, what: string, check: (users: PresenceUser[]) => boolean, timeoutMs?: number) {
  return waitFor(`presence: ${what}`, () => {
    const users = client.latest(documentId);
    return users && check(users) ? users : undefined;
  }, timeoutMs);
}

/** The presence list of a successful subscribe ack; throws on a refusal. */
export function ackPresence(ack: SubscribeAck): PresenceUser[] {
  if (!ack.ok) throw new Error(`subscribe refused: ${ack.error.code}`);
  return ack.presence;
}
