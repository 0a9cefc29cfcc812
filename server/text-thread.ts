import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { splitChaptersInSlices, type SplitChapter, type SplitOptions } from '../domain/text/split-chapters.ts';
import { runInSlices } from '../domain/text/slices.ts';
import type { DocumentKind } from '../domain/vocabulary.ts';
import { parseJsonSteps } from './sliced-json.ts';

/**
 * Text of at least this many characters is parsed or split on the text
 * thread; shorter text costs less in slices here than copied there and back.
 */
export const THREAD_MIN_CHARS = 64 * 1024;
/** After the thread failed to start or died, this long before another is started (meanwhile: slices). */
const RESTART_AFTER_MS = 30_000;

/** The operations the thread runs (text-thread-worker.ts), each to its end in one go. */
export interface TextOperations {
  parseJson(text: string): unknown;
  splitChapters(content: string, kind: DocumentKind, options: SplitOptions): SplitChapter[];
}
export interface TextRequest { id: number; operation: keyof TextOperations; args: unknown[] }
export type TextAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; name: string; message: string };

/**
 * The API's CPU-heavy text work on a large upload: its JSON parse and its
 * split into chapters. Each gives what its in-thread counterpart gives.
 */
export interface TextWork {
  /** `JSON.parse(text)`; `longStrings` are json-body.ts's ranges of its long literals, for parsing in slices. */
  parseJson(text: string, longStrings: readonly number[]): Promise<unknown>;
  splitChapters(content: string, kind: DocumentKind, options?: SplitOptions): Promise<SplitChapter[]>;
  /** Operations the thread has answered, and the times it died or failed to start (tests). */
  readonly threadRuns: number;
  readonly threadFailures: number;
  close(): Promise<void>;
}

/** The same work in slices on the event loop (domain/text/slices.ts), for a process or a test without the thread. */
export const textInSlices: TextWork = {
  parseJson: (text, longStrings) => runInSlices(parseJsonSteps(text, longStrings)),
  splitChapters: (content, kind, options = {}) => splitChaptersInSlices(content, kind, options),
  threadRuns: 0,
  threadFailures: 0,
  close: async () => {},
};

/**
 * A thread of the api role's own for large text work. Slices keep every
 * stall of the event loop short, but each request that arrives during a
 * 10 MiB upload still waits one slice per step (its connection, its
 * headers, each of its reads), tens of milliseconds in all; on the thread,
 * the parse and the split run on another core while the event loop serves
 * those requests. The thread starts on the first large text (that text and
 * any until it is ready are done in slices, as they are whenever it is not
 * running); if it dies, its operations in flight are done again in slices
 * and another starts on a later large text.
 */
export function createTextThread(logger: Logger, options: { entry?: URL } = {}): TextWork {
  const log = logger.child({ component: 'text-thread' });
  let worker: Worker | undefined;
  let ready = false;
  let failedAt = -Infinity;
  let nextId = 0;
  let threadRuns = 0;
  let threadFailures = 0;
  const pending = new Map<number, { answer: (a: TextAnswer) => void; gone: () => void }>();

  const stopped = (reason: string, err?: unknown) => {
    if (!worker) return;
    worker = undefined;
    ready = false;
    failedAt = performance.now();
    threadFailures++;
    log.warn({ err, inFlight: pending.size }, `text thread ${reason}; large uploads are parsed in slices meanwhile`);
    const gone = [...pending.values()];
    pending.clear();
    for (const p of gone) p.gone();
  };

  const start = () => {
    if (worker || performance.now() - failedAt < RESTART_AFTER_MS) return;
    const w = new Worker(new URL('./text-thread-boot.mjs', import.meta.url), {
      workerData: { entry: (options.entry ?? new URL('./text-thread-worker.ts', import.meta.url)).href },
    });
    worker = w;
    // An idle thread keeps no process alive; a request in flight does that on its own.
    w.unref();
    w.on('message', (message: TextAnswer | 'ready') => {
      if (message === 'ready') {
        ready = true;
        return;
      }
      const p = pending.get(message.id);
      pending.delete(message.id);
      threadRuns++;
      p?.answer(message);
    });
    w.on('error', (err) => worker === w && stopped('failed', err));
    w.on('exit', (code) => worker === w && stopped(`exited with code ${code}`));
  };

  /** `operation` on the thread when it is ready, else (or if it dies meanwhile) `inSlices` here. */
  const run = <K extends keyof TextOperations>(
    operation: K,
    args: Parameters<TextOperations[K]>,
    size: number,
    inSlices: () => Promise<ReturnType<TextOperations[K]>>,
  ): Promise<ReturnType<TextOperations[K]>> => {
    if (size < THREAD_MIN_CHARS) return inSlices();
    if (!worker || !ready) {
      start();
      return inSlices();
    }
    const id = nextId++;
    const w = worker;
    return new Promise((resolve, reject) => {
      pending.set(id, {
        answer: (a) => {
          if (a.ok) resolve(a.value as ReturnType<TextOperations[K]>);
          else reject(Object.assign(a.name === 'SyntaxError' ? new SyntaxError(a.message) : new Error(a.message), { name: a.name }));
        },
        gone: () => inSlices().then(resolve, reject),
      });
      w.postMessage({ id, operation, args } satisfies TextRequest);
    });
  };

  return {
    parseJson: (text, longStrings) => run('parseJson', [text], text.length, () => textInSlices.parseJson(text, longStrings)),
    splitChapters: (content, kind, options = {}) =>
      run('splitChapters', [content, kind, options], content.length, () => textInSlices.splitChapters(content, kind, options)),
    get threadRuns() {
      return threadRuns;
    },
    get threadFailures() {
      return threadFailures;
    },
    async close() {
      const w = worker;
      worker = undefined;
      ready = false;
      failedAt = Infinity;
      for (const p of pending.values()) p.gone();
      pending.clear();
      await w?.terminate();
    },
  };
}
