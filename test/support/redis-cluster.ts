import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './private-redis.ts';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/** A private Redis Cluster of this test's own: masters (and replicas) on free ports, no persistence. */
export interface RedisCluster {
  /** `host:port,host:port,...`: what REDIS_CLUSTER_NODES takes. */
  nodes: string;
  ports: number[];
  /** The port of the master that serves `key`'s hash slot. */
  masterOf(key: string): Promise<number>;
  /** `CLIENT LIST` names on every node that start with `prefix` (a leak check: the cluster is not the shared Redis). */
  clientsNamed(prefix: string): Promise<string[]>;
  /** SIGKILLs one node (a crash), leaving the others running. */
  killNode(port: number): Promise<void>;
  /** SIGKILLs every node and removes their directory. */
  stop(): Promise<void>;
}

/** A port whose cluster bus port (+10000) is free and valid too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 >= 65_536 || taken.has(port) || taken.has(port + 10_000)) continue;
    if (await isFree(port + 10_000)) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface RedisClusterOptions {
  /** Default 3. */
  masters?: number;
  /** Replicas per master; default 0. */
  replicas?: number;
  /** cluster-node-timeout: how long a master may not answer before its replica takes over. Default Redis's 15 s. */
  nodeTimeoutMs?: number;
}

/**
 * Starts redis-server processes in cluster mode, joins them with
 * `redis-cli --cluster create`, and waits until every node reports
 * `cluster_state:ok` (and every replica is in sync). `stop()` kills them and
 * removes their files.
 */
export async function startRedisCluster({ masters = 3, replicas = 0, nodeTimeoutMs }: RedisClusterOptions = {}): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < masters * (1 + replicas); i++) {
    const port = await clusterPort(taken);
    taken.add(port).add(port + 10_000);
    ports.push(port);
  }
  const children: ChildProcess[] = ports.map((port) =>
    spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      ...(nodeTimeoutMs ? ['--cluster-node-timeout', String(nodeTimeoutMs)] : []),
    ], { stdio: 'ignore' }),
  );
  const kill = (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    return exited;
  };
  const stop = async () => {
    await Promise.all(children.map(kill));
    rmSync(dir, { recursive: true, force: true });
  };
  const node = (port: number) => {
    const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    return redis;
  };
  const ask = async <T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = node(port);
    try {
      await redis.connect();
      return await work(redis);
    } finally {
      redis.disconnect();
    }
  };
  try {
    await waitFor('the cluster nodes to answer PING', async () => {
      if (children.some((c) => c.exitCode !== null)) throw new Error('a redis-server exited at start (is its port taken?)');
      const pongs = await Promise.all(ports.map((port) => ask(port, (r) => r.ping()).catch(() => '')));
      return pongs.every((p) => p === 'PONG');
    }, 10_000, 50);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 });
    await waitFor('cluster_state:ok on every node, every replica in sync', async () => {
      const infos = await Promise.all(ports.map((port) => ask(port, async (r) => `${await r.cluster('INFO')}\n${await r.info('replication')}`)));
      return infos.every((info) => info.includes('cluster_state:ok') && !info.includes('master_link_status:down') && !info.includes('master_sync_in_progress:1'));
    }, 30_000, 100);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`).join(','),
    ports,
    async masterOf(key) {
      // Any node that answers (one may have been killed) knows the slot map.
      const alive = children.findIndex((c) => c.exitCode === null && c.signalCode === null);
      const port = ports[alive]!;
      const slot = await ask(port, (r) => r.cluster('KEYSLOT', key) as Promise<number>);
      const shards = await ask(port, (r) => r.cluster('SLOTS'));
      const shard = shards.find(([from, to]) => slot >= from && slot <= to);
      if (!shard) throw new Error(`no master serves slot ${slot}`);
      return shard[2]![1];
    },
    async clientsNamed(prefix) {
      const lists = await Promise.all(ports.map((port) => ask(port, (r) => r.client('LIST') as Promise<string>)));
      return lists
        .flatMap((list) => list.split('\n'))
        .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
        .filter((name) => name.includes(prefix));
    },
    async killNode(port) {
      await kill(children[ports.indexOf(port)]!);
    },
    stop,
  };
}
