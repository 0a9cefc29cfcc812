import { io, type Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  DocumentEvent,
  DocumentEventName,
  ServerToClientEvents,
  SubscribeAck,
  SubscribeRequest,
} from '../../realtime/events.ts';
import { DOCUMENT_EVENT_NAMES } from '../../realtime/events.ts';
import { waitFor } from './wait.ts';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ReceivedEvent {
  name: DocumentEventName;
  event: DocumentEvent;
}

/** A real socket.io-client that records every document event it receives, in order. */
export interface RecordingClient {
  socket: ClientSocket;
  events: ReceivedEvent[];
  subscribe(request: SubscribeRequest): Promise<SubscribeAck>;
  /** Events of one document, in arrival order. */
  of(documentId: string): ReceivedEvent[];
  close(): void;
}

export async function connectClient(url: string, token: string, options: { transports?: ('websocket' | 'polling')[] } = {}): Promise<RecordingClient> {
  const socket: ClientSocket = io(url, {
    auth: { token },
    transports: options.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const events: ReceivedEvent[] = [];
  for (const name of DOCUMENT_EVENT_NAMES) {
    socket.on(name, ((event: DocumentEvent) => events.push({ name, event })) as never);
  }
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return {
    socket,
    events,
    subscribe: (request) => socket.timeout(10_000).emitWithAck('subscribe', request),
    of: (documentId) => events.filter((e) => e.event.document_id === documentId),
    close: () => {
      socket.disconnect();
    },
  };
}

/** Resolves with the connect_error a handshake ends with (for auth tests). */
export function connectError(url: string, auth: Record<string, unknown>, extraHeaders?: Record<string, string>): Promise<Error & { data?: { code?: string } }> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, ...(extraHeaders && { extraHeaders }) });
    socket.once('connect', () => {
      socket.disconnect();
      reject(new Error('connected, but the handshake should have been refused'));
    });
    socket.once('connect_error', (err) => {
      socket.disconnect();
      resolve(err as Error & { data?: { code?: string } });
    });
  });
}

/** Waits until the client has seen the document's final document.progress. */
export function waitForDocumentDone(client: RecordingClient, documentId: string, timeoutMs = 30_000) {
  return waitFor(
    `document ${documentId} to finish`,
    () =>
      client.of(documentId).find(
        (e) => e.name === 'document.progress' && (e.event as DocumentEvent<'document.progress'>).status !== 'processing',
      ),
    timeoutMs,
  );
}

/** Asserts nothing; returns the seqs so a test can check they rise by exactly 1. */
export function seqs(events: ReceivedEvent[]): number[] {
  return events.map((e) => e.event.seq);
}
