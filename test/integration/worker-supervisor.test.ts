import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkerSupervisor, type WorkerSupervisor } from '../../server/worker-supervisor.ts';
import { waitFor } from '../support/wait.ts';

/** The supervisor on its own, with real child processes standing in for the worker. */
interface Logged {
  level: number;
  msg: string;
  pid?: number;
  code?: number;
  exitsInARow?: number;
  restartInMs?: number;
}

function capture() {
  const lines: Logged[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Logged) });
  return { lines, logger };
}

/** A stand-in worker: like main.ts, handles SIGTERM before it reports ready over IPC, then waits for a signal. */
const READY_THEN_WAIT = `
  process.on('SIGTERM', () => process.exit(0));
  process.send({ type: 'herald:worker-ready', url: 'http://127.0.0.1:0' });
  setInterval(() => {}, 1000);
`;

let supervisor: WorkerSupervisor | undefined;
afterEach(async () => {
  await supervisor?.stop('SIGKILL');
  supervisor = undefined;
});

describe('the worker supervisor', () => {
  it('reports a crash loop and backs off (doubling, capped) instead of restarting at once', async () => {
    const { lines, logger } = capture();
    supervisor = createWorkerSupervisor({ args: ['-e', 'process.exit(3)'], env: process.env, nice: 0, logger, backoff: { initialMs: 50, maxMs: 200 } });
    supervisor.start();
    const loop = await waitFor('the crash loop to be reported', () => lines.find((l) => l.msg.startsWith('worker process is crash-looping')), 20_000);
    expect(loop).toMatchObject({ level: 50, code: 3, exitsInARow: 5, restartInMs: 200 });
    const delays = lines.filter((l) => l.restartInMs !== undefined).map((l) => l.restartInMs);
    expect(delays.slice(0, 5)).toEqual([50, 100, 200, 200, 200]);
    expect(await supervisor.healthCheck.check()).toBe(false);
    // Stopping during a backoff starts nothing more.
    expect(await supervisor.stop()).toBe(true);
    const started = lines.filter((l) => l.msg === 'worker process started').length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(lines.filter((l) => l.msg === 'worker process started').length).toBe(started);
  });

  it('is healthy once the child reports ready, and stop() forwards the signal and resolves on a clean exit', async () => {
    const { lines, logger } = capture();
    supervisor = createWorkerSupervisor({ args: ['-e', READY_THEN_WAIT], env: process.env, nice: 10, logger });
    expect(await supervisor.healthCheck.check()).toBe(false);
    supervisor.start();
    await waitFor('the child to be ready', () => supervisor!.healthCheck.check());
    const pid = supervisor.pid!;
    expect(lines.find((l) => l.msg === 'worker process ready')?.pid).toBe(pid);
    expect(await supervisor.stop('SIGTERM')).toBe(true);
    expect(await supervisor.healthCheck.check()).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(lines.some((l) => l.msg === 'worker process exited unexpectedly; restarting it')).toBe(false);
  });
});
