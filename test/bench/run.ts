/**
 * `npm run bench [-- --quick]`: starts Herald on a database and Redis prefix
 * of its own, measures the figures below over real HTTP and sockets, prints
 * one table, writes bench-results/latest.json and appends to
 * bench-results/history.jsonl, then removes the database and the keys.
 * Benchmarks are not tests: nothing here fails on a slow figure; the exit
 * code is non-zero only when the bench itself could not run.
 *
 *   --quick         well under two minutes (fewer samples, 5,000 writer rows)
 *   --rounds=N      the polling group's rounds of push, relay-only, bare-relay and polling phases, alternated (default 3; 1 when quick)
 *   --only=a,b      run only some groups: upload, breakdown, ingest, writer, autosave, package, polling, model-calls, realtime,
 *                   event-loop, redis-growth, one-process, fairness, capacity, pooler, cluster, page
 *   --write-docs    after a run that completed, rewrite the figures table of docs/performance.md: the rows of
 *                   the groups that ran are replaced, other groups' rows are kept (test/bench/performance-doc.ts)
 *
 * Quick runs leave out model-calls (a 200-save editing session, about 40 s), one-process (Herald started
 * six times, each with a 2,000-chapter ingest),
 * realtime and redis-growth (a 10,000-chapter ingest first, about 5 min on
 * 2 busy cores) and fairness (two 10,000-chapter ingests per repeat) unless --only names them. The realtime group (push latency against a bare relay, memory per idle
 * socket) opens thousands of sockets: run through `npm run bench`, whose
 * script raises the open-file limit first (test/bench/bench.sh).
 */
import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createBenchContext, REPO_ROOT, type BenchContext } from './harness.ts';
import { benchAutosave } from './autosave.ts';
import { benchCapacity } from './capacity.ts';
import { benchCluster } from './cluster.ts';
import { benchEventLoop } from './event-loop-block.ts';
import { benchFairness } from './fairness.ts';
import { benchIngest } from './ingest.ts';
import { benchModelCalls } from './model-calls.ts';
import { benchOneProcess } from './one-process.ts';
import { benchPackage } from './package.ts';
import { benchPageLoad } from './page-load.ts';
import { updatePerformanceDoc, type GroupFigures } from './performance-doc.ts';
import { benchPolling } from './polling.ts';
import { benchPooler } from './pooler.ts';
import { benchRealtime } from './push-latency.ts';
import { benchRedisGrowth } from './redis-growth.ts';
import { formatTable, type Figure } from './stats.ts';
import { benchUploadBreakdown } from './upload-breakdown.ts';
import { benchUpload } from './upload.ts';
import { benchWriter } from './writer.ts';

const GROUPS = ['upload', 'breakdown', 'ingest', 'writer', 'autosave', 'package', 'polling', 'model-calls', 'realtime', 'event-loop', 'redis-growth', 'one-process', 'fairness', 'capacity', 'pooler', 'cluster', 'page'] as const;
/** Left out of quick runs unless --only names them: they need more than the quick budget leaves. */
const FULL_ONLY: readonly Group[] = ['model-calls', 'realtime', 'redis-growth', 'one-process', 'fairness', 'capacity', 'cluster', 'page'];
type Group = (typeof GROUPS)[number];

const quick = process.argv.includes('--quick');
const writeDocs = process.argv.includes('--write-docs');
const PERFORMANCE_DOC = join(REPO_ROOT, 'docs', 'performance.md');
const PLAN = {
  upload: { uploads: quick ? 10 : 20, warmups: 2, chapters: 300, wordsPerChapter: 500 },
  ingest: { repeats: Number(process.env.BENCH_INGEST_REPEATS ?? (quick ? 1 : 9)), chapters: 300, wordsPerChapter: 500, concurrency: 64 },
  writer: { rows: quick ? 5_000 : 20_000, producers: 64 },
  autosave: { editors: 50, savesPerEditor: quick ? 5 : 30, thinkMs: quick ? 500 : 1000, wordsPerChapter: 500 },
  package: { chapters: 300, wordsPerChapter: 500, requests: quick ? 20 : 100, warmups: 5 },
  polling: { clients: 300, saves: quick ? 8 : 30, pollEveryMs: 2000, rounds: Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (quick ? 1 : 3)) },
  modelCalls: { chapters: 20, savesPerChapter: 10, saveIntervalMs: 150 },
  redisGrowth: { chapters: 10_000, wordsPerChapter: 40, requests: 100 },
  oneProcess: { pairs: Number(process.env.BENCH_ONE_PROCESS_PAIRS ?? (quick ? 1 : 3)), ingestChapters: 2000, ingestWordsPerChapter: 100, packageChapters: 30, idleRequests: quick ? 100 : 200 },
  fairness: { repeats: quick ? 1 : 3, bigChapters: 10_000, wordsPerChapter: 40, startAfter: 500, concurrency: 64 },
  pooler: { rounds: quick ? 4 : 10, savesPerRound: 10, gapMs: 100 },
  page: { chapters: 300, loads: quick ? 3 : 9 },
  cluster: { repeats: quick ? 3 : 7, chapters: 300, wordsPerChapter: 500, concurrency: 64, savesPerRound: 10 },
  capacity: {
    ingestChapters: 300,
    // Twice as many documents as saves: the second half runs the MONITOR pass (capacity.ts runWorkload).
    unit: { documents: 200, watchers: 20, saves: 100, savesPerS: 10, idleSeconds: quick ? 5 : 20 },
    check: { documents: quick ? 300 : 1000, watchers: 10, saves: quick ? 200 : 400, savesPerS: 20, idleSeconds: 5 },
  },
};
/** The whole run, set-up and clean-up included, must end within this (a full run takes about 30 minutes). */
const DEADLINE_MS = (quick ? 5 : 40) * 60_000;
const CLEANUP_GRACE_MS = 30_000;

