import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AppError } from './errors.ts';
import type { InsertedUpload, UploadLimits } from './services/upload.ts';
import type { ThreadError, UploadMessage, UploadOutcome, UploadStart } from './upload-thread-entry.ts';

/**
 * The upload thread: a `worker_threads` thread that takes an upload's costly
 * part off the API's event loop. The event loop only passes the body's
 * chunks on as they arrive; the thread decodes and parses them, validates
 * the manuscript, splits it into chapters and inserts the document and its
 * chapters through a PostgreSQL pool of its own (roles/api.ts gives it two
 * connections), then answers the chapters' ids. The API enqueues the ingest
 * and answers as before.
 *
 * Why a thread and not slices alone: sliced work still holds the event loop
 * for a slice (10 ms) at a time, and a request arriving during an upload
 * waits a slice for each of its steps (the connection's accept, its headers,
 * each of its reads). A thread is scheduled by the operating system beside
 * the event loop instead (docs/performance.md, "The upload thread").
 *
 * While the thread is starting, its tasks wait for it. When it fails (it
 * exits, or cannot start), the tasks it held answer 503 (`unavailable`: try
 * again; none was half-written, each insert being one transaction) and a
 * new thread starts; after THREAD_FAILURES_BEFORE_FALLBACK failures in a row
 * without a task done, `usable()` turns false and the route runs the
 * upload on the event loop in slices, as it does without a thread.
 */
export interface UploadThread {
  /** Whether uploads should go to the thread (false once it keeps failing). */
  usable(): boolean;
  /**
   * A JSON upload, read, validated and stored. Its body goes to the thread
   * chunk by chunk as it arrives: the event loop never holds a copy of the
   * whole body (a fresh 10 MiB buffer is tens of milliseconds of page faults
   * on its own), and each chunk costs it one small copy.
   */
  storeJson(body: AsyncIterable<Uint8Array>, limits: UploadLimits, userId: string): Promise<InsertedUpload>;
  /** A multipart upload (its `contentType` names the boundary), its form parsed and its file decoded on the thread, then stored; its body goes as storeJson's does. */
  storeForm(body: AsyncIterable<Uint8Array>, contentType: string, limits: UploadLimits, userId: string): Promise<InsertedUpload>;
  /** Resolves once the first thread has loaded its code (or failed to: uploads then answer 503 or fall back), at most READY_TIMEOUT_MS after the start. */
  ready(): Promise<void>;
  /** Lets the tasks under way finish, then ends the thread and its pool. */
  close(): Promise<void>;
}

export interface UploadThreadOptions {
  databaseUrl: string;
  /** DATABASE_URL is a transaction-mode pooler (see sql/client.ts). */
  pooled: boolean;
  /** PostgreSQL connections the thread's pool may open. */
  connections: number;
  /** The thread's CPU priority (nice, 0 to 19): above 0, the event loop's own work goes first. */
  nice: number;
  logger: Logger;
  /** The thread's module; default upload-thread-entry.ts (tests give one that fails). */
  entry?: URL;
}

const THREAD_FAILURES_BEFORE_FALLBACK = 3;
/** Longest ready() waits for the first thread to load: a start is never held up for good by it. */
const READY_TIMEOUT_MS = 15_000;
/** How long close() waits for the thread to end its pool before stopping it. */
const CLOSE_TIMEOUT_MS = 10_000;

