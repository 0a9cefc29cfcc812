/**
 * `npm start` with every role: the API's latency while a big upload ingests.
 * Herald runs as `npm start` runs it (its package.json start script's flags),
 * in its default layout (api+gateway in the main process, the worker in a
 * supervised child at lower CPU priority) and with `--single-process`,
 * alternating (A B, B A, …) on fresh processes, so the machine's drift hits
 * both alike. Each run: a 3-chapter document and a 30-chapter one, fully
 * ingested; idle, sequential `GET /api/documents/:id` of the small one, then
 * essential packages of the other (each starts a full build on the
 * worker); then both interleaved (every 4th a package) while a
 * 2,000-chapter upload ingests, until it completes. Figures are medians over
 * runs of each run's p99. With a package every 4th request, a run has about
 * 25 packages during ingest, so their p99 is about their slowest; the
 * package figure gives the first (sent with the upload) and the p50 beside
 * it. The upload goes by `node:http` (postJsonBytes): undici's fetch would
 * hold this process's event loop while it sends the body, and delay the
 * requests being timed.
 * Run with `npx tsx test/bench/one-process.ts [--quick]`.
 *
 * BENCH_CPU_PROF_DIR=<dir> runs Herald's processes under `--cpu-prof`
 * (one profile per process) to find what the API spends its time on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/private-redis.ts';
import { createScratchDatabase, postJson, postJsonBytes, REPO_ROOT, removePrefix, type BenchContext } from './harness.ts';
import type { Sql } from '../../sql/client.ts';
import { novel } from './prose.ts';
import { isMain, runStandalone } from './standalone.ts';
import { median, summarize, type Figure } from './stats.ts';
import { startFlags } from './worker-process.ts';

export interface OneProcessBenchOptions {
  /** Runs of each layout. */
  pairs: number;
  ingestChapters: number;
  ingestWordsPerChapter: number;
  packageChapters: number;
  idleRequests: number;
}

export const API_GOAL_RATIO = 2;
const PACKAGE_GOAL_P99_MS = 20;
const PACKAGE_EVERY = 4;
/** Client think time between requests: a busy editor, not a load generator hogging the cores it measures. */
const PAUSE_MS = 10;
const INGEST_TIMEOUT_MS = 300_000;

const STANDARD_LAYOUTS: readonly Layout[] = [
  { name: 'supervised', label: 'npm start (worker in a child process, nice +10)', args: [] },
  { name: 'single', label: 'npm start -- --single-process', args: ['--single-process'] },
];

interface Layout {
  name: string;
  label: string;
  args: readonly string[];
  /** Herald's checkout (default this one). */
  root?: string;
  env?: Record<string, string>;
}

/**
 * The layouts to run, alternated: by default `supervised` and `single`.
 * BENCH_ONE_PROCESS_LAYOUTS=a,b,… picks among those, `baseline` (the default
 * start of the checkout at BENCH_BASELINE_ROOT, with its node_modules) and the
 * variants of BENCH_ONE_PROCESS_VARIANTS=`name:VAR=value,VAR=value;name:…`
 * (the default start with those settings), e.g.
 * `nice10:WORKER_SCHED_IDLE=off;nice19:WORKER_SCHED_IDLE=off,WORKER_NICE=19`.
 */
