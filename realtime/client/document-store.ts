import type { DocumentEvent, DocumentEventName, ErrorBody, PackageStage, PresenceUser } from '../events.ts';
import { Emitter } from './emitter.ts';
import type { PackageLoader } from './package-loader.ts';
import { applyEvent, type DocumentState } from './state.ts';

/** Why a store's state was replaced wholesale. */
export type ResetReason = 'snapshot' | 'not_recovered' | 'gap' | 'leader';

type DocumentEventCallbacks = { [N in DocumentEventName]: (event: DocumentEvent<N>) => void };

/** Everything a store emits: each document event by name, plus its own changes. */
export interface DocumentStoreEvents extends DocumentEventCallbacks {
  /** Any change: an applied event or a replaced state. */
  change: (state: DocumentState, previous: DocumentState | undefined) => void;
  /** The state was replaced from a snapshot (first subscribe, history lost, or a gap that replay could not fill). */
  reset: (state: DocumentState, reason: ResetReason) => void;
  /** Every applied event, in seq order (for logs, tests and relaying to other tabs). */
  event: (name: DocumentEventName, event: DocumentEvent) => void;
  /** The subscription was refused (not_found, too_many_subscriptions, ...). */
  error: (error: ErrorBody) => void;
  /** Who has the document open changed (see `presence`). */
  presence: (users: PresenceUser[]) => void;
}

/** Whoever keeps the store in sync; told when the application closes it. */
export interface StoreOwner {
  release(store: DocumentStore): void;
  /** Reads the whole package when an event brought it abridged; without it the abridged content stays. */
  loadPackage?: PackageLoader;
  /** Tells the server which chapter this user is editing in the store's document (and again after every resubscribe). */
  announce?(store: DocumentStore, chapterId: string | null): void;
}

/** Waits before reading an abridged package again after a failed read (then twice as long, up to 3 tries). */
const PACKAGE_RETRY_MS = 1000;
const PACKAGE_TRIES = 3;

/** What `receive` did with an event. */
export type Receipt = 'applied' | 'duplicate' | 'gap' | 'not_ready';

/**
 * A live document: the snapshot with every later event folded in, in seq
 * order, with the seq and epoch it is at. The client that created it keeps
 * it in sync (resume, gap healing, snapshot replace); the application only
 * reads `state` and listens:
 *
 * ```ts
 * const doc = client.watch(id);
 * const stop = doc.subscribe((state) => render(state));
 * doc.on('chapter.status', (e) => console.log(e.chapter_id, e.status));
 * doc.close(); // stop watching
 * ```
 */
export class DocumentStore extends Emitter<DocumentStoreEvents> {
  private current: DocumentState | undefined;
  private lastSeq = 0;
  private currentEpoch: string | undefined;
  private failure: ErrorBody | undefined;
  private users: PresenceUser[] = [];
  private readyWaiters: { resolve: (s: DocumentState) => void; reject: (e: Error) => void }[] = [];

  constructor(
    readonly documentId: string,
    private readonly owner: StoreOwner,
  ) {
    super();
  }

  /** The document, or undefined until its first snapshot arrives. */
  get state(): DocumentState | undefined {
    return this.current;
  }

  /** The seq of the last event folded into `state` (the snapshot's seq before any event). */
  get seq(): number {
    return this.lastSeq;
  }

  /** The history `seq` belongs to; undefined before the first snapshot. */
  get epoch(): string | undefined {
    return this.currentEpoch;
  }

  /**
   * Who has the document open now, this user included: one entry per user,
   * with the chapter they are editing (null: only reading). Empty until the
   * subscription is acknowledged; the `presence` event tells each change.
   */
  get presence(): PresenceUser[] {
    return this.users;
  }

  /**
   * Says which chapter this user is editing now (null: only reading), so the
   * others' `presence` shows it. The client sends it once subscribed, and
   * again after every reconnect; the latest call wins.
   */
  announce(chapterId: string | null): void {
    this.owner.announce?.(this, chapterId);
  }

