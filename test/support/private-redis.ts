import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from './wait.ts';

/**
 * A port nothing listens on right now: bind port 0, read the port, release it.
 * Good for "the dependency is not there" tests and for giving a child process a port to listen on.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Whether a redis-server process is running on the port. */
  readonly running: boolean;
  /** Kills the redis-server (SIGKILL: Redis goes away at once, as in a crash) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts a fresh, empty redis-server on the same port (Redis comes back after a crash, its data gone). */
  restart(): Promise<void>;
}

/**
 * A redis-server child process of this test's own, without persistence, so a
 * test can take Redis away without touching the shared one.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let server = await spawnRedis(port);
  return {
    url: server.url,
    port,
    get running() {
      return !server.exited;
    },
    stop: () => server.stop(),
    async restart() {
      await server.stop();
      server = await spawnRedis(port);
    },
  };
}

interface RedisProcess {
  url: string;
  readonly exited: boolean;
  stop(): Promise<void>;
}

async function spawnRedis(port: number): Promise<RedisProcess> {
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
    exited = true;
  });
  const stop = async () => {
    if (!exited) child.kill('SIGKILL');
    if (!spawnError) await exit;
  };
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  try {
    await waitFor(
      `redis-server on port ${port} to answer PING`,
      async () => {
        if (spawnError) throw new Error(`redis-server did not start: ${spawnError.message}`);
        if (exited) throw new Error('redis-server exited (is the port taken?)');
        if (probe.status !== 'ready') await probe.connect().catch(() => {});
        return probe.status === 'ready' && (await probe.ping()) === 'PONG';
      },
      10_000,
      50,
    );
  } catch (error) {
    await stop();
    throw error;
  } finally {
    probe.disconnect();
  }
  return {
    url,
    get exited() {
      return exited;
    },
    stop,
  };
}
