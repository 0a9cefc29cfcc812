import type { Cluster, Redis } from 'ioredis';

/**
 * A connection to Herald's Redis: one server (REDIS_URL), or a Redis Cluster
 * (REDIS_CLUSTER_NODES). Both take the same commands, scripts and pipelines;
 * on a cluster, one command, script or pipeline must keep to one hash slot.
 */
export type RedisClient = Redis | Cluster;

/**
 * How a document's events travel: classic PUBLISH/SUBSCRIBE on one Redis;
 * sharded SPUBLISH/SSUBSCRIBE on a cluster, where a message stays on the
 * shard that owns its channel's slot instead of going to every node.
 */
export type PubSubMode = 'classic' | 'sharded';

/** The command a Lua script publishes a document's messages with, given as its argument (publish-event.lua, update-presence.lua). */
export const PUBLISH_COMMAND = { classic: 'publish', sharded: 'spublish' } as const satisfies Record<PubSubMode, string>;
