/**
 * Collects rows from concurrent jobs and writes them in set-based batches.
 *
 * Two policies:
 * - `group` (default): group commit. A write starts as soon as none is in
 *   flight; whatever arrives meanwhile forms the next batch. Idle latency is
 *   one statement, and batches grow by themselves under load.
 * - `interval`: write every `minRows` rows or `maxWaitMs`, whichever first
 *   (the old pipeline's 50 rows / 500 ms rule), kept for comparison.
 *
 * Rows with the same key merge (the latest wins) before a write, because
 * `INSERT … ON CONFLICT` cannot touch one row twice in a statement. At most
 * one write is in flight, so two batches never race on a key. Past
 * `maxQueuedRows` pending rows, `add` waits (backpressure, bounded memory).
 */
export interface BatchWriterOptions<Row> {
  /** Rows with equal keys are merged; the later row wins. */
  key(row: Row): string;
  /** Merges a pending row with a newer one of the same key; default: the newer one. */
  merge?(pending: Row, next: Row): Row;
  /** Writes one batch, all or nothing. */
  write(rows: Row[]): Promise<void>;
  /**
   * Runs after a batch is written, in batch order, overlapping the next
   * write (e.g. publishing the rows' events); `add` resolves after it.
   */
  afterWrite?(rows: Row[]): Promise<void>;
  /** Rows per write at most. */
  maxBatchRows: number;
  /** Pending rows past which `add` waits for room. */
  maxQueuedRows: number;
  mode?: 'group' | 'interval';
  /** Interval mode: write once this many rows wait. Default 50. */
  minRows?: number;
  /** Interval mode: longest a row waits. Default 500 ms. */
  maxWaitMs?: number;
  /** Called each time `add` has to wait for room (the writer is at `maxQueuedRows`). */
  onWait?: () => void;
}

export interface BatchWriter<Row> {
  /** Queues a row; resolves once it is committed, rejects if its batch failed. */
  add(row: Row): Promise<void>;
  /** Writes everything pending now. */
  flush(): Promise<void>;
  /** Flushes and refuses new rows. */
  close(): Promise<void>;
  /** Rows waiting to be written. */
  readonly pending: number;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

interface Pending<Row> {
  row: Row;
  waiters: Waiter[];
}

/**
 * Longer than ~60 lines on purpose: the pending rows, the write in flight, the timer and the producers waiting
 * for room are one state machine shared by `add`, `flush` and `close`; each inner function is short, and
 * splitting the factory would mean passing that state around or making it public.
 */
export function createBatchWriter<Row>(options: BatchWriterOptions<Row>): BatchWriter<Row> {
  const mode = options.mode ?? 'group';
  const minRows = options.minRows ?? 50;
  const maxWaitMs = options.maxWaitMs ?? 500;
  const pending = new Map<string, Pending<Row>>();
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let scheduled = false;
  let closed = false;
  const roomWaiters: (() => void)[] = [];
  let afterTail: Promise<void> = Promise.resolve();

  const writeNext = async (): Promise<void> => {
    const batch: Pending<Row>[] = [];
    for (const [key, entry] of pending) {
      if (batch.length >= options.maxBatchRows) break;
      batch.push(entry);
      pending.delete(key);
    }
    releaseRoom();
    if (batch.length === 0) return;
    const settle = (error?: unknown) => {
      for (const e of batch) for (const w of e.waiters) error === undefined ? w.resolve() : w.reject(error);
    };
    const rows = batch.map((e) => e.row);
    try {
      await options.write(rows);
    } catch (error) {
      return settle(error);
    }
    if (!options.afterWrite) return settle();
    // At most one batch's afterWrite runs behind the next write: order is kept and memory stays bounded.
    const previous = afterTail;
    afterTail = previous.then(() => options.afterWrite!(rows)).then(() => settle(), settle);
    await previous;
  };

  // Runs writes back to back while rows are due; only ever one at a time.
  const drain = (force: boolean) => {
    if (inFlight) return inFlight;
    if (!force && !due()) return Promise.resolve();
    inFlight = (async () => {
      try {
        do await writeNext();
        while (pending.size > 0 && (force || due()));
      } finally {
        inFlight = undefined;
        if (pending.size > 0) schedule();
      }
    })();
    return inFlight;
  };

  const due = () => mode === 'group' ? pending.size > 0 : pending.size >= minRows;

  const schedule = () => {
    if (mode === 'group') {
      // Let rows added in the same tick join the batch.
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        void drain(false);
      });
      return;
    }
    if (pending.size >= minRows) {
      clearTimer();
      void drain(false);
    } else if (!timer && pending.size > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        void drain(true);
      }, maxWaitMs);
    }
  };

  const clearTimer = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };

  const releaseRoom = () => {
    while (roomWaiters.length > 0 && pending.size < options.maxQueuedRows) roomWaiters.shift()!();
  };

  const flushAll = async () => {
    clearTimer();
    while (pending.size > 0 || inFlight) {
      await (inFlight ?? drain(true));
    }
    await afterTail;
  };

  return {
    async add(row) {
      if (closed) throw new Error('batch writer is closed');
      const key = options.key(row);
      while (!pending.has(key) && pending.size >= options.maxQueuedRows) {
        options.onWait?.();
        await new Promise<void>((resolve) => roomWaiters.push(resolve));
      }
      return new Promise<void>((resolve, reject) => {
        const entry = pending.get(key);
        if (entry) {
          entry.row = options.merge ? options.merge(entry.row, row) : row;
          entry.waiters.push({ resolve, reject });
        } else {
          pending.set(key, { row, waiters: [{ resolve, reject }] });
        }
        schedule();
      });
    },
    flush: flushAll,
    async close() {
      closed = true;
      await flushAll();
    },
    get pending() {
      return pending.size;
    },
  };
}
