import type { DocumentFeed } from './document-feed.ts';

/** The gateway's shared feeds, counted by reference. */
export interface FeedRegistry {
  acquire(documentId: string): Promise<DocumentFeed>;
  release(documentId: string): void;
}

/**
 * The documents one socket watches, at most `max`. A slot is taken
 * synchronously, before any await, so concurrent subscribes cannot all pass
 * the check and overshoot the cap; a slot whose access check or feed fails
 * is given back. A document's slot is one promise shared by every request
 * for it, so a repeated or concurrent subscribe takes one feed reference,
 * and an unsubscribe or disconnect gives it back once the feed is held.
 */
export class SocketSubscriptions {
  private readonly slots = new Map<string, Promise<DocumentFeed | null>>();

  constructor(
    private readonly max: number,
    private readonly feeds: FeedRegistry,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  has(documentId: string): boolean {
    return this.slots.has(documentId);
  }

  /**
   * The slot for the document: the one already held, or a new one that runs
   * `admit` (the access check) and then acquires the feed. Resolves to null
   * when `admit` says no; undefined (no slot) when the socket is full.
   */
  take(documentId: string, admit: () => Promise<boolean>): Promise<DocumentFeed | null> | undefined {
    const held = this.slots.get(documentId);
    if (held) return held;
    if (this.slots.size >= this.max) return undefined;
    const slot = admit().then((allowed) => (allowed ? this.feeds.acquire(documentId) : null));
    this.slots.set(documentId, slot);
    const giveBack = () => {
      if (this.slots.get(documentId) === slot) this.slots.delete(documentId);
    };
    slot.then((feed) => feed ?? giveBack(), giveBack);
    return slot;
  }

  /** Whether `slot` is still this socket's slot for the document (not given back or replaced since). */
  holds(documentId: string, slot: Promise<DocumentFeed | null>): boolean {
    return this.slots.get(documentId) === slot;
  }

  /** Gives the document's slot back; its feed reference is released once it has been acquired. */
  release(documentId: string): boolean {
    const slot = this.slots.get(documentId);
    if (!slot) return false;
    this.slots.delete(documentId);
    slot.then((feed) => feed && this.feeds.release(documentId), () => {});
    return true;
  }

  releaseAll(): void {
    for (const documentId of [...this.slots.keys()]) this.release(documentId);
  }
}
