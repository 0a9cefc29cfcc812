import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisClient } from '../realtime/redis-client.ts';
import type { Config } from './config.ts';

/** Where Redis is: one server, or the seeds of a cluster. */
export type RedisTarget = { kind: 'single'; url: string } | { kind: 'cluster'; nodes: readonly { host: string; port: number }[] };

export function redisTarget(config: Pick<Config, 'redisUrl' | 'redisClusterNodes'>): RedisTarget {
  return config.redisClusterNodes.length > 0 ? { kind: 'cluster', nodes: config.redisClusterNodes } : { kind: 'single', url: config.redisUrl };
}

/**
 * The one place a Redis connection is made (the start-up probe aside): a
 * Redis on one server, or an ioredis Cluster. On a cluster, per-connection
 * options (name, retries, timeouts) go to every node's connection, and
 * `enableOfflineQueue` to the cluster's own queue (commands while it is not
 * ready), `clusterOptions` to the cluster; reads go to masters (scaleReads default), since a replica may lag
 * behind an event just published.
 */
export function createRedisClient(
  target: RedisTarget,
  options: RedisOptions & { shardedPubSub?: boolean },
  clusterOptions: Pick<ClusterOptions, 'clusterRetryStrategy'> = {},
): RedisClient {
  const { shardedPubSub, ...redisOptions } = options;
  if (target.kind === 'single') return new Redis(target.url, { lazyConnect: true, ...redisOptions });
  const { enableOfflineQueue, lazyConnect: _lazy, ...nodeOptions } = redisOptions;
  return new Cluster([...target.nodes], {
    lazyConnect: true,
    enableOfflineQueue: enableOfflineQueue ?? true,
    shardedSubscribers: shardedPubSub ?? false,
    redisOptions: nodeOptions,
    ...clusterOptions,
  });
}