  /** The refusal, when the server refused the subscription. */
  get error(): ErrorBody | undefined {
    return this.failure;
  }

  /** Calls `listener` now (when there is a state) and after every change; returns a function that stops it. */
  subscribe(listener: (state: DocumentState, previous: DocumentState | undefined) => void): () => void {
    const off = this.on('change', listener);
    if (this.current) listener(this.current, undefined);
    return off;
  }

  /** Removes a listener added with `subscribe`. */
  unsubscribe(listener: (state: DocumentState, previous: DocumentState | undefined) => void): void {
    this.off('change', listener);
  }

  /** Resolves with the first state; rejects if the subscription is refused. */
  ready(): Promise<DocumentState> {
    if (this.current) return Promise.resolve(this.current);
    if (this.failure) return Promise.reject(toError(this.failure));
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Stops watching the document. Listeners stay attached (remove them with the functions `on`/`subscribe` return); no more changes come. */
  close(): void {
    this.owner.release(this);
  }

  /** Called by the client: folds in the event when it is the next one; says what it did otherwise. */
  receive<N extends DocumentEventName>(name: N, event: DocumentEvent<N>): Receipt {
    if (!this.current) return 'not_ready';
    if (event.seq <= this.lastSeq) return 'duplicate';
    if (event.seq !== this.lastSeq + 1) return 'gap';
    const previous = this.current;
    this.current = applyEvent(previous, name, event);
    this.lastSeq = event.seq;
    this.emit('event', name, event);
    (this.emit as (n: N, e: DocumentEvent<N>) => void)(name, event);
    if (this.current !== previous) this.emit('change', this.current, previous);
    if (this.current !== previous && this.current.package.content?.abridged === true) void this.loadWholePackage(this.current.package.stage!);
    return 'applied';
  }

  /**
   * A package event too big for the socket came abridged: the whole package
   * is read over REST and replaces it, while the state still holds that
   * abridged package (a later package event or snapshot wins).
   */
  private async loadWholePackage(stage: PackageStage): Promise<void> {
    const load = this.owner.loadPackage;
    if (!load) return;
    const abridged = this.current!.package.content;
    for (let attempt = 0; attempt < PACKAGE_TRIES; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, PACKAGE_RETRY_MS * 2 ** (attempt - 1)));
      if (this.current?.package.content !== abridged) return;
      let whole: Record<string, unknown> | undefined;
      try {
        whole = await load(this.documentId);
      } catch {
        continue; // the network or the server: try again
      }
      const previous = this.current;
      // Replaced meanwhile, or a newer stage was built (the full package): its own event brings it.
      if (previous?.package.content !== abridged || whole?.stage !== stage) return;
      this.current = { ...previous, package: { stage, content: whole } };
      this.emit('change', this.current, previous);
      return;
    }
  }

  /** Called by the client: replaces the state wholesale (a snapshot) at `seq` of `epoch`. */
  replace(state: DocumentState, seq: number, epoch: string, reason: ResetReason): void {
    const previous = this.current;
    this.current = state;
    this.lastSeq = seq;
    this.currentEpoch = epoch;
    this.failure = undefined;
    this.emit('reset', state, reason);
    this.emit('change', state, previous);
    for (const w of this.readyWaiters.splice(0)) w.resolve(state);
  }

  /** Called by the client: the server sent who has the document open. */
  setPresence(users: PresenceUser[]): void {
    this.users = users;
    this.emit('presence', users);
  }

  /** Called by the client: a replay moved the store to `epoch` (same history, nothing to replace). */
  confirm(epoch: string): void {
    this.currentEpoch = epoch;
  }

  /** Called by the client: the server refused the subscription. */
  fail(error: ErrorBody): void {
    this.failure = error;
    this.emit('error', error);
    for (const w of this.readyWaiters.splice(0)) w.reject(toError(error));
  }
}

function toError(body: ErrorBody): Error & { code: string } {
  return Object.assign(new Error(body.message), { code: body.code });
}
