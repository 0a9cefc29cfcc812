/**
 * A drill's own PostgreSQL cluster and redis-server, on spare ports in temp
 * dirs, never the shared ones. PostgreSQL refuses to run as root, so the
 * cluster belongs to the `postgres` OS user when the drill runs as root.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { freePort } from '../support/private-redis.ts';
import { waitFor } from '../support/wait.ts';

/** A private PostgreSQL cluster: `stop()` and `start()` may be called mid-drill; `destroy()` removes it. */
export interface PrivateCluster {
  url: string;
  port: number;
  /** The data directory (its postmaster.pid names the server process). */
  data: string;
  stop(mode?: 'fast' | 'immediate'): void;
  start(): Promise<void>;
  destroy(): void;
}

function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const path = `/usr/lib/postgresql/${v}/bin/${name}`;
    if (existsSync(path)) return path;
  }
  throw new Error(`${name} not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)`);
}

/** Runs a PostgreSQL binary as the postgres user when we are root (it refuses root). */
function asPostgres(bin: string, args: string[]): void {
  const root = userInfo().uid === 0;
  const [cmd, argv] = root ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
}

/** initdb + pg_ctl start on a free port; trust auth on 127.0.0.1 only; `settings` are extra `name=value` server settings. */
export async function startPrivateCluster(settings: string[] = []): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-drill-pg-'));
  if (userInfo().uid === 0) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let running = false;
  const cluster: PrivateCluster = {
    url,
    port,
    data,
    stop(mode = 'immediate') {
      if (!running) return;
      asPostgres(pgBin('pg_ctl'), ['stop', '-D', data, '-m', mode, '-w', '-t', '30']);
      running = false;
    },
    async start() {
      asPostgres(pgBin('pg_ctl'), [
        'start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'log'),
        '-o', [`-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300`, ...settings.map((s) => `-c ${s}`)].join(' '),
      ]);
      running = true;
      await waitFor(`private PostgreSQL on ${port}`, async () => {
        const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
        try {
          return (await sql`select 1 as ok`)[0]?.ok === 1;
        } finally {
          await sql.end({ timeout: 1 });
        }
      }, 30_000, 200);
    },
    destroy() {
      try {
        cluster.stop('immediate');
      } catch {
        // Already down; the directory goes anyway.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    asPostgres(pgBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await cluster.start();
  } catch (error) {
    cluster.destroy();
    throw error;
  }
  return cluster;
}

/** A private redis-server with AOF on (appendfsync everysec), restartable on the same port and data. */
export interface AofRedis {
  url: string;
  port: number;
  /** SIGKILL (a crash), then start again on the same AOF; `downMs` in between. */
  restart(downMs: number): Promise<void>;
  /** `redis-cli CLIENT KILL TYPE pubsub`: how many connections it cut. */
  killPubSub(): Promise<number>;
  destroy(): Promise<void>;
}

export async function startAofRedis(): Promise<AofRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-drill-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''], { stdio: 'ignore' });
    child = proc;
    await waitFor(`private redis-server on ${port}`, async () => {
      if (proc.exitCode !== null) throw new Error('redis-server exited at start');
      const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG' && !(await probe.info('persistence')).includes('loading:1');
      } finally {
        probe.disconnect();
      }
    }, 15_000, 50);
  };
  const kill = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url,
    port,
    async restart(downMs) {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async killPubSub() {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        return Number(await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
      } finally {
        redis.disconnect();
      }
    },
    async destroy() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
