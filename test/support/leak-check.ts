/**
 * After each integration or e2e file: nothing it opened is left open. No
 * Redis connection named with the file's tag (every prefix the file made
 * starts with it, and so does every connection Herald and the tests name) is
 * left in CLIENT LIST, and no connection was left to the file's databases
 * when they were dropped, nor to one it never dropped. A leak fails the file,
 * naming the connections.
 */
import { Redis } from 'ioredis';
import { afterAll, expect } from 'vitest';
import { connectionsTo, createdDatabases, leftOpen, waitForNone } from './database.ts';
import { TEST_REDIS_URL } from './env.ts';
import { FILE_TAG } from './redis.ts';

/** Names in CLIENT LIST that start with this file's tag (the check's own connection is unnamed). */
async function redisClientsOfThisFile(): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const list = (await redis.client('LIST')) as string;
    return list
      .split('\n')
      .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
      .filter((name) => name.startsWith(FILE_TAG));
  } finally {
    redis.disconnect();
  }
}

afterAll(async () => {
  const redisLeft = await waitForNone(redisClientsOfThisFile);
  const postgresLeft = [...leftOpen.splice(0)];
  for (const database of createdDatabases) {
    const open = await connectionsTo(database);
    if (open.length > 0) postgresLeft.push({ database, connections: open });
  }
  expect(redisLeft, 'Redis connections this file left open (close them in afterAll)').toEqual([]);
  expect(postgresLeft, 'PostgreSQL connections this file left open (end them in afterAll)').toEqual([]);
});
