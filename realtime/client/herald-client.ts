import {
  DOCUMENT_EVENT_NAMES,
  type AuthExpiredPayload,
  type DocumentEvent,
  type DocumentEventName,
  type DocumentsChangedPayload,
  type ErrorBody,
  type NotificationPayload,
  type PresenceAck,
  type SubscribeAck,
  type SubscribeRequest,
} from '../events.ts';
import { Connection, type ClientSocket, type ConnectionOptions, type ConnectionStatus } from './connection.ts';
import { DocumentStore } from './document-store.ts';
import { Emitter } from './emitter.ts';
import { createPackageLoader, type PackageLoader } from './package-loader.ts';
import { stateFromSnapshot } from './state.ts';

export interface HeraldClientOptions extends Omit<ConnectionOptions, 'urls'> {
  /** One gateway URL (or a load-balanced one). */
  url?: string;
  /** Several gateway URLs: the client fails over to the next on connect errors. */
  urls?: string[];
  /** How long to wait for a subscribe acknowledgement before retrying. Default 15000. */
  ackTimeoutMs?: number;
  /**
   * The REST API's base URL, where a package that came abridged on the
   * socket is read whole (`GET /api/documents/:id/package`). Default: the
   * gateway URL in use (Herald serves both on one port).
   */
  apiUrl?: string;
}

export interface HeraldClientEvents {
  status: (status: ConnectionStatus) => void;
  /** A notification for the user (on any socket of theirs). */
  notification: (notification: NotificationPayload) => void;
  /** A document entered or left the user's list (created, shared with them, removed): read the list again or patch it. */
  'documents.changed': (payload: DocumentsChangedPayload) => void;
  /** The server said the token expired; the client reconnects once it has a new one (`refreshToken` or `setToken`). */
  'auth.expired': (payload: AuthExpiredPayload) => void;
  /** A subscription was refused, or the token was. */
  error: (error: ErrorBody & { document_id?: string }) => void;
}

/** What every Herald client offers, whether it holds the socket itself or shares another tab's. */
export interface RealtimeClient {
  readonly status: ConnectionStatus;
  /** The live store of a document; watching it again returns the same store. */
  watch(documentId: string): DocumentStore;
  setToken(token: string): void;
  on<K extends keyof HeraldClientEvents>(name: K, listener: HeraldClientEvents[K]): () => void;
  close(): void;
}

interface Watched {
  store: DocumentStore;
  /** A subscribe is on its way on `via`; events that do not follow are left to it. */
  via: ClientSocket | undefined;
  /** Another sync was asked for while one was in flight. */
  again: boolean;
  /** The chapter last announced (sent again after each subscribe); null: only reading. */
  chapter: string | null;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Waits before asking again after a refusal the server may lift (rate_limited, unavailable). */
const RETRY_REFUSED_MS = 1000;

/**
 * The Herald SDK: one socket, any number of watched documents, no reconnect
 * logic left to the application. It remembers each document's seq and
 * epoch and, after any reconnect (to the same gateway or another), resumes
 * with them; on `recovered:false` it replaces the document from the
 * snapshot; a seq gap makes it resubscribe with `since` (the server replays
 * what is missing, or sends a snapshot when it cannot).
 *
 * ```ts
 * const client = HeraldClient.connect({ urls: ['https://a.example', 'https://b.example'], token });
 * const doc = client.watch(documentId);
 * doc.subscribe((state) => render(state));
 * ```
 */
export class HeraldClient extends Emitter<HeraldClientEvents> implements RealtimeClient {
  private readonly connection: Connection;
  private readonly watched = new Map<string, Watched>();
  private readonly ackTimeoutMs: number;
  private readonly loadPackage: PackageLoader;

  /** Connects and returns the client at once; watch documents right away, they subscribe once connected. */
  static connect(options: HeraldClientOptions): HeraldClient {
    const client = new HeraldClient(options);
    client.connection.start();
    return client;
  }

  private constructor(options: HeraldClientOptions) {
    super();
    const urls = options.urls ?? (options.url ? [options.url] : []);
    this.connection = new Connection({ ...options, urls });
    this.ackTimeoutMs = options.ackTimeoutMs ?? 15_000;
    this.loadPackage = createPackageLoader({ apiUrl: () => options.apiUrl ?? this.connection.url, token: () => this.connection.currentToken });
    this.connection.on('status', (s) => this.emit('status', s));
    this.connection.on('auth.expired', (p) => this.emit('auth.expired', p));
    this.connection.on('auth.refused', (message) => this.emit('error', { code: 'unauthenticated', message }));
    this.connection.on('connect', (socket) => this.onConnect(socket));
  }

  get status(): ConnectionStatus {
    return this.connection.status;
  }

  /** The gateway URL in use (or being tried). */
  get url(): string {
    return this.connection.url;
  }

  watch(documentId: string): DocumentStore {
    return (
      this.watched.get(documentId)?.store ??
      this.adopt(new DocumentStore(documentId, { release: (s) => this.release(s), loadPackage: this.loadPackage, announce: (s, c) => void this.announce(s.documentId, c) }))
    );
  }

  /**
   * Keeps a store made elsewhere in sync, from the state it already holds
   * (a tab that becomes the leader takes over the stores it had as a
   * follower); its owner decides when to `unwatch`. Returns the store in use
   * for the document.
   */
  adopt(store: DocumentStore): DocumentStore {
    const existing = this.watched.get(store.documentId);
    if (existing) return existing.store;
    this.watched.set(store.documentId, { store, via: undefined, again: false, timer: undefined, chapter: null });
    void this.sync(store.documentId);
    return store;
  }

