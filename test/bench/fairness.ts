/**
 * Fair scheduling (jobs/ingest-window.ts): one writer uploads a 10,000-chapter
 * manuscript; once it is under way, another writer uploads a 1-chapter one.
 * Figures: the small document's time from upload to its closing
 * `document.progress`, and the big ingest's chapters per second. Paired:
 * the windowed setup (INGEST_WINDOW_PER_USER default) and the FIFO one
 * (INGEST_WINDOW_PER_USER=10000: the whole document in one flow, as before
 * windows) run alternately, each in its own Herald and worker process.
 */
import type { DocumentEvent } from '../../realtime/events.ts';
import { connectClient, type RecordingClient } from '../support/socket.ts';
import { postJson, removePrefix, startBenchHerald, withTimeout, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { median, type Figure } from './stats.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

export interface FairnessBenchOptions {
  repeats: number;
  bigChapters: number;
  wordsPerChapter: number;
  /** Chapters of the big document completed before the small one is uploaded. */
  startAfter: number;
  concurrency: number;
}

const SMALL_GOAL_MS = 1000;
const THROUGHPUT_GOAL_COST = 0.1;
const RUN_TIMEOUT_MS = 300_000;

interface Setup {
  scenario: string;
  label: string;
  env: Record<string, string>;
}

const WINDOWED: Setup = { scenario: 'fair-window', label: 'windowed (INGEST_WINDOW_PER_USER default 64)', env: {} };
const FIFO: Setup = { scenario: 'fair-fifo', label: 'FIFO (INGEST_WINDOW_PER_USER=10000: one flow of every chapter)', env: { INGEST_WINDOW_PER_USER: '10000' } };

interface Run {
  smallMs: number;
  bigRate: number;
}

export async function benchFairness(ctx: BenchContext, options: FairnessBenchOptions): Promise<Figure[]> {
  const big = JSON.stringify({ title: 'Ten thousand', content: novel(options.bigChapters, options.wordsPerChapter, 11) });
  const small = JSON.stringify({ title: 'One', content: novel(1, 300, 12) });
  const setups = [WINDOWED, FIFO];
  const opened: OpenSetup[] = [];
  const runs = setups.map((): Run[] => []);
  try {
    for (const setup of setups) opened.push(await openSetup(ctx, setup, options));
    for (let r = 0; r < options.repeats; r++) {
      for (const [i, o] of opened.entries()) {
        const run = await o.run(big, small);
        console.error(`bench: fairness ${setups[i]!.scenario}: small document ${run.smallMs.toFixed(0)} ms, big ${run.bigRate.toFixed(0)} ch/s`);
        runs[i]!.push(run);
      }
    }
  } finally {
    for (const o of opened) await o.close();
  }
  const [windowed, fifo] = runs.map((list) => ({ smallMs: median(list.map((r) => r.smallMs)), bigRate: median(list.map((r) => r.bigRate)), list })) as [
    { smallMs: number; bigRate: number; list: Run[] },
    { smallMs: number; bigRate: number; list: Run[] },
  ];
  const setupText =
    `${options.bigChapters}-chapter upload (~${options.wordsPerChapter} words each) by one user; after ${options.startAfter} of its chapters completed, ` +
    `a 1-chapter upload by another; api+gateway in the bench process, 1 worker process, WORKER_CONCURRENCY=${options.concurrency}, builtin AI; ` +
    `median of ${options.repeats}, windowed and FIFO runs alternated`;
  const cost = 1 - windowed.bigRate / fifo.bigRate;
  return [
    {
      figure: '11. Fairness: small document beside a big one',
      setup: `${setupText}; upload → its closing document.progress on a websocket client`,
      value: { amount: windowed.smallMs, unit: 'ms', note: 'median, windowed' },
      goal: { text: `< ${SMALL_GOAL_MS} ms`, met: windowed.smallMs < SMALL_GOAL_MS },
      baseline: { label: 'FIFO', amount: fifo.smallMs, unit: 'ms', ratio: windowed.smallMs / fifo.smallMs },
      detail: { windowed: windowed.list, fifo: fifo.list },
    },
    {
      figure: '11. Fairness: the big ingest’s throughput',
      setup: `${setupText}; ${options.bigChapters} / (upload → its closing document.progress)`,
      value: { amount: windowed.bigRate, unit: 'ch/s', note: 'median, windowed' },
      goal: { text: `costs < ${THROUGHPUT_GOAL_COST * 100}% (here ${(cost * 100).toFixed(1)}%)`, met: cost < THROUGHPUT_GOAL_COST },
      baseline: { label: 'FIFO', amount: fifo.bigRate, unit: 'ch/s', ratio: windowed.bigRate / fifo.bigRate },
    },
  ];
}

interface OpenSetup {
  run(big: string, small: string): Promise<Run>;
  close(): Promise<void>;
}

async function openSetup(ctx: BenchContext, setup: Setup, options: FairnessBenchOptions): Promise<OpenSetup> {
  const prefix = ctx.scenarioPrefix(setup.scenario);
  const herald = await startBenchHerald(ctx, { roles: ['api', 'gateway'], prefix, env: { WORKER_CONCURRENCY: String(options.concurrency), ...setup.env } });
  let worker: WorkerProcess | undefined;
  let client: RecordingClient | undefined;
  const close = async () => {
    client?.close();
    await worker?.stop();
    await herald.close();
    await removePrefix(prefix);
  };
  try {
    worker = await startWorkerProcess(ctx, prefix, options.concurrency, setup.env);
    const [bigToken, smallToken] = await Promise.all([ctx.token('bench-big-writer'), ctx.token('bench-small-writer')]);
    const socket = (client = await withTimeout(connectClient(herald.url, bigToken), 10_000, 'the socket client to connect'));
    const smallSocket = await withTimeout(connectClient(herald.url, smallToken), 10_000, 'the socket client to connect');
    const crashed = worker.exited;
    const closeBoth = async () => {
      smallSocket.close();
      await close();
    };
    return {
      close: closeBoth,
      async run(big, small) {
        const started = performance.now();
        const bigDoc = await postJson<{ document: { id: string } }>(`${herald.url}/api/documents`, bigToken, big);
        const bigDone = watchDocument(socket, bigDoc.document.id, options.startAfter);
        await withTimeout(Promise.race([bigDone.underWay, crashed]), RUN_TIMEOUT_MS, 'the big ingest to get under way');
        const smallStarted = performance.now();
        const smallDoc = await postJson<{ document: { id: string } }>(`${herald.url}/api/documents`, smallToken, small);
        const smallEnd = await withTimeout(Promise.race([watchDocument(smallSocket, smallDoc.document.id, 0).done, crashed]), RUN_TIMEOUT_MS, 'the small document');
        const bigEnd = await withTimeout(Promise.race([bigDone.done, crashed]), RUN_TIMEOUT_MS, 'the big document');
        return { smallMs: smallEnd - smallStarted, bigRate: options.bigChapters / ((bigEnd - started) / 1000) };
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Subscribes to a document: `underWay` once `after` chapters completed, `done` at its closing document.progress (must be `completed`). */
function watchDocument(client: RecordingClient, documentId: string, after: number): { underWay: Promise<void>; done: Promise<number> } {
  let underWay!: () => void;
  let finish!: (at: number) => void;
  let fail!: (error: Error) => void;
  const result = {
    underWay: new Promise<void>((resolve) => (underWay = resolve)),
    done: new Promise<number>((resolve, reject) => ((finish = resolve), (fail = reject))),
  };
  const onProgress = (event: DocumentEvent<'document.progress'>) => {
    if (event.document_id !== documentId) return;
    if (event.completed >= after) underWay();
    if (event.status === 'processing') return;
    client.socket.off('document.progress', onProgress);
    void client.socket.timeout(5000).emitWithAck('unsubscribe', { document_id: documentId }).catch(() => {});
    if (event.status === 'completed') finish(performance.now());
    else fail(new Error(`document ${documentId} ended ${event.status} (${event.completed} completed, ${event.failed} failed)`));
  };
  client.socket.on('document.progress', onProgress);
  void client.subscribe({ document_id: documentId }).then((ack) => {
    if (!ack.ok) return fail(new Error(`subscribe to ${documentId} refused: ${ack.error.code}`));
    const doc = ack.snapshot?.document;
    if (doc && doc.status !== 'processing') onProgress({ document_id: documentId, status: doc.status, completed: doc.progress.completed, failed: doc.progress.failed } as DocumentEvent<'document.progress'>);
  });
  return result;
}
