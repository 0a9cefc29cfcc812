/**
 * Figure 2: end-to-end ingest throughput. Timed from just before the upload
 * request to the socket's `document.progress` with status `completed`, seen
 * by a real socket.io-client (websocket) subscribed right after the upload.
 */
import { embedText, summarizeText } from '../../jobs/ai/builtin.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { splitChapters } from '../../domain/text/split-chapters.ts';
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

export interface IngestSetup {
  scenario: string;
  label: string;
  /** 0: the worker runs inside the bench process with api and gateway. */
  workerProcesses: number;
  /** Env for every Herald part of this setup. */
  env?: Record<string, string>;
  /** The source tree the worker processes run from (default this one). */
  root?: string;
}

const SETUPS: IngestSetup[] = [
  { scenario: 'ingest-inproc', label: 'api+gateway+worker all in the bench process', workerProcesses: 0 },
  { scenario: 'ingest-1proc', label: 'api+gateway in the bench process, 1 worker process (npm start -- --role=worker)', workerProcesses: 1 },
  { scenario: 'ingest-2proc', label: 'api+gateway in the bench process, 2 worker processes (npm start -- --role=worker)', workerProcesses: 2 },
  // What the jobs table costs: the 1-worker-process setup with no job rows written.
  { scenario: 'ingest-untracked', label: 'as the 1 worker process setup, JOB_TRACKING=off (no jobs rows)', workerProcesses: 1, env: { JOB_TRACKING: 'off' } },
];
export const TRACKING_GOAL_OVERHEAD = 0.1;
/** Worker CPU per chapter at most this many times the builtin AI's own work. */
export const CPU_GOAL_RATIO = 3;

/**
 * BENCH_BASELINE_ROOT=<another checkout, with node_modules> adds its worker as a setup run
 * alternately with this tree's (same API, gateway, database and Redis): a paired before/after.
 */
function baselineSetup(): IngestSetup | undefined {
  const root = process.env.BENCH_BASELINE_ROOT;
  if (!root) return undefined;
  return { scenario: 'ingest-1proc-baseline', label: `as the 1 worker process setup, the worker run from ${root}`, workerProcesses: 1, root };
}

export async function benchIngest(ctx: BenchContext, options: IngestBenchOptions): Promise<Figure[]> {
  const body = JSON.stringify({ title: 'The Harbour Ledger', content: novel(options.chapters, options.wordsPerChapter, 7) });
  // Every setup's runs alternate (with the baseline's, when asked), so the machine's drift and the database's
  // growth hit all alike. Measured one setup after another, the in-process setup (run first, on an empty
  // database and a quieter machine) read 869 ch/s against 578 for one worker process; alternated, they were level.
  const baseline = baselineSetup();
  const builtinCpu: number[] = [];
  const setups = chosenSetups();
  const runs = await measureIngest(ctx, [...setups, ...(baseline ? [baseline] : [])], body, options, () =>
    builtinCpu.push(builtinCpuSecondsPerChapter(body)),
  );
  const tracked = runs[setups.findIndex((s) => s.scenario === 'ingest-1proc')];
  const before = baseline ? runs.at(-1) : undefined;

  const results = setups.map((setup, i) => ({ setup, ...runs[i]! }));
  const perSetup = (i: number) => median(results[i]?.rates ?? []);
  const extra = tracked ? [cpuFigure(tracked, builtinCpu, options), ...(baseline && before ? [baselineFigure(baseline, before, tracked, options)] : [])] : [];
  return [...results.map(({ setup, rates, runsMs, uploadsMs, cpuSecondsPerChapter }, i) => {
    const rate = median(rates);
    const isUntracked = setup.env?.JOB_TRACKING === 'off';
    // Each setup against the one before; the untracked one against the tracked 1-worker-process setup.
    const oneProc = setups.findIndex((s) => s.scenario === 'ingest-1proc');
    const against = isUntracked ? oneProc : i - 1;
    const label = isUntracked ? 'tracked (1 worker proc)' : setups[against]?.workerProcesses === 0 ? 'in-process' : '1 worker proc';
    const base = against < 0 ? undefined : { label, amount: perSetup(against), unit: 'ch/s', ratio: rate / perSetup(against) };
    const overhead = 1 - perSetup(oneProc) / rate;
    return {
      figure: '2. Ingest throughput',
      setup:
        `${options.chapters} chapters (~${Math.round((options.chapters * options.wordsPerChapter) / 1000)}k words), upload → ` +
        `document.progress completed on a websocket client; ${setup.label}; WORKER_CONCURRENCY=${options.concurrency}, builtin AI; ` +
        `median of ${rates.length} after 1 warm-up, runs alternated with the other setups`,
      value: { amount: rate, unit: 'ch/s', note: `median (best ${Math.round(Math.max(...rates))})${workerCpuNote(cpuSecondsPerChapter)}` },
      ...(setup.workerProcesses === 1 && !isUntracked && { goal: { text: `>= ${INGEST_GOAL_CHAPTERS_PER_S} ch/s`, met: rate >= INGEST_GOAL_CHAPTERS_PER_S } }),
      ...(isUntracked && {
        goal: { text: `tracking costs < ${TRACKING_GOAL_OVERHEAD * 100}% (here ${(overhead * 100).toFixed(1)}%)`, met: overhead < TRACKING_GOAL_OVERHEAD },
      }),
      ...(base && { baseline: base }),
      detail: { chaptersPerSecond: rates, runsMs, uploadsMs, best: Math.max(...rates), workerProcesses: setup.workerProcesses, workerCpuSecondsPerChapter: cpuSecondsPerChapter },
    };
  }), ...extra];
}

