import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { TEST_REDIS_URL } from './env.ts';

/**
 * This test file's own tag (each file runs in a module context of its own): every prefix it makes and every
 * Redis connection it opens is named with it, so the leak check (leak-check.ts) finds what the file left open.
 */
export const FILE_TAG = `herald-test-${randomBytes(4).toString('hex')}`;

/** A Redis key prefix of this test's own; every key, queue, channel and connection name Herald makes starts with it. */
export function testPrefix(): string {
  return `${FILE_TAG}-${randomBytes(3).toString('hex')}`;
}

/** A Redis connection of the test's own, named `<file tag>:test` in CLIENT LIST. */
export function createTestRedis(options: RedisOptions = {}, url = TEST_REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false, connectionName: `${FILE_TAG}:test`, ...options });
}

/** Deletes every key under the prefix. */
export async function removePrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { connectionName: `${FILE_TAG}:cleanup` });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
