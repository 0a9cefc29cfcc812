/**
 * The upload thread's work (see upload-thread.ts): each task is one upload,
 * read and validated from its body's bytes (JSON or a multipart form), then split and stored with
 * the same code the event loop runs (services/upload.ts), in slices here
 * too. Each answers once, with the stored chapters' ids or with its error.
 * Users take turns: each user has one upload under way at most, the
 * others wait in that user's line. Uploads under way share the thread slice
 * by slice (about 2 ms each) and their stores overlap on its connections,
 * so one user's pile of big bodies holds up another user's small upload for
 * a slice or two, not for the pile, and uses one of the thread's
 * connections, not all of them.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createSql } from '../sql/client.ts';
import { runInSlices, type Sliced } from '../domain/text/slices.ts';
import { AppError } from './errors.ts';
import { parseJsonBytesSteps } from './json-body.ts';
import { insertUpload, type InsertedUpload, type UploadInput, type UploadLimits } from './services/upload.ts';
import { invalidJson, uploadFromForm, uploadFromJson } from './upload-input.ts';

/** A task's first message: a JSON or multipart upload, whose body follows in `chunk` messages until `end`. */
export type UploadStart = { id: number; limits: UploadLimits; userId: string } & ({ kind: 'json' } | { kind: 'form'; contentType: string });

/** What the API sends the thread. `abort`: the body will not end (the client went away); forget the task. */
export type UploadMessage =
  | UploadStart
  | { kind: 'chunk'; id: number; bytes: Uint8Array }
  | { kind: 'end' | 'abort'; id: number }
  | { kind: 'close' };

/** An error sent back: what the API needs to answer it as it would have on the event loop. */
export interface ThreadError {
  name: string;
  message: string;
  stack?: string | undefined;
  /** An AppError's parts. */
  app?: { code: AppError['code']; details?: unknown; headers?: Record<string, string> | undefined } | undefined;
  /** A PostgreSQL or socket error's `code` and the like (errors.ts maps them). */
  fields?: Record<string, string> | undefined;
}

export type UploadOutcome = { id: number } & ({ ok: true; stored: InsertedUpload } | { ok: false; error: ThreadError });

interface ThreadData {
  databaseUrl: string;
  pooled: boolean;
  connections: number;
  /** CPU priority (nice) of this thread alone; 0 leaves it as the process's. */
  nice: number;
}

const port = parentPort!;
const { databaseUrl, pooled, connections, nice } = workerData as ThreadData;
lowerPriority(nice);
const sql = createSql(databaseUrl, { max: connections, pooled });
/**
 * postgres.js learns the array types on a pool's first connection; a statement built before that sends
 * an array as text (`malformed array literal`), and the upload's insert is all arrays. So the pool's
 * first statement is this one, until it succeeds (PostgreSQL may be down when the thread starts).
 */
let typesKnown: Promise<unknown> | undefined;
const knowTypes = () => (typesKnown ??= sql`select 1`.catch((error: unknown) => {
  typesKnown = undefined;
  throw error;
}));
void knowTypes().catch(() => undefined);
// The code is loaded: the API may count on the thread (upload-thread.ts, ready()).
port.postMessage({ kind: 'ready' });

/** JSON uploads whose body is still arriving, by task id. */
const bodies = new Map<number, { task: UploadStart; chunks: Uint8Array[] }>();

port.on('message', (message: UploadMessage) => {
  switch (message.kind) {
    case 'close':
      void sql.end({ timeout: 5 }).finally(() => port.close());
      return;
    case 'json':
    case 'form':
      bodies.set(message.id, { task: message, chunks: [] });
      return;
    case 'chunk':
      bodies.get(message.id)?.chunks.push(message.bytes);
      return;
    case 'abort':
      bodies.delete(message.id);
      return;
    case 'end': {
      const body = bodies.get(message.id);
      bodies.delete(message.id);
      if (body) waitInLine(body);
    }
  }
});

/**
 * Slices of the thread's work: shorter than the event loop's (SLICE_MS), so
 * that a small upload's steps (its split, then each round trip of its store)
 * wait a couple of milliseconds each for the big uploads beside it, not ten.
 */
const THREAD_SLICE_MS = 2;
const inThreadSlices = <T>(work: Sliced<T>) => runInSlices(work, THREAD_SLICE_MS);

/** Uploads whose body has arrived and that wait for their user's upload under way, in a line per user. */
const lines = new Map<string, { task: UploadStart; chunks: Uint8Array[] }[]>();
/** Users with an upload under way (read in slices, or stored): one each. */
const underWay = new Set<string>();

function waitInLine(upload: { task: UploadStart; chunks: Uint8Array[] }): void {
  const line = lines.get(upload.task.userId);
  if (line) line.push(upload);
  else lines.set(upload.task.userId, [upload]);
  startWaiting();
}

/**
 * Starts the first waiting upload of every user who has none under way,
 * in the order their lines formed. Started uploads share the thread slice by slice, so
 * each user with an upload gets about the same share of the thread whatever
 * the number of uploads they sent.
 */
function startWaiting(): void {
  const ready = [...lines].filter(([userId]) => !underWay.has(userId));
  for (const [userId, line] of ready) {
    const { task, chunks } = line.shift()!;
    if (line.length === 0) lines.delete(userId);
    underWay.add(userId);
    void handle(task, Buffer.concat(chunks)).then((outcome) => {
      underWay.delete(userId);
      port.postMessage(outcome);
      startWaiting();
    });
  }
}

async function handle(task: UploadStart, body: Uint8Array<ArrayBuffer>): Promise<UploadOutcome> {
  try {
    const input = task.kind === 'json' ? await readJson(body) : await uploadFromForm(body, task.contentType);
    await knowTypes();
    return { id: task.id, ok: true, stored: await insertUpload(sql, task.limits, input, task.userId, inThreadSlices) };
  } catch (error) {
    return { id: task.id, ok: false, error: describe(error) };
  }
}

async function readJson(bytes: Uint8Array): Promise<UploadInput> {
  let body: unknown;
  try {
    body = await inThreadSlices(parseJsonBytesSteps(bytes));
  } catch (error) {
    throw error instanceof AppError ? error : invalidJson();
  }
  return uploadFromJson(body);
}

function describe(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { name, message, stack } = error;
  if (error instanceof AppError) return { name, message, app: { code: error.code, details: error.details, headers: error.headers } };
  // postgres.js errors carry `code` (SQLSTATE or a connection code) and the constraint's name; socket errors `code`.
  const fields = Object.fromEntries(
    ['code', 'constraint_name', 'severity', 'detail'].flatMap((key) => {
      const value = (error as unknown as Record<string, unknown>)[key];
      return typeof value === 'string' ? [[key, value]] : [];
    }),
  );
  return { name, message, stack, fields };
}

/**
 * Lowers this thread's CPU priority, not the process's: on Linux a thread
 * has its own nice value, set through its thread id (/proc/thread-self).
 * Elsewhere, or when refused, the thread keeps the process's priority.
 */
function lowerPriority(value: number): void {
  if (value === 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, value);
  } catch {
    // Not Linux, or not allowed: the thread runs at the process's priority.
  }
}