  /** Stops watching a document: the store stays as it is and gets no more events. */
  unwatch(documentId: string): void {
    const w = this.watched.get(documentId);
    if (w) this.release(w.store);
  }

  /**
   * Tells the server which chapter this user is editing in a watched
   * document (null: only reading). Sent now when the document is subscribed
   * on the current socket, else once it is; resolves with the ack, or
   * undefined when it waits for that subscribe.
   */
  async announce(documentId: string, chapterId: string | null): Promise<PresenceAck | undefined> {
    const w = this.watched.get(documentId);
    if (!w) return undefined;
    w.chapter = chapterId;
    const socket = this.connection.socket;
    if (!socket || w.via || !w.store.state) return undefined;
    return socket.timeout(this.ackTimeoutMs).emitWithAck('presence', { document_id: documentId, chapter_id: chapterId }).catch(() => undefined);
  }

  /** Reconnects with the new token; every watched document resumes from its seq. */
  setToken(token: string): void {
    this.connection.setToken(token);
  }

  close(): void {
    for (const w of this.watched.values()) clearTimeout(w.timer);
    this.watched.clear();
    this.connection.close();
    this.removeAllListeners();
  }

  private release(store: DocumentStore): void {
    const w = this.watched.get(store.documentId);
    if (!w || w.store !== store) return;
    clearTimeout(w.timer);
    this.watched.delete(store.documentId);
    this.connection.socket?.emit('unsubscribe', { document_id: store.documentId }, () => {});
  }

  private onConnect(socket: ClientSocket): void {
    // One handler per event the contract names: an event the client does not know is never routed.
    for (const name of DOCUMENT_EVENT_NAMES) onDocumentEvent(socket, name, (event) => this.route(name, event));
    socket.on('notification', (notification) => this.emit('notification', notification));
    socket.on('documents.changed', (payload) => this.emit('documents.changed', payload));
    socket.on('presence', ({ document_id, users }) => this.watched.get(document_id)?.store.setPresence(users));
    // Subscriptions are per socket: a new socket starts from each store's seq.
    for (const [documentId, w] of this.watched) {
      w.via = undefined;
      void this.sync(documentId);
    }
  }

  private route(name: DocumentEventName, event: DocumentEvent): void {
    const w = this.watched.get(event.document_id);
    if (!w) return;
    const receipt = w.store.receive(name, event);
    // A gap, or a seq that went back (Redis lost the history and a new epoch began): resubscribe from
    // what the store holds. While a subscribe is in flight its replay brings the missing events.
    if ((receipt === 'gap' || receipt === 'duplicate') && !w.via) void this.sync(event.document_id);
  }

  /** Subscribes the document on the current socket: with `since` when the store holds a state, for a snapshot otherwise. */
  private async sync(documentId: string): Promise<void> {
    const w = this.watched.get(documentId);
    const socket = this.connection.socket;
    if (!w || !socket) return; // the next connect syncs every document
    if (w.via === socket) return void (w.again = true);
    w.via = socket;
    const { store } = w;
    const request: SubscribeRequest =
      store.epoch === undefined ? { document_id: documentId } : { document_id: documentId, since: store.seq, epoch: store.epoch };
    let ack: SubscribeAck;
    try {
      ack = await socket.timeout(this.ackTimeoutMs).emitWithAck('subscribe', request);
    } catch {
      // No answer: the socket dropped (the next connect syncs) or the server is slow; ask again.
      if (this.watched.get(documentId) === w && w.via === socket) w.via = undefined;
      if (socket.connected) this.later(w, 0);
      return;
    }
    if (this.watched.get(documentId) !== w || w.via !== socket) return;
    w.via = undefined;
    this.settle(w, request, ack);
    if (ack.ok && w.chapter !== null) socket.emit('presence', { document_id: documentId, chapter_id: w.chapter }, () => {});
    if (w.again) {
      w.again = false;
      void this.sync(documentId);
    }
  }

  private settle(w: Watched, request: SubscribeRequest, ack: SubscribeAck): void {
    const { store } = w;
    if (!ack.ok) {
      if (ack.error.code === 'rate_limited' || ack.error.code === 'unavailable') return this.later(w, RETRY_REFUSED_MS);
      store.fail(ack.error);
      this.emit('error', { ...ack.error, document_id: store.documentId });
      return;
    }
    if (ack.snapshot) store.replace(stateFromSnapshot(ack.snapshot), ack.seq, ack.epoch, request.since === undefined ? 'snapshot' : 'not_recovered');
    store.setPresence(ack.presence);
    if (ack.snapshot) return;
    store.confirm(ack.epoch);
    // The replay came before the ack, so the store is at ack.seq; if not, something was lost on the way: again.
    if (store.seq < ack.seq) w.again = true;
  }

  private later(w: Watched, delayMs: number): void {
    clearTimeout(w.timer);
    w.timer = setTimeout(() => void this.sync(w.store.documentId), delayMs);
  }
}

/**
 * Socket.IO's typed `on` takes one event name at a time; over the union of
 * document events each listener has the same shape (an envelope and a
 * payload), so one registration serves every name.
 */
function onDocumentEvent<N extends DocumentEventName>(socket: ClientSocket, name: N, listener: (event: DocumentEvent<N>) => void): void {
  (socket.on as (name: N, listener: (event: DocumentEvent<N>) => void) => ClientSocket)(name, listener);
}
