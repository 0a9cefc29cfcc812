/**
 * Herald in split roles for a drill: every api, gateway and worker is its own
 * `node --import tsx server/main.ts --role=…` child (the pid we signal is the
 * server's), on the drill's private PostgreSQL and Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { signToken } from '../../server/auth.ts';
import type { Role } from '../../server/config.ts';
import { REPO_ROOT } from '../support/child-process.ts';
import { freePort } from '../support/private-redis.ts';
import { waitFor } from '../support/wait.ts';

export const DRILL_AUTH_SECRET = 'herald-drill-secret-0123456789abcdef';

/** One running Herald process. */
export interface RoleProcess {
  name: string;
  role: Role;
  url: string;
  port: number;
  child: ChildProcess;
  /** Killed on purpose by the drill (its exit is not a failure). */
  killedOnPurpose: boolean;
  stderrTail(): string;
}

/** Every process a drill started, and how to start more. */
export interface Deployment {
  env: Record<string, string>;
  processes: RoleProcess[];
  start(role: Role, name: string, options?: { env?: Record<string, string>; port?: number; nodeArgs?: string[] }): Promise<RoleProcess>;
  /** SIGKILL, counted as on purpose. */
  kill(p: RoleProcess): Promise<void>;
  token(user: string): Promise<string>;
  /** Processes that ended without the drill killing them: each would have needed a manual fix. */
  unexpectedExits(): string[];
  /** Every live process answers /health 200 within the timeout; names those that do not. */
  unhealthy(timeoutMs: number): Promise<string[]>;
  stopAll(): Promise<void>;
}

export function createDeployment(base: { databaseUrl: string; redisUrl: string; env?: Record<string, string> }): Deployment {
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: base.databaseUrl,
    REDIS_URL: base.redisUrl,
    REDIS_PREFIX: 'herald',
    AUTH_SECRET: DRILL_AUTH_SECRET,
    LOG_LEVEL: 'warn',
    // The drill's watchers are thousands of sockets of one user, and its editors that user's concurrent saves.
    SOCKET_MAX_PER_USER: '1000000',
    USER_REQUEST_CONCURRENCY: '10000',
    ...base.env,
  };
  const processes: RoleProcess[] = [];
  const alive = (p: RoleProcess) => p.child.exitCode === null && p.child.signalCode === null;
  return {
    env,
    processes,
    async start(role, name, options = {}) {
      const port = options.port ?? (await freePort());
      const child = spawn(process.execPath, ['--import', 'tsx', ...(options.nodeArgs ?? []), 'server/main.ts', `--role=${role}`], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env, PORT: String(port), ...options.env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-20_000)));
      const p: RoleProcess = { name, role, url: `http://127.0.0.1:${port}`, port, child, killedOnPurpose: false, stderrTail: () => stderr.slice(-2000) };
      processes.push(p);
      await waitFor(`${name} to answer /health 200`, async () => {
        if (!alive(p)) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}): ${p.stderrTail()}`);
        const res = await fetch(`${p.url}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return res?.status === 200;
      }, 60_000, 200);
      return p;
    },
    async kill(p) {
      p.killedOnPurpose = true;
      if (!alive(p)) return;
      const exited = new Promise((r) => p.child.once('exit', r));
      p.child.kill('SIGKILL');
      await exited;
    },
    token: (user) => signToken(DRILL_AUTH_SECRET, user, { name: user }),
    unexpectedExits: () => processes.filter((p) => !p.killedOnPurpose && !alive(p)).map((p) => `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}): ${p.stderrTail()}`),
    async unhealthy(timeoutMs) {
      const live = processes.filter((p) => !p.killedOnPurpose && alive(p));
      const bad: string[] = [];
      await Promise.all(live.map(async (p) => {
        try {
          await waitFor(`${p.name} healthy`, async () => (await fetch(`${p.url}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.status === 200, timeoutMs, 250);
        } catch {
          const res = await fetch(`${p.url}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
          bad.push(`${p.name}: /health ${res ? `${res.status} ${(await res.text()).slice(0, 300)}` : 'no answer'}`);
        }
      }));
      return bad;
    },
    async stopAll() {
      await Promise.all(processes.filter(alive).map(async (p) => {
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGKILL');
        await exited;
      }));
    },
  };
}