const RUNNERS: Record<Group, (ctx: BenchContext) => Promise<Figure[]>> = {
  upload: (ctx) => benchUpload(ctx, PLAN.upload),
  breakdown: (ctx) => benchUploadBreakdown(ctx, PLAN.upload),
  ingest: (ctx) => benchIngest(ctx, PLAN.ingest),
  writer: (ctx) => benchWriter(ctx, PLAN.writer),
  autosave: (ctx) => benchAutosave(ctx, PLAN.autosave),
  package: (ctx) => benchPackage(ctx, PLAN.package),
  polling: (ctx) => benchPolling(ctx, PLAN.polling),
  'model-calls': (ctx) => benchModelCalls(ctx, PLAN.modelCalls),
  realtime: (ctx) => benchRealtime(ctx),
  'event-loop': (ctx) => benchEventLoop(ctx),
  'redis-growth': (ctx) => benchRedisGrowth(ctx, PLAN.redisGrowth),
  'one-process': (ctx) => benchOneProcess(ctx, PLAN.oneProcess),
  fairness: (ctx) => benchFairness(ctx, PLAN.fairness),
  capacity: (ctx) => benchCapacity(ctx, PLAN.capacity),
  pooler: (ctx) => benchPooler(ctx, PLAN.pooler),
  cluster: (ctx) => benchCluster(ctx, PLAN.cluster),
  page: (ctx) => benchPageLoad(ctx, PLAN.page),
};

async function main(abort: Promise<never>): Promise<void> {
  const groups = selectedGroups();
  const startedAt = new Date();
  const load = { average: os.loadavg()[0]!, cpus: os.cpus().length };
  // A table that cannot be written is found before the run, not after it.
  if (writeDocs) updatePerformanceDoc(await readFile(PERFORMANCE_DOC, 'utf8'), [], { startedAt, commit: null, mode: 'quick', load }, GROUPS);
  const ctx = await Promise.race([createBenchContext(), abort]);
  const figures: Figure[] = [];
  const measured: GroupFigures[] = [];
  let failure: unknown;
  try {
    log(`database ${ctx.databaseName}, redis prefix ${ctx.prefix}-*, ${quick ? 'quick' : 'full'} run`);
    for (const group of groups) {
      const t = performance.now();
      log(`${group}…`);
      const groupFigures = await Promise.race([RUNNERS[group](ctx), abort]);
      figures.push(...groupFigures);
      measured.push({ group, figures: groupFigures });
      log(`${group} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  } catch (error) {
    failure = error;
  }
  log('cleaning up (Herald, worker processes, database, redis keys)…');
  await Promise.race([ctx.cleanup(), rejectAfter(CLEANUP_GRACE_MS, 'clean-up')]).catch((error: unknown) => (failure ??= error));
  if (failure) {
    if (figures.length > 0) console.error(`bench: figures measured before the failure (not saved):\n${formatTable(figures)}`);
    throw failure;
  }
  console.log(formatTable(figures));
  const file = await writeResults(startedAt, groups, figures);
  log(`results written to ${file}`);
  if (writeDocs) {
    const doc = await readFile(PERFORMANCE_DOC, 'utf8');
    await writeFile(PERFORMANCE_DOC, updatePerformanceDoc(doc, measured, { startedAt, commit: gitCommit(), mode: quick ? 'quick' : 'full', load }, GROUPS));
    log(`figures table of ${PERFORMANCE_DOC} updated for ${groups.join(', ')}`);
  }
}

async function writeResults(startedAt: Date, groups: readonly Group[], figures: Figure[]): Promise<string> {
  const dir = join(REPO_ROOT, 'bench-results');
  await mkdir(dir, { recursive: true });
  const cpus = os.cpus();
  const record = {
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
    mode: quick ? 'quick' : 'full',
    groups,
    plan: PLAN,
    commit: gitCommit(),
    machine: {
      cpuModel: cpus[0]?.model ?? 'unknown',
      cpuCount: cpus.length,
      totalMemoryBytes: os.totalmem(),
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    },
    figures,
  };
  await writeFile(join(dir, 'latest.json'), `${JSON.stringify(record, null, 2)}\n`);
  await appendFile(join(dir, 'history.jsonl'), `${JSON.stringify(record)}\n`);
  return join(dir, 'latest.json');
}

function selectedGroups(): Group[] {
  const only = process.argv.find((a) => a.startsWith('--only='));
  if (!only) return GROUPS.filter((g) => !(quick && FULL_ONLY.includes(g)));
  const asked = only.slice('--only='.length).split(',').filter(Boolean);
  const bad = asked.filter((g) => !(GROUPS as readonly string[]).includes(g));
  if (bad.length > 0 || asked.length === 0) throw new Error(`--only: unknown group ${bad.join(', ') || '(empty)'}; use ${GROUPS.join(', ')}`);
  return GROUPS.filter((g) => asked.includes(g));
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function rejectAfter(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms).unref());
}

function log(message: string): void {
  console.error(`bench: ${message}`);
}

// The deadline and Ctrl-C both end the current figure through `abort`, so clean-up still runs.
let interrupt!: (error: Error) => void;
const abort = new Promise<never>((_, reject) => (interrupt = reject));
abort.catch(() => {});
const deadline = setTimeout(() => interrupt(new Error(`the run exceeded its ${DEADLINE_MS / 60_000} min deadline`)), DEADLINE_MS);
deadline.unref();
process.once('SIGINT', () => interrupt(new Error('interrupted (SIGINT)')));
process.once('SIGTERM', () => interrupt(new Error('terminated (SIGTERM)')));

main(abort).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
