import type { Logger } from 'pino';

/** A started part as the composition root holds it: ready once it can serve, closed at shutdown. */
export interface RunningPart {
  /** Resolves once the part can serve (connections up, workers taking jobs). */
  ready(): Promise<void>;
  close(): Promise<unknown>;
}

/** Anything the shutdown stack can close. */
export type Closable = Pick<RunningPart, 'close'>;

/**
 * The parts of one process in the order they started; `close` stops them in
 * reverse, so nothing is closed while a part started after it still uses it.
 * A part that fails to close is logged and the rest still close. (Socket.IO
 * and BullMQ close their own parts the same way: the last opened, the first closed.)
 */
export function createShutdownStack(logger: Logger) {
  const parts: Closable[] = [];
  let closing: Promise<void> | undefined;
  const closeAll = async () => {
    for (const part of parts.reverse()) await part.close().catch((err: unknown) => logger.warn({ err }, 'error during shutdown'));
  };
  return {
    /** Adds a started part; returns it, so a start reads `const x = stack.push(start...())`. */
    push<T extends Closable>(part: T): T {
      parts.push(part);
      return part;
    },
    /** Closes every part once, last started first; later calls get the same promise. */
    close(): Promise<void> {
      return (closing ??= closeAll());
    },
  };
}

export type ShutdownStack = ReturnType<typeof createShutdownStack>;
