/**
 * Figure 2: end-to-end ingest throughput. Timed from just before the upload
 * request to the socket's `document.progress` with status `completed`, seen
 * by a real socket.io-client (websocket) subscribed right after the upload.
 */
import type { DocumentEvent } from '../../realtime/events.ts';
import { connectClient, type RecordingClient } from '../support/socket.ts';
import { postJson, removePrefix, startBenchHerald, withTimeout, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { median, type Figure } from './stats.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

export interface IngestBenchOptions {
  repeats: number;
  chapters: number;
  wordsPerChapter: number;
  concurrency: number;
}

export const INGEST_GOAL_CHAPTERS_PER_S = 1000;
const RUN_TIMEOUT_MS = 120_000;

interface Setup {
  scenario: string;
  label: string;
  /** 0: the worker runs inside the bench process with api and gateway. */
  workerProcesses: number;
  /** Env for every Herald part of this setup. */
  env?: Record<string, string>;
}

const SETUPS: Setup[] = [
  { scenario: 'ingest-inproc', label: 'api+gateway+worker all in the bench process', workerProcesses: 0 },
  { scenario: 'ingest-1proc', label: 'api+gateway in the bench process, 1 worker process (tsx server/main.ts --role=worker)', workerProcesses: 1 },
  { scenario: 'ingest-2proc', label: 'api+gateway in the bench process, 2 worker processes (tsx server/main.ts --role=worker)', workerProcesses: 2 },
  // What the jobs table costs: the 1-worker-process setup with no job rows written.
  { scenario: 'ingest-untracked', label: 'as the 1 worker process setup, JOB_TRACKING=off (no jobs rows)', workerProcesses: 1, env: { JOB_TRACKING: 'off' } },
];
export const TRACKING_GOAL_OVERHEAD = 0.1;

export async function benchIngest(ctx: BenchContext, options: IngestBenchOptions): Promise<Figure[]> {
  const body = JSON.stringify({ title: 'The Harbour Ledger', content: novel(options.chapters, options.wordsPerChapter, 7) });
  const results: { setup: Setup; rates: number[]; runsMs: number[]; uploadsMs: number[] }[] = [];
  for (const setup of SETUPS) results.push({ setup, ...(await measureSetup(ctx, setup, body, options)) });

  const perSetup = (i: number) => median(results[i]!.rates);
  return results.map(({ setup, rates, runsMs, uploadsMs }, i) => {
    const rate = median(rates);
    const untracked = setup.env?.JOB_TRACKING === 'off';
    // Each setup against the one before; the untracked one against the tracked 1-worker-process setup.
    const against = untracked ? 1 : i - 1;
    const label = untracked ? 'tracked (1 worker proc)' : i === 1 ? 'in-process' : '1 worker proc';
    const base = i === 0 ? undefined : { label, amount: perSetup(against), unit: 'ch/s', ratio: rate / perSetup(against) };
    const overhead = 1 - perSetup(1) / rate;
    return {
      figure: '2. Ingest throughput',
      setup:
        `${options.chapters} chapters (~${Math.round((options.chapters * options.wordsPerChapter) / 1000)}k words), upload → ` +
        `document.progress completed on a websocket client; ${setup.label}; WORKER_CONCURRENCY=${options.concurrency}, builtin AI; ` +
        `median of ${options.repeats} after 1 warm-up`,
      value: { amount: rate, unit: 'ch/s', note: `median (best ${Math.round(Math.max(...rates))})` },
      ...(setup.workerProcesses === 1 && !untracked && { goal: { text: `>= ${INGEST_GOAL_CHAPTERS_PER_S} ch/s`, met: rate >= INGEST_GOAL_CHAPTERS_PER_S } }),
      ...(untracked && {
        goal: { text: `tracking costs < ${TRACKING_GOAL_OVERHEAD * 100}% (here ${(overhead * 100).toFixed(1)}%)`, met: overhead < TRACKING_GOAL_OVERHEAD },
      }),
      ...(base && { baseline: base }),
      detail: { chaptersPerSecond: rates, runsMs, uploadsMs, best: Math.max(...rates), workerProcesses: setup.workerProcesses },
    };
  });
}

async function measureSetup(ctx: BenchContext, setup: Setup, body: string, options: IngestBenchOptions) {
  const prefix = ctx.scenarioPrefix(setup.scenario);
  const inProcess = setup.workerProcesses === 0;
  const herald = await startBenchHerald(ctx, {
    roles: inProcess ? ['api', 'gateway', 'worker'] : ['api', 'gateway'],
    prefix,
    env: { WORKER_CONCURRENCY: String(options.concurrency), ...setup.env },
  });
  const workers: WorkerProcess[] = [];
  let client: RecordingClient | undefined;
  try {
    for (let i = 0; i < setup.workerProcesses; i++) workers.push(await startWorkerProcess(ctx, prefix, options.concurrency, setup.env));
    const token = await ctx.token('bench-writer');
    client = await withTimeout(connectClient(herald.url, token), 10_000, 'the socket client to connect');
    const crashed = Promise.race(workers.map((w) => w.exited));
    crashed.catch(() => {}); // awaited inside each run; a crash after the last run is not an error
    const rates: number[] = [];
    const runsMs: number[] = [];
    const uploadsMs: number[] = [];
    for (let run = 0; run < 1 + options.repeats; run++) {
      const { totalMs, uploadMs } = await ingestOnce(herald.url, token, body, client, crashed, options.chapters);
      if (run === 0) continue;
      runsMs.push(totalMs);
      uploadsMs.push(uploadMs);
      rates.push(options.chapters / (totalMs / 1000));
    }
    return { rates, runsMs, uploadsMs };
  } finally {
    client?.close();
    for (const w of workers) await w.stop();
    await herald.close();
    await removePrefix(prefix);
  }
}

/** One upload, timed to its closing `document.progress`; throws unless every chapter completed. */
async function ingestOnce(url: string, token: string, body: string, client: RecordingClient, crashed: Promise<never>, chapters: number): Promise<{ totalMs: number; uploadMs: number }> {
  const started = performance.now();
  const upload = await postJson<{ document: { id: string } }>(`${url}/api/documents`, token, body);
  const uploadMs = performance.now() - started;
  const documentId = upload.document.id;
  let finish!: (event: { at: number; status: string; completed: number; failed: number }) => void;
  const finished = new Promise<{ at: number; status: string; completed: number; failed: number }>((resolve) => (finish = resolve));
  const onProgress = (event: DocumentEvent<'document.progress'>) => {
    if (event.document_id === documentId && event.status !== 'processing') finish({ status: event.status, completed: event.completed, failed: event.failed, at: performance.now() });
  };
  client.socket.on('document.progress', onProgress);
  try {
    const ack = await client.subscribe({ document_id: documentId });
    if (!ack.ok) throw new Error(`subscribe to ${documentId} refused: ${ack.error.code} ${ack.error.message}`);
    const doc = ack.snapshot?.document;
    // Finished before the subscription: the snapshot says so, and now is the (slightly late) end.
    if (doc && doc.status !== 'processing') finish({ completed: doc.progress.completed, failed: doc.progress.failed, status: doc.status, at: performance.now() });
    const end = await withTimeout(Promise.race([finished, crashed]), RUN_TIMEOUT_MS, `document ${documentId} to complete (${chapters} chapters)`);
    if (end.status !== 'completed') {
      throw new Error(`document ${documentId} ended "${end.status}" (${end.completed} completed, ${end.failed} failed of ${chapters})`);
    }
    return { totalMs: end.at - started, uploadMs };
  } finally {
    client.socket.off('document.progress', onProgress);
    await client.socket.timeout(5000).emitWithAck('unsubscribe', { document_id: documentId }).catch(() => {});
  }
}
