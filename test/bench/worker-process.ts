/**
 * A Herald worker as a separate OS process, started as
 * `npm start -- --role=worker` starts it (the node flags of the tree's
 * package.json start script), ready once its /health answers 200.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, type BenchContext } from './harness.ts';
import { freePort } from '../support/private-redis.ts';

export interface WorkerProcess {
  readonly pid: number;
  /** Rejects as soon as the process exits on its own (so a run waiting on it fails at once, with its stderr). */
  readonly exited: Promise<never>;
  /** CPU seconds the process has used so far, from /proc (Linux); NaN elsewhere. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

// A worker starting on a machine busy with other work (tsx compiling the tree cold) took over 30 s.
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;

/** `root`: the source tree to run the worker from (default this one; another for a paired baseline). */
export async function startWorkerProcess(
  ctx: BenchContext, prefix: string, concurrency: number, extraEnv: Record<string, string> = {}, root = REPO_ROOT,
): Promise<WorkerProcess> {
  const port = await freePort();
  const env = { ...process.env, ...ctx.heraldEnv(prefix, { PORT: String(port), WORKER_CONCURRENCY: String(concurrency), ...extraEnv }) };
  // BENCH_WORKER_NODE_ARGS: extra node flags for worker processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (not allowed in NODE_OPTIONS).
  // BENCH_BASELINE_NODE_ARGS, when set, replaces them for workers run from another tree (a paired run of node flags).
  const baselineArgs = root !== REPO_ROOT ? process.env.BENCH_BASELINE_NODE_ARGS : undefined;
  const nodeArgs = (baselineArgs ?? process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...startFlags(root), 'server/main.ts', '--role=worker'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 20));
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let stopping = false;
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      if (!stopping) reject(new Error(`worker process ${child.pid} exited (code ${code}, signal ${signal}); last output:\n${tail.join('\n')}`));
    });
  });
  exited.catch(() => {});

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopping = true;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(timer);
  };
  ctx.onCleanup(stop);

  try {
    await Promise.race([waitForHealth(port, child), exited]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid!, exited, stop, cpuSeconds: () => processCpuSeconds(child.pid!) };
}

/** Polls the child's /health; Herald listens only after its workers are ready, so 200 means taking jobs. */
async function waitForHealth(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (let attempt = 0; Date.now() < deadline && child.exitCode === null; attempt++) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })
      .then((res) => res.status === 200)
      .catch(() => false);
    if (ok) return;
    await sleep(Math.min(50 * 2 ** attempt, 500));
  }
  throw new Error(`worker process ${child.pid} was not healthy within ${READY_TIMEOUT_MS} ms on port ${port}`);
}

/**
 * A process's CPU seconds so far: the on-CPU time of each of its threads, in
 * nanoseconds (/proc/<pid>/task/<tid>/schedstat, first field). utime + stime
 * from /proc/<pid>/stat count in ticks of 10 ms, a coarse unit for a 300-chapter
 * run of 200 ms; they are the fallback where schedstat is missing. A thread
 * that ends takes its time out of the sum: Node's threads (libuv's pool,
 * V8's helpers) live as long as the process, so a difference of two reads is
 * still the time between them.
 */
export function processCpuSeconds(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns) && ns > 0) return ns / 1e9;
  } catch {
    // no schedstat (or the process is gone): try the ticks
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}
const CLOCK_TICKS_PER_S = 100;

/**
 * The node flags `npm start` runs Herald with in the tree at `root`: its
 * package.json start script between `node` and the entry file. A tree whose
 * start script is not `node …` (an older one, run by the tsx CLI) gets
 * `--import tsx`.
 */
export function startFlags(root: string): string[] {
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
  const entry = start.indexOf('server/main.ts');
  return start[0] === 'node' && entry > 0 ? start.slice(1, entry) : ['--import', 'tsx'];
}