export function startUploadThread(options: UploadThreadOptions): UploadThread {
  const logger = options.logger.child({ component: 'upload-thread' });
  const pending = new Map<number, { resolve: (value: InsertedUpload) => void; reject: (error: Error) => void }>();
  const underWay = new Set<Promise<unknown>>();
  let nextId = 0;
  let failures = 0;
  let closing = false;
  let loaded!: () => void;
  const firstLoaded = new Promise<void>((resolve) => (loaded = resolve));
  let worker: Worker | undefined = spawn();

  function spawn(): Worker {
    const thread = new Worker(new URL('./upload-thread-boot.mjs', import.meta.url), {
      // None of the process's flags: an `--import` of a TypeScript preload (a profiler, a monitor) would fail in a
      // thread that has no loader yet. The first module loads tsx itself.
      execArgv: [],
      workerData: { entry: (options.entry ?? new URL('./upload-thread-entry.ts', import.meta.url)).href, databaseUrl: options.databaseUrl, pooled: options.pooled, connections: options.connections, nice: options.nice },
    });
    thread.unref();
    thread.on('message', (outcome: UploadOutcome | { kind: 'ready' }) => {
      if ('kind' in outcome) return loaded();
      const task = pending.get(outcome.id);
      if (!task) return;
      pending.delete(outcome.id);
      if (outcome.ok) {
        failures = 0;
        task.resolve(outcome.stored);
      } else {
        task.reject(rebuildError(outcome.error));
      }
    });
    thread.on('error', (err) => logger.error({ err }, 'the upload thread failed'));
    thread.on('exit', (code) => {
      loaded();
      worker = undefined;
      if (closing) return;
      failures++;
      for (const task of pending.values()) task.reject(new AppError('unavailable', 'The upload could not be processed; nothing was stored. Try again.'));
      pending.clear();
      logger.error({ code, failures }, failures >= THREAD_FAILURES_BEFORE_FALLBACK
        ? 'the upload thread keeps failing; uploads now run on the event loop, in slices'
        : 'the upload thread exited; starting another');
      if (failures < THREAD_FAILURES_BEFORE_FALLBACK) worker = spawn();
    });
    return thread;
  }

  /** Sends a task's first message; its outcome comes back on the thread's messages. */
  function start(task: DistributiveOmit<UploadStart, 'id'>): { id: number; thread: Worker | undefined; done: Promise<InsertedUpload> } {
    const id = nextId++;
    const thread = worker;
    if (!thread) return { id, thread, done: Promise.reject(new AppError('unavailable', 'The upload could not be processed; nothing was stored. Try again.')) };
    const done = new Promise<InsertedUpload>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      // Held only while a task is under way: an idle thread keeps no process alive.
      thread.ref();
      thread.postMessage({ ...task, id } satisfies UploadMessage);
    }).finally(() => {
      underWay.delete(done);
      if (pending.size === 0) thread.unref();
    });
    underWay.add(done);
    // Awaited by the caller once the body is sent; until then a failure must not count as unhandled.
    done.catch(() => undefined);
    return { id, thread, done };
  }

  /** Sends a started task's body chunk by chunk, then its end; resolves with the task's outcome. */
  async function send({ id, thread, done }: ReturnType<typeof start>, body: AsyncIterable<Uint8Array>): Promise<InsertedUpload> {
    if (!thread) return done;
    try {
      for await (const chunk of body) {
        // The thread has ended (the task already answered 503): the rest of the body is read and dropped.
        if (!pending.has(id)) continue;
        // A copy of this chunk's bytes alone (a socket chunk is a view of a larger buffer), moved to the thread.
        const bytes = new Uint8Array(chunk);
        thread.postMessage({ kind: 'chunk', id, bytes } satisfies UploadMessage, [bytes.buffer]);
      }
    } catch (error) {
      // The client went away, or the body broke a limit while it was read: the thread forgets the task.
      thread.postMessage({ kind: 'abort', id } satisfies UploadMessage);
      pending.get(id)?.reject(error as Error);
      pending.delete(id);
      throw error;
    }
    thread.postMessage({ kind: 'end', id } satisfies UploadMessage);
    return done;
  }

  return {
    usable: () => !closing && worker !== undefined,
    storeJson: (body, limits, userId) => send(start({ kind: 'json', limits, userId }), body),
    storeForm: (body, contentType, limits, userId) => send(start({ kind: 'form', contentType, limits, userId }), body),
    ready: async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger.warn({ waitedMs: READY_TIMEOUT_MS }, 'the upload thread is still loading; the first uploads will wait for it');
          resolve();
        }, READY_TIMEOUT_MS);
      });
      await Promise.race([firstLoaded, late]);
      clearTimeout(timer);
    },
    close: async () => {
      closing = true;
      await Promise.allSettled(underWay);
      const thread = worker;
      if (!thread) return;
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.ref();
      thread.postMessage({ kind: 'close' });
      const timer = setTimeout(() => void thread.terminate(), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The thread's error as the API maps it: an AppError again, or an error with the code and name that tell a PostgreSQL outage or a constraint. */
function rebuildError(error: ThreadError): Error {
  if (error.app) return new AppError(error.app.code, error.message, error.app.details, error.app.headers);
  return Object.assign(new Error(error.message), { name: error.name, stack: error.stack, ...error.fields });
}
