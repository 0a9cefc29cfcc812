import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import type { Logger } from 'pino';
import type { MetricsSnapshot } from './metrics.ts';
import type { HealthCheck } from './routes/health.ts';

/**
 * The message a supervised worker process sends over its IPC channel once
 * its workers take jobs. Its HTTP server (health, metrics) listens on a
 * loopback port of its own, named here.
 */
export interface WorkerReadyMessage {
  type: 'herald:worker-ready';
  url: string;
}

/** The supervisor asks its child for its metrics; the child answers with the same id. */
export interface MetricsRequest {
  type: 'herald:metrics-request';
  id: number;
}
export interface MetricsAnswer {
  type: 'herald:metrics';
  id: number;
  metrics: MetricsSnapshot;
}

export interface WorkerSupervisorOptions {
  /** The Node arguments that run the worker role (a script and its flags). */
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Nice steps below the supervisor's own CPU priority (0: the same). */
  nice: number;
  logger: Logger;
  /** Restart delays: the first, doubling per exit in a row up to `maxMs`. Defaults 1 s and 30 s. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** A child that stays ready this long has recovered: the next exit restarts after the first delay again. Default 30 s. */
  healthyAfterMs?: number;
  /** How long `stop` waits for the child to finish its jobs before SIGKILL. Default 25 s (main's own limit is 30 s). */
  stopTimeoutMs?: number;
}

export interface WorkerSupervisor {
  /** `/health`'s `worker` check: ok only while a child is up and taking jobs. */
  readonly healthCheck: HealthCheck;
  /** The running child's pid, if any. */
  readonly pid: number | undefined;
  /** The child's metrics (over its IPC channel), or none while it is down or silent for 2 s. */
  metrics(): Promise<MetricsSnapshot>;
  start(): void;
  /**
   * Sends `signal` to the child, waits for it to exit (SIGKILL after
   * `stopTimeoutMs`) and restarts it no more. Resolves true when it exited
   * cleanly (code 0) or none was running.
   */
  stop(signal?: NodeJS.Signals): Promise<boolean>;
}

/** Exits in a row at which the log says the worker is crash-looping. */
const CRASH_LOOP_EXITS = 5;

/**
 * Runs the worker role as a child process at lower CPU priority, restarting
 * it with backoff when it dies. Its stdout and stderr are this process's own
 * (pino writes each line whole, so the JSON lines of both stay lines), and it
 * stops itself if this process dies (its IPC channel closes).
 *
 * Longer than ~60 lines on purpose: the child, its readiness, the restart backoff and the pending metrics
 * requests are one state shared by `start`, `stop`, `metrics`, the health check and the exit handler; each inner function is
 * short, and splitting the factory would mean passing that state around or making it public.
 */
