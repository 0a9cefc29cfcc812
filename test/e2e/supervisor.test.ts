import { randomBytes } from 'node:crypto';
import os from 'node:os';
import postgres from 'postgres';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { signToken } from '../../server/auth.ts';
import { readFileSync } from 'node:fs';
import { REPO_ROOT, spawnNode, type RunningProcess } from '../support/child-process.ts';
import { TEST_AUTH_SECRET, TEST_DATABASE_URL, TEST_REDIS_URL, databaseUrl } from '../support/env.ts';
import { manuscript } from '../support/herald.ts';
import { freePort } from '../support/private-redis.ts';
import { removePrefix, testPrefix } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

/**
 * `npm start` without `--role`: api and gateway in the main process, the
 * worker in a supervised child process. Real processes, signals and ports.
 */
/** `npm start`'s own command, run as it is (without npm in between): `node <its arguments>`. */
const START_ARGS = (() => {
  const [command, ...args] = (JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
  expect(command).toBe('node');
  return args;
})();
const START_TIMEOUT_MS = 45_000;

const databases = new Set<string>();
const prefixes = new Set<string>();
const running = new Set<RunningProcess>();

interface Health {
  status: string;
  checks: Record<string, string>;
  failing: string[];
}
interface LogLine {
  msg?: string;
  pid?: number;
  process?: string;
  roles?: string[];
}
interface DocumentDetail {
  document: { status: string; progress: { completed: number; total: number } };
}

/** One Herald deployment: a database and a prefix of its own, started as many times as a test needs. */
async function deployment(extra: Record<string, string> = {}) {
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  databases.add(name);
  const prefix = testPrefix();
  prefixes.add(prefix);
  const port = await freePort();
  const env = {
    NODE_ENV: 'test', PORT: String(port), DATABASE_URL: databaseUrl(name), REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix,
    AUTH_SECRET: TEST_AUTH_SECRET, LOG_LEVEL: 'info', JOB_LOCK_MS: '5000', ...extra,
  };
  const url = `http://127.0.0.1:${port}`;
  const authorization = `Bearer ${await signToken(TEST_AUTH_SECRET, 'supervised-writer')}`;
  return {
    url,
    start(args: string[] = [], more: Record<string, string> = {}) {
      const herald = spawnNode([...START_ARGS, ...args], { ...env, ...more }, { processGroup: true });
      running.add(herald);
      return herald;
    },
    health: async (): Promise<{ status: number; body: Health } | undefined> => {
      const res = await fetch(`${url}/health`).catch(() => undefined);
      return res && { status: res.status, body: (await res.json()) as Health };
    },
    async upload(chapters: number): Promise<string> {
      const res = await fetch(`${url}/api/documents`, {
        method: 'POST', headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Supervised', content: manuscript(chapters) }),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { document: { id: string } }).document.id;
    },
    async document(id: string): Promise<DocumentDetail> {
      const res = await fetch(`${url}/api/documents/${id}`, { headers: { authorization } });
      expect(res.status).toBe(200);
      return (await res.json()) as DocumentDetail;
    },
  };
}

const logLines = (herald: RunningProcess): LogLine[] =>
  herald.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogLine);

/** The pids of the worker processes started so far, from the supervisor's log. */
const workerPids = (herald: RunningProcess) => logLines(herald).filter((l) => l.msg === 'worker process ready').map((l) => l.pid!);

/** A process's parent, from /proc/<pid>/stat (the field after the parenthesised command name). */
const parentPid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function untilHealthy(d: Awaited<ReturnType<typeof deployment>>, herald: RunningProcess): Promise<Health> {
  return waitFor('GET /health to answer 200', async () => {
    if (herald.child.exitCode !== null) throw new Error(`herald exited with ${herald.child.exitCode}: ${herald.stderr}`);
    const health = await d.health();
    return health?.status === 200 ? health.body : undefined;
  }, START_TIMEOUT_MS, 50);
}

afterEach(async () => {
  for (const herald of running) await herald.kill();
  running.clear();
});

afterAll(async () => {
  for (const prefix of prefixes) await removePrefix(prefix);
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    for (const name of databases) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
});

describe('npm start supervises the worker role in a child process', () => {
  it('runs the worker at lower CPU priority; SIGTERM reaches every role, exits 0, and the jobs left run after a restart', async () => {
    const d = await deployment({ AI_SIMULATED_LATENCY_MS: '150', WORKER_CONCURRENCY: '2' });
    const herald = d.start();
    expect(await untilHealthy(d, herald)).toMatchObject({ checks: { api: 'ok', gateway: 'ok', worker: 'ok' }, failing: [] });

    await waitFor('the worker\'s own ready line', () => logLines(herald).some((l) => l.msg === 'Herald is ready' && l.process === 'worker'));
    const lines = logLines(herald);
    expect(lines.find((l) => l.msg === 'Herald is ready' && !l.process)?.roles).toEqual(['api', 'gateway']);
    expect(lines.find((l) => l.msg === 'Herald is ready' && l.process === 'worker')?.roles).toEqual(['worker']);
    const workerPid = await waitFor('the worker process in the log', () => workerPids(herald)[0]);
    expect(os.getPriority(workerPid!)).toBe(Math.min(19, os.getPriority() + 10));

    const id = await d.upload(30);
    await waitFor('a chapter to complete', async () => (await d.document(id)).document.progress.completed > 0, 30_000, 50);
    herald.child.kill('SIGTERM');
    expect(await herald.exited).toEqual({ code: 0, signal: null });
    expect(herald.stderr).toContain('herald: SIGTERM received');
    expect(herald.stderr).toContain('herald worker process: SIGTERM received');
    expect(alive(workerPid!)).toBe(false);
    expect(herald.stderr).not.toContain('    at ');

    // Stopped mid-ingest: what was running finished or went back to the queue, so the next start completes the document.
    const again = d.start();
    await untilHealthy(d, again);
    const done = await waitFor('the document to complete after the restart', async () => {
      const detail = await d.document(id);
      return detail.document.status === 'completed' ? detail : undefined;
    }, 60_000, 100);
    expect(done.document.progress).toMatchObject({ completed: 30, total: 30 });
    // One scrape of the main process covers the worker child: job outcomes are counted only where jobs run.
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    const finished = metrics.split('\n').find((l) => l.startsWith('herald_jobs_finished_total{') && l.includes('type="chapter.process"') && l.includes('outcome="completed"'));
    expect(Number(finished?.split(' ').at(-1))).toBeGreaterThan(0);
    again.child.kill('SIGTERM');
    expect(await again.exited).toEqual({ code: 0, signal: null });
  }, 150_000);

  it('handles SIGTERM in the process npm start runs, so a signal that finds it busy still ends in a clean exit 0', async () => {
    const d = await deployment();
    const herald = d.start();
    await untilHealthy(d, herald);
    // No wrapper process in between (a relaying wrapper SIGKILLs a child that has not answered within 60 ms):
    // the worker's supervisor, which runs main.ts's handlers, is the process started.
    const workerPid = await waitFor('the worker process in the log', () => workerPids(herald)[0]);
    expect(parentPid(workerPid!)).toBe(herald.child.pid);
    // Busy for 300 ms when the signal comes: it is handled once the process runs again.
    herald.child.kill('SIGSTOP');
    herald.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    herald.child.kill('SIGCONT');
    expect(await herald.exited).toEqual({ code: 0, signal: null });
    expect(herald.stderr).toContain('herald: SIGTERM received');
  }, 150_000);

  it('restarts a killed worker process, answers /health 503 naming the worker meanwhile, and the ingest completes', async () => {
    const d = await deployment({ AI_SIMULATED_LATENCY_MS: '100', WORKER_CONCURRENCY: '2' });
    const herald = d.start();
    await untilHealthy(d, herald);
    const first = await waitFor('the worker process in the log', () => workerPids(herald)[0]);
    const id = await d.upload(20);
    await waitFor('a chapter to complete', async () => (await d.document(id)).document.progress.completed > 0, 30_000, 50);

    process.kill(first!, 'SIGKILL');
    const down = await waitFor('/health to report the worker down', async () => {
      const health = await d.health();
      return health?.status === 503 ? health.body : undefined;
    }, 10_000, 20);
    expect(down).toMatchObject({ status: 'unavailable', failing: ['worker'], checks: { api: 'ok', gateway: 'ok', worker: 'failing' } });

    await untilHealthy(d, herald);
    const second = await waitFor('the new worker process in the log', () => workerPids(herald)[1]);
    expect(second).not.toBe(first);
    expect(logLines(herald).some((l) => l.msg === 'worker process exited unexpectedly; restarting it')).toBe(true);
    // The killed worker's running jobs come back once their locks expire (JOB_LOCK_MS=5000).
    const done = await waitFor('the document to complete', async () => {
      const detail = await d.document(id);
      return detail.document.status === 'completed' ? detail : undefined;
    }, 60_000, 100);
    expect(done.document.progress).toMatchObject({ completed: 20, total: 20 });

    herald.child.kill('SIGTERM');
    expect(await herald.exited).toEqual({ code: 0, signal: null });
    expect(alive(second!)).toBe(false);
  }, 150_000);

  it.each([
    ['--single-process', ['--single-process'], {}],
    ['SINGLE_PROCESS=on', [], { SINGLE_PROCESS: 'on' }],
  ])('runs every role in one process with %s', async (_, args, env) => {
    const d = await deployment();
    const herald = d.start(args, env);
    expect(await untilHealthy(d, herald)).toMatchObject({ checks: { api: 'ok', gateway: 'ok', worker: 'ok' }, failing: [] });
    await waitFor('the ready line in the log', () => logLines(herald).some((l) => l.msg === 'Herald is ready'));
    const lines = logLines(herald);
    expect(lines.filter((l) => l.msg === 'Herald is ready').map((l) => l.roles)).toEqual([['api', 'gateway', 'worker']]);
    expect(lines.some((l) => l.msg === 'worker process started')).toBe(false);

    const id = await d.upload(3);
    await waitFor('the document to complete', async () => (await d.document(id)).document.status === 'completed', 30_000, 50);
    herald.child.kill('SIGTERM');
    expect(await herald.exited).toEqual({ code: 0, signal: null });
  });
});
