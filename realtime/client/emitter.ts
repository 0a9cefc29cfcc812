/** Listener signatures by event name. */
export type EventMap<E> = { [K in keyof E]: (...args: never[]) => void };

/**
 * A small typed event emitter for the browser and Node alike (the SDK must
 * not depend on Node's `events`). A listener that throws is reported on the
 * console and does not stop the others: one broken UI callback must not
 * break the document's state.
 */
export class Emitter<E extends EventMap<E>> {
  private readonly listeners = new Map<keyof E, Set<E[keyof E]>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(name: K, listener: E[K]): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => this.off(name, listener);
  }

  off<K extends keyof E>(name: K, listener: E[K]): void {
    this.listeners.get(name)?.delete(listener);
  }

  protected emit<K extends keyof E>(name: K, ...args: Parameters<E[K]>): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<E[K]>) => void)(...args);
      } catch (error) {
        console.error(`herald: a "${String(name)}" listener threw`, error);
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