function layoutsAsked(): Layout[] {
  const variants = (process.env.BENCH_ONE_PROCESS_VARIANTS ?? '').split(';').filter(Boolean).map((spec): Layout => {
    const [name, settings = ''] = spec.split(':') as [string, string?];
    const env = Object.fromEntries(settings.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
    return { name, label: `npm start with ${settings}`, args: [], env };
  });
  const baselineRoot = process.env.BENCH_BASELINE_ROOT;
  const known: Layout[] = [
    ...STANDARD_LAYOUTS,
    ...(baselineRoot ? [{ name: 'baseline', label: `npm start of ${baselineRoot}`, args: [], root: baselineRoot }] : []),
    ...variants,
  ];
  const names = (process.env.BENCH_ONE_PROCESS_LAYOUTS ?? [...STANDARD_LAYOUTS.map((l) => l.name), ...variants.map((v) => v.name)].join(',')).split(',');
  return names.map((name) => {
    const layout = known.find((l) => l.name === name);
    if (!layout) throw new Error(`BENCH_ONE_PROCESS_LAYOUTS: no layout ${name} (known: ${known.map((l) => l.name).join(', ')})`);
    return layout;
  });
}

interface Run {
  idleGetP99: number;
  ingestGetP99: number;
  ingestGetMax: number;
  idlePackageP99: number;
  ingestPackageP99: number;
  ingestPackageP50: number;
  /** The first package request during ingest: it meets the 2,000-chapter upload's own parse and insert in the API process. */
  ingestPackageFirst: number;
  chaptersPerSecond: number;
  samples: { idleGet: number; ingestGet: number; ingestPackage: number };
}

export async function benchOneProcess(ctx: BenchContext, options: OneProcessBenchOptions): Promise<Figure[]> {
  const bodies = {
    small: JSON.stringify({ title: 'Small', content: novel(3, 300, 3) }),
    packaged: JSON.stringify({ title: 'Packaged', content: novel(options.packageChapters, 500, 5) }),
    big: JSON.stringify({ title: 'Big', content: novel(options.ingestChapters, options.ingestWordsPerChapter, 9) }),
  };
  const layouts = layoutsAsked();
  const runs = new Map<Layout, Run[]>(layouts.map((l) => [l, []]));
  for (let pair = 0; pair < options.pairs; pair++) {
    const order = pair % 2 === 0 ? layouts : [...layouts].reverse();
    for (const layout of order) {
      const run = await runOnce(ctx, layout, bodies, options, `${pair}`);
      runs.get(layout)!.push(run);
      // Each run as it ends, for pairing runs by hand: the medians below hide which run was which.
      console.error(`one-process ${pair} ${layout.name}: GET p99 idle ${run.idleGetP99.toFixed(1)} ms, ingest ${run.ingestGetP99.toFixed(1)} ms; ` +
        `package p99 idle ${run.idlePackageP99.toFixed(1)} ms, ingest ${run.ingestPackageP99.toFixed(1)} ms (p50 ${run.ingestPackageP50.toFixed(1)}, first ${run.ingestPackageFirst.toFixed(1)}); ${Math.round(run.chaptersPerSecond)} ch/s; load ${loadAverage()}`);
    }
  }
  const med = (list: Run[], pick: (r: Run) => number) => median(list.map(pick));
  // Each layout against the first (the first against the second).
  const reference = (i: number) => layouts[i === 0 ? 1 : 0];
  const setup = (layout: Layout) =>
    `${layout.label}; GET /api/documents/:id (3 chapters) p99 while ${options.ingestChapters.toLocaleString('en-US')} chapters ` +
    `(~${options.ingestWordsPerChapter} words each) ingest vs idle; sequential requests ${PAUSE_MS} ms apart (during ingest every ${PACKAGE_EVERY}th an essential ` +
    `package); median of ${options.pairs} runs, layouts alternated`;
  return layouts.map((layout, i): Figure => {
    const list = runs.get(layout)!;
    const other = reference(i);
    const ratio = med(list, (r) => r.ingestGetP99 / r.idleGetP99);
    const ingestP99 = med(list, (r) => r.ingestGetP99);
    const otherP99 = other && med(runs.get(other)!, (r) => r.ingestGetP99);
    return {
      figure: '9. One-process API under ingest',
      setup: setup(layout),
      value: { amount: ingestP99, unit: 'ms', note: `GET p99 during ingest (${ratio.toFixed(2)}x idle); ingest ${Math.round(med(list, (r) => r.chaptersPerSecond))} ch/s` },
      goal: { text: `<= ${API_GOAL_RATIO}x idle`, met: ratio <= API_GOAL_RATIO },
      ...(other && otherP99 !== undefined && { baseline: { label: `${other.name} GET p99 during ingest`, amount: otherP99, unit: 'ms', ratio: ingestP99 / otherP99 } }),
      detail: { runs: list, idleGetP99: med(list, (r) => r.idleGetP99), chaptersPerSecond: med(list, (r) => r.chaptersPerSecond) },
    };
  }).concat(layouts.map((layout, i): Figure => {
    const list = runs.get(layout)!;
    const other = reference(i);
    const p99 = med(list, (r) => r.ingestPackageP99);
    const otherP99 = other && med(runs.get(other)!, (r) => r.ingestPackageP99);
    return {
      figure: '9. Essential package under ingest',
      setup: `${layout.label}; POST /api/documents/:id/package (${options.packageChapters} chapters, stored) while ${options.ingestChapters.toLocaleString('en-US')} chapters ingest; median of runs' p99`,
      value: {
        amount: p99,
        unit: 'ms',
        note: `p99 (idle ${med(list, (r) => r.idlePackageP99).toFixed(1)} ms); p50 ${med(list, (r) => r.ingestPackageP50).toFixed(1)} ms; ` +
          `the first, meeting the upload's own parse and insert, ${med(list, (r) => r.ingestPackageFirst).toFixed(1)} ms; ingest ${Math.round(med(list, (r) => r.chaptersPerSecond))} ch/s`,
      },
      goal: { text: `p99 < ${PACKAGE_GOAL_P99_MS} ms`, met: p99 < PACKAGE_GOAL_P99_MS },
      ...(other && otherP99 !== undefined && { baseline: { label: `${other.name} package p99`, amount: otherP99, unit: 'ms', ratio: p99 / otherP99 } }),
    };
  }));
}

async function runOnce(ctx: BenchContext, layout: Layout, bodies: Record<'small' | 'packaged' | 'big', string>, options: OneProcessBenchOptions, tag: string): Promise<Run> {
  const prefix = ctx.scenarioPrefix(`one-process-${layout.name}-${tag}`);
  // A database of the run's own: a Herald started afresh runs its housekeeping at once, and its walk of every
  // chapter's history would otherwise cover all that the bench's earlier groups left in the shared database.
  const database = await createScratchDatabase(ctx, `one_process_${layout.name}_${tag}`);
  const herald = await startMain(ctx, prefix, { ...layout, env: { ...layout.env, DATABASE_URL: database.url } });
  try {
    const token = await ctx.token('bench-one-process');
    const upload = async (body: string) => (await postJson<{ document: { id: string } }>(`${herald.url}/api/documents`, token, body, 202, 120_000)).document.id;
    const small = await upload(bodies.small);
    const packaged = await upload(bodies.packaged);
    await Promise.all([untilDone(database.sql, small), untilDone(database.sql, packaged)]);
    const client = createClient(herald.url, token, small, packaged);
    for (let i = 0; i < 20; i++) await client.next(i % PACKAGE_EVERY === 0 ? 'package' : 'get');
    client.reset();
    // Idle GETs first, with nothing else running (a package request starts a full build on the worker).
    for (let i = 0; i < options.idleRequests; i++) await client.next('get');
    for (let i = 0; i < options.idleRequests / PACKAGE_EVERY; i++) await client.next('package');
    const idle = client.reset();
    const bigBytes = Buffer.from(bodies.big);

    const started = performance.now();
    // Sent as a browser would, without holding this process's event loop (postJsonBytes), so the first
    // package request leaves when it is due.
    const big = postJsonBytes<{ document: { id: string } }>(`${herald.url}/api/documents`, token, bigBytes, 202, 120_000).then((r) => r.document.id);
    let finished = false;
    const done = big.then((id) => untilDone(database.sql, id)).finally(() => (finished = true));
    for (let i = 0; !finished; i++) await client.next(i % PACKAGE_EVERY === 0 ? 'package' : 'get');
    await done;
    const ingestS = (performance.now() - started) / 1000;
    const ingest = client.reset();
    return {
      idleGetP99: summarize(idle.get).p99,
      ingestGetP99: summarize(ingest.get).p99,
      ingestGetMax: summarize(ingest.get).max,
      idlePackageP99: summarize(idle.package).p99,
      ingestPackageP99: summarize(ingest.package).p99,
      ingestPackageP50: summarize(ingest.package).p50,
      ingestPackageFirst: ingest.package[0] ?? Number.NaN,
      chaptersPerSecond: options.ingestChapters / ingestS,
      samples: { idleGet: idle.get.length, ingestGet: ingest.get.length, ingestPackage: ingest.package.length },
    };
  } finally {
    await herald.stop();
    await removePrefix(prefix);
    await database.drop();
  }
}

const loadAverage = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/** Sequential requests, each timed; `reset` hands over the samples so far and starts afresh. */
function createClient(url: string, token: string, small: string, packaged: string) {
  let samples = { get: [] as number[], package: [] as number[] };
  const headers = { authorization: `Bearer ${token}` };
  return {
    async next(kind: 'get' | 'package') {
      const started = performance.now();
      const res = kind === 'get'
        ? await fetch(`${url}/api/documents/${small}`, { headers })
        : await fetch(`${url}/api/documents/${packaged}/package`, { method: 'POST', headers });
      await res.arrayBuffer();
      if (res.status !== (kind === 'get' ? 200 : 202)) throw new Error(`${kind} answered ${res.status}`);
      samples[kind].push(performance.now() - started);
      await sleep(PAUSE_MS);
    },
    reset() {
      const taken = samples;
      samples = { get: [], package: [] };
      return taken;
    },
  };
}

/** Polls the document's row (not the API, whose latency is what is measured). */
async function untilDone(sql: Sql, id: string): Promise<void> {
  const deadline = Date.now() + INGEST_TIMEOUT_MS;
  for (;;) {
    const [row] = await sql<{ status: string }[]>`select status from documents where id = ${id}`;
    if (row?.status === 'completed') return;
    if (row?.status === 'partial') throw new Error(`document ${id} ended partial`);
    if (Date.now() > deadline) throw new Error(`document ${id} did not complete within ${INGEST_TIMEOUT_MS / 1000} s`);
    await sleep(100);
  }
}

interface MainProcess {
  url: string;
  stop(): Promise<void>;
}

/** `server/main.ts` in a process group of its own (its worker child is stopped with it), ready once /health answers 200. */
async function startMain(ctx: BenchContext, prefix: string, layout: Layout): Promise<MainProcess> {
  const { args } = layout;
  const port = await freePort();
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, ...startFlags(layout.root ?? REPO_ROOT), 'server/main.ts', ...args], {
    cwd: layout.root ?? REPO_ROOT,
    env: { ...process.env, ...ctx.heraldEnv(prefix, { PORT: String(port), PACKAGE_LIMIT: '10000', PACKAGE_WINDOW_SECONDS: '1', ...layout.env }) },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 40_000);
    await exited;
    clearTimeout(timer);
  };
  ctx.onCleanup(stop);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server/main.ts ${args.join(' ')} exited with ${child.exitCode}: ${stderr}`);
    const ok = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
    if (ok) return { url, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server/main.ts ${args.join(' ')} did not answer /health 200 within 60 s`);
    }
    await sleep(100);
  }
}

if (isMain(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  runStandalone('one-process', (ctx) => benchOneProcess(ctx, { pairs: Number(process.env.BENCH_ONE_PROCESS_PAIRS ?? (quick ? 1 : 3)), ingestChapters: 2000, ingestWordsPerChapter: 100, packageChapters: 30, idleRequests: 200 }));
}