/** `; worker CPU 1234 µs/ch` (median of the runs), or nothing when the worker ran in the bench process. */
function workerCpuNote(cpuSecondsPerChapter: number[]): string {
  const cpu = median(cpuSecondsPerChapter);
  return Number.isFinite(cpu) ? `; worker CPU ${Math.round(cpu * 1e6)} µs/ch` : '';
}

/**
 * The worker process's CPU per chapter (from /proc, whole runs) against the
 * builtin AI's own, timed in this process after each round: the ratio is
 * taken round by round (the machine's drift hits both sides of each) and the
 * median of those ratios is the figure.
 */
function cpuFigure(runs: IngestRuns, builtinPerRound: number[], options: IngestBenchOptions): Figure {
  const perChapter = median(runs.cpuSecondsPerChapter);
  const builtinPerChapter = median(builtinPerRound);
  const ratio = median(runs.cpuSecondsPerChapter.map((cpu, r) => cpu / builtinPerRound[r]!));
  return {
    figure: '2. Ingest throughput',
    setup: `worker CPU (on-CPU time of its threads) per chapter, 1 worker process, ${options.chapters} chapters; against the builtin summary + embedding of the same chapters in a loop, measured after each round; median of the rounds' ratios`,
    value: { amount: perChapter * 1e6, unit: 'µs CPU/ch', note: `${ratio.toFixed(2)}x the builtin work (${Math.round(builtinPerChapter * 1e6)} µs/ch)` },
    goal: { text: `<= ${CPU_GOAL_RATIO}x the builtin work`, met: ratio <= CPU_GOAL_RATIO },
    detail: { workerCpuSecondsPerChapter: runs.cpuSecondsPerChapter, builtinCpuSecondsPerChapter: builtinPerRound },
  };
}

/** This tree's worker against the baseline tree's, runs alternated in one setup. */
function baselineFigure(setup: IngestSetup, before: IngestRuns, after: IngestRuns, options: IngestBenchOptions): Figure {
  const rate = median(after.rates);
  const old = median(before.rates);
  const cpu = median(after.cpuSecondsPerChapter);
  const oldCpu = median(before.cpuSecondsPerChapter);
  return {
    figure: '2. Ingest throughput',
    setup: `paired: this tree's 1 worker process against ${setup.label}; ${options.chapters} chapters, runs alternated, median of ${rate ? after.rates.length : 0}`,
    value: { amount: rate, unit: 'ch/s', note: `worker CPU ${Math.round(cpu * 1e6)} µs/ch vs ${Math.round(oldCpu * 1e6)} before` },
    baseline: { label: 'baseline tree', amount: old, unit: 'ch/s', ratio: rate / old },
    detail: { after: after.rates, before: before.rates, cpuAfter: after.cpuSecondsPerChapter, cpuBefore: before.cpuSecondsPerChapter },
  };
}

/**
 * BENCH_INGEST_SETUPS=1proc,untracked runs only those setups (the scenario names without `ingest-`), e.g. for a
 * paired before/after against BENCH_BASELINE_ROOT with nothing else in between; default every setup.
 */
