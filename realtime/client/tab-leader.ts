import type { StoreOwner } from './document-store.ts';
import { DocumentStore } from './document-store.ts';
import { HeraldClient, type HeraldClientOptions } from './herald-client.ts';
import type { TabChannel } from './tab-messages.ts';

interface Relayed {
  store: DocumentStore;
  /** Tabs watching the document (this one included). */
  tabs: Set<string>;
  stopRelay: () => void;
}

/**
 * The leader tab's part: holds the one socket (a HeraldClient) for every
 * tab, watches the union of the documents the tabs watch, and relays each
 * applied event, each replaced state and each refusal to the others.
 */
export class TabLeader {
  readonly client: HeraldClient;
  private readonly documents = new Map<string, Relayed>();

  constructor(
    options: HeraldClientOptions,
    private readonly tab: string,
    private readonly channel: TabChannel,
    private readonly owner: StoreOwner,
  ) {
    this.client = HeraldClient.connect(options);
    this.client.on('status', (status) => channel.post({ t: 'status', status }));
    this.client.on('notification', (notification) => channel.post({ t: 'notification', notification }));
    this.client.on('documents.changed', (payload) => channel.post({ t: 'documents.changed', payload }));
    this.client.on('auth.expired', (payload) => channel.post({ t: 'auth.expired', payload }));
  }

  /** The store this tab uses for a document: the one already relayed, or `own` (which may hold a state to resume from). */
  watchOwn(own: DocumentStore): DocumentStore {
    return this.watch(this.tab, own.documentId, own);
  }

  /** A tab watches a document: it is subscribed if it was not, and the tab gets its state as soon as there is one. */
  watch(tab: string, documentId: string, own?: DocumentStore): DocumentStore {
    let relayed = this.documents.get(documentId);
    if (!relayed) {
      const store = this.client.adopt(own ?? new DocumentStore(documentId, this.owner));
      relayed = { store, tabs: new Set(), stopRelay: this.relay(store) };
      this.documents.set(documentId, relayed);
    }
    relayed.tabs.add(tab);
    const { store } = relayed;
    if (tab !== this.tab && store.state && store.epoch !== undefined) {
      this.channel.post({ t: 'state', doc: documentId, state: store.state, seq: store.seq, epoch: store.epoch, reason: 'leader', to: tab });
      this.channel.post({ t: 'presence', doc: documentId, users: store.presence });
    }
    return store;
  }

  /** A tab stops watching; the document is unsubscribed once no tab watches it. */
  unwatch(tab: string, documentId: string): void {
    const relayed = this.documents.get(documentId);
    if (!relayed || !relayed.tabs.delete(tab) || relayed.tabs.size > 0) return;
    relayed.stopRelay();
    this.documents.delete(documentId);
    this.client.unwatch(documentId);
  }

  /** A tab went away: everything it watched is released. */
  forget(tab: string): void {
    for (const documentId of [...this.documents.keys()]) this.unwatch(tab, documentId);
  }

  close(): void {
    for (const r of this.documents.values()) r.stopRelay();
    this.documents.clear();
    this.client.close();
  }

  private relay(store: DocumentStore): () => void {
    const doc = store.documentId;
    const offs = [
      store.on('event', (name, event) => this.channel.post({ t: 'event', doc, name, event })),
      store.on('reset', (state, reason) => this.channel.post({ t: 'state', doc, state, seq: store.seq, epoch: store.epoch!, reason })),
      store.on('error', (error) => this.channel.post({ t: 'refused', doc, error })),
      store.on('presence', (users) => this.channel.post({ t: 'presence', doc, users })),
    ];
    return () => offs.forEach((off) => off());
  }
}
