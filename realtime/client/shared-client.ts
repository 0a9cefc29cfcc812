import type { ConnectionStatus } from './connection.ts';
import { DocumentStore, type StoreOwner } from './document-store.ts';
import { Emitter } from './emitter.ts';
import { HeraldClient, type HeraldClientEvents, type HeraldClientOptions, type RealtimeClient } from './herald-client.ts';
import { createPackageLoader, type PackageLoader } from './package-loader.ts';
import { TabLeader } from './tab-leader.ts';
import type { TabMessage } from './tab-messages.ts';

export interface SharedClientOptions extends HeraldClientOptions {
  /** Tabs using the same name share one socket. Default: one per set of URLs. */
  shareName?: string;
}

/**
 * Connects like `HeraldClient.connect`, but all tabs of one browser (same
 * origin, same `shareName`) share one socket. The leader tab, chosen with a
 * Web Lock, holds it and relays every document's events to the others over
 * a BroadcastChannel; when it closes, the lock passes to another tab, which
 * resumes every document from its seq. Falls back to a socket of its own
 * where Web Locks or BroadcastChannel are missing.
 */
export function connectShared(options: SharedClientOptions): RealtimeClient {
  const g = globalThis as { navigator?: { locks?: LockManager }; BroadcastChannel?: typeof BroadcastChannel };
  if (!g.navigator?.locks || !g.BroadcastChannel) return HeraldClient.connect(options);
  return new SharedClient(options, g.navigator.locks);
}

class SharedClient extends Emitter<HeraldClientEvents> implements RealtimeClient, StoreOwner {
  private readonly tab = Math.random().toString(36).slice(2) + Date.now().toString(36);
  private readonly channel: BroadcastChannel;
  private readonly stores = new Map<string, DocumentStore>();
  private readonly abort = new AbortController();
  private leader: TabLeader | undefined;
  private leaderStatus: ConnectionStatus = 'connecting';
  private token: string;
  private closed = false;
  private resign: (() => void) | undefined;
  /** Each tab reads an abridged package whole for its own stores, with its own token. */
  readonly loadPackage: PackageLoader;

  constructor(
    private readonly options: SharedClientOptions,
    locks: LockManager,
  ) {
    super();
    this.token = options.token;
    this.loadPackage = createPackageLoader({ apiUrl: () => options.apiUrl ?? options.url ?? options.urls?.[0] ?? '', token: () => this.token });
    const name = `herald:${options.shareName ?? (options.urls ?? [options.url]).join(',')}`;
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (m: MessageEvent<TabMessage>) => this.onMessage(m.data);
    this.post({ t: 'hello', tab: this.tab });
    // Held until this tab closes; the next tab in line then becomes the leader.
    locks
      .request(name, { signal: this.abort.signal }, () => (this.closed ? undefined : new Promise<void>((resolve) => this.lead(resolve))))
      .catch(() => {});
    globalThis.addEventListener?.('pagehide', () => this.close());
  }

  get status(): ConnectionStatus {
    return this.closed ? 'closed' : this.leader ? this.leader.client.status : this.leaderStatus;
  }

  /** Whether this tab holds the socket. */
  get isLeader(): boolean {
    return this.leader !== undefined;
  }

  watch(documentId: string): DocumentStore {
    const existing = this.stores.get(documentId);
    if (existing) return existing;
    let store = new DocumentStore(documentId, this);
    if (this.leader) store = this.leader.watchOwn(store);
    else this.post({ t: 'watch', tab: this.tab, doc: documentId });
    this.stores.set(documentId, store);
    return store;
  }

  release(store: DocumentStore): void {
    if (this.stores.get(store.documentId) === store) this.stores.delete(store.documentId);
    if (this.leader) this.leader.unwatch(this.tab, store.documentId);
    else this.post({ t: 'unwatch', tab: this.tab, doc: store.documentId });
  }

  /** For the stores: the leader sends the chapter on the socket; a follower asks the leader to. */
  announce(store: DocumentStore, chapterId: string | null): void {
    if (this.leader) void this.leader.client.announce(store.documentId, chapterId);
    else this.post({ t: 'announce', doc: store.documentId, chapter: chapterId });
  }

  setToken(token: string): void {
    this.token = token;
    if (this.leader) this.leader.client.setToken(token);
    else this.post({ t: 'token', token });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.post({ t: 'bye', tab: this.tab });
    this.leader?.close();
    this.leader = undefined;
    this.resign?.();
    this.abort.abort();
    this.channel.close();
  }

  private lead(resign: () => void): void {
    this.resign = resign;
    const leader = new TabLeader({ ...this.options, token: this.token }, this.tab, this, this);
    this.leader = leader;
    leader.client.on('status', (s) => this.emit('status', s));
    leader.client.on('notification', (n) => this.emit('notification', n));
    leader.client.on('documents.changed', (p) => this.emit('documents.changed', p));
    leader.client.on('auth.expired', (p) => this.emit('auth.expired', p));
    leader.client.on('error', (e) => this.emit('error', e));
    // What this tab watched as a follower resumes from the seq it reached.
    for (const store of this.stores.values()) leader.watchOwn(store);
    this.post({ t: 'leader', tab: this.tab, status: leader.client.status });
  }

  /** For TabLeader: posts on this tab's channel. */
  post(message: TabMessage): void {
    if (!this.closed) this.channel.postMessage(message);
  }

  private onMessage(m: TabMessage): void {
    if (this.leader) return this.onFollowerMessage(this.leader, m);
    switch (m.t) {
      case 'leader':
        this.setLeaderStatus(m.status);
        // A new leader knows nothing of this tab yet.
        for (const doc of this.stores.keys()) this.post({ t: 'watch', tab: this.tab, doc });
        return;
      case 'status':
        return this.setLeaderStatus(m.status);
      case 'state':
        if (m.to === undefined || m.to === this.tab) this.stores.get(m.doc)?.replace(m.state, m.seq, m.epoch, m.reason);
        return;
      case 'event': {
        const store = this.stores.get(m.doc);
        // The leader relays gap-free; a gap means this tab missed something (it was busy joining): ask for the state.
        if (store?.receive(m.name, m.event) === 'gap') this.post({ t: 'watch', tab: this.tab, doc: m.doc });
        return;
      }
      case 'refused':
        return this.stores.get(m.doc)?.fail(m.error);
      case 'presence':
        return this.stores.get(m.doc)?.setPresence(m.users);
      case 'notification':
        return this.emit('notification', m.notification);
      case 'documents.changed':
        return this.emit('documents.changed', m.payload);
      case 'auth.expired':
        return this.emit('auth.expired', m.payload);
    }
  }

  private onFollowerMessage(leader: TabLeader, m: TabMessage): void {
    switch (m.t) {
      case 'hello':
        return this.post({ t: 'leader', tab: this.tab, status: leader.client.status });
      case 'watch':
        return void leader.watch(m.tab, m.doc);
      case 'unwatch':
        return leader.unwatch(m.tab, m.doc);
      case 'announce':
        return void leader.client.announce(m.doc, m.chapter);
      case 'bye':
        return leader.forget(m.tab);
      case 'token':
        return leader.client.setToken(m.token);
    }
  }

  private setLeaderStatus(status: ConnectionStatus): void {
    if (status === this.leaderStatus) return;
    this.leaderStatus = status;
    this.emit('status', status);
  }
}