function chosenSetups(): IngestSetup[] {
  const asked = process.env.BENCH_INGEST_SETUPS?.split(',').filter(Boolean);
  if (!asked) return SETUPS;
  const unknown = asked.filter((a) => !SETUPS.some((s) => s.scenario === `ingest-${a}`));
  if (unknown.length > 0) throw new Error(`BENCH_INGEST_SETUPS: unknown setup ${unknown.join(', ')}; use ${SETUPS.map((s) => s.scenario.slice(7)).join(', ')}`);
  return SETUPS.filter((s) => asked.includes(s.scenario.slice(7)));
}

/** CPU seconds per chapter of the builtin provider's summary + embedding over the upload's chapters, in this process. */
function builtinCpuSecondsPerChapter(body: string): number {
  const chapters = splitChapters((JSON.parse(body) as { content: string }).content, 'book');
  const start = process.cpuUsage();
  // The provider's own work, called directly: its async wrapper would run it after this loop.
  for (const c of chapters) {
    summarizeText(c.content);
    embedText(c.content);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6 / chapters.length;
}

export interface IngestRuns {
  rates: number[];
  /** Worker processes' CPU seconds per chapter, each run (NaN with the worker in the bench process). */
  cpuSecondsPerChapter: number[];
  runsMs: number[];
  uploadsMs: number[];
}

/** Starts every setup, warms each up once, then runs them in turn, rotating the order (A B C, B C A, …), `repeats` times each. */
export async function measureIngest(ctx: BenchContext, setups: IngestSetup[], body: string, options: IngestBenchOptions, betweenRounds?: () => void): Promise<IngestRuns[]> {
  const opened: OpenSetup[] = [];
  try {
    for (const setup of setups) opened.push(await openSetup(ctx, setup, options));
    for (const o of opened) await o.run(body);
    const runs = setups.map((): IngestRuns => ({ rates: [], cpuSecondsPerChapter: [], runsMs: [], uploadsMs: [] }));
    for (let r = 0; r < options.repeats; r++) {
      // Each round starts one setup later: a run starts while the one before it still settles (its jobs rows, last
      // events), so a fixed order handed that cost to the same setup every round (the untracked one, which followed
      // the tracked one, read 14 % slower than it).
      for (let k = 0; k < opened.length; k++) {
        const i = (r + k) % opened.length;
        const o = opened[i]!;
        const cpuBefore = o.workerCpuSeconds();
        const { totalMs, uploadMs } = await o.run(body);
        runs[i]!.cpuSecondsPerChapter.push((o.workerCpuSeconds() - cpuBefore) / options.chapters);
        runs[i]!.runsMs.push(totalMs);
        runs[i]!.uploadsMs.push(uploadMs);
        runs[i]!.rates.push(options.chapters / (totalMs / 1000));
      }
      betweenRounds?.();
    }
    return runs;
  } finally {
    for (const o of opened) await o.close();
  }
}

interface OpenSetup {
  run(body: string): Promise<{ totalMs: number; uploadMs: number }>;
  /** CPU seconds used so far by the setup's worker processes (NaN with none). */
  workerCpuSeconds(): number;
  close(): Promise<void>;
}

async function openSetup(ctx: BenchContext, setup: IngestSetup, options: IngestBenchOptions): Promise<OpenSetup> {
  const prefix = ctx.scenarioPrefix(setup.scenario);
  const inProcess = setup.workerProcesses === 0;
  const herald = await startBenchHerald(ctx, {
    roles: inProcess ? ['api', 'gateway', 'worker'] : ['api', 'gateway'],
    prefix,
    env: { WORKER_CONCURRENCY: String(options.concurrency), ...setup.env },
  });
  const workers: WorkerProcess[] = [];
  let client: RecordingClient | undefined;
  const close = async () => {
    client?.close();
    for (const w of workers) await w.stop();
    await herald.close();
    await removePrefix(prefix);
  };
  try {
    for (let i = 0; i < setup.workerProcesses; i++) workers.push(await startWorkerProcess(ctx, prefix, options.concurrency, setup.env, setup.root));
    const token = await ctx.token('bench-writer');
    const socket = (client = await withTimeout(connectClient(herald.url, token), 10_000, 'the socket client to connect'));
    const crashed = Promise.race(workers.map((w) => w.exited));
    crashed.catch(() => {}); // awaited inside each run; a crash after the last run is not an error
    const workerCpuSeconds = () => (workers.length === 0 ? Number.NaN : workers.reduce((sum, w) => sum + w.cpuSeconds(), 0));
    return { run: (body) => ingestOnce(herald.url, token, body, socket, crashed, options.chapters), workerCpuSeconds, close };
  } catch (error) {
    await close();
    throw error;
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