export function createWorkerSupervisor(options: WorkerSupervisorOptions): WorkerSupervisor {
  const { logger } = options;
  const initialMs = options.backoff?.initialMs ?? 1000;
  const maxMs = options.backoff?.maxMs ?? 30_000;
  const healthyAfterMs = options.healthyAfterMs ?? 30_000;
  let child: ChildProcess | undefined;
  let ready = false;
  let stopping = false;
  let exitsInARow = 0;
  let readySince = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let warnedPriority = false;
  let nextRequest = 0;
  const answers = new Map<number, (metrics: MetricsSnapshot) => void>();

  const lower = (pid: number) => {
    const problem = lowerPriority(pid, options.nice);
    if (problem && !warnedPriority) {
      warnedPriority = true;
      logger.warn({ pid, err: problem }, 'could not lower the worker process\'s CPU priority; it competes with the API on equal terms');
    }
  };

  const spawnChild = () => {
    restartTimer = undefined;
    const started = spawn(process.execPath, options.args, { env: options.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child = started;
    if (started.pid !== undefined) lower(started.pid);
    logger.info({ pid: started.pid, nice: options.nice }, 'worker process started');
    started.on('message', (message: Partial<WorkerReadyMessage | MetricsAnswer>) => {
      if (message?.type === 'herald:metrics') return answers.get((message as MetricsAnswer).id)?.((message as MetricsAnswer).metrics);
      if (message?.type !== 'herald:worker-ready' || child !== started) return;
      // Again now that its runtime has started its threads: on Linux a priority belongs to each thread.
      lower(started.pid!);
      ready = true;
      readySince = Date.now();
      logger.info({ pid: started.pid, url: message.url }, 'worker process ready');
    });
    started.once('error', (err) => logger.error({ err }, 'could not start the worker process'));
    started.once('exit', (code, signal) => onExit(started, code, signal));
  };

  const onExit = (exited: ChildProcess, code: number | null, signal: NodeJS.Signals | null) => {
    if (child !== exited) return;
    const wasHealthy = ready && Date.now() - readySince >= healthyAfterMs;
    child = undefined;
    ready = false;
    if (stopping) return;
    exitsInARow = wasHealthy ? 1 : exitsInARow + 1;
    const delayMs = Math.min(initialMs * 2 ** (exitsInARow - 1), maxMs);
    const facts = { pid: exited.pid, code, signal, exitsInARow, restartInMs: delayMs };
    if (exitsInARow >= CRASH_LOOP_EXITS) {
      logger.error(facts, `worker process is crash-looping (${exitsInARow} exits in a row): background jobs are not running and /health reports worker failing; retrying every ${Math.round(maxMs / 1000)} s at most`);
    } else {
      logger.error(facts, 'worker process exited unexpectedly; restarting it');
    }
    restartTimer = setTimeout(spawnChild, delayMs);
  };

  return {
    healthCheck: { name: 'worker', check: () => ready },
    get pid() {
      return child?.pid;
    },
    metrics() {
      const running = child;
      if (!running?.connected || !ready) return Promise.resolve([]);
      const id = ++nextRequest;
      return new Promise<MetricsSnapshot>((resolve) => {
        const done = (metrics: MetricsSnapshot) => {
          clearTimeout(timer);
          answers.delete(id);
          resolve(metrics);
        };
        const timer = setTimeout(() => done([]), 2000);
        answers.set(id, done);
        running.send({ type: 'herald:metrics-request', id } satisfies MetricsRequest, (err) => err && done([]));
      });
    },
    start() {
      if (!child && !restartTimer && !stopping) spawnChild();
    },
    async stop(signal = 'SIGTERM') {
      stopping = true;
      clearTimeout(restartTimer);
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return true;
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        running.once('exit', (code, sig) => resolve({ code, signal: sig })),
      );
      running.kill(signal);
      const timer = setTimeout(() => {
        logger.error({ pid: running.pid }, 'worker process did not stop in time; killing it (its running jobs will be retried)');
        running.kill('SIGKILL');
      }, options.stopTimeoutMs ?? 25_000);
      const end = await exited;
      clearTimeout(timer);
      return end.code === 0;
    },
  };
}

/**
 * Sets `pid` to `nice` steps below this process's priority; returns the
 * error if the system refused. Linux keeps a priority per thread, so every
 * thread listed under /proc is set (threads started later inherit it).
 */
function lowerPriority(pid: number, nice: number): Error | undefined {
  if (nice === 0) return undefined;
  const target = Math.min(19, os.getPriority() + nice);
  let ids: number[];
  try {
    ids = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    ids = [pid];
  }
  for (const id of ids) {
    try {
      os.setPriority(id, target);
    } catch (error) {
      // ESRCH: that thread (or the process) has ended meanwhile; nothing to lower.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') return error as Error;
    }
  }
  return undefined;
}

/** Node's own flags for the child: this process's, without the debugger's (its port is taken). */
export function childExecArgv(execArgv: readonly string[]): string[] {
  return execArgv.filter((arg) => !/^--inspect(-brk|-port|-wait)?(=|$)/.test(arg));
}
